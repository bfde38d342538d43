"""Input checks shared by the estimators: frames in (Polars, pandas, NumPy), binary targets."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from sklearn.exceptions import DataConversionWarning
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.multiclass import type_of_target

from fengkong.errors import InvalidArgumentError, NotFittedError

__all__ = [
    "EstimatorNotFittedError",
    "as_frame",
    "check_binary_target",
    "check_fitted",
    "is_numeric_series",
]


class EstimatorNotFittedError(NotFittedError, SklearnNotFittedError):  # type: ignore[misc]
    """fengkong's :class:`~fengkong.errors.NotFittedError`, also scikit-learn's."""


def check_fitted(estimator: Any, attribute: str) -> None:
    """Raise :class:`EstimatorNotFittedError` unless ``attribute`` was learned by ``fit``."""
    if not hasattr(estimator, attribute):
        raise EstimatorNotFittedError(f"{type(estimator).__name__} is not fitted; call fit first")


def as_frame(X: Any, *, field: str = "X") -> pl.DataFrame:
    """A Polars frame from a Polars or pandas frame, a dict of columns, or a 2-D array.

    Arrays get the column names ``x0, x1, …`` (as scikit-learn's tests pass them).
    """
    if isinstance(X, pl.DataFrame):
        return X
    if isinstance(X, pl.LazyFrame):
        return X.collect()
    if hasattr(X, "columns") and hasattr(X, "dtypes") and hasattr(X, "iloc"):  # pandas
        return pl.from_pandas(X.rename(columns=str))
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise InvalidArgumentError(
            field,
            expected="a dense frame or array",
            got=type(X).__name__,
            note="sparse data is not supported",
        )
    if isinstance(X, dict):
        return pl.DataFrame(X, strict=False)
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise InvalidArgumentError(
            field,
            expected="a 2-D frame or array (reshape one column with reshape(-1, 1))",
            got=f"{arr.ndim}-D array of {arr.size}",
            note="Reshape your data",
        )
    if arr.dtype.kind == "c":
        raise InvalidArgumentError(
            field, expected="real numbers", got="complex", note="Complex data not supported"
        )
    if arr.shape[1] == 0:
        raise InvalidArgumentError(
            field,
            expected="at least one column",
            got=0,
            note=f"0 feature(s) (shape={arr.shape}) while a minimum of 1 is required.",
        )
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            return pl.DataFrame(
                {
                    f"x{k}": pl.Series(values=[None if v is None else str(v) for v in arr[:, k]])
                    for k in range(arr.shape[1])
                }
            )
    if arr.dtype.kind in "fiub":
        arr = arr.astype(np.float64)
        if np.isinf(arr).any():
            raise InvalidArgumentError(
                field, expected="finite numbers or NaN for missing", got="infinity"
            )
    return pl.DataFrame({f"x{k}": arr[:, k] for k in range(arr.shape[1])}, strict=False)


def check_binary_target(y: Any, *, n_rows: int | None = None, field: str = "y") -> np.ndarray:
    """The target as ``int8`` 0/1, or an error naming what is wrong with it.

    >>> check_binary_target([0, 1, True, 0.0]).tolist()
    [0, 1, 1, 0]
    >>> check_binary_target([0, 2])
    Traceback (most recent call last):
    ...
    fengkong.errors.InvalidArgumentError: y: expected values 0 and 1 (1 = bad), got [2] (two classes, but labelled other than 0/1)
    """
    if y is None:
        raise InvalidArgumentError(
            field,
            expected="a 0/1 target",
            got=None,
            note="requires y to be passed, but the target y is None",
        )
    if isinstance(y, pl.Series):
        if y.null_count():
            raise InvalidArgumentError(
                field, expected="no missing target values", got=f"{y.null_count()} nulls"
            )
        arr = y.to_numpy()
    else:
        arr = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        warnings.warn(
            DataConversionWarning(
                "A column-vector y was passed when a 1d array was expected; it was ravelled."
            ),
            stacklevel=3,
        )
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise InvalidArgumentError(
            field, expected="a 1-D target", got=f"shape {arr.shape}", note="y should be a 1d array"
        )
    if n_rows is not None and arr.shape[0] != n_rows:
        raise InvalidArgumentError(
            field, expected=f"{n_rows} values (one per row of X)", got=arr.shape[0]
        )
    if arr.dtype.kind == "c":
        raise InvalidArgumentError(
            field,
            expected="values 0 and 1 (1 = bad)",
            got="complex",
            note="Complex data not supported",
        )
    if arr.dtype == object or arr.dtype.kind in "USf":
        try:
            as_float = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidArgumentError(
                field,
                expected="values 0 and 1 (1 = bad)",
                got=sorted({str(v) for v in arr})[:5],
                note="Only binary classification is supported; labels must be 0/1 "
                f"(the type of the target is {type_of_target(arr)})",
            ) from exc
        if not np.isfinite(as_float).all():
            raise InvalidArgumentError(
                field,
                expected="no missing or infinite target values",
                got=f"{int((~np.isfinite(as_float)).sum())} NaN or inf",
            )
        arr = as_float
    values = np.unique(arr)
    other = [v.item() if hasattr(v, "item") else v for v in values if v not in (0, 1)]
    if other:
        kind = type_of_target(arr)
        note = (
            (f"Only binary classification is supported. The type of the target is {kind}.")
            if kind != "binary"
            else "two classes, but labelled other than 0/1"
        )
        raise InvalidArgumentError(
            field, expected="values 0 and 1 (1 = bad)", got=other[:5], note=note
        )
    if values.size < 2:
        raise InvalidArgumentError(
            field,
            expected="both classes, 0 and 1",
            got=f"only {values.tolist()}",
            note="one class in the target",
        )
    return arr.astype(np.int8)


def check_width(estimator: Any, X: Any, frame: pl.DataFrame) -> None:
    """An array must have as many columns as the estimator was fitted on (frames go by name)."""
    if isinstance(X, pl.DataFrame | pl.LazyFrame | dict) or hasattr(X, "iloc"):
        return
    expected = int(estimator.n_features_in_)
    if frame.width != expected:
        name = type(estimator).__name__
        raise InvalidArgumentError(
            "X",
            expected=f"{expected} columns",
            got=frame.width,
            note=f"X has {frame.width} features, but {name} is expecting {expected} features "
            "as input",
        )


def is_numeric_series(s: pl.Series) -> bool:
    """Numeric and boolean columns bin as numbers; everything else as categories."""
    return s.dtype.is_numeric() or s.dtype in (pl.Boolean, pl.Null)


def as_float_array(s: pl.Series) -> np.ndarray:
    """A numeric column as float64 with NaN for missing."""
    if s.dtype == pl.Null:
        return np.full(s.len(), np.nan)
    return s.cast(pl.Float64).fill_null(np.nan).to_numpy()


def column_names(names: Sequence[str] | None, frame: pl.DataFrame) -> list[str]:
    """The columns to use: all of the frame's, or the named ones (each must exist)."""
    if names is None:
        return list(frame.columns)
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise InvalidArgumentError("variables", expected="columns of X", got=missing)
    return list(names)
