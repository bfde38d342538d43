"""Gradient boosting with LightGBM: monotone constraints from binning, reasons, text export.

:class:`GBMClassifier` fits a LightGBM model on raw variables (numbers as they are, text as
LightGBM categories), with

* monotone constraints taken from an optimal binning of each numeric variable (an ascending
  bad rate becomes ``+1``, descending ``-1``, anything else unconstrained), so the model cannot
  contradict the risk direction analysts signed off;
* early stopping on a stratified validation split (or a given one);
* reason codes from per-row contributions (``pred_contrib``): the variables pushing the
  log-odds of bad up the most, ranked;
* export in LightGBM's own text format with a JSON sidecar (features, categories, constraints,
  version and the SHA-256 of the model text) that :class:`GBMArtifact` loads and checks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split

from fengkong.errors import InvalidArgumentError
from fengkong.modeling._input import (
    as_frame,
    check_binary_target,
    check_fitted,
    check_width,
    is_numeric_series,
)
from fengkong.modeling.process import BinningProcess

__all__ = ["SCHEMA_VERSION", "GBMArtifact", "GBMClassifier"]

SCHEMA_VERSION = 1


def feature_matrix(
    frame: pl.DataFrame, features: Sequence[str], categories: Mapping[str, Sequence[str]]
) -> np.ndarray:
    """Numbers as floats, categories as their code in ``categories`` (unseen: missing)."""
    absent = [f for f in features if f not in frame.columns]
    if absent:
        raise InvalidArgumentError(
            "X", expected=f"the model's features {list(features)}", got=f"missing {absent}"
        )
    cols = []
    for f in features:
        s = frame.get_column(f)
        if f in categories:
            codes = {c: float(k) for k, c in enumerate(categories[f])}
            values = s.cast(pl.String).replace_strict(codes, default=None, return_dtype=pl.Float64)
            cols.append(values.fill_null(np.nan).to_numpy())
        else:
            if not is_numeric_series(s):
                raise InvalidArgumentError(f, expected="numbers", got=str(s.dtype))
            cols.append(s.cast(pl.Float64).fill_null(np.nan).to_numpy())
    return np.column_stack(cols) if cols else np.empty((frame.height, 0))


@dataclass(frozen=True, slots=True)
class GBMArtifact:
    """A fitted LightGBM model with the description needed to score it identically.

    ``features`` maps each input to ``{"kind": "numeric"}`` or ``{"kind": "categorical",
    "categories": [...]}``; unseen categories score as missing.
    """

    model_text: str
    features: tuple[str, ...]
    categories: Mapping[str, tuple[str, ...]]
    monotone: tuple[int, ...]
    name: str = "gbm"
    version: str = "1"
    reason_codes: Mapping[str, str] = field(default_factory=dict)
    _booster: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_booster", lgb.Booster(model_str=self.model_text))

    @property
    def sha256(self) -> str:
        """Hash of the model text (what a policy pins)."""
        return hashlib.sha256(self.model_text.encode()).hexdigest()

    def matrix(self, X: Any) -> np.ndarray:
        """The float matrix LightGBM scores: numbers as they are, categories as codes."""
        return feature_matrix(as_frame(X), self.features, self.categories)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probability of bad per row."""
        return np.asarray(self._booster.predict(self.matrix(X)))

    def score_row(self, row: Mapping[str, Any]) -> float:
        """Probability of bad for one applicant (a mapping of field -> value)."""
        return float(
            self.predict_proba(
                pl.DataFrame([{f: row.get(f) for f in self.features}], schema=self._schema())
            )[0]
        )

    def _schema(self) -> dict[str, Any]:
        return {f: (pl.String if f in self.categories else pl.Float64) for f in self.features}

    def contributions(self, X: Any) -> pl.DataFrame:
        """Per-row contribution of every feature to the log-odds of bad, plus the bias."""
        contrib = np.asarray(self._booster.predict(self.matrix(X), pred_contrib=True))
        return pl.DataFrame(contrib, schema=[*self.features, "bias"], orient="row")

    def reasons(self, X: Any, *, n_reasons: int = 4) -> pl.DataFrame:
        """The ``n_reasons`` features raising the log-odds of bad the most, per row."""
        contrib = self.contributions(X).drop("bias").to_numpy()
        order = np.argsort(-contrib, axis=1, kind="stable")[:, :n_reasons]
        names = np.array([self.reason_codes.get(f, f) for f in self.features], dtype=object)
        out: dict[str, list[Any]] = {}
        for k in range(min(n_reasons, len(self.features))):
            picked = order[:, k]
            positive = contrib[np.arange(len(picked)), picked] > 0
            out[f"reason_{k + 1}"] = [
                n if ok else None for n, ok in zip(names[picked], positive, strict=True)
            ]
        return pl.DataFrame(out, schema=dict.fromkeys(out, pl.String))

    def sidecar(self) -> dict[str, Any]:
        """The JSON description saved next to the model text."""
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "lightgbm",
            "name": self.name,
            "version": self.version,
            "lightgbm_version": lgb.__version__,
            "features": [
                {"name": f, "kind": "categorical", "categories": list(self.categories[f])}
                if f in self.categories
                else {"name": f, "kind": "numeric"}
                for f in self.features
            ],
            "monotone": list(self.monotone),
            "reason_codes": dict(self.reason_codes),
            "model_sha256": self.sha256,
        }

    def save(self, path: str | Path) -> tuple[Path, Path]:
        """Write ``<path>.txt`` (LightGBM's text format) and ``<path>.json`` (the sidecar)."""
        base = Path(path).with_suffix("")
        text, meta = base.with_suffix(".txt"), base.with_suffix(".json")
        text.write_text(self.model_text, encoding="utf-8")
        meta.write_text(
            json.dumps(self.sidecar(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        return text, meta

    @classmethod
    def load(cls, path: str | Path) -> GBMArtifact:
        """Read a model saved by :meth:`save`; the text must match the sidecar's hash."""
        base = Path(path).with_suffix("")
        meta = json.loads(base.with_suffix(".json").read_text(encoding="utf-8"))
        if meta.get("kind") != "lightgbm" or meta.get("schema_version") != SCHEMA_VERSION:
            raise InvalidArgumentError(
                "schema_version",
                expected=f"a lightgbm sidecar, version {SCHEMA_VERSION}",
                got=(meta.get("kind"), meta.get("schema_version")),
            )
        text = base.with_suffix(".txt").read_text(encoding="utf-8")
        if hashlib.sha256(text.encode()).hexdigest() != meta["model_sha256"]:
            raise InvalidArgumentError(
                "model_sha256",
                expected="the hash of the model text (the model file was changed)",
                got=meta["model_sha256"],
            )
        return cls(
            model_text=text,
            features=tuple(f["name"] for f in meta["features"]),
            categories={
                f["name"]: tuple(f["categories"])
                for f in meta["features"]
                if f["kind"] == "categorical"
            },
            monotone=tuple(int(m) for m in meta["monotone"]),
            name=str(meta.get("name", "gbm")),
            version=str(meta.get("version", "1")),
            reason_codes=dict(meta.get("reason_codes", {})),
        )


class GBMClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """LightGBM for a 0/1 (bad) target with binning-derived monotone constraints.

    Parameters
    ----------
    monotone : {"binning", "none"} or dict
        ``"binning"`` (default) derives constraints from an optimal binning of each numeric
        variable; a dict gives them per variable (+1 riskier as the value grows, -1 safer).
    n_estimators, learning_rate, num_leaves, min_child_samples : LightGBM settings.
    early_stopping_rounds : int
        Stop when the validation log-loss has not improved for this many rounds (0: never).
    validation_fraction : float
        Share of the rows held out (stratified) for early stopping when no ``eval_set``.
    params : dict, optional
        Any further LightGBM parameters.
    reason_codes : dict, optional
        Variable -> reason code.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> rng = np.random.default_rng(0)
    >>> X = pl.DataFrame({"income": rng.lognormal(8, 0.6, 4_000),
    ...                   "channel": rng.choice(["app", "h5", "api"], 4_000)})
    >>> logit = -1 - X["income"].to_numpy() / 3_000 + (X["channel"] == "api").to_numpy()
    >>> y = (rng.random(4_000) < 1 / (1 + np.exp(-logit))).astype(int)
    >>> gbm = GBMClassifier(n_estimators=50).fit(X, y)
    >>> dict(zip(gbm.artifact_.features, gbm.artifact_.monotone))
    {'income': -1, 'channel': 0}
    """

    def __init__(
        self,
        *,
        monotone: str | Mapping[str, int] = "binning",
        n_estimators: int = 500,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 50,
        early_stopping_rounds: int = 50,
        validation_fraction: float = 0.2,
        random_state: int = 0,
        params: Mapping[str, Any] | None = None,
        reason_codes: Mapping[str, str] | None = None,
        name: str = "gbm",
        version: str = "1",
    ) -> None:
        self.monotone = monotone
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.params = params
        self.reason_codes = reason_codes
        self.name = name
        self.version = version

    def _constraints(
        self, frame: pl.DataFrame, y: np.ndarray, categories: Mapping[str, Sequence[str]]
    ) -> tuple[int, ...]:
        if isinstance(self.monotone, Mapping):
            unknown = sorted(set(self.monotone) - set(frame.columns))
            if unknown:
                raise InvalidArgumentError("monotone", expected="names of X's columns", got=unknown)
            return tuple(int(self.monotone.get(c, 0)) for c in frame.columns)
        if self.monotone == "none":
            return (0,) * frame.width
        if self.monotone != "binning":
            raise InvalidArgumentError(
                "monotone", expected="binning, none or a dict", got=self.monotone
            )
        numeric = [c for c in frame.columns if c not in categories]
        if not numeric:
            return (0,) * frame.width
        bp = BinningProcess(variables=numeric).fit(frame, y)
        sign = {"ascending": 1, "descending": -1}
        return tuple(sign.get(bp.table(c).trend, 0) if c in numeric else 0 for c in frame.columns)

    def fit(self, X: Any, y: Any, *, eval_set: tuple[Any, Any] | None = None) -> GBMClassifier:
        """Fit with early stopping on ``eval_set`` or a stratified hold-out."""
        frame = as_frame(X)
        target = check_binary_target(y, n_rows=frame.height)
        categories = {
            c: tuple(sorted(frame.get_column(c).cast(pl.String).drop_nulls().unique().to_list()))
            for c in frame.columns
            if not is_numeric_series(frame.get_column(c))
        }
        monotone = self._constraints(frame, target, categories)
        matrix = feature_matrix(frame, frame.columns, categories)
        cat_idx = [k for k, c in enumerate(frame.columns) if c in categories]
        params = {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "monotone_constraints": list(monotone),
            "monotone_constraints_method": "advanced",
            "seed": self.random_state,
            "deterministic": True,
            "verbose": -1,
            "num_threads": 2,
            **dict(self.params or {}),
        }
        callbacks: list[Callable[..., Any]] = []
        if eval_set is not None:
            train_x, train_y = matrix, target
            valid_x = feature_matrix(as_frame(eval_set[0]), frame.columns, categories)
            valid_y = check_binary_target(eval_set[1], field="eval_set y")
        elif self.early_stopping_rounds and self.validation_fraction > 0:
            idx = np.arange(len(target))
            tr, va = train_test_split(
                idx,
                test_size=self.validation_fraction,
                stratify=target,
                random_state=self.random_state,
            )
            train_x, train_y, valid_x, valid_y = matrix[tr], target[tr], matrix[va], target[va]
        else:
            train_x, train_y, valid_x, valid_y = matrix, target, None, None
        dtrain = lgb.Dataset(
            train_x,
            train_y,
            feature_name=list(frame.columns),
            categorical_feature=cat_idx,
            free_raw_data=False,
        )
        valid_sets = []
        if valid_x is not None:
            valid_sets = [lgb.Dataset(valid_x, valid_y, reference=dtrain)]
            if self.early_stopping_rounds:
                callbacks.append(lgb.early_stopping(self.early_stopping_rounds, verbose=False))
        booster = lgb.train(
            params,
            dtrain,
            num_boost_round=self.n_estimators,
            valid_sets=valid_sets,
            callbacks=callbacks,
        )
        best = booster.best_iteration or booster.current_iteration()
        self.best_iteration_ = best
        self.artifact_ = GBMArtifact(
            model_text=booster.model_to_string(num_iteration=best),
            features=tuple(frame.columns),
            categories=categories,
            monotone=monotone,
            name=self.name,
            version=self.version,
            reason_codes=dict(self.reason_codes or {}),
        )
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = frame.width
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities of good (column 0) and bad (column 1)."""
        check_fitted(self, "artifact_")
        frame = as_frame(X)
        check_width(self, X, frame)
        p = self.artifact_.predict_proba(frame)
        return np.column_stack([1 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """1 where the probability of bad exceeds one half."""
        return (self.predict_proba(X)[:, 1] > 0.5).astype(np.int64)

    def reasons(self, X: Any, *, n_reasons: int = 4) -> pl.DataFrame:
        """Ranked reason codes per row from the model's contributions."""
        check_fitted(self, "artifact_")
        return self.artifact_.reasons(X, n_reasons=n_reasons)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags
