"""Online variables through the real Redis (127.0.0.1:6379): shared by workers, kept over restarts."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator

import polars as pl
import pytest
import redis

from fengkong.features import OnlineEngine, build_variables, load_spec
from fengkong.services.feature_store import RedisStateStore

SPEC = """
schema_version: 1
sources:
  app:
    timestamp: applied_at
    id: application_id
    entities: {person: person_id, device: device_id, ip: ip}
    columns: {institution_id: int, amount: {column: requested_amount_fen, type: int}}
groups:
  - source: app
    entities: [person, device, ip]
    windows: [1d, 7d, 30d, all]
    aggregations: [count, {distinct: institution_id}, {sum: amount}, {max: amount}]
"""


@pytest.fixture
def store() -> Iterator[RedisStateStore]:
    client = redis.Redis(host="127.0.0.1", port=6379)
    store = RedisStateStore(client, prefix=f"fk-test:{uuid.uuid4().hex}")
    yield store
    store.clear()
    client.close()


@pytest.fixture(scope="module")
def apps(small_book) -> pl.DataFrame:
    return small_book.applications.sort("applied_at", "application_id").head(3000)


def test_two_workers_sharing_redis_equal_batch(store: RedisStateStore, apps: pl.DataFrame) -> None:
    spec = load_spec(SPEC)
    expected = build_variables(spec, {"app": apps}, target="app").rows_by_key(
        "application_id", named=True, unique=True
    )
    workers = [OnlineEngine(spec, target="app", store=store) for _ in range(2)]
    for i, event in enumerate(apps.iter_rows(named=True)):
        worker = workers[i % 2]  # applications alternate between the two workers
        values = worker.compute(event)
        want = expected[event["application_id"]]
        assert values == {k: v for k, v in want.items() if k != "application_id"}
        worker.observe("app", event)
    restarted = OnlineEngine(
        spec, target="app", store=RedisStateStore(store.client, prefix=store.prefix)
    )
    last = apps.row(-1, named=True)
    assert restarted.compute({**last, "application_id": -1})["app_cnt_person_all"] >= 1


def test_concurrent_writers_lose_nothing(store: RedisStateStore, apps: pl.DataFrame) -> None:
    spec = load_spec(SPEC)
    start = apps["applied_at"][0]
    rows = [
        {**r, "person_id": 1, "applied_at": start + dt.timedelta(seconds=i)}  # within the lateness
        for i, r in enumerate(apps.head(200).iter_rows(named=True))
    ]

    def work(part: list[dict]) -> None:
        engine = OnlineEngine(
            spec, target="app", store=RedisStateStore(store.client, prefix=store.prefix)
        )
        for row in part:
            engine.observe("app", row)

    threads = [threading.Thread(target=work, args=(rows[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    probe = {**rows[-1], "application_id": -1, "applied_at": max(r["applied_at"] for r in rows)}
    probe["applied_at"] = probe["applied_at"].replace(year=probe["applied_at"].year + 1)
    assert OnlineEngine(spec, target="app", store=store).compute(probe)["app_cnt_person_all"] == 200
