"""Binning a whole frame: one :func:`fit_variable` per column, on all cores.

:class:`BinningProcess` is a scikit-learn transformer: ``fit`` bins every variable (columns in
parallel threads: the counting kernels and Polars release the GIL), ``transform`` returns the
WoE (or bin indices) of every variable as a Polars frame, ``summary()`` ranks the variables by
IV with a status, and ``to_dict``/``save``/``load`` keep the fitted bins as versioned JSON.

Analysts' manual bin edits are settings per variable (``binning_params={"age": {"user_splits":
[25, 35, 50]}}``) or a YAML file read by :func:`load_bin_edits`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml
from sklearn.base import BaseEstimator, TransformerMixin

from fengkong.errors import ConfigError, InvalidArgumentError, Problem
from fengkong.modeling._assign import as_strings, category_map
from fengkong.modeling._input import (
    as_frame,
    check_binary_target,
    check_fitted,
    check_width,
    column_names,
    is_numeric_series,
)
from fengkong.modeling.binning import BinningParams, fit_variable
from fengkong.modeling.table import BinningTable

__all__ = ["SCHEMA_VERSION", "BinningProcess", "UnseenCategoryWarning", "load_bin_edits"]

SCHEMA_VERSION = 1
_PARAM_NAMES = tuple(f.name for f in fields(BinningParams))


class UnseenCategoryWarning(UserWarning):
    """Levels not seen in fitting were mapped to the bin ``unknown`` names."""


class BinningProcess(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Optimal binning of every variable of a frame.

    Parameters
    ----------
    variables : list of str, optional
        Columns to bin (default: all).
    categorical_variables : list of str, optional
        Columns to bin as categories even if numeric (codes).
    special_codes : list, optional
        Values that get their own bins in every variable (e.g. ``[-999, 96, 98]``).
    binning_params : dict, optional
        Per-variable overrides of any :class:`BinningParams` setting, incl. ``user_splits``.
    n_jobs : int
        Threads (default 2).
    unknown : {"missing", "worst", "error"}
        Where unseen categories go at transform time (a warning reports them).
    Other parameters are the :class:`BinningParams` defaults for every variable.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> rng = np.random.default_rng(0)
    >>> X = pl.DataFrame({"income": rng.lognormal(8, 0.5, 4_000),
    ...                   "city": rng.choice(["a", "b", "c"], 4_000)})
    >>> y = (rng.random(4_000) < 0.3 / (1 + X["income"].to_numpy() / 3_000)).astype(int)
    >>> bp = BinningProcess().fit(X, y)
    >>> bp.summary().select("variable", "status").rows()
    [('income', 'ok'), ('city', 'no_signal')]
    >>> bp.transform(X).columns
    ['income', 'city']
    """

    def __init__(
        self,
        variables: Sequence[str] | None = None,
        *,
        categorical_variables: Sequence[str] | None = None,
        special_codes: Sequence[Any] | None = None,
        binning_params: Mapping[str, Mapping[str, Any]] | None = None,
        prebinning_method: str = "tree",
        max_n_prebins: int = 20,
        min_prebin_size: float = 0.05,
        objective: str = "iv",
        solver: str = "dp",
        monotonic_trend: str = "auto",
        max_n_bins: int | None = None,
        min_bin_size: float | None = None,
        min_bin_n_event: int = 1,
        min_bin_n_nonevent: int = 1,
        cat_cutoff: float = 0.01,
        unknown: str = "missing",
        n_jobs: int = 2,
    ) -> None:
        self.variables = variables
        self.categorical_variables = categorical_variables
        self.special_codes = special_codes
        self.binning_params = binning_params
        self.prebinning_method = prebinning_method
        self.max_n_prebins = max_n_prebins
        self.min_prebin_size = min_prebin_size
        self.objective = objective
        self.solver = solver
        self.monotonic_trend = monotonic_trend
        self.max_n_bins = max_n_bins
        self.min_bin_size = min_bin_size
        self.min_bin_n_event = min_bin_n_event
        self.min_bin_n_nonevent = min_bin_n_nonevent
        self.cat_cutoff = cat_cutoff
        self.unknown = unknown
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ fitting
    def _params_for(self, names: list[str]) -> dict[str, BinningParams]:
        own = {k: v for k, v in self.get_params().items() if k in _PARAM_NAMES}
        base = BinningParams().updated(**{**own, "special_codes": self.special_codes or ()})
        overrides = dict(self.binning_params or {})
        unknown = sorted(set(overrides) - set(names))
        if unknown:
            raise InvalidArgumentError(
                "binning_params", expected="names of binned variables", got=unknown
            )
        categorical = set(self.categorical_variables or ())
        out = {}
        for name in names:
            p = base.updated(dtype="categorical") if name in categorical else base
            out[name] = p.updated(**dict(overrides.get(name, {})))
        return out

    def fit(self, X: Any, y: Any) -> BinningProcess:
        """Bin every variable of ``X`` against the 0/1 target ``y``."""
        if self.unknown not in ("missing", "worst", "error"):
            raise InvalidArgumentError(
                "unknown", expected="missing, worst or error", got=self.unknown
            )
        frame = as_frame(X)
        names = column_names(self.variables, frame)
        if not names:
            raise InvalidArgumentError("X", expected="at least one column", got=0)
        if frame.height == 0:
            raise InvalidArgumentError("X", expected="at least one row", got=0)
        target = check_binary_target(y, n_rows=frame.height)
        params = self._params_for(names)

        def one(name: str) -> BinningTable:
            return fit_variable(name, frame.get_column(name), target, params[name])

        if self.n_jobs > 1 and len(names) > 1:
            with ThreadPoolExecutor(max_workers=self.n_jobs) as pool:
                tables = list(pool.map(one, names))
        else:
            tables = [one(n) for n in names]
        self.tables_ = {t.name: t for t in tables}
        self.variables_ = names
        self.n_features_in_ = len(names)
        self.feature_names_in_ = np.asarray(names, dtype=object)
        return self

    def _check_fitted(self) -> dict[str, BinningTable]:
        check_fitted(self, "tables_")
        return self.tables_

    # ------------------------------------------------------------------ results
    def summary(self) -> pl.DataFrame:
        """One row per variable, best IV first: kind, bins, IV, KS, trend, missing share, status.

        Status: ``ok``; ``constant`` (one regular bin and nothing else); ``all_missing``;
        ``no_signal`` (IV below 0.02).
        """
        rows = []
        for t in self._check_fitted().values():
            count = t.count
            n = max(int(count.sum()), 1)
            if count[: t.n_regular].sum() == 0 and count[t.n_regular : -1].sum() == 0:
                status = "all_missing"
            elif t.n_regular == 1 and count[t.n_regular :].sum() == 0:
                status = "constant"
            elif t.iv < 0.02:
                status = "no_signal"
            else:
                status = "ok"
            rows.append(
                {
                    "variable": t.name,
                    "kind": t.kind,
                    "n_bins": t.n_regular,
                    "iv": t.iv,
                    "ks": t.ks,
                    "trend": t.trend,
                    "missing_share": float(count[-1]) / n,
                    "status": status,
                }
            )
        return pl.DataFrame(rows).sort("iv", descending=True, maintain_order=True)

    def table(self, name: str) -> BinningTable:
        """The :class:`BinningTable` of one variable."""
        tables = self._check_fitted()
        if name not in tables:
            raise InvalidArgumentError("name", expected=f"one of {list(tables)}", got=name)
        return tables[name]

    # ------------------------------------------------------------------ transform
    def _frame_for(self, X: Any, variables: Sequence[str] | None = None) -> pl.DataFrame:
        tables = self._tables_for(variables)
        frame = as_frame(X)
        check_width(self, X, frame)
        missing = [n for n in tables if n not in frame.columns]
        if missing:
            raise InvalidArgumentError(
                "X", expected=f"the fitted columns {list(tables)}", got=f"missing {missing}"
            )
        for name, t in tables.items():
            s = frame.get_column(name)
            if t.kind == "numeric" and not is_numeric_series(s):
                raise InvalidArgumentError(
                    name, expected="numbers (binned as numeric)", got=str(s.dtype)
                )
        return frame

    def _tables_for(self, variables: Sequence[str] | None) -> dict[str, BinningTable]:
        tables = self._check_fitted()
        if variables is None:
            return tables
        return {name: self.table(name) for name in variables}

    def transform(
        self, X: Any, *, metric: str = "woe", variables: Sequence[str] | None = None
    ) -> pl.DataFrame:
        """WoE (``metric="woe"``) or bin index (``"indices"``) of every variable, as Polars.

        Columns keep the variable names (``variables`` picks a subset); unseen categories go
        where ``unknown`` says and raise an :class:`UnseenCategoryWarning` with their counts.
        """
        if metric not in ("woe", "indices"):
            raise InvalidArgumentError("metric", expected="woe or indices", got=metric)
        frame = self._frame_for(X, variables)
        self._warn_unseen(frame, variables)
        out = {}
        for name, t in self._tables_for(variables).items():
            idx = t.assign(frame.get_column(name), unknown=self.unknown)
            out[name] = idx if metric == "indices" else np.asarray(t.woe)[idx]
        return pl.DataFrame(out)

    def unseen_categories(self, X: Any, variables: Sequence[str] | None = None) -> pl.DataFrame:
        """Levels of ``X`` that fitting never saw: variable, level, rows."""
        frame = self._frame_for(X, variables)
        parts = []
        for name, t in self._tables_for(variables).items():
            if t.kind != "categorical":
                continue
            known = list(category_map(t))
            s = as_strings(frame.get_column(name)).drop_nulls()
            counts = s.filter(~s.is_in(known)).value_counts(sort=True, name="rows")
            if counts.height:
                parts.append(
                    counts.rename({counts.columns[0]: "level"}).select(
                        pl.lit(name).alias("variable"), "level", "rows"
                    )
                )
        if not parts:
            return pl.DataFrame(
                schema={"variable": pl.String, "level": pl.String, "rows": pl.UInt32}
            )
        return pl.concat(parts)

    def _warn_unseen(self, frame: pl.DataFrame, variables: Sequence[str] | None) -> None:
        if self.unknown == "error":
            return
        if not any(t.kind == "categorical" for t in self._tables_for(variables).values()):
            return
        unseen = self.unseen_categories(frame, variables)
        if unseen.height:
            listed = ", ".join(f"{v}={lv!r} ({n})" for v, lv, n in unseen.head(5).iter_rows())
            warnings.warn(
                UnseenCategoryWarning(
                    f"{unseen.height} unseen level(s) mapped to the {self.unknown} bin: {listed}"
                ),
                stacklevel=3,
            )

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The output column names (the variables)."""
        return np.asarray(list(self._check_fitted()), dtype=object)

    # ------------------------------------------------------------------ artifacts
    def to_dict(self) -> dict[str, Any]:
        """Versioned, JSON-ready form of the fitted bins."""
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "binning_process",
            "unknown": self.unknown,
            "tables": [t.to_dict() for t in self._check_fitted().values()],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BinningProcess:
        """A fitted process from :meth:`to_dict` output."""
        if data.get("schema_version") != SCHEMA_VERSION or data.get("kind") != "binning_process":
            raise InvalidArgumentError(
                "schema_version",
                expected=f"a binning_process artifact, version {SCHEMA_VERSION}",
                got=(data.get("kind"), data.get("schema_version")),
            )
        tables = [BinningTable.from_dict(t) for t in data["tables"]]
        bp = cls(variables=[t.name for t in tables], unknown=str(data.get("unknown", "missing")))
        bp.tables_ = {t.name: t for t in tables}
        bp.variables_ = [t.name for t in tables]
        bp.n_features_in_ = len(tables)
        bp.feature_names_in_ = np.asarray(bp.variables_, dtype=object)
        return bp

    def save(self, path: str | Path) -> Path:
        """Write the fitted bins as JSON."""
        p = Path(path)
        p.write_text(
            json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        return p

    @classmethod
    def load(cls, path: str | Path) -> BinningProcess:
        """Read bins written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def load_bin_edits(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read analysts' bin edits (YAML) into ``binning_params``; every problem at once.

    The file maps variable names to settings, typically ``user_splits`` (cut points for a
    numeric variable, lists of levels for a categorical one)::

        schema_version: 1
        variables:
          age: {user_splits: [25, 35, 50]}
          channel: {user_splits: [[app, h5], [partner_api], [offline]]}
          income: {max_n_bins: 4, monotonic_trend: ascending}
    """
    p = Path(path)
    name = p.name
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError([Problem(name, "", f"cannot read bin edits: {exc}")]) from exc
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise ConfigError(
            [Problem(name, "", "expected a mapping with schema_version and variables")]
        )
    if data.get("schema_version") != SCHEMA_VERSION:
        problems.append(
            Problem(
                name,
                "schema_version",
                f"expected {SCHEMA_VERSION}, got {data.get('schema_version')!r}",
            )
        )
    variables = data.get("variables")
    if not isinstance(variables, dict):
        problems.append(Problem(name, "variables", "expected a mapping of variable -> settings"))
        variables = {}
    out: dict[str, dict[str, Any]] = {}
    for var, settings in variables.items():
        if not isinstance(settings, dict):
            problems.append(Problem(name, f"variables.{var}", "expected a mapping of settings"))
            continue
        try:
            BinningParams().updated(**settings)
        except InvalidArgumentError as exc:
            problems.append(
                Problem(
                    name,
                    f"variables.{var}.{exc.field}",
                    f"expected {exc.expected}, got {exc.got!r}",
                )
            )
            continue
        out[str(var)] = dict(settings)
    if problems:
        raise ConfigError(problems)
    return out
