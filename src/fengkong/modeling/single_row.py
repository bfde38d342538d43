"""One row through a LightGBM booster at the cost of the trees, not of the Python wrapper.

``Booster.predict`` on a single row spends most of its time outside the trees: it builds a
predictor, parses its parameters and checks the input on every call (about 40 µs here for a
one-tree model). LightGBM's C API has a fast path for exactly this case: the setup
(``LGBM_BoosterPredictForMatSingleRowFastInit``) runs once, and each row is then one C call
(``LGBM_BoosterPredictForMatSingleRowFast``) into a buffer allocated once. The results are
LightGBM's own, bit for bit (tests compare them with ``Booster.predict``).
"""

from __future__ import annotations

import ctypes
from threading import Lock
from typing import Any

import numpy as np
from lightgbm import basic as _lgb

__all__ = ["SingleRowPredictor"]

_LIB: Any = _lgb._LIB  # type: ignore[attr-defined]  # LightGBM's loaded C library
_safe_call = _lgb._safe_call

# the per-row call holds the GIL (PyDLL): it takes microseconds, and releasing the GIL for
# it would let another thread (the service's decision writer) run for a whole switch
# interval before the decision could go on
_HOLDING_GIL = ctypes.PyDLL(_LIB._name)
_PREDICT = {"probability": 0, "contributions": 3}  # C_API_PREDICT_NORMAL, _CONTRIB
_FLOAT64 = 1  # C_API_DTYPE_FLOAT64


class SingleRowPredictor:
    """Scores one row (a float64 array of the booster's features, missing as NaN).

    ``kind``: ``"probability"`` (what ``Booster.predict`` returns) or ``"contributions"``
    (``pred_contrib=True``: one value per feature, then the expected value). Like
    ``Booster.predict``, it uses the best iteration when the booster has one. Calls are
    serialised by a lock (the C handle keeps its own buffers); each returns a new array.

    >>> import lightgbm as lgb
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3)); y = (X[:, 0] > 0).astype(int)
    >>> booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, y), 5)
    >>> row = X[:1]
    >>> bool(SingleRowPredictor(booster, "probability")(row)[0] == booster.predict(row)[0])
    True
    >>> SingleRowPredictor(booster, "contributions")(row).shape
    (4,)
    """

    def __init__(self, booster: Any, kind: str) -> None:
        self.booster = booster  # the handle below lives as long as the booster does
        self.n_features = int(booster.num_feature())
        iteration = booster.best_iteration if booster.best_iteration > 0 else -1
        width = self.n_features + 1 if kind == "contributions" else 1
        self._out = np.zeros(width * max(1, int(booster.num_model_per_iteration())))
        self._out_ptr = self._out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        self._len = ctypes.c_int64()
        self._handle = ctypes.c_void_p()
        _safe_call(
            _LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
                booster._handle,
                ctypes.c_int(_PREDICT[kind]),
                ctypes.c_int(0),
                ctypes.c_int(iteration),
                ctypes.c_int(_FLOAT64),
                ctypes.c_int32(self.n_features),
                ctypes.c_char_p(b"num_threads=1"),
                ctypes.byref(self._handle),
            )
        )
        self._lock = Lock()

    def __call__(self, row: np.ndarray) -> np.ndarray:
        data = np.ascontiguousarray(row, dtype=np.float64)
        if data.size != self.n_features:
            raise ValueError(f"expected {self.n_features} features, got {data.size}")
        with self._lock:
            _safe_call(
                _HOLDING_GIL.LGBM_BoosterPredictForMatSingleRowFast(
                    self._handle,
                    data.ctypes.data_as(ctypes.c_void_p),
                    ctypes.byref(self._len),
                    self._out_ptr,
                )
            )
            return self._out[: self._len.value].copy()

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None and handle.value:
            _LIB.LGBM_FastConfigFree(handle)
