"""The online state answers a time exactly or refuses it: never a count that includes the
future (issue: an application at day 2.5 after 29 daily events counted 21 events online,
2 in batch)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from fengkong.features import OnlineEngine, build_variables, load_spec
from fengkong.features.online import LateEventError

SPEC = """
schema_version: 1
lateness: 1h
sources:
  app: {timestamp: at, id: id, entities: {person: pid}, columns: {amt: int}}
groups:
  - {source: app, entities: [person], windows: [1d, all], aggregations: [count, {sum: amt}]}
"""
START = dt.datetime(2026, 1, 1)


def _events(n: int) -> list[dict]:
    return [
        {"id": k, "pid": 7, "amt": 100 * (k + 1), "at": START + dt.timedelta(days=k)}
        for k in range(n)
    ]


def _batch(events: list[dict], app: dict) -> dict:
    spec = load_spec(SPEC)
    frame = pl.DataFrame([*events, app])
    out = build_variables(spec, {"app": frame}, target="app")
    return out.filter(pl.col("id") == app["id"]).row(0, named=True)


def test_a_time_before_folded_events_is_refused_not_miscounted():
    engine = OnlineEngine(load_spec(SPEC), target="app")
    events = _events(29)
    for e in events:
        engine.observe("app", e)
    early = {"id": 100, "pid": 7, "amt": 1, "at": START + dt.timedelta(days=2, hours=12)}
    assert _batch(events, early)["app_cnt_person_all"] == 3  # days 0, 1 and 2
    with pytest.raises(LateEventError) as info:
        engine.compute(early)
    assert info.value.field == "app.at"


@pytest.mark.parametrize("hours_back", [0, 1, 12, 23])
def test_a_time_whose_windows_are_retained_is_answered_exactly(hours_back):
    engine = OnlineEngine(load_spec(SPEC), target="app")
    events = _events(29)
    for e in events:
        engine.observe("app", e)
    at = START + dt.timedelta(days=28, hours=12) - dt.timedelta(hours=hours_back)
    app = {"id": 100, "pid": 7, "amt": 1, "at": at}
    online = engine.compute(app)
    expected = _batch(events, app)
    for name, value in online.items():
        assert value == expected[name], name
