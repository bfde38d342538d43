"""The decision writer: group commit, a lock held by another worker, a bad record."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from fengkong.api.errors import StorageError
from fengkong.api.writer import DecisionWriter
from fengkong.db import DecisionRecord, make_engine, migrate
from fengkong.policy.audit import AuditRecord, Decision
from fengkong.services.online import Decided

AT = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)


def _decision(k: int) -> Decision:
    audit = AuditRecord(
        inputs={"applied_on": dt.date(2026, 3, 1), "k": k}, variables={"apr": Decimal("0.18")},
        rule_hits=(), table_rows={}, points={}, models={}, reasons=(), policy="p",
        version="1", sha256="0" * 64, arm=None, timings_ns={"total": 1},
    )  # fmt: skip
    return Decision("approve", (), {"limit": 1000}, (), {}, "p", "1", None, audit)


def _engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'fk.db'}")
    migrate(engine)
    return engine


def _write_all(writer: DecisionWriter, ids: list[str]) -> list[BaseException | None]:
    async def go() -> list[BaseException | None]:
        tasks = [
            writer.write(Decided(_decision(k)), at=AT, decision_id=i, application_id=None)
            for k, i in enumerate(ids)
        ]
        return await asyncio.gather(*tasks, return_exceptions=True)

    return asyncio.run(go())


def _stored(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(DecisionRecord)).scalar_one())


def _hold_write_lock(path: Path, seconds: float, held: threading.Event) -> threading.Thread:
    """Another worker's transaction keeping SQLite's write lock for ``seconds``."""

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    return thread


def test_records_are_stored_with_dates_and_decimals_as_text(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    writer = DecisionWriter(engine)
    assert _write_all(writer, [f"d{k}" for k in range(50)]) == [None] * 50
    writer.close()
    with engine.connect() as conn:
        record = conn.execute(text("SELECT record FROM decisions WHERE id = 'd7'")).scalar_one()
    assert '"applied_on":"2026-03-01"' in record and '"apr":"0.18"' in record
    assert _stored(engine) == 50


def test_a_lock_held_by_another_worker_is_waited_for(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    writer = DecisionWriter(engine)
    held = threading.Event()
    holder = _hold_write_lock(tmp_path / "fk.db", 0.3, held)
    started = time.perf_counter()
    assert _write_all(writer, ["a", "b", "c"]) == [None] * 3
    waited = time.perf_counter() - started
    holder.join()
    writer.close()
    assert 0.25 < waited < 2  # SQLite's busy handler waited for the lock, then committed
    assert _stored(engine) == 3


def test_a_bad_record_fails_only_its_own_request(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    writer = DecisionWriter(engine)
    assert _write_all(writer, ["x"]) == [None]
    results = _write_all(writer, ["y", "x", "z"])  # "x" again: a duplicate key
    writer.close()
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], StorageError) and "UNIQUE" in str(results[1])
    assert _stored(engine) == 3


@pytest.mark.parametrize("n", [1, 300])
def test_batches_larger_than_max_batch_are_split(tmp_path: Path, n: int) -> None:
    engine = _engine(tmp_path)
    writer = DecisionWriter(engine, max_batch=64)
    assert _write_all(writer, [f"d{k}" for k in range(n)]) == [None] * n
    writer.close()
    assert _stored(engine) == n
