"""Group commit of decision records: many decisions, one transaction.

A decision's response waits until its audit record is committed (a 200 always means a stored
record), but records arriving together share one transaction — and its flush — instead of
each paying for its own. If a batch fails, its records are retried one by one, so one bad
record fails only its own request (:func:`store_rows`).

One writer thread per serving process takes the records off the event loop; it wakes each
waiting event loop once per batch, not once per record.

On SQLite a background thread copies the write-ahead log into the database every second with a
passive checkpoint (:class:`WalCheckpointer`, which waits for no reader or writer), so the
checkpoint SQLite runs after a commit has little left to copy.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import queue
import threading
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Engine, Table, insert

from fengkong.api.errors import StorageError
from fengkong.db.models import DecisionRecord
from fengkong.services.online import Decided
from fengkong.services.policies import decision_row

__all__ = ["DecisionWriter", "WalCheckpointer", "store_rows"]

_INSERT = insert(cast(Table, DecisionRecord.__table__))


def store_rows(engine: Engine, rows: list[dict[str, Any]]) -> list[str | None]:
    """Insert ``rows`` into ``decisions`` in one transaction; if that fails, each row in its
    own. Per row: ``None`` when stored, else why not."""
    with engine.connect() as conn:
        try:
            with conn.begin():  # Core, not the ORM: one executemany per batch
                conn.execute(_INSERT, rows)
            return [None] * len(rows)
        except Exception:  # retried one by one: only a bad record fails its own request
            results: list[str | None] = []
            for row in rows:
                try:
                    with conn.begin():
                        conn.execute(_INSERT, [row])
                    results.append(None)
                except Exception as exc:
                    results.append(f"{type(exc).__name__}: {exc}"[:500])
            return results


@dataclass(slots=True)
class _Item:
    row: dict[str, Any]
    future: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop


class DecisionWriter:
    """Commits decision records in batches from a background thread of this process."""

    def __init__(self, engine: Engine, *, max_batch: int = 256) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._run, name="fengkong-decision-writer", daemon=True
        )
        self._thread.start()

    async def write(
        self,
        decided: Decided,
        *,
        at: dt.datetime,
        decision_id: str,
        application_id: str | None,
    ) -> None:
        """Store one decision; returns once its transaction has committed. If it cannot be
        stored, the application is taken back out of the online state (it never happened)
        and :class:`~fengkong.api.errors.StorageError` is raised."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        row = decision_row(decided.decision, at=at, decision_id=decision_id,
                           application_id=application_id, graph=decided.graph)  # fmt: skip
        self._queue.put(_Item(row, future, loop))
        try:
            await future
        except StorageError:  # (a request cancelled while waiting is still stored)
            decided.forget()
            raise

    def close(self) -> None:
        """Finish what is queued and stop the thread."""
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            results = store_rows(self.engine, [it.row for it in batch])
            for loop, items in _by_loop(batch).items():  # one wake-up of each event loop
                loop.call_soon_threadsafe(_settle, items, [results[k] for k in items])


def _by_loop(batch: list[_Item]) -> dict[asyncio.AbstractEventLoop, dict[int, _Item]]:
    out: dict[asyncio.AbstractEventLoop, dict[int, _Item]] = {}
    for k, it in enumerate(batch):
        out.setdefault(it.loop, {})[k] = it
    return out


def _settle(items: dict[int, _Item], errors: list[str | None]) -> None:
    for it, error in zip(items.values(), errors, strict=True):
        if it.future.done():
            continue
        if error is None:
            it.future.set_result(None)
        else:
            it.future.set_exception(StorageError(_without_sql(error)))


class WalCheckpointer:
    """Passive WAL checkpoints of a SQLite database every ``every`` seconds, off the request
    path: they copy the log into the database in the background, so the checkpoint SQLite
    runs after a commit (which is what rewinds the log under a constant stream of writes)
    finds almost nothing left to copy."""

    def __init__(self, engine: Engine, *, every: float = 1.0) -> None:
        self.engine = engine
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fengkong-wal-checkpoint",
                                        daemon=True)  # fmt: skip
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                with self.engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            except Exception:  # a failed checkpoint is retried a second later
                continue

    def close(self) -> None:
        """Stop, after one last checkpoint."""
        self._stop.set()
        self._thread.join(timeout=10)
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


def _without_sql(error: str) -> str:
    """The storage error for the caller: its first line, never the SQL or its parameters."""
    first = error.split("[SQL:", maxsplit=1)[0].splitlines()[0] if error else "unknown error"
    return f"the decision's audit record could not be stored, so it does not count: {first[:200]}"
