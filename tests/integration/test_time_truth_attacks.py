"""Attacks on the platform's time-truth promises (server clock, atomic variables, spec-bound
state, point in time, one id once, look-alike identifiers, benign sharing). Each test fails
today because of a real bug; its docstring states the promise it holds the code to."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
import redis
import yaml
from fastapi.testclient import TestClient

from fengkong.api import create_app
from fengkong.errors import InvalidArgumentError
from fengkong.features import OnlineEngine, build_variables, load_spec
from fengkong.features.online import StateMismatchError
from fengkong.graph import IdentifierGraph, OnlineGraph
from fengkong.graph.rings import detect_rings
from fengkong.services.access import create_api_key
from fengkong.services.feature_store import RedisStateStore
from fengkong.services.policies import promote, submit_policy
from fengkong.settings import Settings

NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
URL = "redis://127.0.0.1:6379/0"
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


def _service(tmp_path, policy=POLICY, **settings):
    clock = Clock()
    path = tmp_path / f"{policy['name']}.yaml"
    path.write_text(yaml.safe_dump(policy))
    app = create_app(
        Settings(data_dir=tmp_path, decision_late_seconds=60, decision_skew_seconds=5, **settings),
        default_policy=policy["name"],
        clock=clock,
    )
    with app.state.sessions.begin() as s:
        key = create_api_key(s, name="gate", role="service", at=NOW)
        submit_policy(s, path, author="alice", at=NOW)
        promote(s, policy["name"], "1", to="approved", actor="bob", at=NOW)
        promote(s, policy["name"], "1", to="active", actor="bob", at=NOW)
    client = TestClient(app, raise_server_exceptions=False)
    return app, client, {"X-API-Key": key}, clock


def body(k: int, person: int = 7, **extra):
    app = {"application_id": k, "person_id": person, "device_id": f"dev{k}", "ip": "10.0.0.1",
           "institution_id": 1, "product": "cash_loan", "channel": "app",
           "requested_amount_fen": 500_000, "requested_term": 12} | extra  # fmt: skip
    return {"application": app, "identifiers": [["device", f"dev{k}", None]]}


def _clean(client: redis.Redis) -> None:
    for key in client.scan_iter("fk:vars:application_risk*"):
        client.delete(key)


@pytest.fixture
def service(tmp_path):
    app, client, headers, clock = _service(tmp_path)
    yield app, client, headers, clock
    app.state.engine.dispose()


# -- 1/2. a refused request changes nothing; no request makes later ones fail ------------------


def test_a_person_id_the_graph_cannot_hold_is_refused_before_anything_is_observed(service):
    """Promise: a refused request changes no state (nothing stored, observed or linked), and
    bad input is a 422 naming its field. A ``person_id`` beyond 64 bits passes the variable
    step (observed: the shared IP's counts move) and then fails in the graph (500)."""
    app, c, h, _ = service
    engine = app.state.online.engine("application_risk")
    probe = {"application_id": 999, "person_id": 8, "ip": "10.0.0.1",
             "applied_at": dt.datetime(2026, 11, 24, 10, 30)}  # fmt: skip
    before = engine.compute(probe)["app_cnt_ip_7d"]
    r = c.post("/v1/decisions", json=body(1, person=2**70), headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "body.application.person_id"
    assert engine.compute(probe)["app_cnt_ip_7d"] == before  # nothing observed


def test_an_identifier_first_seen_with_a_time_zone_is_taken_or_refused_by_field(service):
    """Promise (docs/service.md, docs/graph.md): first-seen times may be aware (converted to
    UTC) and are never after the application, else 422 naming ``identifiers.N``. An aware
    first-seen time answers 500 (naive and aware datetimes compared in ``_links``)."""
    _, c, h, _ = service
    earlier = body(1)
    earlier["identifiers"] = [["device", "dev1", "2026-11-24T17:00:00+08:00"]]  # 09:00 UTC
    r = c.post("/v1/decisions", json=earlier, headers=h)
    assert r.status_code == 200, r.text
    later = body(2)
    later["identifiers"] = [["device", "dev2", "2026-11-24T20:00:00+08:00"]]  # 12:00 UTC
    r = c.post("/v1/decisions", json=later, headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "identifiers.0"


def test_an_unhashable_entity_key_is_a_422_naming_the_field(service):
    """Promise: a bad event (a value of the wrong type) is refused naming the field before
    anything changes. A ``device_id`` sent as a list answers 500 (unhashable key)."""
    _, c, h, _ = service
    r = c.post("/v1/decisions", json=body(1, device_id=["dev1"]), headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"].endswith("device_id")


def test_through_redis_one_large_amount_cannot_make_later_applications_fail(tmp_path):
    """Promise: no single request can make later normal requests fail (through Redis, for
    every worker). One application asking 2**32 - 1 fen is decided, but its square fills
    the 64-bit range orjson can write: every later application sharing a key with it (here
    only the IP) then answers 500 for good."""
    client = redis.Redis.from_url(URL)
    _clean(client)
    policy = {k: v for k, v in POLICY.items() if k != "graph_features"}
    app, c, h, clock = _service(tmp_path, policy, redis_url=URL)
    try:
        big = body(1, person=1, ip="10.9.9.9", requested_amount_fen=2**32 - 1)
        first = c.post("/v1/decisions", json=big, headers=h)
        statuses = []
        for k in range(2, 5):
            clock.now += dt.timedelta(minutes=1)
            r = c.post("/v1/decisions", json=body(k, person=k, ip="10.9.9.9"), headers=h)
            statuses.append(r.status_code)
        assert first.status_code in (200, 422), first.text
        assert statuses == [200, 200, 200]
    finally:
        _clean(client)
        app.state.engine.dispose()


def test_the_column_an_application_becomes_known_by_is_held_to_the_server_clock(tmp_path):
    """Promise: the decision time is the server's; a caller's time outside [now - late,
    now + skew] is refused with 422 naming the field and cannot refuse later applications.
    A spec whose applications are known by another column (``known: {column: received_at}``)
    takes that column from the caller unchecked: one request dated 9999 moves the state's
    clock and every later application is refused (and /ready reports 503)."""
    spec = tmp_path / "recv_spec.yaml"
    spec.write_text(
        "schema_version: 1\nname: recv\nsources:\n  app:\n    timestamp: applied_at\n"
        "    known: {column: received_at}\n    id: application_id\n"
        "    entities: {person: person_id}\n    columns: {}\n"
        "groups:\n  - {source: app, entities: [person], windows: [1d], aggregations: [count]}\n"
    )
    policy = {"schema_version": 1, "name": "recv", "version": "1", "variables": str(spec),
              "rules": [{"id": "V", "when": "app_cnt_person_1d >= 3", "action": "refer"}]}  # fmt: skip
    app, c, h, clock = _service(tmp_path, policy)

    def us(t: dt.datetime) -> int:
        return (t.replace(tzinfo=None) - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)

    try:
        poison = {"application_id": 1, "person_id": 1, "received_at": us(dt.datetime(9999, 12, 31))}
        r = c.post("/v1/decisions", json={"application": poison}, headers=h)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == "application.received_at"
        clock.now += dt.timedelta(minutes=1)
        normal = {"application_id": 2, "person_id": 2, "received_at": us(clock.now)}
        r = c.post("/v1/decisions", json={"application": normal}, headers=h)
        assert r.status_code == 200, r.text
        assert c.get("/ready").status_code == 200
    finally:
        app.state.engine.dispose()


# -- 3. state belongs to one spec version -------------------------------------------------------

SPEC_A = """
schema_version: 1
name: attack_a
sources:
  app: {timestamp: at, id: id, entities: {person: pid}, columns: {amt: int}}
groups:
  - {source: app, entities: [person], windows: [1d], aggregations: [count, {sum: amt}]}
"""
SPEC_B = SPEC_A.replace("name: attack_a", "name: attack_b").replace(
    "aggregations: [count, {sum: amt}]", "aggregations: [{sum: amt}, count]"
)


def test_redis_seed_refuses_state_built_for_another_spec():
    """Promise: online state is bound to its spec's content hash; another spec's state is
    refused with StateMismatchError naming both hashes. ``RedisStateStore.seed`` copies an
    in-process store built for spec A into a prefix bound to spec B without a check."""
    client = redis.Redis.from_url(URL)
    prefix = "fk:vars:attack_time_truth:seed"
    a, b = load_spec(SPEC_A), load_spec(SPEC_B)
    assert a.sha256 != b.sha256
    built = OnlineEngine(a, target="app")
    built.observe("app", {"id": 1, "pid": 7, "amt": 5, "at": dt.datetime(2026, 1, 1)})
    target = RedisStateStore(client, prefix=prefix)
    try:
        OnlineEngine(b, target="app", store=target)  # binds the prefix to spec B
        with pytest.raises(StateMismatchError) as refused:
            target.seed(built.store)  # type: ignore[arg-type]
        assert a.sha256[:16] in str(refused.value) and b.sha256[:16] in str(refused.value)
    finally:
        target.clear()


# -- 4. point in time ---------------------------------------------------------------------------

KNOWN_BY_DATE = """
schema_version: 1
sources:
  app: {timestamp: at, id: id, entities: {person: pid}, columns: {}}
  loan:
    timestamp: disbursed_on
    known: {column: booked_on}
    id: lid
    entities: {person: pid}
    columns: {}
groups:
  - {source: loan, entities: [person], windows: [all], aggregations: [count]}
"""


def test_a_date_column_named_by_known_still_needs_a_day_rule_in_both_engines():
    """Promise: a row becomes visible only when known; a date column without a rule (end of
    day, a delay) is refused in batch and online, naming the column. ``known: {column:
    booked_on}`` with a date ``booked_on`` takes the date at its midnight in both engines:
    a loan booked that day is seen by the 09:00 application that led to it."""
    spec = load_spec(KNOWN_BY_DATE)
    day = dt.date(2026, 1, 1)
    loan = {"lid": 1, "pid": 7, "disbursed_on": day, "booked_on": day}
    engine = OnlineEngine(spec, target="app")
    with pytest.raises(InvalidArgumentError) as online:
        engine.observe("loan", loan)
    assert "booked_on" in online.value.field
    apps = pl.DataFrame({"id": [1], "pid": [7], "at": [dt.datetime(2026, 1, 1, 9)]})
    with pytest.raises(InvalidArgumentError) as batch:
        build_variables(spec, {"app": apps, "loan": pl.DataFrame([loan])}, target="app")
    assert "booked_on" in batch.value.field


# -- 5. one id once; integers only ----------------------------------------------------------------


def test_batch_refuses_event_ids_that_are_not_integers_as_online_does():
    """Promise: types mean the same in both engines (a float is never truncated to an
    integer); the online engine refuses an id of 1.0. The batch engine casts a float id
    column to Int64 (0.5, 1.5, 2.5 become 0, 1, 2) and computes as if nothing were wrong."""
    spec = load_spec(SPEC_A)
    t = dt.datetime(2026, 1, 1)
    with pytest.raises(InvalidArgumentError):
        OnlineEngine(spec, target="app").observe("app", {"id": 1.0, "pid": 7, "amt": 1, "at": t})
    frame = pl.DataFrame(
        {
            "id": [0.5, 1.5, 2.5],
            "pid": [7, 7, 7],
            "amt": [1, 2, 3],
            "at": [t, t + dt.timedelta(hours=1), t + dt.timedelta(hours=2)],
        }
    )
    with pytest.raises(InvalidArgumentError) as refused:
        build_variables(spec, {"app": frame}, target="app")
    assert refused.value.field.endswith("app.id")


# -- 6. look-alike identifiers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "plain", "lookalike"),
    [
        ("device", "dev-01", "dev-01\x1f"),  # a unit separator: whitespace to Python only
        ("mobile", "13800138000", "138\x1c0013\x1c8000"),
    ],
)
def test_control_whitespace_is_the_same_identifier_online_and_in_batch(kind, plain, lookalike):
    """Promise: an identifier is the same identifier online and in batch. Online (Python's
    ``isspace`` and the kernel's ``_space``) trims and strips U+001C..U+001F; batch (Polars'
    ``strip_chars`` and ``\\s``) does not: online the two applicants share a component, in
    batch they do not (the phone is even malformed there)."""
    t = dt.datetime(2026, 1, 1)
    g = OnlineGraph()
    g.add(1, [(kind, plain, t)], t)
    online = g.add(2, [(kind, lookalike, t)], t)["component_size"]
    frame = pl.DataFrame(
        {
            "person_id": [1, 2],
            "id_type": [kind, kind],
            "id_value": [plain, lookalike],
            "first_seen": [t, t],
        }
    )
    batch = IdentifierGraph.build(frame)
    sizes = dict(zip(batch.persons.tolist(), batch.component_sizes().tolist(), strict=True))
    assert sizes.get(2) == online


# -- 7. rings -------------------------------------------------------------------------------------


def test_a_device_first_seen_years_after_the_applications_is_not_fresh():
    """Promise: sharing alone never flags a group; ``fresh`` means a shared device or card
    first seen within 30 days BEFORE the member's first application. A family that applied
    in one week of 2020 (burst + sharing: 0.5, below 0.55) and shares a tablet first seen in
    2025 is scored fresh (the difference is negative, so "<= 30 days") and flagged."""
    ids = pl.DataFrame(
        [(p, "device", "family-tablet", dt.datetime(2025, 6, 1)) for p in (1, 2, 3)],
        schema=["person_id", "id_type", "id_value", "first_seen"],
        orient="row",
    )
    apps = pl.DataFrame(
        [(p, dt.datetime(2020, 3, 1) + dt.timedelta(days=p)) for p in (1, 2, 3)],
        schema=["person_id", "applied_at"],
        orient="row",
    )
    rings, members = detect_rings(IdentifierGraph.build(ids), apps)
    assert rings["fresh"].to_list() == [0.0]
    assert not members["flagged"].any()


def test_a_filter_value_yaml_reads_as_a_date_is_refused_at_load():
    """Promise: a spec is checked at load. ``eq: 2026-01-01`` is a date to YAML; it used to
    load (and hash like the text '2026-01-01'), then every observe raised a TypeError."""
    from fengkong.errors import ConfigError  # noqa: PLC0415
    from fengkong.features import load_spec  # noqa: PLC0415

    text = """
schema_version: 1
sources:
  app: {timestamp: at, id: id, entities: {person: pid}, columns: {d: str}}
filters:
  x: {column: d, eq: 2026-01-01}
groups:
  - {source: app, entities: [person], windows: [1d], filters: [x], aggregations: [count]}
"""
    with pytest.raises(ConfigError) as info:
        load_spec(text)
    assert any(p.path == "filters.x.eq" for p in info.value.problems)
    quoted = load_spec(text.replace("eq: 2026-01-01", "eq: '2026-01-01'"))
    assert quoted.filters["x"].value == "2026-01-01"
