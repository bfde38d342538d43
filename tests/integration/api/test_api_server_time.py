"""The server knows the time: a caller's ``applied_at`` is checked against the server clock,
so one request dated 9999-12-31 can no longer stop every later decision (issue 22 part 1)."""

from __future__ import annotations

import datetime as dt

import pytest
import redis
import yaml
from fastapi.testclient import TestClient

from fengkong.api import create_app
from fengkong.services.access import create_api_key
from fengkong.services.policies import promote, submit_policy
from fengkong.settings import Settings

NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
POLICY = {
    "schema_version": 1,
    "name": "online",
    "version": "1",
    "variables": "application_risk",
    "graph_features": True,
    "rules": [{"id": "VELOCITY", "when": "app_cnt_person_7d >= 2", "action": "refer"}],
}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


def _app(tmp_path, clock, **settings):
    path = tmp_path / "online.yaml"
    path.write_text(yaml.safe_dump(POLICY))
    app = create_app(
        Settings(data_dir=tmp_path, decision_late_seconds=60, decision_skew_seconds=5, **settings),
        default_policy="online",
        clock=clock,
    )
    return app, path


@pytest.fixture
def service(tmp_path):
    clock = Clock()
    app, path = _app(tmp_path, clock)
    with app.state.sessions.begin() as s:
        key = create_api_key(s, name="gate", role="service", at=NOW)
        submit_policy(s, path, author="alice", at=NOW)
        promote(s, "online", "1", to="approved", actor="bob", at=NOW)
        promote(s, "online", "1", to="active", actor="bob", at=NOW)
    yield TestClient(app), {"X-API-Key": key}, clock
    app.state.engine.dispose()


def body(k: int, person: int = 7, **extra):
    app = {"application_id": k, "person_id": person, "device_id": f"dev{k}", "ip": "10.0.0.1",
           "institution_id": 1, "product": "cash_loan", "channel": "app",
           "requested_amount_fen": 500_000, "requested_term": 12} | extra  # fmt: skip
    return {"application": app, "identifiers": [["device", f"dev{k}", None]]}


def _identifiers_seen_now(b: dict, at: str) -> dict:
    b["identifiers"] = [[t, v, at] for t, v, _ in b["identifiers"]]
    return b


def test_a_far_future_application_is_refused_and_stores_and_poisons_nothing(service):
    c, h, clock = service
    poison = _identifiers_seen_now(body(1, applied_at="9999-12-31T23:59:59"), "9999-12-31T23:59:59")
    r = c.post("/v1/decisions", json=poison, headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "application.applied_at"
    assert c.get("/v1/decisions", headers=h).json() == []  # nothing stored
    for k in range(2, 5):  # every later normal application is decided
        clock.now += dt.timedelta(hours=1)
        r = c.post("/v1/decisions", json=body(k), headers=h)
        assert r.status_code == 200, r.text
    assert c.get("/ready").status_code == 200


def test_without_applied_at_the_server_clock_stamps_the_application(service):
    c, h, clock = service
    decisions = []
    for k in range(3):
        clock.now = NOW + dt.timedelta(days=k)
        r = c.post("/v1/decisions", json=body(10 + k), headers=h)
        assert r.status_code == 200, r.text
        decisions.append(r.json())
    # two earlier applications of the person within 7 days: the third is referred
    assert [d["decision"] for d in decisions] == ["approve", "approve", "refer"]
    assert decisions[2]["reasons"] == ["VELOCITY"]


@pytest.mark.parametrize(
    ("offset", "ok"),
    [
        (dt.timedelta(seconds=-60), True),  # the late window's edge
        (dt.timedelta(seconds=-61), False),
        (dt.timedelta(seconds=5), True),  # the clock skew's edge
        (dt.timedelta(seconds=6), False),
        (dt.timedelta(days=-365), False),  # a replay of history: not through the live path
    ],
)
def test_a_callers_time_is_accepted_only_around_the_server_clock(service, offset, ok):
    c, h, _ = service
    at = (NOW + offset).replace(tzinfo=None).isoformat()
    r = c.post("/v1/decisions", json=body(20, applied_at=at), headers=h)
    assert (r.status_code == 200) == ok, r.text
    if not ok:
        assert r.json()["error"]["field"] == "application.applied_at"
        assert "server's clock" in r.json()["error"]["message"]


def test_an_unreadable_or_zoned_time_is_handled(service):
    c, h, _ = service
    r = c.post("/v1/decisions", json=body(30, applied_at="yesterday"), headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "application.applied_at"
    zoned = (NOW + dt.timedelta(hours=8)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    r = c.post("/v1/decisions", json=body(31, applied_at=zoned.isoformat()), headers=h)
    assert r.status_code == 422  # 8 hours ahead of the server, whatever the zone says
    r = c.post(
        "/v1/decisions",
        json=body(32, applied_at=NOW.astimezone(zoned.tzinfo).isoformat()),
        headers=h,
    )
    assert r.status_code == 200, r.text  # the same instant in another zone


def test_ready_reports_state_that_refuses_live_applications(service):
    c, h, clock = service
    assert c.post("/v1/decisions", json=body(40), headers=h).status_code == 200
    assert c.get("/ready").status_code == 200
    clock.now = NOW - dt.timedelta(days=3)  # the server's clock set back (or a poisoned state)
    r = c.get("/ready")
    assert r.status_code == 503
    problems = r.json()["problems"]
    assert any(p.startswith("variables application_risk") for p in problems)
    assert any(p.startswith("graph") for p in problems)


def test_through_redis_a_refused_request_poisons_no_worker(tmp_path):
    url = "redis://127.0.0.1:6379/0"
    client = redis.Redis.from_url(url)
    for key in client.scan_iter("fk:vars:application_risk*"):
        client.delete(key)
    clock = Clock()
    apps = [_app(tmp_path, clock, redis_url=url)[0] for _ in range(2)]
    path = tmp_path / "online.yaml"
    with apps[0].state.sessions.begin() as s:
        key = create_api_key(s, name="gate", role="service", at=NOW)
        submit_policy(s, path, author="alice", at=NOW)
        promote(s, "online", "1", to="approved", actor="bob", at=NOW)
        promote(s, "online", "1", to="active", actor="bob", at=NOW)
    h = {"X-API-Key": key}
    a, b = TestClient(apps[0]), TestClient(apps[1])
    try:
        r = a.post("/v1/decisions", json=body(50, applied_at="9999-12-31T23:59:59"), headers=h)
        assert r.status_code == 422
        clock.now += dt.timedelta(minutes=5)
        assert b.post("/v1/decisions", json=body(51), headers=h).status_code == 200
        assert a.post("/v1/decisions", json=body(52), headers=h).status_code == 200
        assert a.get("/ready").status_code == 200 and b.get("/ready").status_code == 200
    finally:
        for key_ in client.scan_iter("fk:vars:application_risk*"):
            client.delete(key_)
        for app in apps:
            app.state.engine.dispose()
