"""Optimal binning of one variable (numeric or categorical) under constraints.

:func:`fit_variable` is the pure function every binning goes through; :class:`OptimalBinning`
is its scikit-learn face for one column, :class:`~fengkong.modeling.BinningProcess` runs it
over a whole frame.

Steps: split off missing values and special codes (each special value gets its own bin);
pre-bin the clean values (:mod:`fengkong.modeling.prebin`; for categories: one pre-bin per
level, levels rarer than ``cat_cutoff`` pooled, ordered by event rate); then merge pre-bins
optimally (:mod:`fengkong.modeling._solver`: an exact dynamic program by default, or the MILP)
maximising the objective under the trend and size constraints. ``monotonic_trend="auto"``
solves both ascending and descending and keeps the better one.

When no merge satisfies the constraints (say a column whose clean rows hold no event), the
regular rows form one bin. A constant column gives one regular bin (IV 0); an all-missing
column gives only its missing bin: both are documented outcomes, not errors, and
:class:`~fengkong.modeling.BinningProcess` reports them in its summary.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator, TransformerMixin

from fengkong.errors import InvalidArgumentError
from fengkong.modeling._assign import as_strings, bin_numeric, count_bins
from fengkong.modeling._input import (
    as_float_array,
    check_binary_target,
    check_fitted,
    is_numeric_series,
)
from fengkong.modeling._solver import (
    OBJECTIVES,
    TRENDS,
    Constraints,
    bin_scores,
    solve_dp,
    solve_milp,
)
from fengkong.modeling.prebin import PREBINNING_METHODS, prebin_numeric, tree_splits
from fengkong.modeling.table import BinningTable

__all__ = ["BinningParams", "OptimalBinning", "fit_variable"]

_OTHER = "__other__"


@dataclass(frozen=True, slots=True)
class BinningParams:
    """Settings of one variable's binning (the same names as :class:`OptimalBinning`)."""

    dtype: str = "auto"
    prebinning_method: str = "tree"
    max_n_prebins: int = 20
    min_prebin_size: float = 0.05
    objective: str = "iv"
    solver: str = "dp"
    monotonic_trend: str = "auto"
    min_event_rate_diff: float = 0.0
    max_n_bins: int | None = None
    min_bin_size: float | None = None
    min_bin_n_event: int = 1
    min_bin_n_nonevent: int = 1
    special_codes: tuple[Any, ...] = ()
    cat_cutoff: float = 0.01
    user_splits: tuple[Any, ...] | None = None

    def __post_init__(self) -> None:
        checks: list[tuple[str, bool, str]] = [
            (
                "dtype",
                self.dtype in ("auto", "numeric", "categorical"),
                "auto, numeric or categorical",
            ),
            (
                "prebinning_method",
                self.prebinning_method in PREBINNING_METHODS,
                f"one of {PREBINNING_METHODS}",
            ),
            (
                "max_n_prebins",
                isinstance(self.max_n_prebins, int) and self.max_n_prebins >= 2,
                "an integer >= 2",
            ),
            ("min_prebin_size", 0 < self.min_prebin_size <= 0.5, "a share in (0, 0.5]"),
            ("objective", self.objective in OBJECTIVES, f"one of {OBJECTIVES}"),
            ("solver", self.solver in ("dp", "milp"), "dp or milp"),
            (
                "monotonic_trend",
                self.monotonic_trend in (*TRENDS, "auto"),
                f"auto or one of {TRENDS}",
            ),
            ("min_event_rate_diff", 0 <= self.min_event_rate_diff < 1, "a rate in [0, 1)"),
            (
                "max_n_bins",
                self.max_n_bins is None or self.max_n_bins >= 1,
                "None or an integer >= 1",
            ),
            (
                "min_bin_size",
                self.min_bin_size is None or 0 < self.min_bin_size <= 0.5,
                "None or a share in (0, 0.5]",
            ),
            ("min_bin_n_event", self.min_bin_n_event >= 1, "an integer >= 1"),
            ("min_bin_n_nonevent", self.min_bin_n_nonevent >= 1, "an integer >= 1"),
            ("cat_cutoff", 0 <= self.cat_cutoff < 1, "a share in [0, 1)"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise InvalidArgumentError(name, expected=expected, got=getattr(self, name))
        if self.solver == "milp" and self.objective == "ks":
            raise InvalidArgumentError(
                "objective",
                expected="an additive objective with the milp solver (iv, js, hellinger, chi2)",
                got="ks",
            )

    def updated(self, **changes: Any) -> BinningParams:
        """A copy with some settings changed (unknown names are an error)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise InvalidArgumentError(
                "binning_params", expected=f"names from {sorted(known)}", got=unknown
            )
        if "special_codes" in changes and changes["special_codes"] is not None:
            changes["special_codes"] = tuple(changes["special_codes"])
        if changes.get("user_splits") is not None:
            changes["user_splits"] = tuple(
                tuple(v) if isinstance(v, list | tuple) else v for v in changes["user_splits"]
            )
        return replace(self, **changes)


def _merge(
    nonevent: np.ndarray,
    event: np.ndarray,
    params: BinningParams,
    totals: tuple[float, float],
    n_rows: int,
    trend: str,
) -> tuple[np.ndarray, str]:
    """Start indices of the merged bins and the trend they follow."""
    min_count = int(np.ceil(params.min_bin_size * n_rows)) if params.min_bin_size else 1
    base = Constraints(
        max_bins=params.max_n_bins,
        min_count=max(min_count, 1),
        min_event=params.min_bin_n_event,
        min_nonevent=params.min_bin_n_nonevent,
        min_rate_diff=params.min_event_rate_diff,
    )
    solve = solve_milp if params.solver == "milp" else solve_dp
    candidates = ("ascending", "descending") if trend == "auto" else (trend,)
    best: tuple[float, np.ndarray, str] | None = None
    for t in candidates:
        c = replace(base, trend=t)
        starts = solve(nonevent, event, c, objective=params.objective, totals=totals)
        if starts.size == 0:
            continue
        score, _ = bin_scores(nonevent, event, totals[0], totals[1], params.objective, c)
        ends = [*(starts[1:] - 1).tolist(), len(nonevent) - 1]
        parts = [score[i, j] for i, j in zip(starts.tolist(), ends, strict=True)]
        value = max(parts) if params.objective == "ks" else float(sum(parts))
        if best is None or value > best[0] + 1e-12:
            best = (value, starts, t)
    if best is None:
        return np.array([0], dtype=np.int64), "none"
    return best[1], best[2] if len(best[1]) > 1 else "none"


def _fit_numeric(name: str, x: np.ndarray, y: np.ndarray, params: BinningParams) -> BinningTable:
    specials = np.asarray([float(s) for s in params.special_codes], dtype=np.float64)
    missing = np.isnan(x)
    special = np.isin(x, specials) if specials.size else np.zeros(x.shape, dtype=bool)
    if params.user_splits is not None:
        edges = np.unique(np.asarray(params.user_splits, dtype=np.float64))
    else:
        clean = ~(missing | special)
        all_clean = bool(clean.all())
        xc = x if all_clean else x[clean]
        yc = y if all_clean else y[clean]
        edges = prebin_numeric(
            xc,
            yc,
            method=params.prebinning_method,
            max_n_prebins=params.max_n_prebins,
            min_prebin_size=params.min_prebin_size,
        )
    idx = bin_numeric(x, edges, specials)
    ne, ev = count_bins(idx, y, edges.size + 1 + specials.size + 1)
    k = edges.size + 1
    if params.user_splits is None:
        nonempty = (ne[:k] + ev[:k]) > 0  # drop empty pre-bins by removing their left edge
        if not nonempty.all() and nonempty.any():
            keep_bins = np.flatnonzero(nonempty)
            edges = edges[keep_bins[1:] - 1] if keep_bins.size > 1 else np.empty(0)
            ne = np.concatenate([ne[:k][nonempty], ne[k:]])
            ev = np.concatenate([ev[:k][nonempty], ev[k:]])
            k = edges.size + 1
        starts, trend = _merge(
            ne[:k],
            ev[:k],
            params,
            (float(ne.sum()), float(ev.sum())),
            x.size,
            params.monotonic_trend,
        )
        splits = edges[starts[1:] - 1]
        ne = np.concatenate([np.add.reduceat(ne[:k], starts), ne[k:]])
        ev = np.concatenate([np.add.reduceat(ev[:k], starts), ev[k:]])
    else:
        splits, trend = edges, "none"
    return BinningTable(
        name=name,
        kind="numeric",
        splits=tuple(float(s) for s in splits),
        specials=tuple(float(s) for s in specials),
        nonevent=tuple(int(v) for v in ne),
        event=tuple(int(v) for v in ev),
        trend=trend,
    )


def _fit_categorical(
    name: str, values: pl.Series, y: np.ndarray, params: BinningParams
) -> BinningTable:
    s = as_strings(values)
    specials = tuple(str(v) for v in params.special_codes)
    frame = pl.DataFrame({"level": s, "y": y})
    stats = (
        frame.group_by("level")
        .agg(pl.len().alias("n"), pl.col("y").cast(pl.Int64).sum().alias("ev"))
        .with_columns((pl.col("n") - pl.col("ev")).alias("ne"))
    )
    miss = stats.filter(pl.col("level").is_null())
    spec = stats.filter(pl.col("level").is_in(specials))
    clean = stats.filter(pl.col("level").is_not_null() & ~pl.col("level").is_in(specials))
    n_clean = int(clean["n"].sum()) if clean.height else 0
    if params.user_splits is not None:
        groups = [tuple(str(v) for v in g) for g in params.user_splits]
        trend = "none"
    else:
        rare = clean.filter(pl.col("n") < params.cat_cutoff * n_clean)
        kept = clean.filter(pl.col("n") >= params.cat_cutoff * n_clean)
        pre = [([lv], ne, ev) for lv, ne, ev in kept.select("level", "ne", "ev").iter_rows()]
        if rare.height:
            pre.append(
                (sorted(rare["level"].to_list()), int(rare["ne"].sum()), int(rare["ev"].sum()))
            )
        pre.sort(key=lambda p: (p[2] / max(p[1] + p[2], 1), p[0][0]))
        if len(pre) > 1:  # like numeric pre-bins: Gini tree with min_prebin_size leaves
            ne0 = np.array([p[1] for p in pre])
            ev0 = np.array([p[2] for p in pre])
            cuts = tree_splits(
                ne0, ev0, max_leaves=params.max_n_prebins, min_leaf=params.min_prebin_size * n_clean
            )
            bounds = [0, *cuts, len(pre)]
            pre = [
                (
                    [lv for p in pre[a:b] for lv in p[0]],
                    sum(p[1] for p in pre[a:b]),
                    sum(p[2] for p in pre[a:b]),
                )
                for a, b in itertools.pairwise(bounds)
            ]
        if pre:
            ne_p = np.array([p[1] for p in pre], dtype=np.int64)
            ev_p = np.array([p[2] for p in pre], dtype=np.int64)
            trend_in = "none" if params.monotonic_trend == "none" else "ascending"
            totals = (float(stats["ne"].sum()), float(stats["ev"].sum()))
            starts, trend = _merge(ne_p, ev_p, params, totals, s.len(), trend_in)
            bounds = [*starts.tolist(), len(pre)]
            groups = [
                tuple(sorted(lv for p in pre[a:b] for lv in p[0]))
                for a, b in itertools.pairwise(bounds)
            ]
        else:
            groups, trend = [], "none"
    level_bin = {lv: k for k, g in enumerate(groups) for lv in g}
    ne = np.zeros(len(groups) + len(specials) + 1, dtype=np.int64)
    ev = np.zeros_like(ne)
    for lv, n, e in clean.select("level", "n", "ev").iter_rows():
        k = level_bin.get(lv)
        if k is None:  # a level the user's groups left out: treated as missing
            k = len(ne) - 1
        ne[k] += n - e
        ev[k] += e
    for lv, n, e in spec.select("level", "n", "ev").iter_rows():
        k = len(groups) + specials.index(lv)
        ne[k] += n - e
        ev[k] += e
    if miss.height:
        ne[-1] += int(miss["ne"][0])
        ev[-1] += int(miss["ev"][0])
    return BinningTable(
        name=name,
        kind="categorical",
        groups=tuple(groups),
        specials=specials,
        nonevent=tuple(int(v) for v in ne),
        event=tuple(int(v) for v in ev),
        trend=trend,
    )


def fit_variable(
    name: str,
    values: pl.Series | np.ndarray | Sequence[Any],
    y: np.ndarray,
    params: BinningParams | None = None,
) -> BinningTable:
    """Bin one variable against a checked 0/1 target; returns its :class:`BinningTable`.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=5_000)
    >>> y = (rng.random(5_000) < 1 / (1 + np.exp(2 - x))).astype(np.int8)
    >>> t = fit_variable("x", x, y)
    >>> t.trend, t.n_regular > 2, bool(np.all(np.diff(t.event_rate[: t.n_regular]) > 0))
    ('ascending', True, True)
    """
    params = params or BinningParams()
    series = values if isinstance(values, pl.Series) else pl.Series(name, values, strict=False)
    kind = params.dtype
    if kind == "auto":
        kind = "numeric" if is_numeric_series(series) else "categorical"
    if kind == "numeric":
        if not is_numeric_series(series):
            raise InvalidArgumentError(
                name, expected="numbers (dtype='numeric')", got=str(series.dtype)
            )
        return _fit_numeric(name, as_float_array(series), y, params)
    return _fit_categorical(name, series, y, params)


class OptimalBinning(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Optimal binning of one variable; ``transform`` gives WoE (or bin indices / event rates).

    Parameters are those of :class:`BinningParams`; ``x`` is one column (1-D, or 2-D with one
    column), ``y`` is 0/1 with 1 = bad.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> x = rng.integers(18, 70, 2_000).astype(float)
    >>> y = (rng.random(2_000) < np.where(x < 30, 0.2, 0.05)).astype(int)
    >>> ob = OptimalBinning(name="age", monotonic_trend="descending").fit(x, y)
    >>> ob.binning_table_.trend
    'descending'
    >>> ob.transform(np.array([20.0, 60.0])).round(2).tolist() == [
    ...     round(ob.binning_table_.woe[0], 2), round(ob.binning_table_.woe[-3], 2)]
    True
    """

    def __init__(
        self,
        name: str = "x",
        *,
        dtype: str = "auto",
        prebinning_method: str = "tree",
        max_n_prebins: int = 20,
        min_prebin_size: float = 0.05,
        objective: str = "iv",
        solver: str = "dp",
        monotonic_trend: str = "auto",
        min_event_rate_diff: float = 0.0,
        max_n_bins: int | None = None,
        min_bin_size: float | None = None,
        min_bin_n_event: int = 1,
        min_bin_n_nonevent: int = 1,
        special_codes: Sequence[Any] | None = None,
        cat_cutoff: float = 0.01,
        user_splits: Sequence[Any] | None = None,
        unknown: str = "missing",
    ) -> None:
        self.name = name
        self.dtype = dtype
        self.prebinning_method = prebinning_method
        self.max_n_prebins = max_n_prebins
        self.min_prebin_size = min_prebin_size
        self.objective = objective
        self.solver = solver
        self.monotonic_trend = monotonic_trend
        self.min_event_rate_diff = min_event_rate_diff
        self.max_n_bins = max_n_bins
        self.min_bin_size = min_bin_size
        self.min_bin_n_event = min_bin_n_event
        self.min_bin_n_nonevent = min_bin_n_nonevent
        self.special_codes = special_codes
        self.cat_cutoff = cat_cutoff
        self.user_splits = user_splits
        self.unknown = unknown

    def _params(self) -> BinningParams:
        names = {f.name for f in fields(BinningParams)}
        given = {k: v for k, v in self.get_params().items() if k in names}
        return BinningParams().updated(**{**given, "special_codes": self.special_codes or ()})

    @staticmethod
    def _column(x: Any) -> tuple[pl.Series, bool]:
        if isinstance(x, pl.DataFrame):
            if x.width != 1:
                raise InvalidArgumentError("x", expected="one column", got=f"{x.width} columns")
            return x.to_series(), True
        if isinstance(x, pl.Series):
            return x, False
        if hasattr(x, "iloc") and hasattr(x, "columns"):
            return _column_pandas(x), True
        if hasattr(x, "to_numpy"):
            x = x.to_numpy()
        arr = np.asarray(x)
        if arr.ndim == 2:
            if arr.shape[1] != 1:
                raise InvalidArgumentError("x", expected="one column", got=f"shape {arr.shape}")
            return pl.Series("x", arr[:, 0], strict=False), True
        if arr.ndim != 1:
            raise InvalidArgumentError("x", expected="a 1-D column", got=f"shape {arr.shape}")
        return pl.Series("x", arr, strict=False), False

    def fit(self, x: Any, y: Any) -> OptimalBinning:
        """Bin ``x`` against the 0/1 target ``y``."""
        column, _ = self._column(x)
        target = check_binary_target(y, n_rows=column.len())
        self.binning_table_ = fit_variable(self.name, column, target, self._params())
        self.n_features_in_ = 1
        return self

    @property
    def splits(self) -> tuple[Any, ...]:
        """Cut points (numeric) or level groups (categorical) of the fitted binning."""
        t = self._table()
        return t.splits if t.kind == "numeric" else t.groups

    def _table(self) -> BinningTable:
        check_fitted(self, "binning_table_")
        return self.binning_table_

    def transform(self, x: Any, *, metric: str = "woe") -> np.ndarray:
        """WoE per row (``metric="woe"``), or ``"indices"``, ``"event_rate"``."""
        table = self._table()
        column, two_d = self._column(x)
        idx = table.assign(column, unknown=self.unknown)
        if metric == "indices":
            out: np.ndarray = idx
        elif metric == "woe":
            out = np.asarray(table.woe)[idx]
        elif metric == "event_rate":
            out = np.nan_to_num(table.event_rate)[idx]
        else:
            raise InvalidArgumentError("metric", expected="woe, indices or event_rate", got=metric)
        return out.reshape(-1, 1) if two_d else out


def _column_pandas(frame: Any) -> pl.Series:
    if frame.shape[1] != 1:
        raise InvalidArgumentError("x", expected="one column", got=f"{frame.shape[1]} columns")
    series = pl.from_pandas(frame.iloc[:, 0])
    assert isinstance(series, pl.Series)
    return series
