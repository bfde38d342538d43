"""Load on the HTTP service: POST /v1/decisions at a steady rate, loopback only, bounded.

With ``--policy demo`` (the default) the database is a ``fengkong demo`` of its default size
(SQLite): the demo policy — 84 online variables computed in the call, 7 relationship-graph
features from the identifiers sent with each application, the application's own fields, a
points scorecard, a LightGBM model (up to 200 trees, early-stopped; the count is reported)
with contributions in every audit record, 30 rules, a limit and legal pricing with the true
APR — and the applications of a book of its own as requests. With ``--policy
reference`` a fresh database (SQLite in a temporary folder, WAL; or ``--database-url`` for
PostgreSQL) gets the reference policy (12 inputs, 7-attribute scorecard, 5 rules, 20-row
limit table; ``fengkong.policy.examples``), approved and activated, and a service key; ``fengkong serve``
runs it with ``--workers`` uvicorn workers; an asyncio client sends applications on a fixed
schedule (open loop: a late response does not delay the next request) for ``--seconds``, and
records each latency and status. Afterwards the number of stored decisions must equal the
number of 200 responses. ``--find-max`` then steps the rate up by 100/s until p99 passes
50 ms (or a request fails) and bisects between the last good and the first bad rate down to
25/s: the highest rate that held is reported as the maximum sustainable rate.

With ``--database-url postgresql+psycopg://USER@HOST/DB`` and the demo policy, the demo is
built as usual and then copied into a scratch database ``fengkong_bench_service`` created on
that server (dropped and created afresh; ``DB`` is only where the benchmark connects to make
it), and the service runs on PostgreSQL.

Run: ``python -m benchmarks.service [--policy demo|reference] [--rate 300] [--seconds 60]
[--workers 2] [--find-max] [--database-url URL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import uvloop

from benchmarks._harness import SKIPPED, free_port, parse_args, peer_available, report

try:  # measures the workers' CPU; optional in a --tiny run (the `bench` extra has it)
    import psutil
except ImportError:  # pragma: no cover - CI installs only .[dev]
    psutil = None


def _prepare(url: str, folder: Path) -> str:
    from fengkong.db import make_engine, migrate, session_factory  # noqa: PLC0415
    from fengkong.policy.examples import write_reference_policy  # noqa: PLC0415
    from fengkong.services.access import create_api_key  # noqa: PLC0415
    from fengkong.services.policies import promote, submit_policy  # noqa: PLC0415

    now = dt.datetime.now(dt.UTC)
    engine = make_engine(url)
    migrate(engine)
    with session_factory(engine).begin() as s:
        key = create_api_key(s, name="load", role="service", at=now)
        submit_policy(s, write_reference_policy(folder / "policy"), author="alice", at=now)
        promote(s, "credit", "1", to="approved", actor="bob", at=now)
        promote(s, "credit", "1", to="active", actor="bob", at=now)
    engine.dispose()
    return key


def _prepare_demo(
    folder: Path, requests: int, rate: float, applications: int
) -> tuple[str, str, list[dict[str, Any]]]:
    """A demo's database and service key (``applications``: the demo's size), and
    ``requests`` applications (with their identifiers) in time order from a book of their
    own — each sent once, as a lender's front end would: the online state refuses events
    from far in its past."""
    from fengkong.demo import run_demo  # noqa: PLC0415 (benchmark-only imports)
    from fengkong.demo.pipeline import application_body  # noqa: PLC0415
    from fengkong.synth import generate  # noqa: PLC0415

    result = run_demo(folder / "demo", applications=applications, seed=5)
    book = generate(requests, seed=6)
    income = dict(book.persons.select("person_id", "monthly_income_fen").iter_rows())
    ids = book.person_identifiers.group_by("person_id").agg("id_type", "id_value", "first_seen")
    links = {r[0]: [[t, v, s.isoformat()] for t, v, s in zip(r[1], r[2], r[3], strict=True)]
             for r in ids.iter_rows()}  # fmt: skip
    bodies = []
    start = dt.datetime(2026, 1, 5, 9, 0)
    for k, row in enumerate(book.applications.sort("applied_at").iter_rows(named=True)):
        # arriving as they are sent: ``rate`` applications a second of the book's own time
        # (the online state accepts events up to the spec's lateness out of order)
        at = start + dt.timedelta(seconds=k / rate)
        body = application_body(row | {"applied_at": at}, income)
        body = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in body.items()}
        bodies.append({"application": body, "application_id": str(row["application_id"]),
                       "identifiers": links.get(row["person_id"], [])})  # fmt: skip
    return result.database_url, result.keys["gateway"], bodies


SCRATCH = "fengkong_bench_service"


def _copy_to_postgresql(source: str, server: str) -> str:
    """A scratch PostgreSQL database on ``server``'s host holding every row of the database at
    ``source`` (migrated to the same schema; serial counters moved past the copied ids)."""
    from sqlalchemy import create_engine, insert, select, text  # noqa: PLC0415
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    from fengkong.db import make_engine, migrate  # noqa: PLC0415
    from fengkong.db.models import Base  # noqa: PLC0415

    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {SCRATCH}"))
    admin.dispose()
    url = make_url(server).set(database=SCRATCH).render_as_string(hide_password=False)
    src, dst = make_engine(source), make_engine(url)
    migrate(dst)
    with src.connect() as read, dst.begin() as write:
        for table in Base.metadata.sorted_tables:
            rows = [dict(r._mapping) for r in read.execute(select(table))]
            for start in range(0, len(rows), 5_000):
                write.execute(insert(table), rows[start : start + 5_000])
            serial = [c.name for c in table.primary_key.columns if c.autoincrement is True]
            for column in serial:
                write.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column}'),"
                    f" COALESCE((SELECT MAX({column}) FROM {table.name}), 0) + 1, false)"
                ))  # fmt: skip
    src.dispose()
    dst.dispose()
    return url


def _drop_scratch(server: str) -> None:
    from sqlalchemy import create_engine, text  # noqa: PLC0415

    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)"))
    admin.dispose()


def _model_trees(url: str) -> list[int]:
    """Trees in each model of the active demo policy (early stopping decides how many)."""
    from fengkong.db import make_engine, session_factory  # noqa: PLC0415
    from fengkong.policy.nodes import ModelNode  # noqa: PLC0415
    from fengkong.services.policies import load_version  # noqa: PLC0415

    engine = make_engine(url)
    with session_factory(engine)() as session:
        policy = load_version(session, "demo_credit")
    engine.dispose()
    return [n.model._booster.num_trees() for n in policy.nodes if isinstance(n, ModelNode)]


def _stored(url: str) -> int:
    from sqlalchemy import func, select  # noqa: PLC0415

    from fengkong.db import DecisionRecord, make_engine  # noqa: PLC0415

    engine = make_engine(url)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(DecisionRecord)).scalar_one()
    engine.dispose()
    return int(n)


class _Connections:
    """A light HTTP/1.1 load client: ``size`` keep-alive connections opened up front, each
    carrying one request at a time, idle ones reused oldest first.

    httpx spent about 1.9 ms of CPU per request here, on the same 2 cores the server
    measured runs on; this client spends a small fraction of that (its CPU is reported).
    Opening many connections up front matters too: each worker has its own ``SO_REUSEPORT``
    socket and the kernel spreads *connections* over them, so a client that reuses two or
    three connections may send nearly everything to one worker.
    """

    def __init__(
        self, host: str, port: int, key: str, size: int, path: str = "/v1/decisions"
    ) -> None:
        self.host, self.port, self.size = host, port, size
        self.head = (
            f"POST {path} HTTP/1.1\r\nhost: {host}:{port}\r\nx-api-key: {key}\r\n"
            "content-type: application/json\r\ncontent-length: "
        ).encode()
        self.idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )

    async def open(self) -> None:
        for _ in range(self.size):
            self.idle.put_nowait(await asyncio.open_connection(self.host, self.port))

    async def post(self, body: bytes) -> tuple[int, bytes]:
        """One request on an idle connection: the status and the body. A broken connection
        is replaced (and the error raised as ``OSError``)."""
        reader, writer = await self.idle.get()
        try:
            writer.write(self.head + b"%d\r\n\r\n" % len(body) + body)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            payload = await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, ValueError) as error:
            writer.close()
            self.idle.put_nowait(await asyncio.open_connection(self.host, self.port))
            raise OSError(str(error)) from error
        self.idle.put_nowait((reader, writer))
        return status, payload

    def close(self) -> None:
        while not self.idle.empty():
            self.idle.get_nowait()[1].close()


async def _load(
    port: int,
    key: str,
    rate: float,
    seconds: float,
    feed: Iterator[bytes],
    path: str = "/v1/decisions",
) -> dict[str, Any]:
    latencies: list[float] = []
    sent_at: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    failures: list[str] = []
    pool = _Connections("127.0.0.1", port, key, size=64, path=path)
    await pool.open()

    async def one(body: bytes, due: float) -> None:
        nonlocal errors
        try:
            status, payload = await pool.post(body)
        except OSError:
            errors += 1
            return
        statuses[status] = statuses.get(status, 0) + 1
        if status != 200 and len(failures) < 3:
            failures.append(payload[:300].decode(errors="replace"))
        # measured from the request's scheduled time, the wait for a free connection
        # included (open loop, no coordinated omission)
        latencies.append(time.perf_counter() - due)
        sent_at.append(due - start)

    tasks = []
    cpu = time.process_time()
    start = time.perf_counter()
    total = int(rate * seconds)
    for k in range(total):
        due = start + k / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(next(feed), due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    pool.close()
    lat = np.array(latencies) * 1000
    return {
        "rate": rate,
        "sent": total,
        "achieved_rate": total / elapsed,
        "statuses": statuses,
        "errors": errors + sum(v for s, v in statuses.items() if s != 200),
        "p50_ms": float(np.percentile(lat, 50)) if len(lat) else None,
        "p99_ms": float(np.percentile(lat, 99)) if len(lat) else None,
        "max_ms": float(lat.max()) if len(lat) else None,
        "client_cpu_ms": (time.process_time() - cpu) / total * 1000,
        "timeline": (np.array(sent_at), lat),
        "failures": failures,
    }


def _holds(run: dict[str, Any]) -> bool:
    return run["p99_ms"] is not None and run["p99_ms"] <= 50 and not run["errors"]


def _find_max(
    port: int, key: str, rate: float, first: dict[str, Any], feed: Iterator[bytes],
    runs: list[dict[str, Any]],
) -> float | None:  # fmt: skip
    """The highest rate whose 20-second run holds p99 ≤ 50 ms without an error: up by 100/s
    from ``rate`` (whose run is ``first``) until one fails, then bisected to 25/s."""
    good, bad = (rate, None) if _holds(first) else (None, rate)
    while bad is None:
        r = _run(_load(port, key, rate := rate + 100, 20, feed))
        runs.append(r)
        good, bad = (rate, None) if _holds(r) else (good, rate)
    low = good if good is not None else 0.0
    while bad - low > 25:
        middle = round((low + bad) / 2 / 25) * 25
        r = _run(_load(port, key, middle, 20, feed))
        runs.append(r)
        low, bad = (middle, bad) if _holds(r) else (low, middle)
        good = middle if _holds(r) else good
    return good


def _cpu_seconds(processes: list[Any]) -> list[float]:
    return [sum(p.cpu_times()[:2]) for p in processes]


def _run(load: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """Run the client on uvloop (less CPU taken from the server on the same cores)."""
    return uvloop.run(load)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--policy", choices=["demo", "reference"], default="demo")
    parser.add_argument(
        "--demo-applications", type=int, default=20_000, help="Size of the demo (its default)."
    )
    parser.add_argument("--find-max", action="store_true", help="Step the rate up to p99 > 50 ms.")
    args = parse_args(
        parser,
        tiny={"policy": "reference", "rate": 20.0, "seconds": 1.0, "workers": 1,
              "port": free_port()},
    )  # fmt: skip
    has_psutil = peer_available("psutil", tiny=args.tiny)
    from fengkong.policy.examples import reference_applications  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="fk-bench-service-") as tmp:
        folder = Path(tmp)
        if args.policy == "demo":
            needed = int(args.rate * args.seconds) + 300 + (20 * 6_000 if args.find_max else 0)
            url, key, bodies = _prepare_demo(folder, needed, args.rate, args.demo_applications)
            if args.database_url and args.database_url.startswith("postgresql"):
                url = _copy_to_postgresql(url, args.database_url)
            trees = _model_trees(url)
        else:
            url = args.database_url or f"sqlite:///{folder / 'fengkong.db'}"
            key = _prepare(url, folder)
            trees = []
            bodies = [{"application": a, "application_id": a["application_id"]}
                      for a in reference_applications(5000, seed=11).to_dicts()]  # fmt: skip
        # the demo's applications are each sent once, in time order; the reference's cycle
        encoded = [json.dumps(b).encode() for b in bodies]
        feed = iter(encoded) if args.policy == "demo" else itertools.cycle(encoded)
        env = {**os.environ, "FENGKONG_DATABASE_URL": url, "FENGKONG_DATA_DIR": str(folder)}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fengkong.cli",
                "serve",
                "--port",
                str(args.port),
                "--workers",
                str(args.workers),
                "--policy",
                "demo_credit" if args.policy == "demo" else "credit",
            ],
            env=env,
        )
        base = f"http://127.0.0.1:{args.port}"
        try:
            for _ in range(100):
                try:
                    if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            else:
                raise SystemExit(f"the service was not ready on port {args.port} within 20 s")
            _run(_load(args.port, key, 50, 1 if args.tiny else 5, feed))  # warm every worker
            workers = (  # the uvicorn workers (not multiprocessing's resource tracker)
                [
                    p
                    for p in psutil.Process(server.pid).children()
                    if "resource_tracker" not in " ".join(p.cmdline())
                ]
                or [psutil.Process(server.pid)]  # one worker: the server process itself
                if has_psutil
                else []
            )
            before, cpu = _stored(url), _cpu_seconds(workers)
            main_run = _run(_load(args.port, key, args.rate, args.seconds, feed))
            main_run["server_cpu_ms"] = [
                (after - earlier) / main_run["sent"] * 1000
                for earlier, after in zip(cpu, _cpu_seconds(workers), strict=True)
            ]
            stored = _stored(url) - before
            runs = [main_run]
            sustained = None
            if args.find_max:
                sustained = _find_max(args.port, key, args.rate, main_run, feed, runs)
        finally:
            server.terminate()
            server.wait(timeout=30)
            if url.startswith("postgresql"):
                _drop_scratch(args.database_url)
    ok200 = main_run["statuses"].get(200, 0)
    rows = [
        {
            "rate_rps": r["rate"],
            "achieved_rps": r["achieved_rate"],
            "requests": r["sent"],
            "errors": r["errors"],
            "statuses": " ".join(f"{k}:{v}" for k, v in sorted(r["statuses"].items())),
            "p50_ms": r["p50_ms"],
            "p99_ms": r["p99_ms"],
            "max_ms": r["max_ms"],
            "client_cpu_ms": r["client_cpu_ms"],
        }
        for r in runs
    ]
    report(
        "service",
        rows,
        {
            "workers": args.workers,
            "policy": args.policy,
            "database": "postgresql" if url.startswith("postgresql") else "sqlite (WAL)",
            "stored_decisions": stored,
            "responses_200": ok200,
            "stored_equals_200": stored == ok200,
            # each worker's CPU (both its threads) per request of the whole run: how evenly
            # the kernel spread the connections, and what a decision costs the server
            "worker_cpu_ms_per_request": [round(v, 3) for v in main_run["server_cpu_ms"]]
            if has_psutil
            else SKIPPED,
            "model_trees": trees,
            **({"max_sustainable_rps": sustained} if args.find_max else {}),
            "generated_on": dt.date.today().isoformat(),
        },
    )
    for r in runs:
        for failure in r["failures"]:
            print(f"a failed request at {r['rate']:.0f}/s: {failure}")
    print(
        f"stored decisions {stored:,} / 200 responses {ok200:,}: {'equal' if stored == ok200 else 'DIFFERENT'}"
    )
    if args.find_max:
        print(f"maximum sustainable rate (p99 ≤ 50 ms, no error, 20-s runs): {sustained}/s")


if __name__ == "__main__":
    main()
