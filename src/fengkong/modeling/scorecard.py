"""The scorecard estimator: binning → WoE → logistic regression → points.

``Scorecard.fit`` bins the variables (a :class:`BinningProcess`), keeps those with enough
information value, fits a logistic regression on their WoE (dropping, one at a time, any
variable whose coefficient has the wrong sign, which would give more points to riskier bins)
and scales it to points:

``score = offset + factor · ln(odds of good)``, ``factor = pdo / ln 2``,
``offset = base_points − factor · ln(base_odds)``; each attribute's points are
``−factor · β_j · WoE_ij + (offset − factor · β_0) / m`` rounded HALF_EVEN to ``decimals``.

The fitted :class:`~fengkong.modeling.ScorecardModel` (``model_``) scores rows, explains them
with reason codes, and exports to JSON and SQL.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression

from fengkong.errors import InvalidArgumentError
from fengkong.modeling._input import as_frame, check_binary_target, check_fitted, check_width
from fengkong.modeling.artifact import ScorecardModel, ScorecardVariable
from fengkong.modeling.process import BinningProcess

__all__ = ["Scorecard"]


class Scorecard(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A points scorecard on WoE-transformed, optimally binned variables.

    Parameters
    ----------
    binning_process : BinningProcess, optional
        Unfitted binning settings (default :class:`BinningProcess` with its defaults).
    estimator : sklearn classifier, optional
        A linear classifier exposing ``coef_`` and ``intercept_`` (default
        ``LogisticRegression(max_iter=1000)``).
    min_iv : float
        Variables below this information value are left out (default 0.02).
    drop_wrong_sign : bool
        Refit without variables whose coefficient rewards risk (default True).
    base_points, base_odds, pdo : float
        Points at the base odds of good:bad, and points to double the odds (600, 50, 20).
    decimals : int
        Points rounding: 0 gives whole points.
    reason_codes : dict, optional
        Variable -> reason code (default: the variable name).
    unknown : {"missing", "worst", "error"}
        Where unseen categories go when scoring.
    name, version : str
        Recorded in the artifact.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> rng = np.random.default_rng(0)
    >>> X = pl.DataFrame({"income": rng.lognormal(8, 0.6, 5_000),
    ...                   "age": rng.integers(18, 70, 5_000)})
    >>> logit = -1.5 - X["income"].to_numpy() / 3_000 - (X["age"].to_numpy() - 18) / 30
    >>> y = (rng.random(5_000) < 1 / (1 + np.exp(-logit))).astype(int)
    >>> sc = Scorecard().fit(X, y)
    >>> sc.model_.features
    ['income', 'age']
    >>> s = sc.score_points(X); int(s[0]) == int(sc.model_.score_row(X.row(0, named=True)))
    True
    """

    def __init__(
        self,
        binning_process: BinningProcess | None = None,
        *,
        estimator: Any = None,
        min_iv: float = 0.02,
        drop_wrong_sign: bool = True,
        base_points: float = 600.0,
        base_odds: float = 50.0,
        pdo: float = 20.0,
        decimals: int = 0,
        reason_codes: Mapping[str, str] | None = None,
        unknown: str = "missing",
        name: str = "scorecard",
        version: str = "1",
    ) -> None:
        self.binning_process = binning_process
        self.estimator = estimator
        self.min_iv = min_iv
        self.drop_wrong_sign = drop_wrong_sign
        self.base_points = base_points
        self.base_odds = base_odds
        self.pdo = pdo
        self.decimals = decimals
        self.reason_codes = reason_codes
        self.unknown = unknown
        self.name = name
        self.version = version

    def _check_params(self) -> None:
        if not (self.pdo > 0 and self.base_odds > 0):
            raise InvalidArgumentError(
                "pdo/base_odds", expected="positive numbers", got=(self.pdo, self.base_odds)
            )
        if not (isinstance(self.decimals, int) and 0 <= self.decimals <= 6):
            raise InvalidArgumentError("decimals", expected="an integer in 0..6", got=self.decimals)
        if self.min_iv < 0:
            raise InvalidArgumentError("min_iv", expected="a number >= 0", got=self.min_iv)

    def fit(self, X: Any, y: Any) -> Scorecard:
        """Bin, select, regress and scale to points."""
        self._check_params()
        frame = as_frame(X)
        target = check_binary_target(y, n_rows=frame.height)
        bp = clone(self.binning_process) if self.binning_process is not None else BinningProcess()
        bp.set_params(unknown=self.unknown)
        bp.fit(frame, target)
        ranked = bp.summary()
        chosen = [v for v, iv in ranked.select("variable", "iv").iter_rows() if iv >= self.min_iv]
        chosen = [v for v in bp.variables_ if v in chosen]  # keep the input order
        if not chosen:
            raise InvalidArgumentError(
                "X",
                expected=f"at least one variable with IV >= {self.min_iv}",
                got=ranked.select("variable", "iv").rows()[:5],
            )
        woe = bp.transform(frame, variables=chosen).to_numpy()
        dropped: list[str] = []
        while True:
            est = (
                clone(self.estimator)
                if self.estimator is not None
                else LogisticRegression(max_iter=1000)
            )
            cols = [chosen.index(v) for v in chosen if v not in dropped]
            est.fit(woe[:, cols], target)
            coef = np.asarray(est.coef_, dtype=np.float64).ravel()
            kept = [v for v in chosen if v not in dropped]
            wrong = [(c, v) for c, v in zip(coef, kept, strict=True) if c > 0]
            if not self.drop_wrong_sign or not wrong or len(kept) == 1:
                break
            dropped.append(max(wrong)[1])
        self.binning_process_ = bp
        self.estimator_ = est
        self.dropped_wrong_sign_ = dropped
        self.variables_ = kept
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = frame.width
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.model_ = self._build_model(bp, kept, coef, float(np.ravel(est.intercept_)[0]))
        return self

    def _build_model(
        self, bp: BinningProcess, kept: list[str], coef: np.ndarray, intercept: float
    ) -> ScorecardModel:
        factor = self.pdo / math.log(2)
        offset = self.base_points - factor * math.log(self.base_odds)
        share = (offset - factor * intercept) / len(kept)
        quantum = Decimal(1).scaleb(-self.decimals)
        codes = dict(self.reason_codes or {})
        variables = []
        for beta, name in zip(coef, kept, strict=True):
            table = bp.table(name)
            pts = tuple(
                Decimal(repr(float(-factor * beta * w + share))).quantize(quantum, ROUND_HALF_EVEN)
                for w in table.woe
            )
            variables.append(ScorecardVariable(table, pts, codes.get(name, name), float(beta)))
        return ScorecardModel(
            variables=tuple(variables),
            base_points=float(self.base_points),
            base_odds=float(self.base_odds),
            pdo=float(self.pdo),
            decimals=self.decimals,
            intercept=intercept,
            unknown=self.unknown,
            name=self.name,
            version=self.version,
        )

    def _model(self) -> ScorecardModel:
        check_fitted(self, "model_")
        return self.model_

    def woe_matrix(self, X: Any) -> np.ndarray:
        """WoE of the scorecard's variables for every row (the regression's input)."""
        self._model()
        frame = as_frame(X)
        check_width(self, X, frame)
        absent = [v for v in self.variables_ if v not in frame.columns]
        if absent:
            raise InvalidArgumentError(
                "X", expected=f"the scorecard fields {self.variables_}", got=f"missing {absent}"
            )
        return np.asarray(
            self.binning_process_.transform(frame, variables=self.variables_).to_numpy()
        )

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities of good (column 0) and bad (column 1) from the regression."""
        woe = self.woe_matrix(X)
        return np.asarray(self.estimator_.predict_proba(woe))

    def decision_function(self, X: Any) -> np.ndarray:
        """Log-odds of bad."""
        woe = self.woe_matrix(X)
        return np.asarray(self.estimator_.decision_function(woe))

    def predict(self, X: Any) -> np.ndarray:
        """1 where the probability of bad exceeds one half."""
        return (self.predict_proba(X)[:, 1] > 0.5).astype(np.int64)

    def score_points(self, X: Any) -> pl.Series:
        """Scorecard points of every row (higher is safer)."""
        return self._model().score_frame(X)

    def reasons(self, X: Any, *, n_reasons: int = 4) -> pl.DataFrame:
        """Score and the ranked reason codes of every row (``reason_1`` … ``reason_n``)."""
        model = self._model()
        frame = as_frame(X)
        rows = []
        for row in frame.select(model.features).iter_rows(named=True):
            r = model.explain_row(row, n_reasons=n_reasons)
            codes = [x.code for x in r.reasons] + [None] * (n_reasons - len(r.reasons))
            rows.append(
                {"score": str(r.score), **{f"reason_{k + 1}": c for k, c in enumerate(codes)}}
            )
        schema = {"score": pl.String, **{f"reason_{k + 1}": pl.String for k in range(n_reasons)}}
        return pl.DataFrame(rows, schema=schema)

    def points_table(self) -> pl.DataFrame:
        """Points per variable and bin."""
        return self._model().points_table()

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags
