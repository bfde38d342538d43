"""Concurrent identical requests (issue 25 part 2): a real server, ``fengkong serve --workers 2``,
on SQLite and PostgreSQL; N requests fired at once (threads, each its own connection, released
together by a barrier) for one repayment key, one promotion, one contact key and one contact
outcome. Exactly one
effect is stored; every response is a 200 with the same body; never a 5xx. Contacts sent
without a key are separate attempts: every one is logged and answered, and together they never
exceed the day's limit."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from fengkong.db import (
    AuditLogRecord,
    CollectionCaseRecord,
    ContactLogRecord,
    LoanEventRecord,
    PolicyEventRecord,
    PolicyVersionRecord,
    make_engine,
    migrate,
    session_factory,
)
from fengkong.money import Money
from fengkong.policy.examples import write_reference_policy
from fengkong.services import servicing as svc
from fengkong.services.access import create_api_key
from fengkong.services.policies import submit_policy
from fengkong.servicing import LoanTerms, load_products

N = 16
NOW = dt.datetime.now(dt.UTC)
DISBURSED = NOW.date() - dt.timedelta(days=40)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(database_url, tmp_path):
    engine = make_engine(database_url)
    migrate(engine)
    sessions = session_factory(engine)
    keys = {}
    with sessions.begin() as s:
        for name, role, subject in (
            ("alice", "risk_analyst", None), ("bob", "risk_analyst", None),
            ("gate", "service", None), ("carl", "collector", "C-7"),
        ):  # fmt: skip
            keys[name] = {
                "X-API-Key": create_api_key(s, name=name, role=role, subject=subject, at=NOW)
            }
        submit_policy(s, write_reference_policy(tmp_path / "policy"), author="alice", at=NOW)
        terms = LoanTerms(
            load_products()["cash_loan"], Money.of("1200"), Decimal("0.12"), 3, DISBURSED
        )
        svc.book_loan(s, terms, external_id="L1", borrower_id="B1")
        for case_id, debtor in (("K1", "D1"), ("K2", "D2")):
            s.add(CollectionCaseRecord(
                case_id=case_id, borrower_id=debtor, status="open", stage="early", max_dpd=12,
                overdue_fen=50_000, balance_fen=400_000, loans=[], placement=None, p_pay=0.4,
                assigned_to="C-7", plan=[], phone="13800138000", time_zone="Asia/Shanghai",
                opened_on=NOW.date(), updated_on=NOW.date(),
            ))  # fmt: skip
    port = _free_port()
    env = os.environ | {"FENGKONG_DATABASE_URL": database_url, "FENGKONG_DATA_DIR": str(tmp_path)}
    log = (tmp_path / "server.log").open("wb")  # a file, not a pipe: tracebacks never block it
    proc = subprocess.Popen(
        [sys.executable, "-m", "fengkong.cli", "serve", "--workers", "2", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            tail = (tmp_path / "server.log").read_text(errors="replace")[-2000:]
            pytest.fail(f"the server did not start: {tail}")
        time.sleep(0.2)
    try:
        yield base, keys, sessions
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        engine.dispose()


def _at_once(
    base: str, path: str, body: dict[str, Any], headers: dict[str, str]
) -> list[httpx.Response]:
    """``N`` identical POSTs, each on its own connection, released together."""
    barrier = threading.Barrier(N)
    out: list[httpx.Response | BaseException] = [RuntimeError("not sent")] * N

    def send(i: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as c:
            barrier.wait()
            try:
                out[i] = c.post(path, json=body, headers=headers)
            except BaseException as exc:
                out[i] = exc

    threads = [threading.Thread(target=send, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failed = [r for r in out if not isinstance(r, httpx.Response)]
    assert not failed, failed
    return out  # type: ignore[return-value]


def _one_answer(responses: list[httpx.Response]) -> dict[str, Any]:
    """Every response a 200 with one body."""
    codes = Counter(r.status_code for r in responses)
    assert codes == {200: N}, (codes, {r.text for r in responses if r.status_code != 200})
    bodies = {r.text for r in responses}
    assert len(bodies) == 1, bodies
    return responses[0].json()


def test_one_repayment_key_posts_once(server):
    base, keys, sessions = server
    paid_on = (NOW.date() - dt.timedelta(days=5)).isoformat()
    pay = {"amount_fen": 12_345, "paid_on": paid_on, "idempotency_key": "same-key"}
    body = _one_answer(_at_once(base, "/v1/loans/L1/repayments", pay, keys["gate"]))
    assert body["loan_id"] == "L1"
    with sessions() as s:
        posted = s.scalars(select(LoanEventRecord).where(LoanEventRecord.key == "same-key")).all()
        assert len(posted) == 1
        assert posted[0].amount_minor == 12_345
    # a retry later still answers the same
    with httpx.Client(base_url=base) as c:
        again = c.post("/v1/loans/L1/repayments", json=pay, headers=keys["gate"])
        other = c.post(
            "/v1/loans/L1/repayments", json=pay | {"amount_fen": 1}, headers=keys["gate"]
        )
    assert again.status_code == 200 and again.json() == body
    assert other.status_code == 422 and other.json()["error"]["field"] == "body.idempotency_key"


def test_one_promotion_moves_the_version_once(server):
    base, keys, sessions = server
    path = "/v1/policies/credit/versions/1/promote"
    for to, action in (("approved", "approved"), ("active", "activated")):
        body = _one_answer(_at_once(base, path, {"to": to}, keys["bob"]))
        assert body == {"name": "credit", "version": "1", "status": to, "approved_by": "bob"}
        with sessions() as s:
            version = s.scalar(
                select(PolicyVersionRecord).where(PolicyVersionRecord.name == "credit")
            )
            assert version is not None and version.status == to
            events = s.scalars(
                select(PolicyEventRecord.action).where(PolicyEventRecord.version_id == version.id)
            ).all()
            assert Counter(events)[action] == 1, events
    # another approver, or the author, is still refused: the version is no longer a draft
    with httpx.Client(base_url=base) as c:
        late = c.post(path, json={"to": "approved"}, headers=keys["alice"])
    assert late.status_code == 409, late.text


def test_one_contact_key_logs_once(server):
    base, keys, sessions = server
    attempt = {"case_id": "K1", "channel": "sms", "template_id": "reminder",
               "idempotency_key": "c-1"}  # fmt: skip
    body = _one_answer(_at_once(base, "/v1/contacts", attempt, keys["carl"]))
    with sessions() as s:
        logged = s.scalars(
            select(ContactLogRecord.id).where(ContactLogRecord.case_id == "K1")
        ).all()
        replayed = s.scalars(
            select(AuditLogRecord.detail).where(
                AuditLogRecord.action == "contact.attempt", AuditLogRecord.target == "K1"
            )
        ).all()
    assert logged == [body["log_id"]]
    assert sorted(d["replayed"] for d in replayed) == [False] + [True] * (N - 1)
    with httpx.Client(base_url=base) as c:
        again = c.post("/v1/contacts", json=attempt, headers=keys["carl"])
        other = c.post("/v1/contacts", json=attempt | {"template_id": "firm"}, headers=keys["carl"])
    assert again.status_code == 200 and again.json() == body
    assert other.status_code == 422, other.text  # the key names another request
    # the outcome of that attempt, sent N times at once: recorded once, N identical 200s
    path = f"/v1/contacts/{body['log_id']}/outcome"
    done = _one_answer(_at_once(base, path, {"outcome": "delivered"}, keys["carl"]))
    assert done == {"status": "recorded"}
    with sessions() as s:
        audited = s.scalars(
            select(AuditLogRecord.detail).where(
                AuditLogRecord.action == "contact.outcome",
                AuditLogRecord.target == str(body["log_id"]),
            )
        ).all()
    assert sorted(d["replayed"] for d in audited) == [False] + [True] * (N - 1)
    with httpx.Client(base_url=base) as c:
        changed = c.post(path, json={"outcome": "failed"}, headers=keys["carl"])
    assert changed.status_code == 409, changed.text  # append-only: one outcome


def test_contacts_without_a_key_are_separate_attempts_within_the_limits(server):
    base, keys, sessions = server
    attempt = {"case_id": "K2", "channel": "sms", "template_id": "reminder"}
    responses = _at_once(base, "/v1/contacts", attempt, keys["carl"])
    assert Counter(r.status_code for r in responses) == {200: N}
    ids = [r.json()["log_id"] for r in responses]
    assert len(set(ids)) == N
    allowed = sum(r.json()["allowed"] for r in responses)
    assert allowed <= 3  # sms_per_day (cn): never exceeded by simultaneous attempts
    with sessions() as s:
        logged = s.scalar(
            select(func.count())
            .select_from(ContactLogRecord)
            .where(ContactLogRecord.case_id == "K2")
        )
        allowed_logged = s.scalar(
            select(func.count())
            .select_from(ContactLogRecord)
            .where(ContactLogRecord.case_id == "K2", ContactLogRecord.allowed.is_(True))
        )
        audited = s.scalar(
            select(func.count())
            .select_from(AuditLogRecord)
            .where(AuditLogRecord.action == "contact.attempt", AuditLogRecord.target == "K2")
        )
    assert (logged, allowed_logged, audited) == (N, allowed, N)
