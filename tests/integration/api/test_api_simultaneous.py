"""Simultaneous applications of one person see each other (issue 22 part 4): compute and
observe are one atomic step per entity key, through Redis across workers, in one serial order
— a burst can no longer evade the velocity rules by landing on two workers at once."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

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
    "name": "burst",
    "version": "1",
    "variables": "application_risk",
    "rules": [{"id": "VELOCITY", "when": "app_cnt_person_1d >= 3", "action": "refer"}],
}
URL = "redis://127.0.0.1:6379/0"


def _clean(client: redis.Redis) -> None:
    for key in client.scan_iter("fk:vars:application_risk*"):
        client.delete(key)


def test_a_burst_of_one_person_on_two_workers_is_counted_in_one_order(tmp_path):
    client = redis.Redis.from_url(URL)
    _clean(client)
    path = tmp_path / "burst.yaml"
    path.write_text(yaml.safe_dump(POLICY))
    ticks = itertools.count()
    lock = threading.Lock()

    def clock() -> dt.datetime:  # each worker's clock: the same instant, give or take 1 µs
        with lock:
            return NOW + dt.timedelta(microseconds=next(ticks) % 2)

    apps = [
        create_app(Settings(data_dir=tmp_path, redis_url=URL), default_policy="burst", clock=clock)
        for _ in range(2)
    ]
    with apps[0].state.sessions.begin() as s:
        key = create_api_key(s, name="gate", role="service", at=NOW)
        submit_policy(s, path, author="alice", at=NOW)
        promote(s, "burst", "1", to="approved", actor="bob", at=NOW)
        promote(s, "burst", "1", to="active", actor="bob", at=NOW)
    h = {"X-API-Key": key}
    workers = [TestClient(a) for a in apps]
    n = 16
    start = threading.Barrier(n)

    def send(k: int) -> dict:
        body = {"application": {"application_id": 100 + k, "person_id": 7, "device_id": f"d{k}",
                                "ip": "10.0.0.1", "institution_id": 1, "product": "cash_loan",
                                "channel": "app", "requested_amount_fen": 100_000,
                                "requested_term": 12}}  # fmt: skip
        start.wait()  # all at once, half on each worker
        r = workers[k % 2].post("/v1/decisions", json=body, headers=h)
        assert r.status_code == 200, r.text
        return r.json()

    try:
        with ThreadPoolExecutor(n) as pool:
            decided = list(pool.map(send, range(n)))
        counts = sorted(
            workers[0]
            .get(f"/v1/decisions/{d['decision_id']}", headers=h)
            .json()["variables"]["app_cnt_person_1d"]
            for d in decided
        )
        assert counts == list(range(n))  # each saw every application decided before it
        assert sum(d["decision"] == "refer" for d in decided) == n - 3
    finally:
        _clean(client)
        for a in apps:
            a.state.engine.dispose()
