"""Variable quality: coverage, missing rate, information value and stability of each variable.

The table a risk analyst screens before modelling, and the hand-off to modeling's variable
selection (:func:`select_variables`).

* ``coverage``: share of rows with a value; ``missing_rate`` = 1 − coverage.
* ``unique``: distinct non-null values; ``zero_rate``: share of rows equal to 0.
* ``iv``: information value against a 0/1 label, on up to ``bins`` quantile bins of the
  variable (nulls in a bin of their own; 0.5 added to every cell so empty cells stay finite).
* ``psi_max`` / ``psi_last``: population stability index of each later period against the
  first (bins from the first period, nulls their own bin, cell shares floored at 1e-4).

Rule-of-thumb bands: IV < 0.02 useless, 0.02–0.1 weak, 0.1–0.3 medium, > 0.3 strong (check
for leakage above 0.5); PSI < 0.1 stable, 0.1–0.25 watch, > 0.25 shifted.

Examples
--------
>>> import polars as pl
>>> frame = pl.DataFrame({
...     "x": [0, 1, 2, 3, 4, 5, 6, 7, None, 9],
...     "bad": [0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
...     "month": ["01"] * 5 + ["02"] * 5,
... })
>>> q = variable_quality(frame, ["x"], label="bad", period="month", bins=2)
>>> q.select("variable", "coverage", "unique").row(0)
('x', 0.9, 9)
>>> round(q["iv"][0], 3), q["psi_max"][0] > 1
(2.028, True)
>>> select_variables(q, min_iv=0.1, max_psi=0.25)
[]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

from fengkong.errors import InvalidArgumentError

__all__ = ["population_stability", "select_variables", "variable_quality"]

_FLOOR = 1e-4


def _bin_ids(
    values: npt.NDArray[np.float64], edges: npt.NDArray[np.float64]
) -> npt.NDArray[np.int64]:
    """Bin of each value (``len(edges) + 1`` for NaN, i.e. null)."""
    ids = np.searchsorted(edges, values, side="right").astype(np.int64)
    ids[np.isnan(values)] = len(edges) + 1
    return ids


def _edges(values: npt.NDArray[np.float64], bins: int) -> npt.NDArray[np.float64]:
    present = values[~np.isnan(values)]
    if len(present) == 0:
        return np.empty(0)
    uniq = np.unique(present)
    if len(uniq) <= bins:
        return uniq[1:]  # every value its own bin
    qs = np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1])
    return np.unique(qs)


def _as_float(series: pl.Series) -> npt.NDArray[np.float64]:
    if series.dtype == pl.Boolean or series.dtype.is_numeric():
        return series.cast(pl.Float64).fill_nan(None).to_numpy().astype(np.float64)
    codes = series.cast(pl.String).rank("dense").cast(pl.Float64)  # categories as ordered codes
    return codes.to_numpy().astype(np.float64)


def population_stability(expected: npt.NDArray[np.int64], actual: npt.NDArray[np.int64]) -> float:
    """PSI between two histograms over the same bins.

    >>> round(population_stability(np.array([50, 50]), np.array([40, 60])), 4)
    0.0405
    """
    e = np.maximum(expected / max(expected.sum(), 1), _FLOOR)
    a = np.maximum(actual / max(actual.sum(), 1), _FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def _iv(ids: npt.NDArray[np.int64], label: npt.NDArray[np.int64], n_bins: int) -> float:
    bad = np.bincount(ids, weights=label, minlength=n_bins) + 0.5
    good = np.bincount(ids, weights=1 - label, minlength=n_bins) + 0.5
    used = np.bincount(ids, minlength=n_bins) > 0
    bad, good = bad[used] / bad[used].sum(), good[used] / good[used].sum()
    return float(np.sum((good - bad) * np.log(good / bad)))


def variable_quality(
    frame: pl.DataFrame,
    variables: Sequence[str] | None = None,
    *,
    label: str | None = None,
    period: str | None = None,
    bins: int = 10,
) -> pl.DataFrame:
    """One row per variable: coverage, missing rate, unique, zero rate, IV and PSI.

    Parameters
    ----------
    frame : DataFrame
        Variables as columns (e.g. the output of :func:`~fengkong.features.build_variables`
        joined with a label and a period).
    variables : list of str, optional
        Columns to assess (default: every column but ``label`` and ``period``).
    label : str, optional
        A 0/1 (or boolean) outcome column; rows where it is null are left out of the IV.
    period : str, optional
        A column whose sorted values are periods (e.g. application month); PSI compares each
        later period with the first.
    bins : int
        Quantile bins for IV and PSI.
    """
    for name, column in (("label", label), ("period", period)):
        if column is not None and column not in frame.columns:
            raise InvalidArgumentError(
                name, expected=f"a column of the frame {frame.columns[:8]}...", got=column
            )
    if bins < 2:
        raise InvalidArgumentError("bins", expected="at least 2", got=bins)
    names = (
        list(variables)
        if variables is not None
        else [c for c in frame.columns if c not in (label, period)]
    )
    n = len(frame)
    label_np = None
    if label is not None:
        y = frame[label].cast(pl.Float64).to_numpy()
        keep = ~np.isnan(y)
        label_np = (keep, y[keep].astype(np.int64))
    periods = None
    if period is not None:
        codes = frame[period].rank("dense").cast(pl.Int64).fill_null(0).to_numpy()
        periods = codes
    rows = []
    for name in names:
        if name not in frame.columns:
            raise InvalidArgumentError("variables", expected="columns of the frame", got=name)
        series = frame[name]
        values = _as_float(series)
        missing = int(np.isnan(values).sum())
        row: dict[str, object] = {
            "variable": name,
            "dtype": str(series.dtype),
            "coverage": (n - missing) / n if n else None,
            "missing_rate": missing / n if n else None,
            "unique": series.drop_nulls().n_unique(),
            "zero_rate": float(np.mean(values == 0)) if n else None,
            "iv": None,
            "psi_max": None,
            "psi_last": None,
        }
        if label_np is not None and n:
            keep, y = label_np
            edges = _edges(values[keep], bins)
            row["iv"] = _iv(_bin_ids(values[keep], edges), y, len(edges) + 2)
        if periods is not None and n and periods.max() > 1:
            base = periods == periods.min()
            edges = _edges(values[base], bins)
            ids = _bin_ids(values, edges)
            width = len(edges) + 2
            expected = np.bincount(ids[base], minlength=width)
            psis = [
                population_stability(expected, np.bincount(ids[periods == p], minlength=width))
                for p in np.unique(periods)[1:]
            ]
            row["psi_max"], row["psi_last"] = max(psis), psis[-1]
        rows.append(row)
    schema = {
        "variable": pl.String,
        "dtype": pl.String,
        "coverage": pl.Float64,
        "missing_rate": pl.Float64,
        "unique": pl.Int64,
        "zero_rate": pl.Float64,
        "iv": pl.Float64,
        "psi_max": pl.Float64,
        "psi_last": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)


def select_variables(
    quality: pl.DataFrame,
    *,
    min_iv: float = 0.02,
    max_psi: float = 0.25,
    min_coverage: float = 0.0,
) -> list[str]:
    """Variables passing IV, stability and coverage thresholds, strongest IV first.

    Missing IV or PSI (no label, one period) does not exclude a variable.
    """
    kept = quality.filter(
        (pl.col("iv").is_null() | (pl.col("iv") >= min_iv))
        & (pl.col("psi_max").is_null() | (pl.col("psi_max") <= max_psi))
        & (pl.col("coverage").fill_null(0) >= min_coverage)
    ).sort("iv", descending=True, nulls_last=True)
    return kept["variable"].to_list()
