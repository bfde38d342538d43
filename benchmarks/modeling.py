"""Benchmark of modeling: binning a wide frame, germancredit scorecards, scoring latency.

Peers run in the same run, each in its own virtual environment (``benchmarks._peers``):
toad 0.1.7 (decision-tree binning), optbinning 1.0 (constrained optimal binning) and
scorecardpy 0.1.9.7. Workloads:

1. binning 1,000,000 rows × 35 columns (30 numeric, 5 categorical of 20 levels, 5 % missing,
   about 6 % bad) read from Parquet; fengkong with monotonic constraints (trend ``auto``),
   time and peak memory above the loaded data;
2. germancredit (shipped inside scorecardpy), stratified 70/30 split with seed 0: every
   library's default scorecard, test AUC and KS, and the latency of scoring one applicant;
3. fengkong batch scoring of 10,000,000 rows through a scorecard fitted on workload 1.

Run: ``python -m benchmarks.modeling [--rows N] [--batch-rows N] [--skip-peers]
[--scale-rows 10000000] [--ri-applications N]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.model_selection import train_test_split

from benchmarks._harness import SKIPPED, measure, parse_args, peer_available, report
from benchmarks._peers import peer_python, run_peer, venv_root
from fengkong.modeling import (
    APPLICATION_FEATURES,
    BinningProcess,
    Scorecard,
    application_dataset,
    evaluate_reject_inference,
)
from fengkong.modeling.metrics import ks_statistic, roc_auc
from fengkong.synth import generate

PEER_SCRIPT = Path(__file__).parent / "peers" / "modeling_peer.py"
PEER_NAMES = ("toad", "optbinning", "scorecardpy")
_STATE: dict[str, Any] = {}


def wide_frame(n: int, seed: int = 0) -> pa.Table:
    """30 numeric and 5 categorical columns with 5 % missing and a logistic target."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    logit = -3.2 + 0.6 * z
    cols: dict[str, Any] = {}
    for k in range(30):
        x = rng.normal(size=n) * (1 + k % 3) + (0.3 if k % 2 else -0.2) * z * (k % 5)
        x[rng.random(n) < 0.05] = np.nan
        cols[f"num_{k:02d}"] = x
    levels = np.array([f"level_{i:02d}" for i in range(20)], dtype=object)
    for k in range(5):
        lv = rng.integers(0, 20, n)
        logit = logit + 0.05 * (lv % 7) * (k % 2)
        s = levels[lv]
        s[rng.random(n) < 0.05] = None
        cols[f"cat_{k}"] = s
    cols["y"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    return pa.table(cols)


def _rss_gb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1024**3


def _load(path: Path) -> None:
    frame = pl.read_parquet(path)
    _STATE["y"] = frame["y"].to_numpy()
    _STATE["X"] = frame.drop("y")
    BinningProcess().fit(_STATE["X"].head(2000), _STATE["y"][:2000])  # compile kernels
    _STATE["rss_loaded"] = _rss_gb()


def _bin_fengkong() -> dict[str, Any]:
    bp = BinningProcess(monotonic_trend="auto").fit(_STATE["X"], _STATE["y"])
    trends = bp.summary()["trend"].value_counts().rows()
    return {"rss_loaded_gb": _STATE["rss_loaded"], "trends": trends}


def _score_fengkong(batch_rows: int) -> dict[str, Any]:
    sc = Scorecard().fit(_STATE["X"], _STATE["y"])
    model = sc.model_
    rows = _STATE["X"].head(1000).select(model.features).to_dicts()
    for r in rows[:100]:
        model.score_row(r)
    lat = []
    for r in rows:
        t0 = time.perf_counter()
        model.score_row(r)
        lat.append(time.perf_counter() - t0)
    reps = -(-batch_rows // _STATE["X"].height)
    big = pl.concat([_STATE["X"].select(model.features)] * reps).head(batch_rows)
    t0 = time.perf_counter()
    scores = model.score_frame(big)
    batch_s = time.perf_counter() - t0
    return {
        "variables": len(model.features),
        "score_one_p50_us": float(np.percentile(lat, 50) * 1e6),
        "score_one_p99_us": float(np.percentile(lat, 99) * 1e6),
        "batch_rows": scores.len(),
        "batch_seconds": batch_s,
    }


def _germancredit_csv() -> Path | None:
    try:
        python = peer_python("scorecardpy")
    except (OSError, subprocess.CalledProcessError):
        return None
    out = subprocess.run(
        [
            str(python),
            "-c",
            "import scorecardpy, os; print(os.path.join(os.path.dirname("
            "scorecardpy.__file__), 'data', 'germancredit.csv'))",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    path = Path(out.stdout.strip())
    return path if out.returncode == 0 and path.exists() else None


def _germancredit_fengkong(path: Path, train: list[int]) -> dict[str, Any]:
    df = pl.read_parquet(path)
    y = df["y"].to_numpy()
    X = df.drop("y")
    test = np.setdiff1d(np.arange(len(y)), train)
    t0 = time.perf_counter()
    sc = Scorecard().fit(X[train], y[train])
    fit_s = time.perf_counter() - t0
    p = sc.predict_proba(X[test])[:, 1]
    row = X[test].row(0, named=True)
    for _ in range(100):
        sc.model_.score_row(row)
    n = 2000
    t0 = time.perf_counter()
    for _ in range(n):
        sc.model_.score_row(row)
    return {
        "fit_seconds": fit_s,
        "test_auc": roc_auc(y[test], p),
        "test_ks": ks_statistic(y[test], p),
        "score_one_us": (time.perf_counter() - t0) / n * 1e6,
        "variables": len(sc.variables_),
    }


def _reject_inference(applications: int) -> dict[str, Any]:
    data = application_dataset(generate(applications, seed=5))
    table = evaluate_reject_inference(data, list(APPLICATION_FEATURES), seed=0)
    return {
        "applications": applications,
        "accepted_share": float(data["accepted"].mean()),
        "rows": table.rows(named=True),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-rows", type=int, default=10_000_000)
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument(
        "--peers", default=",".join(PEER_NAMES), help="comma-separated peers to run (default: all)"
    )
    parser.add_argument(
        "--scale-rows",
        type=int,
        default=0,
        help="also bin this many rows x 35 with fengkong only (linear growth)",
    )
    parser.add_argument(
        "--ri-applications",
        type=int,
        default=200_000,
        help="synthetic applications for the reject-inference evaluation",
    )
    args = parse_args(parser, tiny={"rows": 2_000, "batch_rows": 5_000, "ri_applications": 3_000})
    # a tiny run never builds the peers' virtual environments: a peer (and germancredit, which
    # scorecardpy ships) runs only where its environment already exists
    ready = {n for n in PEER_NAMES if (venv_root() / n / "bin" / "python").exists()}
    skipped_peers: list[str] = []
    if args.tiny and not args.skip_peers:
        skipped_peers = [p for p in args.peers.split(",") if p in PEER_NAMES and p not in ready]
    rows: list[dict[str, Any]] = []
    meta: dict[str, Any] = {"rows": args.rows}
    peers = [p for p in args.peers.split(",") if p and p not in skipped_peers]
    unknown = sorted(set(peers) - set(PEER_NAMES))
    if unknown:
        parser.error(f"unknown peers {unknown}; choose from {PEER_NAMES}")
    with tempfile.TemporaryDirectory() as tmp:
        wide = Path(tmp) / "wide.parquet"
        measure(lambda: pq.write_table(wide_frame(args.rows), wide))
        data_gb = wide.stat().st_size / 1024**3
        ours = measure(_bin_fengkong, setup=lambda: _load(wide))
        over = ours["peak_gb"] - ours["extra"]["rss_loaded_gb"]
        rows.append(
            {
                "workload": f"bin {args.rows:,} x 35",
                "library": "fengkong",
                "seconds": ours["seconds"],
                "peak_over_loaded_mb": max(over, 0) * 1024,
                "ratio": 1.0,
            }
        )
        meta["fengkong_trends"] = ours["extra"]["trends"]
        meta["parquet_gb"] = data_gb
        if not args.skip_peers:
            for name in peers:
                res = run_peer(name, PEER_SCRIPT, name, "bin", str(wide))
                rows.append(
                    {
                        "workload": f"bin {args.rows:,} x 35",
                        "library": name,
                        "seconds": res.get("seconds", float("nan")),
                        "peak_over_loaded_mb": float("nan"),
                        "ratio": res.get("seconds", float("nan")) / ours["seconds"],
                        **({"error": res["error"]} if "error" in res else {}),
                    }
                )
        if args.scale_rows:
            big = Path(tmp) / "wide_big.parquet"
            measure(lambda: pq.write_table(wide_frame(args.scale_rows, seed=1), big))
            scaled = measure(_bin_fengkong, setup=lambda: _load(big))
            meta["scale"] = {
                "rows": args.scale_rows,
                "seconds": scaled["seconds"],
                "peak_over_loaded_mb": (scaled["peak_gb"] - scaled["extra"]["rss_loaded_gb"])
                * 1024,
                "per_million_rows_s": scaled["seconds"] / args.scale_rows * 1e6,
            }
            rows.append(
                {
                    "workload": f"bin {args.scale_rows:,} x 35",
                    "library": "fengkong",
                    "seconds": scaled["seconds"],
                    "peak_over_loaded_mb": meta["scale"]["peak_over_loaded_mb"],
                    "ratio": scaled["seconds"] / ours["seconds"],
                }
            )
            big.unlink()
        scoring = measure(lambda: _score_fengkong(args.batch_rows), setup=lambda: _load(wide))
        meta["scoring"] = scoring["extra"]
        rows.append(
            {
                "workload": f"score {args.batch_rows:,} rows (batch)",
                "library": "fengkong",
                "seconds": scoring["extra"]["batch_seconds"],
                "peak_over_loaded_mb": float("nan"),
                "ratio": 1.0,
            }
        )
        for name in skipped_peers:
            rows.append({"workload": f"bin {args.rows:,} x 35", "library": name, "error": SKIPPED})
        has_pandas = peer_available("pandas", tiny=args.tiny)
        csv = (
            _germancredit_csv()
            if has_pandas and (not args.tiny or "scorecardpy" in ready)
            else None
        )
        if csv is None:
            meta["germancredit"] = "skipped: scorecardpy (which ships the data) unavailable"
        else:
            import pandas as pd  # noqa: PLC0415 (the peers' data reader)

            gc = pd.read_csv(csv)
            gc["y"] = (gc.pop("creditability") == "bad").astype(np.int8)
            gc_path = Path(tmp) / "germancredit.parquet"
            gc.to_parquet(gc_path)
            train, _ = train_test_split(
                np.arange(len(gc)), test_size=0.3, stratify=gc["y"], random_state=0
            )
            train_list = sorted(int(i) for i in train)
            res = measure(lambda: _germancredit_fengkong(gc_path, train_list))["extra"]
            results = {"fengkong": res}
            if not args.skip_peers:
                for name in peers:
                    results[name] = run_peer(
                        name,
                        PEER_SCRIPT,
                        name,
                        "germancredit",
                        str(gc_path),
                        json.dumps(train_list),
                    )
            meta["germancredit"] = results
            for name, r in results.items():
                rows.append(
                    {
                        "workload": "germancredit test AUC / KS / score-one µs",
                        "library": name,
                        "seconds": r.get("fit_seconds", float("nan")),
                        "peak_over_loaded_mb": float("nan"),
                        "ratio": float("nan"),
                        "auc": r.get("test_auc", float("nan")),
                        "ks": r.get("test_ks", float("nan")),
                        "score_one_us": r.get("score_one_us", float("nan")),
                    }
                )
    ri = measure(lambda: _reject_inference(args.ri_applications))["extra"]
    meta["reject_inference"] = ri
    for r in ri["rows"]:
        rows.append(
            {
                "workload": f"reject inference, TTD AUC ({args.ri_applications:,} apps)",
                "library": f"fengkong {r['model']}",
                "auc": r["ttd_auc"],
                "recovered": r["recovered"],
            }
        )
    columns = [
        c
        for c in (
            "workload",
            "library",
            "seconds",
            "ratio",
            "peak_over_loaded_mb",
            "auc",
            "ks",
            "score_one_us",
            "error",
        )
        if any(c in r for r in rows)
    ]
    rows = [{c: r.get(c, "") for c in columns} for r in rows]
    report("modeling", rows, meta)


if __name__ == "__main__":
    main()
