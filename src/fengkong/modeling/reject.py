"""Reject inference: use declined applications when refitting a scorecard on approved ones.

A scorecard fitted on approved applications only (the "known good/bad" model) never sees the
applicants the old policy declined, so it under-estimates risk where the old policy was
strict. Three classic remedies, each starting from that fitted scorecard, keeping its bins and
refitting its regression on the approved rows plus the declined rows with inferred outcomes:

* ``hard_cutoff``: a declined row is bad when its predicted bad probability is above a cut-off
  chosen so the declined rows' inferred bad rate is ``reject_rate_factor`` times the approved
  rows' observed rate;
* ``parcelling``: by score band of the known model, declined rows are drawn bad at the band's
  observed bad rate times ``reject_rate_factor`` (seeded);
* ``fuzzy``: every declined row enters twice, as bad with weight ``p`` and as good with weight
  ``1 − p`` (``p`` scaled by ``reject_rate_factor``, capped at 1).

:func:`evaluate_reject_inference` measures each on data whose declined outcomes are known
(the synthetic book's oracle): the through-the-door AUC of the known-only model, of each
method, and of the model fitted on everyone's true outcome, and the share of the gap each
method recovers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from fengkong.errors import InvalidArgumentError
from fengkong.modeling._input import as_frame, check_binary_target
from fengkong.modeling.metrics import roc_auc
from fengkong.modeling.scorecard import Scorecard

__all__ = ["METHODS", "evaluate_reject_inference", "infer_rejects"]

METHODS = ("hard_cutoff", "parcelling", "fuzzy")


def _augmented(
    method: str,
    p_rejects: np.ndarray,
    p_accepts: np.ndarray,
    y_accepts: np.ndarray,
    factor: float,
    n_bands: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reject row indices, inferred labels and weights for one method."""
    n = p_rejects.size
    base_rate = float(y_accepts.mean())
    if method == "hard_cutoff":
        share = min(base_rate * factor, 1.0)
        cut = np.quantile(p_rejects, 1 - share) if share > 0 else np.inf
        return np.arange(n), (p_rejects >= cut).astype(np.int8), np.ones(n)
    if method == "parcelling":
        edges = np.unique(np.quantile(p_accepts, np.linspace(0, 1, n_bands + 1)[1:-1]))
        band_a = np.searchsorted(edges, p_accepts, side="right")
        band_r = np.searchsorted(edges, p_rejects, side="right")
        rates = np.array(
            [
                y_accepts[band_a == b].mean() if (band_a == b).any() else base_rate
                for b in range(edges.size + 1)
            ]
        )
        draw = np.random.default_rng(seed).random(n)
        return (
            np.arange(n),
            (draw < np.minimum(rates[band_r] * factor, 1.0)).astype(np.int8),
            np.ones(n),
        )
    p = np.minimum(p_rejects * factor, 1.0)
    idx = np.concatenate([np.arange(n), np.arange(n)])
    labels = np.concatenate([np.ones(n, np.int8), np.zeros(n, np.int8)])
    return idx, labels, np.concatenate([p, 1 - p])


def infer_rejects(
    scorecard: Scorecard,
    X_accepts: Any,
    y_accepts: Any,
    X_rejects: Any,
    *,
    method: str = "fuzzy",
    reject_rate_factor: float = 2.0,
    n_bands: int = 10,
    seed: int = 0,
) -> Scorecard:
    """A new scorecard: the known one's bins, its regression refitted with inferred rejects.

    ``scorecard`` must be fitted on ``X_accepts``/``y_accepts``.

    >>> import numpy as np, polars as pl
    >>> rng = np.random.default_rng(0)
    >>> X = pl.DataFrame({"x": rng.normal(size=6_000)})
    >>> y = (rng.random(6_000) < 1 / (1 + np.exp(2 - X["x"].to_numpy()))).astype(int)
    >>> accepted = X["x"].to_numpy() < 0.5
    >>> kgb = Scorecard().fit(X.filter(accepted), y[accepted])
    >>> ri = infer_rejects(kgb, X.filter(accepted), y[accepted], X.filter(~accepted))
    >>> ri.model_.features
    ['x']
    """
    if method not in METHODS:
        raise InvalidArgumentError("method", expected=f"one of {METHODS}", got=method)
    if reject_rate_factor <= 0:
        raise InvalidArgumentError(
            "reject_rate_factor", expected="a positive number", got=reject_rate_factor
        )
    if not hasattr(scorecard, "model_"):
        raise InvalidArgumentError("scorecard", expected="a fitted Scorecard", got="unfitted")
    xa = as_frame(X_accepts)
    xr = as_frame(X_rejects)
    ya = check_binary_target(y_accepts, n_rows=xa.height)
    p_a = scorecard.predict_proba(xa)[:, 1]
    p_r = scorecard.predict_proba(xr)[:, 1]
    idx, labels, weights = _augmented(method, p_r, p_a, ya, reject_rate_factor, n_bands, seed)
    woe_a = scorecard.woe_matrix(xa)
    woe_r = scorecard.woe_matrix(xr)[idx]
    X_all = np.vstack([woe_a, woe_r])
    y_all = np.concatenate([ya, labels])
    w_all = np.concatenate([np.ones(ya.size), weights])
    est = (
        clone(scorecard.estimator)
        if scorecard.estimator is not None
        else LogisticRegression(max_iter=1000)
    )
    est.fit(X_all, y_all, sample_weight=w_all)
    new: Scorecard = clone(scorecard)
    for attr in (
        "binning_process_",
        "variables_",
        "classes_",
        "n_features_in_",
        "feature_names_in_",
        "dropped_wrong_sign_",
    ):
        setattr(new, attr, getattr(scorecard, attr))
    new.estimator_ = est
    coef = np.asarray(est.coef_, dtype=np.float64).ravel()
    new.model_ = new._build_model(
        scorecard.binning_process_,
        list(scorecard.variables_),
        coef,
        float(np.ravel(est.intercept_)[0]),
    )
    new.reject_inference_ = {
        "method": method,
        "rejects": int(xr.height),
        "inferred_bad_rate": float(np.average(labels, weights=weights)),
    }
    return new


def evaluate_reject_inference(
    data: pl.DataFrame,
    features: list[str],
    *,
    accepted: str = "accepted",
    target: str = "bad",
    test_share: float = 0.3,
    seed: int = 0,
    scorecard: Scorecard | None = None,
    reject_rate_factor: float = 2.0,
) -> pl.DataFrame:
    """Through-the-door AUC of known-only, each method, and all-outcomes models.

    ``data`` holds every application with its true outcome (as the synthetic book's oracle
    gives); the models may use outcomes only where ``accepted``. Rows are split at random into
    training and a through-the-door test set. Columns: model, ttd_auc, recovered (the share of
    the AUC gap between known-only and all-outcomes that the model closes).
    """
    rng = np.random.default_rng(seed)
    test = rng.random(data.height) < test_share
    train_df, test_df = data.filter(~pl.Series(test)), data.filter(pl.Series(test))
    acc = train_df[accepted].to_numpy().astype(bool)
    X_tr = train_df.select(features)
    y_tr = train_df[target].to_numpy()
    X_te, y_te = test_df.select(features), test_df[target].to_numpy()
    base = scorecard if scorecard is not None else Scorecard()
    kgb = clone(base).fit(X_tr.filter(pl.Series(acc)), y_tr[acc])
    everyone = clone(base).fit(X_tr, y_tr)
    results = [("known_only", roc_auc(y_te, kgb.predict_proba(X_te)[:, 1]))]
    for method in METHODS:
        ri = infer_rejects(
            kgb,
            X_tr.filter(pl.Series(acc)),
            y_tr[acc],
            X_tr.filter(~pl.Series(acc)),
            method=method,
            reject_rate_factor=reject_rate_factor,
            seed=seed,
        )
        results.append((method, roc_auc(y_te, ri.predict_proba(X_te)[:, 1])))
    top = roc_auc(y_te, everyone.predict_proba(X_te)[:, 1])
    results.append(("all_outcomes", top))
    low = results[0][1]
    gap = top - low
    return pl.DataFrame(
        [
            {"model": m, "ttd_auc": a, "recovered": (a - low) / gap if gap > 0 else float("nan")}
            for m, a in results
        ]
    )
