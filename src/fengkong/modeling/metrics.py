"""Validation metrics: discrimination, calibration and stability.

Every function takes the 0/1 target (1 = bad) and a risk score where **higher means riskier**
(a probability of bad); for scorecard points, where higher is safer, pass ``-points``.

>>> import numpy as np
>>> y = np.array([0, 0, 1, 1]); p = np.array([0.1, 0.4, 0.35, 0.8])
>>> roc_auc(y, p), ks_statistic(y, p)
(0.75, 0.5)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from fengkong.errors import InvalidArgumentError
from fengkong.modeling._input import check_binary_target

__all__ = [
    "BootstrapInterval",
    "HosmerLemeshow",
    "bootstrap",
    "brier_score",
    "gains_table",
    "gini",
    "hosmer_lemeshow",
    "ks_statistic",
    "psi",
    "psi_table",
    "roc_auc",
    "roc_curve",
    "score_bands",
]


def _pair(y: Any, score: Any) -> tuple[np.ndarray, np.ndarray]:
    yy = check_binary_target(y)
    s = np.asarray(score, dtype=np.float64).ravel()
    if s.shape[0] != yy.shape[0]:
        raise InvalidArgumentError(
            "score", expected=f"{yy.shape[0]} values (one per target)", got=s.shape[0]
        )
    if np.isnan(s).any():
        raise InvalidArgumentError(
            "score", expected="no NaN scores", got=f"{int(np.isnan(s).sum())} NaN"
        )
    return yy, s


def roc_auc(y: Any, score: Any) -> float:
    """Area under the ROC curve (ties count one half), from ranks."""
    yy, s = _pair(y, score)
    ranks = stats.rankdata(s)
    n1 = int(yy.sum())
    n0 = yy.size - n1
    return float((ranks[yy == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def gini(y: Any, score: Any) -> float:
    """Gini coefficient (accuracy ratio) ``2·AUC − 1``."""
    return 2.0 * roc_auc(y, score) - 1.0


def roc_curve(y: Any, score: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False-positive rate, true-positive rate and thresholds (descending), ties grouped."""
    yy, s = _pair(y, score)
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    y_sorted = yy[order]
    last = np.r_[np.flatnonzero(np.diff(s_sorted)), s_sorted.size - 1]
    tp = np.cumsum(y_sorted)[last]
    fp = (last + 1) - tp
    tpr = np.r_[0.0, tp / max(int(yy.sum()), 1)]
    fpr = np.r_[0.0, fp / max(int(yy.size - yy.sum()), 1)]
    return fpr, tpr, np.r_[np.inf, s_sorted[last]]


def ks_statistic(y: Any, score: Any) -> float:
    """Kolmogorov–Smirnov: the largest gap between the bad and good cumulative shares."""
    fpr, tpr, _ = roc_curve(y, score)
    return float(np.max(tpr - fpr))


def brier_score(y: Any, p: Any) -> float:
    """Mean squared error of a probability of bad."""
    yy, pp = _pair(y, p)
    return float(np.mean((pp - yy) ** 2))


@dataclass(frozen=True, slots=True)
class BootstrapInterval:
    """A statistic with its percentile bootstrap interval."""

    value: float
    low: float
    high: float
    n_boot: int


def bootstrap(
    metric: Callable[[np.ndarray, np.ndarray], float],
    y: Any,
    score: Any,
    *,
    n_boot: int = 200,
    level: float = 0.95,
    seed: int = 0,
) -> BootstrapInterval:
    """Percentile bootstrap interval of ``metric(y, score)``, stratified by class.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 500); s = y + rng.normal(size=500)
    >>> ci = bootstrap(roc_auc, y, s, n_boot=50)
    >>> ci.low < ci.value < ci.high
    True
    """
    yy, s = _pair(y, score)
    rng = np.random.default_rng(seed)
    bad = np.flatnonzero(yy == 1)
    good = np.flatnonzero(yy == 0)
    values = np.empty(n_boot)
    for b in range(n_boot):
        idx = np.concatenate([rng.choice(bad, bad.size), rng.choice(good, good.size)])
        values[b] = metric(yy[idx], s[idx])
    tail = (1 - level) / 2
    lo, hi = np.quantile(values, [tail, 1 - tail])
    return BootstrapInterval(float(metric(yy, s)), float(lo), float(hi), n_boot)


def _quantile_bands(s: np.ndarray, n_bands: int) -> np.ndarray:
    """Band index 0..n-1 by quantiles of ``s`` (ties stay in one band)."""
    edges = np.unique(np.quantile(s, np.linspace(0, 1, n_bands + 1)[1:-1]))
    return np.searchsorted(edges, s, side="right")


def gains_table(y: Any, score: Any, *, n_bands: int = 10) -> pl.DataFrame:
    """Lift and gains by score band, riskiest band first.

    Columns: band, min_score, max_score, count, bad, bad_rate, cum_count_share,
    cum_bad_share (the capture rate), lift, cum_lift, ks.
    """
    yy, s = _pair(y, score)
    band = _quantile_bands(s, n_bands)
    t = (
        pl.DataFrame({"band": band, "y": yy.astype(np.int64), "s": s})
        .group_by("band")
        .agg(
            pl.col("s").min().alias("min_score"),
            pl.col("s").max().alias("max_score"),
            pl.len().alias("count"),
            pl.col("y").sum().alias("bad"),
        )
        .sort("band", descending=True)
    )
    total, bads = yy.size, int(yy.sum())
    rate = bads / total
    return (
        t.with_columns(
            (pl.col("bad") / pl.col("count")).alias("bad_rate"),
            (pl.col("count").cum_sum() / total).alias("cum_count_share"),
            (pl.col("bad").cum_sum() / bads).alias("cum_bad_share"),
        )
        .with_columns(
            (pl.col("bad_rate") / rate).alias("lift"),
            (pl.col("cum_bad_share") / pl.col("cum_count_share")).alias("cum_lift"),
            (pl.col("cum_bad_share") - (pl.col("count") - pl.col("bad")).cum_sum() / (total - bads))
            .abs()
            .alias("ks"),
        )
        .with_columns(pl.int_range(1, pl.len() + 1).alias("band"))
    )


@dataclass(frozen=True, slots=True)
class HosmerLemeshow:
    """Hosmer–Lemeshow calibration test by band of predicted probability."""

    statistic: float
    dof: int
    p_value: float
    table: pl.DataFrame


def hosmer_lemeshow(y: Any, p: Any, *, n_bands: int = 10) -> HosmerLemeshow:
    """Observed vs expected bads by band of ``p``; chi-square with ``bands − 2`` dof."""
    yy, pp = _pair(y, p)
    band = _quantile_bands(pp, n_bands)
    t = (
        pl.DataFrame({"band": band, "y": yy.astype(np.int64), "p": pp})
        .group_by("band")
        .agg(
            pl.len().alias("count"),
            pl.col("y").sum().alias("observed_bad"),
            pl.col("p").sum().alias("expected_bad"),
            pl.col("p").mean().alias("mean_p"),
        )
        .sort("band")
        .with_columns((pl.col("observed_bad") / pl.col("count")).alias("observed_rate"))
    )
    n = t["count"].to_numpy().astype(float)
    o = t["observed_bad"].to_numpy().astype(float)
    e = t["expected_bad"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = (o - e) ** 2 / (e * (1 - e / n))
    stat = float(np.nansum(terms))
    dof = max(t.height - 2, 1)
    return HosmerLemeshow(stat, dof, float(stats.chi2.sf(stat, dof)), t)


def psi_table(expected: Any, actual: Any, *, n_bands: int = 10, edges: Any = None) -> pl.DataFrame:
    """Population stability by band: shares in the expected and actual samples and PSI terms.

    Bands come from the expected sample's quantiles unless ``edges`` are given. Empty bands get
    a share of 0.5 rows (so the term stays finite).
    """
    e = np.asarray(expected, dtype=np.float64).ravel()
    a = np.asarray(actual, dtype=np.float64).ravel()
    if e.size == 0 or a.size == 0:
        raise InvalidArgumentError(
            "expected/actual", expected="non-empty samples", got=(e.size, a.size)
        )
    cuts = (
        np.unique(np.quantile(e, np.linspace(0, 1, n_bands + 1)[1:-1]))
        if edges is None
        else np.asarray(edges, dtype=np.float64)
    )
    k = cuts.size + 1
    ce = np.bincount(np.searchsorted(cuts, e, side="right"), minlength=k).astype(float)
    ca = np.bincount(np.searchsorted(cuts, a, side="right"), minlength=k).astype(float)
    se = np.maximum(ce, 0.5) / e.size
    sa = np.maximum(ca, 0.5) / a.size
    lower = np.r_[-np.inf, cuts]
    return pl.DataFrame(
        {
            "band": np.arange(1, k + 1),
            "lower": lower,
            "expected_share": ce / e.size,
            "actual_share": ca / a.size,
            "psi": (sa - se) * np.log(sa / se),
        }
    )


def psi(expected: Any, actual: Any, *, n_bands: int = 10, edges: Any = None) -> float:
    """Population stability index of ``actual`` against ``expected``.

    Rule of thumb: < 0.1 stable, 0.1–0.25 watch, > 0.25 shifted.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> psi(rng.normal(size=5000), rng.normal(size=5000)) < 0.01
    True
    """
    return float(psi_table(expected, actual, n_bands=n_bands, edges=edges)["psi"].sum())


def score_bands(y: Any, score: Any, edges: Any) -> pl.DataFrame:
    """Count, share, bads and bad rate per score band given by ``edges`` (left-closed)."""
    yy, s = _pair(y, score)
    cuts = np.asarray(edges, dtype=np.float64)
    band = np.searchsorted(cuts, s, side="right")
    lower = np.r_[-np.inf, cuts]
    upper = np.r_[cuts, np.inf]
    t = (
        pl.DataFrame({"band": band, "y": yy.astype(np.int64)})
        .group_by("band")
        .agg(pl.len().alias("count"), pl.col("y").sum().alias("bad"))
    )
    full = pl.DataFrame({"band": np.arange(cuts.size + 1), "lower": lower, "upper": upper})
    return (
        full.join(t, on="band", how="left")
        .with_columns(pl.col("count").fill_null(0), pl.col("bad").fill_null(0))
        .with_columns(
            (pl.col("count") / yy.size).alias("share"),
            (pl.col("bad") / pl.col("count")).alias("bad_rate"),
        )
        .sort("band")
    )
