"""Load on the contact check: POST /v1/contacts at a steady rate through a real server.

Each request names only a case, a channel and a template; the server reads the case, the
debtor's stop states, the ledger of the case's loan at that instant (a replay), the contact log
(the profile's longest window) and checks the attempt, then writes it to the log — allowed
or blocked — and commits before answering. The database holds ``--cases`` cases, one loan
each (booked, end of day run to today), three logged attempts per debtor in the last week and a
stop state on 1 % of the debtors. Open loop (latency from each request's scheduled time), the
same light client as ``benchmarks.service``, two server workers on this machine's 2 cores.

No open-source collections system checks contacts over HTTP to run the same load through
(issue 8); the target is the issue's: p99 ≤ 20 ms at 100 requests/s.

Run: ``python -m benchmarks.contacts [--rate 100] [--seconds 30] [--cases 2000]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import httpx

from benchmarks._harness import free_port, parse_args, report
from benchmarks.service import _load, _run


def _prepare(url: str, cases: int, today: dt.date) -> str:
    from sqlalchemy import insert  # noqa: PLC0415

    from fengkong.db import (  # noqa: PLC0415
        CollectionCaseRecord,
        ContactLogRecord,
        make_engine,
        migrate,
        session_factory,
    )
    from fengkong.money import Money  # noqa: PLC0415
    from fengkong.services import servicing as svc  # noqa: PLC0415
    from fengkong.services.access import Principal, create_api_key  # noqa: PLC0415
    from fengkong.services.debtors import set_request  # noqa: PLC0415
    from fengkong.servicing import LoanTerms, load_products  # noqa: PLC0415

    now = dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC)
    engine = make_engine(url)
    migrate(engine)
    product = load_products()["cash_loan"]
    with session_factory(engine).begin() as s:
        key = create_api_key(s, name="load", role="admin", at=now)
        for k in range(cases):
            disbursed = today - dt.timedelta(days=60 + k % 90)
            terms = LoanTerms(product, Money.of("3000"), Decimal("0.24"), 6, disbursed)
            svc.book_loan(s, terms, external_id=f"L{k}", borrower_id=f"D{k}")
            s.add(
                CollectionCaseRecord(
                    case_id=f"K{k}", borrower_id=f"D{k}", status="open", stage="early",
                    max_dpd=30, overdue_fen=100_000, balance_fen=300_000, loans=[f"L{k}"],
                    placement=None, p_pay=0.5, assigned_to=None, plan=[],
                    phone=f"1380013{k:04d}", time_zone="Asia/Shanghai", jurisdiction="cn",
                    opened_on=today, updated_on=today,
                )
            )  # fmt: skip
        s.execute(
            insert(ContactLogRecord),
            [
                {
                    "case_id": f"K{k}",
                    "debtor_id": f"D{k}",
                    "jurisdiction": "cn",
                    "channel": "call",
                    "party": "debtor",
                    "purpose": "collect",
                    "actor": "agency-1",
                    "number": f"+861380013{k:04d}",
                    "at": now - dt.timedelta(days=j + 1),
                    "debtor_tz": "Asia/Shanghai",
                    "template": "",
                    "recording": ["audio"],
                    "debts": [f"L{k}"],
                    "allowed": True,
                    "breaches": [],
                }
                for k in range(cases)
                for j in range(3)
            ],
        )
        root = Principal("root", "admin", None)
        for k in range(0, cases, 100):
            set_request(s, root, f"D{k}", "hardship", at=now, reason="benchmark stop state")
    with session_factory(engine).begin() as s:
        svc.run_end_of_day(s, today, today=today)
    engine.dispose()
    return key


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8766)
    args = parse_args(
        parser,
        tiny={"rate": 10.0, "seconds": 1.0, "cases": 50, "workers": 1, "port": free_port()},
    )
    today = dt.datetime.now(dt.UTC).date()
    rng = random.Random(7)
    channels = [("sms", "reminder"), ("call", "call_script"), ("robocall", "robo_reminder")]
    bodies = [
        json.dumps(
            {"case_id": f"K{rng.randrange(args.cases)}", "channel": ch, "template_id": tpl}
        ).encode()
        for ch, tpl in (rng.choice(channels) for _ in range(5000))
    ]
    with tempfile.TemporaryDirectory(prefix="fk-bench-contacts-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'fengkong.db'}"
        t0 = time.perf_counter()
        key = _prepare(url, args.cases, today)
        prepared = time.perf_counter() - t0
        env = {**os.environ, "FENGKONG_DATABASE_URL": url, "FENGKONG_DATA_DIR": tmp}
        server = subprocess.Popen(
            [sys.executable, "-m", "fengkong.cli", "serve", "--port", str(args.port),
             "--workers", str(args.workers)],
            env=env,
        )  # fmt: skip
        try:
            # up is enough (/health): /ready also wants a decision policy, which contacts don't
            for _ in range(150):
                try:
                    if (
                        httpx.get(f"http://127.0.0.1:{args.port}/health", timeout=1).status_code
                        == 200
                    ):
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            else:
                raise SystemExit(f"the server did not answer on port {args.port} within 30 s")
            feed = itertools.cycle(bodies)
            warm = 1 if args.tiny else 3
            _run(_load(args.port, key, 20, warm, feed, path="/v1/contacts"))  # warm the workers
            run = _run(_load(args.port, key, args.rate, args.seconds, feed, path="/v1/contacts"))
        finally:
            server.terminate()
            server.wait(timeout=30)
    rows = [
        {
            "workload": f"POST /v1/contacts, {args.cases:,} cases, {args.workers} workers, SQLite",
            "rate_rps": run["rate"],
            "achieved_rps": run["achieved_rate"],
            "requests": run["sent"],
            "errors": run["errors"],
            "statuses": " ".join(f"{k}:{v}" for k, v in sorted(run["statuses"].items())),
            "p50_ms": run["p50_ms"],
            "p99_ms": run["p99_ms"],
            "max_ms": run["max_ms"],
        }
    ]
    report(
        "contacts",
        rows,
        {"target_p99_ms": 20, "prepare_seconds": prepared, "generated_on": today.isoformat()},
    )


if __name__ == "__main__":
    main()
