"""A small spec and application events shared by the feature tests (imported by name)."""

from __future__ import annotations

import datetime as dt

T0 = dt.datetime(2026, 5, 1, 12)
SPEC = """
schema_version: 1
name: tiny
lateness: 1h
sources:
  app:
    timestamp: at
    id: id
    entities: {person: pid, device: dev}
    columns: {inst: int, amt: {column: amount_fen, type: int}, channel: str}
filters:
  h5: {column: channel, in: [h5]}
groups:
  - source: app
    entities: [person, device]
    windows: [1d, 7d, all]
    aggregations: [count, {distinct: inst}, {sum: amt}, {max: amt}, {share: h5}, days_since_last]
trends:
  - {source: app, entities: [person], aggregations: [count], pairs: [[1d, 7d]]}
expressions:
  - {name: amt_per_app_7d, expression: "app_sum_amt_person_7d / app_cnt_person_7d"}
"""


def app(
    i: int,
    hours: float,
    pid: int | None,
    *,
    dev: str | None = "d1",
    inst: int = 1,
    amt: int = 100_00,
    channel: str = "app",
) -> dict[str, object]:
    """One application event ``hours`` after T0."""
    return {
        "id": i,
        "at": T0 + dt.timedelta(hours=hours),
        "pid": pid,
        "dev": dev,
        "inst": inst,
        "amount_fen": amt,
        "channel": channel,
    }
