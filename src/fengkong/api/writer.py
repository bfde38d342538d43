"""Group commit of decision records: one writer thread per worker, one transaction per batch.

A decision's response waits until its audit record is committed (a 200 always means a stored
record), but requests arriving together share one commit — and its disk flush — instead of
each paying for its own, and the event loop never blocks on the database. If a batch fails,
its records are retried one by one, so one bad record fails only its own request.

On SQLite a background thread copies the write-ahead log into the database every second
with a passive checkpoint (it waits for no reader or writer), so the checkpoint that SQLite
runs after a commit — the one that keeps the log from growing under a constant stream of
writes — has little left to copy.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import queue
import threading
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Engine, Table, insert
from sqlalchemy.orm import Session, sessionmaker

from fengkong.db.models import DecisionRecord
from fengkong.policy import Decision
from fengkong.services.policies import decision_row

__all__ = ["DecisionWriter", "WalCheckpointer"]


@dataclass(slots=True)
class _Item:
    decision: Decision
    at: dt.datetime
    decision_id: str
    application_id: str | None
    future: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop


class DecisionWriter:
    """Commits decision records in batches from a background thread."""

    def __init__(self, sessions: sessionmaker[Session], *, max_batch: int = 256) -> None:
        self.sessions = sessions
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._run, name="fengkong-decision-writer", daemon=True
        )
        self._thread.start()

    async def write(
        self, decision: Decision, *, at: dt.datetime, decision_id: str, application_id: str | None
    ) -> None:
        """Store one decision; returns once its transaction has committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.put(_Item(decision, at, decision_id, application_id, future, loop))
        await future

    def close(self) -> None:
        """Finish what is queued and stop the thread."""
        self._queue.put(None)
        self._thread.join(timeout=30)

    @staticmethod
    def _settle(item: _Item, error: BaseException | None) -> None:
        def done() -> None:
            if item.future.done():
                return
            if error is None:
                item.future.set_result(None)
            else:
                item.future.set_exception(error)

        item.loop.call_soon_threadsafe(done)

    def _store(self, items: list[_Item]) -> None:
        rows = [
            decision_row(it.decision, at=it.at, decision_id=it.decision_id,
                         application_id=it.application_id)
            for it in items
        ]  # fmt: skip
        engine = self.sessions.kw["bind"]
        with engine.begin() as conn:  # Core, not the ORM: one executemany per batch
            conn.execute(insert(cast(Table, DecisionRecord.__table__)), rows)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stop = [first], False
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            try:
                self._store(batch)
                for it in batch:
                    self._settle(it, None)
            except Exception:
                for it in batch:  # one by one: only a bad record fails its own request
                    try:
                        self._store([it])
                        self._settle(it, None)
                    except Exception as exc:
                        self._settle(it, exc)
            if stop:
                return

    def pending(self) -> Any:
        """Records waiting to be written (approximate)."""
        return self._queue.qsize()


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
