"""Benchmark of the risk-variable engines on 10M application events over 1M persons.

1. Three counts (applications by the same person in the 1, 7 and 30 days before, exclusive of
   the instant itself): fengkong's batch engine against a hand-written DuckDB ``RANGE …
   PRECEDING … EXCLUDE GROUP`` window query and a plain Polars ``rolling`` group-by, each in a
   fresh process reading the same Parquet file; the values are checked equal.
2. 200 variables (counts, distinct institutions, sums and means of the amount, night share,
   trends) over 4 entities (person, device, IP, mobile) and 7 windows, written to Parquet.
3. Online: all 200 variables for one application, in process and through Redis (one MGET),
   and the decision path through Redis: compute and observe as one atomic transaction,
   p50 / p99 / max over consecutive applications with the garbage collector frozen.

Run: ``python -m benchmarks.features [--events N] [--persons P] [--online-calls C]``.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import redis

from benchmarks._harness import SKIPPED, measure, parse_args, peer_available, report
from fengkong.features import (
    InProcessStore,
    OnlineEngine,
    build_variables,
    load_spec,
    write_variables,
)
from fengkong.services.feature_store import RedisStateStore

DAY_US = 86_400_000_000
START = np.datetime64("2024-01-01T00:00:00", "us").astype(np.int64)

COUNTS_SPEC = """
schema_version: 1
sources:
  app: {timestamp: applied_at, id: application_id, entities: {person: person_id}}
groups:
  - {source: app, entities: [person], windows: [1d, 7d, 30d], aggregations: [count]}
"""

WIDE_SPEC = """
schema_version: 1
name: benchmark_200
sources:
  app:
    timestamp: applied_at
    id: application_id
    entities: {person: person_id, device: device_id, ip: ip, mobile: mobile}
    columns:
      institution_id: int
      amount: {column: requested_amount_fen, type: int}
      hour: int
filters:
  night: {column: hour, lt: 6}
groups:
  - source: app
    entities: [person, device, ip, mobile]
    windows: [1d, 7d, 30d, 90d, 180d, 365d, all]
    aggregations: [count, {distinct: institution_id}, {sum: amount}, {mean: amount}, {share: night}]
trends:
  - source: app
    entities: [person, device, ip, mobile]
    aggregations: [count, {distinct: institution_id}, {sum: amount}]
    pairs: [[1d, 7d], [7d, 30d], [30d, 90d], [90d, 180d], [180d, 365d]]
"""


def make_events(n: int, persons: int, seed: int = 7) -> pl.DataFrame:
    """``n`` applications over two years: persons with 1-2 devices, household and carrier IPs,
    a mobile number shared now and then (as in the synthetic book's identifier model)."""
    rng = np.random.default_rng(seed)
    person = rng.integers(0, persons, n)
    ts = START + np.sort(rng.integers(0, 730 * DAY_US, n))
    device = person * 2 + (rng.random(n) < 0.2)
    carrier = rng.random(n) < 0.3  # carrier NAT addresses, each shared by ~200 persons
    ip = np.where(carrier, persons + rng.integers(0, max(persons // 200, 1), n), person // 3)
    mobile = np.where(rng.random(n) < 0.05, rng.integers(0, persons, n), person)
    return pl.DataFrame(
        {
            "application_id": np.arange(n, dtype=np.int64),
            "person_id": person,
            "applied_at": pl.Series(ts).cast(pl.Datetime("us")),
            "device_id": pl.Series(device).cast(pl.String),
            "ip": pl.Series(ip).cast(pl.String),
            "mobile": pl.Series(mobile).cast(pl.String),
            "institution_id": rng.integers(1, 31, n).astype(np.int32),
            "requested_amount_fen": rng.integers(10, 500, n) * 100_00,
        }
    ).with_columns(
        pl.concat_str(pl.lit("dev-"), "device_id").alias("device_id"),
        pl.concat_str(pl.lit("ip-"), "ip").alias("ip"),
        pl.concat_str(pl.lit("m-"), "mobile").alias("mobile"),
        pl.col("applied_at").dt.hour().cast(pl.Int64).alias("hour"),
    )


def _fengkong_counts(path: Path) -> Any:
    spec = load_spec(COUNTS_SPEC)
    out = build_variables(spec, {"app": pl.scan_parquet(path)}, target="app")
    return out.select(
        pl.sum_horizontal(pl.all().exclude("application_id").cast(pl.Int64)).sum()
    ).item()


def _duckdb_counts(path: Path) -> Any:
    import duckdb  # noqa: PLC0415 (a peer, optional in a tiny run)

    con = duckdb.connect()
    frames = [
        f"count(*) over (partition by person_id order by applied_at range between interval {d} days"
        " preceding and current row exclude group)"
        for d in (1, 7, 30)
    ]
    columns = ", ".join(f"{f} as c{i}" for i, f in enumerate(frames))
    total = con.sql(
        f"select sum(c0 + c1 + c2) from (select {columns} from read_parquet('{path}'))"
    ).fetchall()[0]
    return int(total[0]) if total else None


def _polars_rolling(path: Path) -> Any:
    df = pl.read_parquet(path, columns=["person_id", "applied_at"]).sort("person_id", "applied_at")
    total = 0
    for d in (1, 7, 30):
        counts = df.rolling("applied_at", period=f"{d}d", group_by="person_id", closed="left").agg(
            pl.len().alias("n")
        )
        total += int(counts["n"].sum())  # closed='left': [t - d, t), ties at t excluded
    return total


def _wide(path: Path, out: Path) -> Any:
    spec = load_spec(WIDE_SPEC)
    rows = write_variables(spec, {"app": pl.scan_parquet(path)}, out, target="app")
    return {"rows": rows, "variables": len(spec.variables)}


def _latencies(fn: Any, calls: list[dict[str, Any]], observe: Any) -> dict[str, float]:
    gc.collect()
    gc.freeze()
    gc.disable()
    samples = np.empty(len(calls))
    try:
        for i, event in enumerate(calls):
            t0 = time.perf_counter_ns()
            fn(event)
            samples[i] = time.perf_counter_ns() - t0
            observe("app", event)
    finally:
        gc.enable()
        gc.unfreeze()
    us = samples / 1000
    return {
        "p50_us": float(np.percentile(us, 50)),
        "p99_us": float(np.percentile(us, 99)),
        "max_us": float(us.max()),
    }


def _online(path: Path, warm: int, calls: int, redis_calls: int) -> dict[str, Any]:
    spec = load_spec(WIDE_SPEC)
    events = pl.read_parquet(path).slice(0, warm + calls + 2 * redis_calls)
    engine = OnlineEngine(spec, target="app")
    t0 = time.perf_counter()
    engine.observe_many("app", events.head(warm).iter_rows(named=True))
    observe_s = time.perf_counter() - t0
    rows = list(events.slice(warm, calls).iter_rows(named=True))
    inproc = _latencies(engine.compute, rows, engine.observe)
    out: dict[str, Any] = {"observe_us": observe_s / warm * 1e6, "in_process": inproc}
    try:
        client = redis.Redis(host="127.0.0.1", port=6379)
        client.ping()
    except Exception as exc:
        out["redis"] = out["redis_atomic"] = f"{SKIPPED}: {exc}"
        return out
    store = RedisStateStore(client, prefix="fk-bench")
    store.clear()
    assert isinstance(engine.store, InProcessStore)
    store.seed(engine.store)
    remote = OnlineEngine(spec, target="app", store=store)
    # the next applications, each computed from the state (not observed: a read-only probe)
    tail = list(events.slice(warm + calls, redis_calls).iter_rows(named=True))
    out["redis"] = _latencies(remote.compute, tail, lambda source, event: None)
    # the decision path: compute and observe one new application as one atomic transaction
    fresh = list(events.slice(warm + calls + redis_calls, redis_calls).iter_rows(named=True))
    out["redis_atomic"] = _latencies(remote.compute_and_observe, fresh, lambda source, event: None)
    store.clear()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--online-warm", type=int, default=1_000_000)
    parser.add_argument("--online-calls", type=int, default=100_000)
    parser.add_argument("--redis-calls", type=int, default=10_000)
    args = parse_args(
        parser,
        tiny={"events": 20_000, "persons": 2_000, "online_warm": 2_000, "online_calls": 200,
              "redis_calls": 50},
    )  # fmt: skip
    has_duckdb = peer_available("duckdb", tiny=args.tiny)
    with tempfile.TemporaryDirectory(prefix="fk-bench-features-") as tmp:
        path = Path(tmp) / "applications.parquet"
        tiny = Path(tmp) / "tiny.parquet"

        def write_inputs() -> None:
            make_events(args.events, args.persons).write_parquet(path)
            make_events(1000, 100).write_parquet(tiny)

        measure(write_inputs)  # in a child: this process never starts Polars' thread pool

        def warm() -> None:  # load the compiled kernels, as a running service has them
            _wide(tiny, Path(tmp) / "tiny-out.parquet")

        rows: list[dict[str, Any]] = []
        skipped: dict[str, Any] = {
            "seconds": float("nan"),
            "peak_gb": float("nan"),
            "extra": SKIPPED,
        }
        results: dict[str, dict[str, Any]] = {
            "fengkong": measure(lambda: _fengkong_counts(path), setup=warm),
            "duckdb window": measure(lambda: _duckdb_counts(path)) if has_duckdb else skipped,
            "polars rolling": measure(lambda: _polars_rolling(path)),
        }
        ours = results["fengkong"]
        for name, r in results.items():
            rows.append(
                {
                    "workload": f"3 counts, {args.events:,} events",
                    "engine": name,
                    "seconds": r["seconds"],
                    "peak_gb": r["peak_gb"],
                    "vs fengkong": r["seconds"] / ours["seconds"],
                    "same values": r["extra"] == ours["extra"] if r is not skipped else SKIPPED,
                }
            )
        wide = measure(lambda: _wide(path, Path(tmp) / "wide.parquet"), setup=warm)
        rows.append(
            {
                "workload": f"{wide['extra']['variables']} variables, {args.events:,} events",
                "engine": "fengkong",
                "seconds": wide["seconds"],
                "peak_gb": wide["peak_gb"],
                "vs fengkong": 1.0,
                "same values": "-",
            }
        )
        online = measure(
            lambda: _online(path, args.online_warm, args.online_calls, args.redis_calls)
        )
        extra = online["extra"]
        for where in ("in_process", "redis", "redis_atomic"):
            lat = extra[where]
            rows.append(
                {
                    "workload": f"online 200 variables ({where})",
                    "engine": "fengkong",
                    "seconds": lat["p50_us"] / 1e6 if isinstance(lat, dict) else float("nan"),
                    "peak_gb": online["peak_gb"],
                    "vs fengkong": 1.0,
                    "same values": str(lat)
                    if not isinstance(lat, dict)
                    else f"p50 {lat['p50_us']:.0f} µs, p99 {lat['p99_us']:.0f} µs, max {lat['max_us']:.0f} µs",
                }
            )
        report(
            "features",
            rows,
            {
                "events": args.events,
                "persons": args.persons,
                "observe_us_per_event": extra["observe_us"],
            },
        )


if __name__ == "__main__":
    main()
