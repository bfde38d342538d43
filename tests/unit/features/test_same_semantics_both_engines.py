"""Duplicates and types mean the same in both engines (issue 22 part 5): a repeated event id
counts once, a differing copy is refused, and a non-integer amount in an integer column is
refused in both, naming the column (batch used to truncate 1.7 to 1; online refused it)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from fengkong.errors import InvalidArgumentError
from fengkong.features import OnlineEngine, build_variables, load_spec

SPEC = load_spec("""
schema_version: 1
sources:
  app: {timestamp: at, id: id, entities: {person: pid}, columns: {amt: int}}
groups:
  - {source: app, entities: [person], windows: [7d, all], aggregations: [count, {sum: amt}]}
""")
T = dt.datetime(2026, 1, 1)


def _event(k: int, **extra) -> dict:
    return {"id": k, "pid": 7, "amt": 100, "at": T + dt.timedelta(hours=k)} | extra


def test_a_repeated_event_counts_once_in_both_engines():
    events = [_event(1), _event(1), _event(2), _event(2), _event(2)]  # re-deliveries
    target = _event(10)
    batch = build_variables(SPEC, {"app": pl.DataFrame([*events, target])}, target="app")
    row = batch.filter(pl.col("id") == 10).row(0, named=True)
    engine = OnlineEngine(SPEC, target="app")
    for e in events:
        engine.observe("app", e)
    online = engine.compute(target)
    assert row["app_cnt_person_all"] == online["app_cnt_person_all"] == 2
    assert row["app_sum_amt_person_all"] == online["app_sum_amt_person_all"] == 200


def test_a_repeated_id_at_another_time_counts_once_online():
    engine = OnlineEngine(SPEC, target="app")
    engine.observe("app", _event(1))
    engine.observe("app", _event(1) | {"at": T + dt.timedelta(minutes=30)})
    assert engine.compute(_event(10))["app_cnt_person_all"] == 1


def test_differing_copies_of_one_event_are_refused_in_batch():
    events = [_event(1), _event(1, amt=999), _event(10)]
    with pytest.raises(InvalidArgumentError) as info:
        build_variables(SPEC, {"app": pl.DataFrame(events)}, target="app")
    assert info.value.field.endswith("app.id")


@pytest.mark.parametrize("amount", [1.7, 2.0])
def test_a_float_amount_in_an_integer_column_is_refused_in_both(amount):
    events = [_event(1, amt=amount), _event(10, amt=1.0)]
    with pytest.raises(InvalidArgumentError) as batch:
        build_variables(SPEC, {"app": pl.DataFrame(events)}, target="app")
    assert batch.value.field.endswith("app.amt")
    with pytest.raises(InvalidArgumentError) as online:
        OnlineEngine(SPEC, target="app").observe("app", _event(1, amt=amount))
    assert online.value.field.endswith("app.amt")


def test_a_text_amount_is_refused_in_batch_naming_the_column():
    frame = pl.DataFrame([_event(1, amt="100"), _event(10, amt="5")])
    with pytest.raises(InvalidArgumentError) as info:
        build_variables(SPEC, {"app": frame}, target="app")
    assert info.value.field.endswith("app.amt") and "int" in info.value.expected


@pytest.mark.parametrize("amount", [4_000_000_000, 3 * 10**12, 2**40])
def test_the_std_of_huge_amounts_is_the_same_in_both_engines(amount):
    """A window's sum of squares beyond int64 (amounts above about 3e9 fen): batch used to
    wrap and give a wrong std; both engines now sum squares exactly."""
    spec = load_spec("""
schema_version: 1
sources:
  app: {timestamp: at, id: id, entities: {person: pid}, columns: {amt: int}}
groups:
  - {source: app, entities: [person], windows: [7d, all], aggregations: [{std: amt}, {sum: amt}]}
""")
    events = [_event(k, amt=amount + 1_000 * k) for k in range(1, 4)]
    target = _event(10, amt=1)
    batch = build_variables(spec, {"app": pl.DataFrame([*events, target])}, target="app")
    row = batch.filter(pl.col("id") == 10).row(0, named=True)
    engine = OnlineEngine(spec, target="app")
    for e in events:
        engine.observe("app", e)
    online = engine.compute(target)
    assert row["app_std_amt_person_all"] == online["app_std_amt_person_all"]
    assert row["app_sum_amt_person_all"] == online["app_sum_amt_person_all"]
