"""The online engine: state, eviction, restart, bad and late events."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from feature_book import T0, app  # type: ignore[import-not-found]

from fengkong.errors import InvalidArgumentError
from fengkong.features import InProcessStore, LateEventError, OnlineEngine, build_variables
from fengkong.features.spec import VariableSpec


def _replay(engine: OnlineEngine, apps: pl.DataFrame) -> dict[int, dict[str, object]]:
    out = {}
    for event in apps.sort("at", "id").iter_rows(named=True):
        out[event["id"]] = engine.compute(event)
        engine.observe("app", event)
    return out


def test_matches_batch_on_the_hand_book(spec: VariableSpec, apps: pl.DataFrame) -> None:
    batch = build_variables(spec, {"app": apps}, target="app").rows_by_key(
        "id", named=True, unique=True
    )
    online = _replay(OnlineEngine(spec, target="app"), apps)
    for i, values in online.items():
        assert values == {k: v for k, v in batch[i].items() if k != "id"}


def test_eviction_keeps_all_windows_exact(spec: VariableSpec) -> None:
    engine = OnlineEngine(spec, target="app")
    for i in range(40):  # one application a day for 40 days: the 7 d horizon evicts most
        engine.observe("app", app(i, 24 * i, 7, inst=i % 3, amt=100 * i))
    state = engine.store.get_many([(0, 7)])[0]
    assert state is not None and state.evicted > 25 and len(state.ts) < 15
    values = engine.compute(app(99, 24 * 40, 7))
    assert values["app_cnt_person_all"] == 40
    assert values["app_sum_amt_person_all"] == sum(100 * i for i in range(40))
    assert values["app_max_amt_person_all"] == 3900
    assert values["app_dcnt_inst_person_all"] == 3
    assert values["app_cnt_person_7d"] == 7


def test_restart_from_a_saved_store_keeps_state(
    spec: VariableSpec, apps: pl.DataFrame, tmp_path
) -> None:
    engine = OnlineEngine(spec, target="app")
    for event in apps.sort("at").iter_rows(named=True):
        engine.observe("app", event)
    probe = app(50, 24 * 10, 7)
    before = engine.compute(probe)
    assert isinstance(engine.store, InProcessStore)
    engine.store.save(tmp_path / "state.jsonl")
    restarted = OnlineEngine(
        spec, target="app", store=InProcessStore.load(tmp_path / "state.jsonl")
    )
    assert restarted.compute(probe) == before
    with pytest.raises(InvalidArgumentError, match="path"):
        (tmp_path / "other.jsonl").write_text('{"format": "x"}\n')
        InProcessStore.load(tmp_path / "other.jsonl")


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"id": 9, "pid": 7}, "app.at"),
        ({"at": T0, "pid": 7}, "app.id"),
        ({"id": "9", "at": T0, "pid": 7}, "app.id"),
        ({"id": 9, "at": "yesterday", "pid": 7}, "app.at"),
        ({"id": 9, "at": T0, "pid": 7, "amount_fen": 1.5}, "app.amount_fen"),
        ({"id": 9, "at": T0, "pid": 7, "channel": 3}, "app.channel"),
    ],
)
def test_bad_event_is_refused_and_state_untouched(
    spec: VariableSpec, event: dict, field: str
) -> None:
    engine = OnlineEngine(spec, target="app")
    engine.observe("app", app(1, 0, 7))
    before = engine.compute(app(2, 1, 7))
    with pytest.raises(InvalidArgumentError) as info:
        engine.observe("app", event)
    assert info.value.field == field
    assert engine.compute(app(2, 1, 7)) == before


def test_late_event_refused_duplicate_ignored(spec: VariableSpec) -> None:
    engine = OnlineEngine(spec, target="app")
    engine.observe("app", app(1, 10, 7))
    engine.observe("app", app(2, 9.5, 7))  # 30 min late: within the 1 h lateness
    with pytest.raises(LateEventError, match="lateness"):
        engine.observe("app", app(3, 8, 7))  # two hours late
    engine.observe("app", app(1, 10, 7))  # the same event again
    assert engine.compute(app(4, 11, 7))["app_cnt_person_1d"] == 2


def test_unknown_entity_and_missing_key(spec: VariableSpec) -> None:
    engine = OnlineEngine(spec, target="app")
    values = engine.compute(app(1, 0, 12345, dev=None))
    assert values["app_cnt_person_7d"] == 0 and values["app_sum_amt_person_7d"] == 0
    assert values["app_max_amt_person_7d"] is None and values["app_dlast_person_all"] is None
    assert values["app_cnt_device_7d"] is None


def test_unknown_source_and_target(spec: VariableSpec) -> None:
    with pytest.raises(InvalidArgumentError, match="target"):
        OnlineEngine(spec, target="loans")
    with pytest.raises(InvalidArgumentError, match="source"):
        OnlineEngine(spec, target="app").observe("loans", app(1, 0, 7))


def test_clock_is_the_event_time_not_the_wall(spec: VariableSpec) -> None:
    engine = OnlineEngine(spec, target="app")
    engine.observe("app", app(1, 0, 7))
    far = engine.compute({**app(2, 0, 7), "at": T0 + dt.timedelta(days=3650)})
    assert far["app_cnt_person_all"] == 1 and far["app_cnt_person_7d"] == 0
