"""One peer library's side of ``benchmarks.modeling``, run in that library's own venv.

Usage: ``python modeling_peer.py LIB TASK DATA [TRAIN_INDEX]``; prints one JSON line.
LIB is toad, optbinning or scorecardpy; TASK is ``bin`` (bin every column of a Parquet file
with column ``y``) or ``germancredit`` (fit a scorecard with the library's defaults on the
training rows, report test AUC and KS and the latency of scoring one applicant).
"""

# Each venv holds one peer, so the peer is imported inside the branch that uses it.
# ruff: noqa: PLC0415

from __future__ import annotations

import json
import resource
import sys
import time
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")


def _auc_ks(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import roc_auc_score, roc_curve

    fpr, tpr, _ = roc_curve(y, p)
    return float(roc_auc_score(y, p)), float(np.max(tpr - fpr))


def _bin(lib: str, df: pd.DataFrame) -> dict:
    cats = [c for c in df.columns if df[c].dtype == object]
    feats = [c for c in df.columns if c != "y"]
    t0 = time.perf_counter()
    if lib == "toad":
        import toad

        toad.transform.Combiner().fit(df, y="y", method="dt", min_samples=0.05)
    elif lib == "optbinning":
        from optbinning import BinningProcess

        BinningProcess(feats, categorical_variables=cats, n_jobs=2).fit(df[feats], df["y"])
    elif lib == "scorecardpy":
        import scorecardpy as sc

        sc.woebin(df, y="y", print_step=0)
    return {"seconds": time.perf_counter() - t0}


def _germancredit(lib: str, df: pd.DataFrame, train: np.ndarray) -> dict:
    from sklearn.linear_model import LogisticRegression

    y = df.pop("y").to_numpy()
    test = np.setdiff1d(np.arange(len(df)), train)
    Xtr, Xte, ytr, yte = df.iloc[train], df.iloc[test], y[train], y[test]
    cats = [c for c in df.columns if df[c].dtype == object]
    one = Xte.iloc[[0]]
    t0 = time.perf_counter()
    if lib == "optbinning":
        from optbinning import BinningProcess, Scorecard

        bp = BinningProcess(list(df.columns), categorical_variables=cats)
        card = Scorecard(
            binning_process=bp,
            estimator=LogisticRegression(),
            scaling_method="min_max",
            scaling_method_params={"min": 300, "max": 850},
        )
        card.fit(Xtr, ytr)
        fit_s = time.perf_counter() - t0
        p = card.predict_proba(Xte)[:, 1]

        def score_one() -> None:
            card.score(one)
    elif lib == "toad":
        import toad

        train_df = Xtr.assign(y=ytr)
        comb = toad.transform.Combiner().fit(train_df, y="y", method="dt", min_samples=0.05)
        woe = toad.transform.WOETransformer()
        wtr = woe.fit_transform(comb.transform(train_df), train_df["y"], exclude=["y"])
        card = toad.ScoreCard(combiner=comb, transer=woe)
        card.fit(wtr.drop(columns="y"), ytr)
        fit_s = time.perf_counter() - t0
        p = card.predict_proba(Xte)[:, 1]

        def score_one() -> None:
            card.predict(one)
    else:
        import scorecardpy as sc

        train_df = Xtr.assign(y=ytr)
        bins = sc.woebin(train_df, y="y", print_step=0)
        wtr = sc.woebin_ply(train_df, bins, print_step=0)
        cols = [c for c in wtr.columns if c != "y"]
        lr = LogisticRegression(max_iter=1000).fit(wtr[cols], ytr)
        card = sc.scorecard(bins, lr, cols)
        fit_s = time.perf_counter() - t0
        wte = sc.woebin_ply(Xte, bins, print_step=0)
        p = lr.predict_proba(wte[cols])[:, 1]

        def score_one() -> None:
            sc.scorecard_ply(one, card, print_step=0)

    auc, ks = _auc_ks(yte, p)
    for _ in range(5):
        score_one()
    n = 50
    t0 = time.perf_counter()
    for _ in range(n):
        score_one()
    return {
        "fit_seconds": fit_s,
        "test_auc": auc,
        "test_ks": ks,
        "score_one_us": (time.perf_counter() - t0) / n * 1e6,
    }


def main() -> None:
    lib, task, data = sys.argv[1:4]
    df = pd.read_parquet(data)
    df["y"] = df["y"].astype("int64")  # scorecardpy refuses int8 targets
    train = np.array(json.loads(sys.argv[4])) if task == "germancredit" else None
    out = _bin(lib, df) if train is None else _germancredit(lib, df, train)
    out["peak_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(json.dumps(out))


if __name__ == "__main__":
    main()
