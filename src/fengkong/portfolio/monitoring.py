"""Model and policy monitoring: drift, discrimination as outcomes mature, decision rates, alerts.

Every function takes frames and returns a frame with one row per month (and group), so the
results can be charted, stored and checked against thresholds the same way:

* :func:`score_psi_by_month`: PSI of each month's scores against the development sample;
* :func:`variable_csi_by_month`: the same per variable (deciles or levels of the reference);
* :func:`discrimination_by_month`: AUC, Gini and KS of the score per month, on the rows whose
  outcome has matured (a null outcome is "not yet known" and is left out, not counted good);
* :func:`decision_rates`: approval rate and matured bad rate by policy arm and segment;
* :func:`check_alerts`: every threshold a table crosses, from rules that are data
  (``portfolio/data/alerts.yaml`` by default, each with its source), see :func:`load_alert_rules`.

>>> import numpy as np, polars as pl, datetime as dt
>>> rng = np.random.default_rng(0)
>>> frame = pl.DataFrame({"month": [dt.date(2026, 1, 1)] * 500 + [dt.date(2026, 2, 1)] * 500,
...                       "score": np.r_[rng.normal(0, 1, 500), rng.normal(1, 1, 500)]})
>>> psi = score_psi_by_month(rng.normal(0, 1, 2000), frame)
>>> psi["psi"][0] < 0.1 < 0.25 < psi["psi"][1]
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from fengkong.errors import ConfigError, Problem
from fengkong.portfolio._data import read_data_file
from fengkong.portfolio.panel import require_columns

__all__ = [
    "AlertRule",
    "check_alerts",
    "decision_rates",
    "discrimination_by_month",
    "load_alert_rules",
    "score_psi_by_month",
    "variable_csi_by_month",
]


def _psi(expected: np.ndarray, actual: np.ndarray, edges: np.ndarray) -> float:
    k = edges.size + 1
    ce = np.bincount(np.searchsorted(edges, expected, side="right"), minlength=k).astype(float)
    ca = np.bincount(np.searchsorted(edges, actual, side="right"), minlength=k).astype(float)
    se = np.maximum(ce, 0.5) / max(expected.size, 1)
    sa = np.maximum(ca, 0.5) / max(actual.size, 1)
    return float(np.sum((sa - se) * np.log(sa / se)))


def _quantile_edges(values: np.ndarray, n_bands: int) -> np.ndarray:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.empty(0)
    return np.unique(np.quantile(finite, np.linspace(0, 1, n_bands + 1)[1:-1]))


def score_psi_by_month(
    reference: Any,
    frame: pl.DataFrame,
    *,
    score: str = "score",
    month: str = "month",
    n_bands: int = 10,
) -> pl.DataFrame:
    """PSI of each month's ``score`` against ``reference`` scores (bands: reference deciles)."""
    require_columns(frame, [score, month], "frame")
    ref = np.asarray(reference, dtype=np.float64)
    edges = _quantile_edges(ref, n_bands)
    rows = []
    for (m,), part in frame.group_by(month, maintain_order=True):
        values = part[score].cast(pl.Float64).drop_nulls().to_numpy()
        rows.append({month: m, "rows": values.size, "psi": _psi(ref, values, edges)})
    return pl.DataFrame(rows).sort(month)


def _codes(
    reference: pl.Series, series: pl.Series, n_bands: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reference and actual values as numbers, with band edges (missing is its own band)."""
    if reference.dtype.is_numeric():
        ref = reference.cast(pl.Float64).fill_null(np.nan).to_numpy()
        act = series.cast(pl.Float64).fill_null(np.nan).to_numpy()
        edges = _quantile_edges(ref, n_bands)
        low = (edges[0] - 1.0) if edges.size else 0.0
        return np.nan_to_num(ref, nan=low - 1), np.nan_to_num(act, nan=low - 1), np.r_[low, edges]
    levels = {
        v: float(k)
        for k, v in enumerate(sorted(reference.drop_nulls().cast(pl.String).unique().to_list()))
    }
    ref = (
        reference.cast(pl.String)
        .replace_strict(levels, default=-1.0, return_dtype=pl.Float64)
        .to_numpy()
    )
    act = (
        series.cast(pl.String)
        .replace_strict(levels, default=-1.0, return_dtype=pl.Float64)
        .to_numpy()
    )
    return ref, act, np.arange(-1, len(levels)) + 0.5


def variable_csi_by_month(
    reference: pl.DataFrame,
    frame: pl.DataFrame,
    variables: Sequence[str],
    *,
    month: str = "month",
    n_bands: int = 10,
) -> pl.DataFrame:
    """CSI of each variable per month against the reference sample: month, variable, csi."""
    require_columns(reference, variables, "reference")
    require_columns(frame, [*variables, month], "frame")
    rows = []
    for (m,), part in frame.group_by(month, maintain_order=True):
        for v in variables:
            ref, act, edges = _codes(reference[v], part[v], n_bands)
            rows.append({month: m, "variable": v, "csi": _psi(ref, act, edges)})
    return pl.DataFrame(rows).sort(month, "variable")


def discrimination_by_month(
    frame: pl.DataFrame,
    *,
    score: str = "score",
    outcome: str = "bad",
    month: str = "month",
    higher_is_riskier: bool = True,
    min_bads: int = 10,
) -> pl.DataFrame:
    """AUC, Gini and KS per month on matured rows (non-null outcome); null when too few bads."""
    from fengkong.modeling.metrics import ks_statistic, roc_auc  # noqa: PLC0415 (sklearn is heavy)

    require_columns(frame, [score, outcome, month], "frame")
    rows = []
    for (m,), part in frame.group_by(month, maintain_order=True):
        matured = part.filter(pl.col(outcome).is_not_null() & pl.col(score).is_not_null())
        y = matured[outcome].cast(pl.Int8).to_numpy()
        s = matured[score].cast(pl.Float64).to_numpy() * (1 if higher_is_riskier else -1)
        bads = int(y.sum())
        ok = bads >= min_bads and (y.size - bads) >= min_bads
        auc = roc_auc(y, s) if ok else None
        rows.append(
            {
                month: m,
                "rows": part.height,
                "matured": int(y.size),
                "bads": bads,
                "auc": auc,
                "gini": None if auc is None else 2 * auc - 1,
                "ks": ks_statistic(y, s) if ok else None,
            }
        )
    return pl.DataFrame(
        rows, schema_overrides={"auc": pl.Float64, "gini": pl.Float64, "ks": pl.Float64}
    ).sort(month)


def decision_rates(
    decisions: pl.DataFrame,
    *,
    by: Sequence[str] = ("arm",),
    decision: str = "decision",
    approve: str = "approve",
    outcome: str | None = "bad",
) -> pl.DataFrame:
    """Applications, approvals, approval rate and (matured) bad rate of approved, per group."""
    require_columns(decisions, [*by, decision, *([outcome] if outcome else [])], "decisions")
    approved = pl.col(decision) == approve
    aggs = [pl.len().alias("applications"), approved.sum().alias("approved")]
    if outcome:
        known = approved & pl.col(outcome).is_not_null()
        aggs += [
            known.sum().alias("matured"),
            (known & (pl.col(outcome).cast(pl.Int8) == 1)).sum().alias("bads"),
        ]
    out = (
        decisions.group_by(list(by))
        .agg(aggs)
        .with_columns((pl.col("approved") / pl.col("applications")).alias("approval_rate"))
    )
    if outcome:
        out = out.with_columns(
            pl.when(pl.col("matured") > 0)
            .then(pl.col("bads") / pl.col("matured"))
            .otherwise(None)
            .alias("bad_rate")
        )
    return out.sort(list(by))


@dataclass(frozen=True, slots=True)
class AlertRule:
    """A threshold on one column of one monitoring table."""

    id: str
    table: str
    column: str
    direction: str  # "above" or "below"
    warn: float
    alert: float
    source: str
    description: str = ""

    def severity(self, value: float) -> str | None:
        """``alert``, ``warn`` or None for one value."""
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return None
        if self.direction == "above":
            return "alert" if value > self.alert else "warn" if value > self.warn else None
        return "alert" if value < self.alert else "warn" if value < self.warn else None


def load_alert_rules(path: str | Path | None = None) -> tuple[AlertRule, ...]:
    """Alert rules from YAML (default: the shipped ``alerts.yaml``); every problem at once."""
    data, name = read_data_file(path, "alerts.yaml")
    problems: list[Problem] = []
    rules = []
    for k, raw in enumerate(data.get("rules") or []):
        where = f"rules.{k}"
        if not isinstance(raw, dict):
            problems.append(Problem(name, where, "expected a mapping"))
            continue
        unknown = sorted(
            set(raw)
            - {"id", "table", "column", "direction", "warn", "alert", "source", "description"}
        )
        if unknown:
            problems.append(Problem(name, where, f"unknown keys {unknown}"))
        for key in ("id", "table", "column", "source"):
            if not isinstance(raw.get(key), str) or not raw.get(key):
                problems.append(Problem(name, f"{where}.{key}", "expected a non-empty text"))
        direction: Any = raw.get("direction")
        if direction not in ("above", "below"):
            problems.append(
                Problem(name, f"{where}.direction", f"expected above or below, got {direction!r}")
            )
        warn: Any = raw.get("warn")
        alert: Any = raw.get("alert")
        if not all(isinstance(v, int | float) for v in (warn, alert)):
            problems.append(Problem(name, where, "warn and alert must be numbers"))
        elif (direction == "above" and alert < warn) or (direction == "below" and alert > warn):
            problems.append(
                Problem(
                    name, f"{where}.alert", f"expected an alert level beyond the warn level {warn}"
                )
            )
        if not problems:
            rules.append(
                AlertRule(
                    raw["id"],
                    raw["table"],
                    raw["column"],
                    direction,
                    float(warn),
                    float(alert),
                    raw["source"],
                    raw.get("description", ""),
                )
            )
    ids = [r.id for r in rules]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(Problem(name, "rules", f"duplicate rule id {dup!r}"))
    if problems:
        raise ConfigError(problems)
    return tuple(rules)


def check_alerts(
    tables: Mapping[str, pl.DataFrame], rules: Sequence[AlertRule] | None = None
) -> pl.DataFrame:
    """Every crossed threshold: rule, table, where (the row's other keys), value, level, source.

    Tables a rule names but ``tables`` lacks are skipped (not every report has every table).
    """
    rules = load_alert_rules() if rules is None else rules
    rows = []
    for rule in rules:
        table = tables.get(rule.table)
        if table is None or rule.column not in table.columns:
            continue
        keys = [
            c
            for c in table.columns
            if table[c].dtype in (pl.Date, pl.String, pl.Datetime)
            or c in ("arm", "variable", "segment")
        ]
        for rec in table.iter_rows(named=True):
            level = rule.severity(rec[rule.column])
            if level is None:
                continue
            limit = rule.alert if level == "alert" else rule.warn
            rows.append(
                {
                    "rule": rule.id,
                    "table": rule.table,
                    "where": ", ".join(f"{k}={rec[k]}" for k in keys if k != rule.column),
                    "column": rule.column,
                    "value": float(rec[rule.column]),
                    "level": level,
                    "threshold": limit,
                    "source": rule.source,
                }
            )
    schema = {
        "rule": pl.String,
        "table": pl.String,
        "where": pl.String,
        "column": pl.String,
        "value": pl.Float64,
        "level": pl.String,
        "threshold": pl.Float64,
        "source": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)
