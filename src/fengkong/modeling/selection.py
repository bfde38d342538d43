"""Variable selection on WoE: IV threshold, correlation and VIF pruning, stepwise search.

:func:`select_variables` runs the steps an analyst runs before fitting a scorecard, in order,
and returns a :class:`Selection` that says for every variable whether it was kept and, if not,
which step dropped it and why:

1. ``min_iv``: drop variables whose information value is below the threshold;
2. ``max_corr``: of every pair whose WoE correlation exceeds the threshold (absolute), drop the
   one with the lower IV;
3. ``max_vif``: drop, one at a time, the variable with the largest variance inflation factor
   until every VIF is at most the threshold;
4. ``stepwise``: ``forward`` (add the variable that improves the criterion most, while it
   improves) or ``backward`` (remove while removing improves), on ``aic``, ``bic`` or ``auc``
   of an unpenalised logistic regression.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression

from fengkong.errors import InvalidArgumentError
from fengkong.modeling._input import as_frame, check_binary_target
from fengkong.modeling.metrics import roc_auc
from fengkong.modeling.process import BinningProcess

__all__ = ["Selection", "select_variables", "variance_inflation"]

CRITERIA = ("aic", "bic", "auc")


@dataclass(frozen=True, slots=True)
class Selection:
    """The kept variables, in order, and a table of every decision."""

    selected: tuple[str, ...]
    table: pl.DataFrame


def variance_inflation(woe: np.ndarray) -> np.ndarray:
    """VIF of every column: ``1 / (1 − R²)`` of its regression on the others."""
    n, k = woe.shape
    out = np.empty(k)
    for j in range(k):
        others = np.column_stack([np.ones(n), np.delete(woe, j, axis=1)])
        coef, *_ = np.linalg.lstsq(others, woe[:, j], rcond=None)
        resid = woe[:, j] - others @ coef
        total = np.sum((woe[:, j] - woe[:, j].mean()) ** 2)
        r2 = 1 - resid @ resid / total if total > 0 else 1.0
        out[j] = math.inf if r2 >= 1 else 1 / (1 - r2)
    return out


def _criterion(woe: np.ndarray, y: np.ndarray, criterion: str) -> float:
    """Lower is better: AIC, BIC, or minus the AUC."""
    if woe.shape[1] == 0:
        p = np.full(y.size, y.mean())
        k = 1
    else:
        lr = LogisticRegression(C=1e6, max_iter=1000).fit(woe, y)
        p = lr.predict_proba(woe)[:, 1]
        k = woe.shape[1] + 1
    if criterion == "auc":
        return -roc_auc(y, p) if woe.shape[1] else -0.5
    p = np.clip(p, 1e-12, 1 - 1e-12)
    loglik = float(np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)))
    penalty = 2 * k if criterion == "aic" else k * math.log(y.size)
    return penalty - 2 * loglik


def _stepwise(
    woe: np.ndarray,
    y: np.ndarray,
    names: list[str],
    direction: str,
    criterion: str,
    min_gain: float,
) -> tuple[list[str], dict[str, str]]:
    col = {n: i for i, n in enumerate(names)}
    chosen = [] if direction == "forward" else list(names)
    current = _criterion(woe[:, [col[n] for n in chosen]], y, criterion)
    while True:
        options = [n for n in names if n not in chosen] if direction == "forward" else list(chosen)
        if not options:
            break
        trials = []
        for n in options:
            trial = [*chosen, n] if direction == "forward" else [c for c in chosen if c != n]
            trials.append((_criterion(woe[:, [col[c] for c in trial]], y, criterion), n))
        best, name = min(trials)
        if current - best <= min_gain:
            break
        current = best
        if direction == "forward":
            chosen.append(name)
        else:
            chosen.remove(name)
    reason = f"stepwise {direction} on {criterion}"
    return chosen, {n: reason for n in names if n not in chosen}


def select_variables(
    binning: BinningProcess,
    X: Any,
    y: Any,
    *,
    min_iv: float = 0.02,
    max_corr: float | None = 0.7,
    max_vif: float | None = 10.0,
    stepwise: str | None = None,
    criterion: str = "aic",
    min_gain: float = 0.0,
) -> Selection:
    """Run the selection steps on a fitted binning's WoE; see the module docstring.

    >>> import numpy as np, polars as pl
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=3_000)
    >>> X = pl.DataFrame({"a": a, "a_copy": a + rng.normal(0, 0.01, 3_000),
    ...                   "noise": rng.normal(size=3_000)})
    >>> y = (rng.random(3_000) < 1 / (1 + np.exp(1 - a))).astype(int)
    >>> bp = BinningProcess().fit(X, y)
    >>> sel = select_variables(bp, X, y)
    >>> len(sel.selected), "noise" in sel.selected
    (1, False)
    """
    if stepwise not in (None, "forward", "backward"):
        raise InvalidArgumentError("stepwise", expected="None, forward or backward", got=stepwise)
    if criterion not in CRITERIA:
        raise InvalidArgumentError("criterion", expected=f"one of {CRITERIA}", got=criterion)
    frame = as_frame(X)
    target = check_binary_target(y, n_rows=frame.height)
    summary = binning.summary()
    iv = dict(summary.select("variable", "iv").iter_rows())
    names = [v for v in binning.variables_ if v in iv]
    dropped: dict[str, tuple[str, str]] = {}
    for n in names:
        if iv[n] < min_iv:
            dropped[n] = ("iv", f"IV {iv[n]:.4f} < {min_iv}")
    alive = [n for n in names if n not in dropped]
    woe_frame = binning.transform(frame, variables=alive) if alive else pl.DataFrame()
    woe = woe_frame.to_numpy() if alive else np.empty((frame.height, 0))
    col = {n: i for i, n in enumerate(alive)}
    if max_corr is not None and len(alive) > 1:
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.nan_to_num(np.corrcoef(woe, rowvar=False))
        for a in sorted(alive, key=lambda v: -iv[v]):
            if a in dropped:
                continue
            for b in alive:
                if (
                    b != a
                    and b not in dropped
                    and iv[b] <= iv[a]
                    and abs(corr[col[a], col[b]]) > max_corr
                ):
                    dropped[b] = (
                        "correlation",
                        f"|corr| {abs(corr[col[a], col[b]]):.3f} with {a} > {max_corr}",
                    )
        alive = [n for n in alive if n not in dropped]
    if max_vif is not None and len(alive) > 1:
        while len(alive) > 1:
            vif = variance_inflation(woe[:, [col[n] for n in alive]])
            worst = int(np.argmax(vif))
            if vif[worst] <= max_vif:
                break
            dropped[alive[worst]] = ("vif", f"VIF {vif[worst]:.2f} > {max_vif}")
            alive.pop(worst)
    if stepwise and alive:
        kept, reasons = _stepwise(
            woe[:, [col[n] for n in alive]], target, alive, stepwise, criterion, min_gain
        )
        for n, why in reasons.items():
            dropped[n] = ("stepwise", why)
        alive = [n for n in alive if n in kept]
    table = pl.DataFrame(
        [
            {
                "variable": n,
                "iv": iv[n],
                "selected": n not in dropped,
                "step": dropped.get(n, ("", ""))[0],
                "reason": dropped.get(n, ("", ""))[1],
            }
            for n in names
        ]
    )
    return Selection(tuple(alive), table)
