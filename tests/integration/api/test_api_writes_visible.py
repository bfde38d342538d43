"""A 200 means committed and visible (issue 31): a real server, `fengkong serve --workers 2`,
on SQLite and PostgreSQL; every write is read back on a new connection (the kernel spreads
connections over the workers, so about half the reads land on the other worker) right after
its 200, and found, every time: policy promotions, loan bookings, repayments, contacts and
their outcomes, and API keys created while the server runs."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from fengkong.db import CollectionCaseRecord, make_engine, migrate, session_factory
from fengkong.policy.examples import reference_applications, write_reference_policy
from fengkong.services.access import create_api_key
from fengkong.services.policies import submit_policy

NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)


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
            ("gate", "service", None), ("carl", "collector", "C-7"), ("root", "admin", None),
        ):  # fmt: skip
            keys[name] = {
                "X-API-Key": create_api_key(s, name=name, role=role, subject=subject, at=NOW)
            }
        for version in ("1", "2"):
            path = write_reference_policy(tmp_path / f"policy{version}", version=version)
            submit_policy(s, path, author="alice", at=NOW)
        s.add(CollectionCaseRecord(
            case_id="K1", borrower_id="D1", status="open", stage="early", max_dpd=12,
            overdue_fen=50_000, balance_fen=400_000, loans=[], placement=None, p_pay=0.4,
            assigned_to="C-7", plan=[], phone="13800138000", time_zone="Asia/Shanghai",
            opened_on=NOW.date(), updated_on=NOW.date(),
        ))  # fmt: skip
    port = _free_port()
    env = os.environ | {
        "FENGKONG_DATABASE_URL": database_url,
        "FENGKONG_DATA_DIR": str(tmp_path),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "fengkong.cli", "serve", "--workers", "2", "--port", str(port),
         "--policy", "credit"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
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
            pytest.fail(f"the server did not start: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.2)
    try:
        yield base, keys, sessions
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        engine.dispose()


def _fresh(base: str) -> httpx.Client:
    """A client that opens a new connection for every request."""
    return httpx.Client(base_url=base, timeout=30, limits=httpx.Limits(max_keepalive_connections=0))


def test_every_write_is_visible_on_any_worker_right_after_its_200(server):
    base, keys, sessions = server
    writes = 0
    with _fresh(base) as c:
        # promotions: the version's status, read back at once
        for version in ("1", "2"):
            for to in ("approved", "active"):
                r = c.post(f"/v1/policies/credit/versions/{version}/promote", json={"to": to},
                           headers=keys["bob"])  # fmt: skip
                assert r.status_code == 200, r.text
                writes += 1
                listed = c.get("/v1/policies", headers=keys["alice"]).json()
                found = {(p["name"], p["version"]): p["status"] for p in listed}
                assert found[("credit", version)] == to, (version, to, listed)
        # bookings from approved decisions
        booked = []
        for a in reference_applications(200, seed=4).to_dicts():
            body = c.post("/v1/decisions", json={"application": a}, headers=keys["gate"]).json()
            if body["decision"] != "approve" or body["outputs"]["limit_fen"] < 1_000_000:
                continue
            loan = {"decision_id": body["decision_id"], "loan_id": f"L{len(booked)}",
                    "borrower_id": f"P{len(booked)}", "product": "cash_loan",
                    "principal_fen": 1_000_000, "annual_rate": "0.12", "term": 12,
                    "disbursed_on": "2026-01-01"}  # fmt: skip
            r = c.post("/v1/loans", json=loan, headers=keys["gate"])
            assert r.status_code == 200, r.text
            writes += 1
            seen = c.get(f"/v1/loans/{loan['loan_id']}", params={"as_of": "2026-01-01"},
                         headers=keys["gate"])  # fmt: skip
            assert seen.status_code == 200, seen.text
            booked.append(loan["loan_id"])
            if len(booked) == 3:
                break
        assert len(booked) == 3
        # repayments: small amounts, each read back in the loan's applied keys
        for k in range(150):
            loan_id = booked[k % 3]
            pay = {"amount_fen": 100, "paid_on": "2026-01-15", "idempotency_key": f"p{k}"}
            r = c.post(f"/v1/loans/{loan_id}/repayments", json=pay, headers=keys["gate"])
            assert r.status_code == 200, r.text
            writes += 1
            state = c.get(f"/v1/loans/{loan_id}", params={"as_of": "2026-01-15"},
                          headers=keys["gate"]).json()  # fmt: skip
            assert f"p{k}" in state["applied_keys"], k
        # contacts and their outcomes, in the case's contact history
        for _ in range(40):  # the server's clock: allowed or blocked, each is logged
            attempt = {"case_id": "K1", "channel": "sms", "template_id": "reminder"}
            r = c.post("/v1/contacts", json=attempt, headers=keys["carl"])
            assert r.status_code == 200, r.text
            log_id = r.json()["log_id"]
            writes += 1
            case = c.get("/v1/collections/cases/K1", headers=keys["carl"]).json()
            assert log_id in [x["log_id"] for x in case["contacts"]], k
            if r.json()["allowed"]:
                out = c.post(f"/v1/contacts/{log_id}/outcome", json={"outcome": "delivered"},
                             headers=keys["carl"])  # fmt: skip
                assert out.status_code == 200, out.text
                writes += 1
                case = c.get("/v1/collections/cases/K1", headers=keys["carl"]).json()
                mine = next(x for x in case["contacts"] if x["log_id"] == log_id)
                assert mine["outcome"] == "delivered", mine
        # keys created while serving work at once on every worker
        for k in range(10):
            with sessions.begin() as s:
                key = create_api_key(s, name=f"new{k}", role="auditor", at=NOW)
            writes += 1
            for _ in range(2):
                assert c.get("/v1/policies", headers={"X-API-Key": key}).status_code == 200
    assert writes >= 200
