"""Load on the HTTP service: POST /v1/decisions at a steady rate, loopback only, bounded.

A fresh database (SQLite in a temporary folder, WAL; or ``--database-url`` for PostgreSQL)
gets the reference policy (12 inputs, 7-attribute scorecard, 5 rules, 20-row limit table;
``fengkong.policy.examples``), approved and activated, and a service key; ``fengkong serve``
runs it with ``--workers`` uvicorn workers; an asyncio client sends applications on a fixed
schedule (open loop: a late response does not delay the next request) for ``--seconds``, and
records each latency and status. Afterwards the number of stored decisions must equal the
number of 200 responses. ``--find-max`` then steps the rate up to find the highest rate whose
p99 stays ≤ 50 ms.

Run: ``python -m benchmarks.service [--rate 300] [--seconds 60] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from benchmarks._harness import report


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


def _stored(url: str) -> int:
    from sqlalchemy import func, select  # noqa: PLC0415

    from fengkong.db import DecisionRecord, make_engine  # noqa: PLC0415

    engine = make_engine(url)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(DecisionRecord)).scalar_one()
    engine.dispose()
    return int(n)


async def _load(
    base: str, key: str, rate: float, seconds: float, bodies: list[dict[str, Any]]
) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(
        base_url=base, headers={"X-API-Key": key}, limits=limits, timeout=10
    ) as client:

        async def one(body: dict[str, Any]) -> None:
            nonlocal errors
            t0 = time.perf_counter()
            try:
                r = await client.post("/v1/decisions", json=body)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            except httpx.HTTPError:
                errors += 1
                return
            latencies.append(time.perf_counter() - t0)

        tasks = []
        start = time.perf_counter()
        total = int(rate * seconds)
        for k in range(total):
            due = start + k / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(bodies[k % len(bodies)])))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
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
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--find-max", action="store_true", help="Step the rate up to p99 > 50 ms.")
    args = parser.parse_args()
    from fengkong.policy.examples import reference_applications  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="fk-bench-service-") as tmp:
        folder = Path(tmp)
        url = args.database_url or f"sqlite:///{folder / 'fengkong.db'}"
        key = _prepare(url, folder)
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
            bodies = [{"application": a, "application_id": a["application_id"]}
                      for a in reference_applications(5000, seed=11).to_dicts()]  # fmt: skip
            asyncio.run(_load(base, key, 50, 5, bodies))  # warm every worker
            before = _stored(url)
            main_run = asyncio.run(_load(base, key, args.rate, args.seconds, bodies))
            stored = _stored(url) - before
            runs = [main_run]
            if args.find_max:
                rate = args.rate
                while True:
                    rate += 100
                    r = asyncio.run(_load(base, key, rate, 20, bodies))
                    runs.append(r)
                    if r["p99_ms"] is None or r["p99_ms"] > 50 or r["errors"]:
                        break
        finally:
            server.terminate()
            server.wait(timeout=30)
    ok200 = main_run["statuses"].get(200, 0)
    rows = [
        {
            "rate_rps": r["rate"],
            "achieved_rps": r["achieved_rate"],
            "requests": r["sent"],
            "errors": r["errors"],
            "p50_ms": r["p50_ms"],
            "p99_ms": r["p99_ms"],
            "max_ms": r["max_ms"],
        }
        for r in runs
    ]
    report(
        "service",
        rows,
        {
            "workers": args.workers,
            "database": "sqlite (WAL)" if not args.database_url else "postgresql",
            "stored_decisions": stored,
            "responses_200": ok200,
            "stored_equals_200": stored == ok200,
            "generated_on": dt.date.today().isoformat(),
        },
    )
    print(
        f"stored decisions {stored:,} / 200 responses {ok200:,}: {'equal' if stored == ok200 else 'DIFFERENT'}"
    )


if __name__ == "__main__":
    main()
