"""Online state carries its spec's content hash (issue 22 part 3): inserting one group in a
spec used to make the same state read another variable's history silently; now a mismatch
is refused naming both hashes, each spec version has its own Redis prefix, and
``fengkong features reseed`` rebuilds the state from history for a new version."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import redis
from typer.testing import CliRunner

from fengkong.cli.app import app
from fengkong.features import OnlineEngine, load_spec
from fengkong.features.online import InProcessStore, StateMismatchError
from fengkong.services.feature_store import RedisStateStore, state_prefix
from fengkong.synth import write_book

OLD = """
schema_version: 1
name: velocity
sources:
  app: {timestamp: at, id: id, entities: {person: pid, device: dev}, columns: {amt: int}}
groups:
  - {source: app, entities: [person], windows: [7d], aggregations: [count]}
"""
# one group inserted before the old one: stream 0 is now the device's
NEW = OLD.replace(
    "groups:\n",
    "groups:\n  - {source: app, entities: [device], windows: [7d], aggregations: [count]}\n",
)
T = dt.datetime(2026, 1, 1)


def _events():
    for k in range(5):
        yield {"id": k, "pid": 1, "dev": f"d{k}", "amt": 1, "at": T + dt.timedelta(hours=k)}


def test_the_two_specs_differ_in_their_hash_and_prefix():
    old, new = load_spec(OLD), load_spec(NEW)
    assert old.sha256 != new.sha256 and len(old.sha256) == 64
    assert state_prefix(old) != state_prefix(new)
    assert load_spec(OLD).sha256 == old.sha256  # content, not identity


def test_a_saved_state_read_with_another_spec_is_refused(tmp_path):
    engine = OnlineEngine(load_spec(OLD), target="app")
    for e in _events():
        engine.observe("app", e)
    engine.store.save(tmp_path / "state.jsonl")  # type: ignore[attr-defined]
    header = json.loads((tmp_path / "state.jsonl").read_text().splitlines()[0])
    assert header["spec_sha256"] == load_spec(OLD).sha256
    with pytest.raises(StateMismatchError) as info:
        OnlineEngine(
            load_spec(NEW), target="app", store=InProcessStore.load(tmp_path / "state.jsonl")
        )
    message = str(info.value)
    assert load_spec(OLD).sha256[:16] in message and load_spec(NEW).sha256[:16] in message
    again = OnlineEngine(
        load_spec(OLD), target="app", store=InProcessStore.load(tmp_path / "state.jsonl")
    )
    probe = {"id": 99, "pid": 1, "dev": "d9", "amt": 1, "at": T + dt.timedelta(hours=6)}
    assert again.compute(probe)["app_cnt_person_7d"] == 5


def test_one_redis_prefix_refuses_a_second_spec():
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    prefix = "fk:test:state-tied"
    store = RedisStateStore(client, prefix=prefix)
    store.clear()
    try:
        OnlineEngine(load_spec(OLD), target="app", store=store).observe("app", next(_events()))
        with pytest.raises(StateMismatchError):
            OnlineEngine(load_spec(NEW), target="app", store=RedisStateStore(client, prefix=prefix))
    finally:
        store.clear()


def test_reseed_rebuilds_the_state_for_a_new_version(tmp_path):
    write_book(tmp_path / "book", 2_000, seed=3)
    spec = "application_risk"
    result = CliRunner().invoke(
        app,
        [
            "features",
            "reseed",
            "--spec",
            spec,
            "--book",
            str(tmp_path / "book"),
            "--out",
            str(tmp_path / "state.jsonl"),
        ],
    )
    assert result.exit_code == 0, result.output
    loaded = load_spec(spec)
    store = InProcessStore.load(tmp_path / "state.jsonl")
    assert store.spec_sha256 == loaded.sha256 and len(store.states) > 1_000
    OnlineEngine(loaded, target="app", store=store)  # accepted: the same content
    url = "redis://127.0.0.1:6379/0"
    result = CliRunner().invoke(
        app,
        [
            "features",
            "reseed",
            "--spec",
            spec,
            "--book",
            str(tmp_path / "book"),
            "--redis-url",
            url,
        ],
    )
    assert result.exit_code == 0, result.output
    shared = RedisStateStore(redis.Redis.from_url(url), prefix=state_prefix(loaded))
    try:
        assert state_prefix(loaded) in result.output
        assert shared.get_watermark() == store.get_watermark()
        OnlineEngine(loaded, target="app", store=shared)
    finally:
        shared.clear()


def test_reseed_needs_somewhere_to_write(tmp_path, monkeypatch):
    monkeypatch.delenv("FENGKONG_REDIS_URL", raising=False)
    result = CliRunner().invoke(app, ["features", "reseed", "--spec", "application_risk",
                                      "--book", str(tmp_path)])  # fmt: skip
    assert result.exit_code != 0 and "--out" in result.output


def test_an_event_that_became_late_meanwhile_is_refused_not_written():
    """Through Redis the step reads the watermark, then writes: if another worker moved the
    watermark more than the lateness past the event in between, the write is refused and the
    step, run again, refuses the event (it used to be written past the lateness check)."""
    from fengkong.features.online import LateEventError  # noqa: PLC0415

    spec = load_spec(OLD.replace("name: velocity", "name: velocity\nlateness: 1h"))
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    store = RedisStateStore(client, prefix="fk:test:late-meanwhile")
    store.clear()
    try:
        engine = OnlineEngine(spec, target="app", store=store)
        engine.observe("app", {"id": 1, "pid": 1, "dev": "d1", "amt": 1, "at": T})
        real = store._commit
        calls = []

        def racing(**kwargs):  # another worker's event, 2 hours later, lands first
            if not calls:
                store.advance_watermark(int((T + dt.timedelta(hours=2) - dt.datetime(1970, 1, 1))
                                            / dt.timedelta(microseconds=1)))  # fmt: skip
            calls.append(1)
            return real(**kwargs)

        store._commit = racing
        late = {"id": 2, "pid": 1, "dev": "d2", "amt": 1, "at": T + dt.timedelta(minutes=30)}
        with pytest.raises(LateEventError):
            engine.compute_and_observe(late)
        assert len(calls) == 1  # the write was refused once; the second read refused the event
        probe = {"id": 3, "pid": 1, "dev": "d3", "amt": 1, "at": T + dt.timedelta(hours=2)}
        assert engine.compute(probe)["app_cnt_person_7d"] == 1  # only the first application
    finally:
        store.clear()
