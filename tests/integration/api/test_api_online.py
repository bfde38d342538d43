"""Variables and graph features computed inside POST /v1/decisions: velocity from earlier
applications, a shared device linking two applicants, caller values never trusted."""

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


class Clock:
    """The server's clock in a test: set to each application's time before it is sent."""

    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def at(self, text: str) -> None:
        self.now = dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


CLOCK = Clock()
POLICY = {
    "schema_version": 1,
    "name": "online",
    "version": "1",
    "variables": "application_risk",
    "graph_features": True,
    "rules": [
        {"id": "VELOCITY", "when": "app_cnt_person_7d >= 2", "action": "refer"},
        {"id": "SHARED_DEVICE", "when": "shared_device >= 1", "action": "refer"},
    ],
}


@pytest.fixture
def client(tmp_path):
    path = tmp_path / "online.yaml"
    path.write_text(yaml.safe_dump(POLICY))
    CLOCK.now = NOW
    app = create_app(Settings(data_dir=tmp_path), default_policy="online", clock=CLOCK)
    with app.state.sessions.begin() as s:
        key = create_api_key(s, name="gate", role="service", at=NOW)
        submit_policy(s, path, author="alice", at=NOW)
        promote(s, "online", "1", to="approved", actor="bob", at=NOW)
        promote(s, "online", "1", to="active", actor="bob", at=NOW)
    yield TestClient(app), {"X-API-Key": key}
    app.state.engine.dispose()


def apply(client, headers, k, person, at, device, **extra):
    app = {"application_id": k, "person_id": person, "applied_at": at, "device_id": device,
           "ip": f"10.0.0.{k}", "institution_id": 1, "product": "cash_loan", "channel": "app",
           "requested_amount_fen": 500_000, "requested_term": 12} | extra  # fmt: skip
    ids = [["device", device, at], ["mobile", f"1380013{person:04d}", at]]
    CLOCK.at(at)  # received as it happens
    r = client.post("/v1/decisions", json={"application": app, "identifiers": ids}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_velocity_and_graph_features_come_from_the_service_state(client):
    c, h = client
    first = apply(c, h, 1, 7, "2026-11-20T09:00:00", "devA", app_cnt_person_7d=99)
    assert first["decision"] == "approve"  # the caller's 99 is ignored: computed, it is 0
    assert apply(c, h, 2, 7, "2026-11-21T09:00:00", "devA")["decision"] == "approve"
    third = apply(c, h, 3, 7, "2026-11-22T09:00:00", "devA")
    assert third["decision"] == "refer" and third["reasons"] == ["VELOCITY"]
    other = apply(c, h, 4, 8, "2026-11-22T10:00:00", "devA")  # another person, same device
    assert other["decision"] == "refer" and "SHARED_DEVICE" in other["reasons"]


def test_metrics_report_the_graph_and_the_identifiers_it_refused(client):
    c, h = client
    app = {"application_id": 1, "person_id": 7, "applied_at": "2026-11-22T10:00:00",
           "device_id": "devA", "ip": "10.0.0.1", "institution_id": 1, "product": "cash_loan",
           "channel": "app", "requested_amount_fen": 500_000, "requested_term": 12}  # fmt: skip
    ids = [["device", "devA", "2026-11-22T10:00:00"], ["mobile", "12", "2026-11-22T10:00:00"]]
    CLOCK.at("2026-11-22T10:00:00")
    r = c.post("/v1/decisions", json={"application": app, "identifiers": ids}, headers=h)
    assert r.status_code == 200, r.text
    metrics = c.get("/metrics").text
    assert "fengkong_graph_applicants 1.0" in metrics
    assert "fengkong_graph_identifiers_rejected_total 1.0" in metrics
    assert "fengkong_graph_identifiers_over_person_cap_total 0.0" in metrics


def test_an_application_older_than_the_graph_allows_is_refused_and_changes_nothing(client):
    c, h = client
    apply(c, h, 1, 7, "2026-11-22T10:00:00", "devA")
    app = {"application_id": 2, "person_id": 8, "applied_at": "2026-11-22T08:00:00",
           "device_id": "devA", "ip": "10.0.0.2", "institution_id": 1, "product": "cash_loan",
           "channel": "app", "requested_amount_fen": 500_000, "requested_term": 12}  # fmt: skip
    ids = [["device", "devA", "2026-11-22T08:00:00"]]
    r = c.post("/v1/decisions", json={"application": app, "identifiers": ids}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "application.applied_at"
    found = c.get("/v1/decisions", headers=h).json()
    assert len(found) == 1  # nothing stored for the refused one
    later = apply(c, h, 3, 8, "2026-11-22T10:30:00", "devB")  # not linked to devA by the refusal
    assert "SHARED_DEVICE" not in later["reasons"]


def test_graph_features_need_the_applicant(client):
    c, h = client
    CLOCK.at("2026-11-20T09:00:00")
    r = c.post("/v1/decisions", json={"application": {"application_id": 1, "applied_at": "2026-11-20T09:00:00"}},
               headers=h)  # fmt: skip
    assert r.status_code == 422 and r.json()["error"]["field"] == "application.person_id"


def test_variable_state_is_shared_through_redis(tmp_path):
    url = "redis://127.0.0.1:6379/0"
    client = redis.Redis.from_url(url)
    for key in client.scan_iter("fk:vars:application_risk*"):
        client.delete(key)
    path = tmp_path / "online.yaml"
    path.write_text(yaml.safe_dump(POLICY))
    apps = [
        create_app(Settings(data_dir=tmp_path, redis_url=url), default_policy="online", clock=CLOCK)
        for _ in range(2)
    ]  # two workers over one database and one Redis
    with apps[0].state.sessions.begin() as s:
        key = create_api_key(s, name="gate", role="service", at=NOW)
        submit_policy(s, path, author="alice", at=NOW)
        promote(s, "online", "1", to="approved", actor="bob", at=NOW)
        promote(s, "online", "1", to="active", actor="bob", at=NOW)
    h = {"X-API-Key": key}
    a, b = TestClient(apps[0]), TestClient(apps[1])
    apply(a, h, 11, 70, "2026-11-20T09:00:00", "devX")
    apply(b, h, 12, 70, "2026-11-21T09:00:00", "devY")
    third = apply(a, h, 13, 70, "2026-11-22T09:00:00", "devZ")
    assert third["reasons"] == ["VELOCITY"]  # counts both workers' applications
    for key_ in client.scan_iter("fk:vars:application_risk*"):
        client.delete(key_)
    for app in apps:
        app.state.engine.dispose()
