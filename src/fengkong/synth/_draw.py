"""Vectorised drawing helpers shared by the synthetic-book generators (private)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]
Dates = npt.NDArray[Any]  # datetime64[D] or [s]

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def categorical(
    rng: np.random.Generator, shares: Mapping[str, float], n: int
) -> tuple[I64, list[str]]:
    """Draw ``n`` category codes with the given shares; returns (codes, labels)."""
    labels = list(shares)
    cum = np.cumsum([shares[k] for k in labels])
    cum[-1] = 1.0
    codes = np.searchsorted(cum, rng.random(n), side="right").astype(np.int64)
    return np.minimum(codes, len(labels) - 1), labels


def weighted_index(rng: np.random.Generator, weights: npt.ArrayLike, n: int) -> I64:
    """Draw ``n`` indices into ``weights`` (need not sum to one)."""
    cum = np.cumsum(np.asarray(weights, dtype=np.float64))
    cum /= cum[-1]
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(cum) - 1).astype(
        np.int64
    )


def _mix(z: U64) -> U64:
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return z & _MASK64


def splitmix64(x: npt.ArrayLike, salt: int = 0) -> U64:
    """A stable 64-bit hash (SplitMix64 finaliser) of ``x`` in the stream named by ``salt``.

    The salt is mixed before it meets ``x``, so different streams never line up (with an
    additive salt, ``(x, s)`` and ``(x + 1, s - 1)`` would collide).
    """
    key = _mix(np.asarray([salt & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))[0]
    return _mix(np.asarray(x).astype(np.uint64) ^ key)


def hex_strings(values: U64, prefix: str = "") -> pl.Series:
    """Format unsigned 64-bit values as ``prefix`` + 16 lowercase hex digits."""
    big_endian = np.ascontiguousarray(values.astype(">u8"))
    arr = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(8), len(values), [None, pa.py_buffer(big_endian.tobytes())]
    )
    hexed = pl.Series(pl.from_arrow(arr)).cast(pl.Binary).bin.encode("hex")
    return hexed if not prefix else (prefix + hexed)


def digits(values: npt.ArrayLike, width: int, prefix: str = "") -> pl.Series:
    """Format non-negative integers zero-padded to ``width`` digits after ``prefix``."""
    s = pl.Series(np.asarray(values, dtype=np.int64)).cast(pl.String).str.zfill(width)
    return prefix + s if prefix else s


def permute(x: I64, modulus: int, multiplier: int, offset: int) -> I64:
    """A bijection of ``[0, modulus)``: ``(x * multiplier + offset) % modulus``.

    ``multiplier`` must be coprime with ``modulus`` and ``x * multiplier`` must fit in int64.
    """
    return np.asarray(
        (np.asarray(x, dtype=np.int64) * multiplier + offset) % modulus, dtype=np.int64
    )


def ipv4(values: U64) -> pl.Series:
    """Dotted-quad strings from the low 32 bits of ``values`` (public-looking ranges)."""
    v = (values & np.uint64(0xFFFFFFFF)).astype(np.int64)
    first = 36 + (v >> 24) % 187  # 36..222: skip 0-35 and multicast/reserved ranges
    parts = [first, (v >> 16) & 255, (v >> 8) & 255, 1 + (v & 255) % 254]
    s = pl.Series(parts[0]).cast(pl.String)
    for p in parts[1:]:
        s = s + "." + pl.Series(p).cast(pl.String)
    return s


def add_months(dates: Dates, months: npt.ArrayLike, day: npt.ArrayLike) -> Dates:
    """The date ``months`` calendar months after ``dates``' month, on day ``day`` (1-28)."""
    base = dates.astype("datetime64[M]") + np.asarray(months, dtype=np.int64)
    return base.astype("datetime64[D]") + (np.asarray(day, dtype=np.int64) - 1)


def month_end(dates: Dates, months_after: npt.ArrayLike = 0) -> Dates:
    """The last day of the month ``months_after`` months after each date's month."""
    after = dates.astype("datetime64[M]") + np.asarray(months_after, dtype=np.int64) + 1
    return after.astype("datetime64[D]") - 1


def sigmoid(x: F64) -> F64:
    return 1.0 / (1.0 + np.exp(-x))


def truncated_normal(
    rng: np.random.Generator, mean: float, sd: float, lo: float, hi: float, n: int
) -> F64:
    """Normal draws kept inside ``[lo, hi]`` by redrawing (then clipping what is left)."""
    x = rng.normal(mean, sd, n)
    for _ in range(8):
        bad = (x < lo) | (x > hi)
        if not bad.any():
            break
        x[bad] = rng.normal(mean, sd, int(bad.sum()))
    return np.clip(x, lo, hi)
