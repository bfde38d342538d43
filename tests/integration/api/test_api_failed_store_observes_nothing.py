"""A decision whose audit record cannot be stored never happened: the 503 leaves nothing in
the variable state (in this worker's memory and in Redis shared by workers), and a stored
decision keeps the relationship graph it saw for its trace."""

from __future__ import annotations

import datetime as dt

import pytest
import redis
import yaml
from fastapi.testclient import TestClient

from fengkong.api import create_app
from fengkong.api import writer as writer_module
from fengkong.services.access import create_api_key
from fengkong.services.policies import promote, submit_policy
from fengkong.settings import Settings

NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
POLICY = {
    "schema_version": 1, "name": "online", "version": "1", "variables": "application_risk",
    "graph_features": True,
    "rules": [{"id": "VELOCITY", "when": "app_cnt_person_7d >= 2", "action": "refer"}],
}  # fmt: skip


class Clock:
    """The server's clock, set to each application's time before it is sent."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now

    def at(self, text: str) -> None:
        self.now = dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


CLOCK = Clock()


def _post(client, headers, k, at, device="devA", person=7):  # type: ignore[no-untyped-def]
    app = {"application_id": k, "person_id": person, "applied_at": at, "device_id": device,
           "ip": f"10.0.0.{k}", "institution_id": 1, "product": "cash_loan", "channel": "app",
           "requested_amount_fen": 500_000, "requested_term": 12}  # fmt: skip
    ids = [["device", device, at], ["mobile", f"1380013{person:04d}", at]]
    CLOCK.at(at)
    return client.post(
        "/v1/decisions", json={"application": app, "identifiers": ids}, headers=headers
    )


def _service(tmp_path, **settings):  # type: ignore[no-untyped-def]
    path = tmp_path / "online.yaml"
    path.write_text(yaml.safe_dump(POLICY))
    CLOCK.now = NOW
    app = create_app(Settings(data_dir=tmp_path, **settings), default_policy="online", clock=CLOCK)
    with app.state.sessions.begin() as s:
        key = create_api_key(s, name="gate", role="service", at=NOW)
        submit_policy(s, path, author="alice", at=NOW)
        promote(s, "online", "1", to="approved", actor="bob", at=NOW)
        promote(s, "online", "1", to="active", actor="bob", at=NOW)
    return app, {"X-API-Key": key}


def _failing_store(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The database refuses every record while ``down[0]`` is true (an outage)."""
    down = [False]
    real = writer_module.store_rows

    def store(engine, rows):  # type: ignore[no-untyped-def]
        if down[0]:
            return [
                "OperationalError: (psycopg.OperationalError) server closed [SQL: INSERT"
            ] * len(rows)
        return real(engine, rows)

    monkeypatch.setattr(writer_module, "store_rows", store)
    return down


def _counts_after_an_outage(client, h, down) -> dict:  # type: ignore[no-untyped-def]
    assert _post(client, h, 1, "2026-11-20T09:00:00").status_code == 200
    down[0] = True
    for k in (2, 3):  # two applications while the database is down: both 503, none stored
        r = _post(client, h, k, f"2026-11-2{k - 1}T09:0{k}:00")
        assert r.status_code == 503, r.text
        assert "SQL" not in r.text and "INSERT" not in r.text
    down[0] = False
    r = _post(client, h, 4, "2026-11-22T09:30:00")
    assert r.status_code == 200, r.text
    stored = client.get("/v1/decisions", headers=h).json()
    assert len(stored) == 2  # two stored, not four
    trace = client.get(f"/v1/decisions/{r.json()['decision_id']}", headers=h).json()
    return trace


def test_a_failed_store_observes_nothing_in_the_worker(tmp_path, monkeypatch) -> None:
    app, h = _service(tmp_path)
    down = _failing_store(monkeypatch)
    with TestClient(app) as client:
        trace = _counts_after_an_outage(client, h, down)
    variables = trace["variables"]
    assert variables["app_cnt_person_7d"] == 1  # the one stored before, not the two refused
    assert trace["decision"] == "approve"  # VELOCITY (>= 2) would refer had they counted
    app.state.engine.dispose()


def test_a_failed_store_observes_nothing_in_redis(tmp_path, monkeypatch, redis_url) -> None:
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter("fk:vars:application_risk*"):
        client.delete(key)
    app, h = _service(tmp_path, redis_url=redis_url)
    down = _failing_store(monkeypatch)
    try:
        with TestClient(app) as c:
            trace = _counts_after_an_outage(c, h, down)
        assert trace["variables"]["app_cnt_person_7d"] == 1
    finally:
        for key in client.scan_iter("fk:vars:application_risk*"):
            client.delete(key)
        app.state.engine.dispose()


def test_a_stored_decision_keeps_the_graph_it_saw(tmp_path) -> None:
    app, h = _service(tmp_path)
    with TestClient(app) as client:
        first = _post(client, h, 1, "2026-11-20T09:00:00", device="devA", person=7).json()
        _post(client, h, 2, "2026-11-20T09:30:00", device="devA", person=8)  # joins 7 later
        _post(client, h, 3, "2026-11-20T09:40:00", device="devA", person=9)
        trace = client.get(f"/v1/decisions/{first['decision_id']}", headers=h).json()
        graph = trace["graph"]
        people = {n["id"] for n in graph["nodes"] if n["kind"] == "applicant"}
        assert people == {"person:7"}  # as it stood then, not the three applicants of today
        assert graph["as_of"].startswith("2026-11-20T09:00")
        page = client.get(f"/ui/decisions/{first['decision_id']}")  # not logged in: redirect
        assert page.status_code in (200, 303, 401)
        last = client.get("/v1/decisions", headers=h).json()[0]
        latest = client.get(f"/v1/decisions/{last['decision_id']}", headers=h).json()["graph"]
        assert {n["id"] for n in latest["nodes"] if n["kind"] == "applicant"} == {
            "person:7", "person:8", "person:9"
        }  # fmt: skip
    app.state.engine.dispose()
