"""The fitted binning of one variable: its bins, counts, WoE and IV, as a value.

A :class:`BinningTable` is what every other part of modeling works from: the transformer
assigns rows to its bins, the scorecard attaches points to them, the JSON artifact stores it
and the SQL export writes its bins as ``CASE WHEN``. It is immutable.

Bins come in a fixed order: the regular bins (numeric intervals ``[a, b)`` or categorical
groups), then one bin per special value, then the missing bin. Conventions:

* ``event`` is the bad outcome (target 1); ``WoE = ln(%non-event / %event)``, so a riskier bin
  has a lower WoE and, in a scorecard, fewer points;
* a bin with no events or no non-events (possible only for special and missing bins) takes
  the Haldane correction (+0.5 to both counts) for its WoE; an empty bin has WoE 0;
* ``IV = Σ (%non-event − %event) · WoE``; KS is the largest gap of the cumulative shares.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from fengkong.errors import InvalidArgumentError
from fengkong.modeling._assign import assign_categorical, assign_numeric

__all__ = ["BinningTable"]

Kind = Literal["numeric", "categorical"]


def _fmt(value: float) -> str:
    return f"{value:.6g}"


@dataclass(frozen=True, slots=True)
class BinningTable:
    """Bins of one variable with their counts and statistics.

    Parameters
    ----------
    name : str
        The variable.
    kind : {"numeric", "categorical"}
    splits : tuple of float
        Numeric cut points; regular bin ``k`` is ``[splits[k-1], splits[k])``.
    groups : tuple of tuple of str
        Categorical levels per regular bin.
    specials : tuple
        Special values, each with its own bin.
    nonevent, event : tuple of int
        Counts per bin (regular, specials, missing).
    trend : str
        The trend the event rate follows over the regular bins.

    Examples
    --------
    >>> t = BinningTable("age", "numeric", splits=(30.0,), nonevent=(40, 80, 5),
    ...                  event=(10, 5, 0))
    >>> [b for b in t.labels]
    ['[-inf, 30)', '[30, inf)', 'Missing']
    >>> round(t.iv, 4)
    0.4656
    >>> t.to_polars().select("bin", "count", "event_rate").row(0)
    ('[-inf, 30)', 50, 0.2)
    """

    name: str
    kind: Kind
    splits: tuple[float, ...] = ()
    groups: tuple[tuple[str, ...], ...] = ()
    specials: tuple[Any, ...] = ()
    nonevent: tuple[int, ...] = ()
    event: tuple[int, ...] = ()
    trend: str = "none"
    woe: tuple[float, ...] = field(init=False)

    def __post_init__(self) -> None:
        expected = self.n_regular + len(self.specials) + 1
        if len(self.nonevent) != expected or len(self.event) != expected:
            raise InvalidArgumentError(
                f"{self.name}.counts",
                expected=f"{expected} bins (regular, specials, missing)",
                got=(len(self.nonevent), len(self.event)),
            )
        if self.kind not in ("numeric", "categorical"):
            raise InvalidArgumentError(
                f"{self.name}.kind", expected="numeric or categorical", got=self.kind
            )
        object.__setattr__(self, "woe", tuple(self._woe()))

    # ----------------------------------------------------------------- structure
    @property
    def n_regular(self) -> int:
        """Number of regular (interval or group) bins."""
        return len(self.splits) + 1 if self.kind == "numeric" else len(self.groups)

    @property
    def n_bins(self) -> int:
        """All bins: regular, specials and missing."""
        return self.n_regular + len(self.specials) + 1

    @property
    def missing_index(self) -> int:
        """Index of the missing bin (the last one)."""
        return self.n_bins - 1

    @property
    def labels(self) -> list[str]:
        """Human-readable bin labels, in bin order."""
        out: list[str] = []
        if self.kind == "numeric":
            edges = [-math.inf, *self.splits, math.inf]
            out += [f"[{_fmt(a)}, {_fmt(b)})" for a, b in itertools.pairwise(edges)]
        else:
            out += ["{" + ", ".join(g) + "}" for g in self.groups]
        out += [f"Special: {s}" for s in self.specials]
        return [*out, "Missing"]

    # ----------------------------------------------------------------- statistics
    def _woe(self) -> list[float]:
        ne = np.asarray(self.nonevent, dtype=np.float64)
        ev = np.asarray(self.event, dtype=np.float64)
        tne, tev = ne.sum(), ev.sum()
        if tne == 0 or tev == 0:
            return [0.0] * len(ne)
        out = []
        for good, bad in zip(ne, ev, strict=True):
            if good + bad == 0:
                out.append(0.0)
                continue
            shift = 0.5 if good == 0 or bad == 0 else 0.0
            out.append(math.log(((good + shift) / tne) / ((bad + shift) / tev)))
        return out

    @property
    def count(self) -> np.ndarray:
        """Rows per bin."""
        return np.asarray(self.nonevent, dtype=np.int64) + np.asarray(self.event, dtype=np.int64)

    @property
    def event_rate(self) -> np.ndarray:
        """Bad rate per bin (NaN for an empty bin)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            rate: np.ndarray = np.asarray(self.event, dtype=np.float64) / self.count
        return rate

    @property
    def iv_per_bin(self) -> np.ndarray:
        """Each bin's contribution to the information value."""
        ne = np.asarray(self.nonevent, dtype=np.float64)
        ev = np.asarray(self.event, dtype=np.float64)
        tne, tev = ne.sum(), ev.sum()
        if tne == 0 or tev == 0:
            return np.zeros(len(ne))
        contrib: np.ndarray = (ne / tne - ev / tev) * np.asarray(self.woe)
        return contrib

    @property
    def iv(self) -> float:
        """Information value of the whole binning."""
        return float(self.iv_per_bin.sum())

    @property
    def ks(self) -> float:
        """Largest gap between the cumulative non-event and event shares over the bins."""
        ne = np.asarray(self.nonevent, dtype=np.float64)
        ev = np.asarray(self.event, dtype=np.float64)
        if ne.sum() == 0 or ev.sum() == 0:
            return 0.0
        return float(np.max(np.abs(np.cumsum(ne) / ne.sum() - np.cumsum(ev) / ev.sum())))

    def to_polars(self) -> pl.DataFrame:
        """The table a risk analyst reads: one row per bin.

        Columns: bin, count, count_share, nonevent, event, event_rate, woe, iv, ks (the
        cumulative gap after the bin).
        """
        ne = np.asarray(self.nonevent, dtype=np.int64)
        ev = np.asarray(self.event, dtype=np.int64)
        count = ne + ev
        total = max(int(count.sum()), 1)
        tne, tev = max(int(ne.sum()), 1), max(int(ev.sum()), 1)
        return pl.DataFrame(
            {
                "bin": self.labels,
                "count": count,
                "count_share": count / total,
                "nonevent": ne,
                "event": ev,
                "event_rate": self.event_rate,
                "woe": np.asarray(self.woe),
                "iv": self.iv_per_bin,
                "ks": np.abs(np.cumsum(ne) / tne - np.cumsum(ev) / tev),
            }
        ).with_columns(pl.col("event_rate").fill_nan(None))

    # ----------------------------------------------------------------- assignment
    def assign(
        self, values: Sequence[Any] | np.ndarray | pl.Series, *, unknown: str = "missing"
    ) -> np.ndarray:
        """Bin index of each value (``int32``); see :meth:`unknown_mask` for unseen levels.

        ``unknown`` says where an unseen category goes: ``"missing"`` (the missing bin),
        ``"worst"`` (the regular bin with the lowest WoE) or ``"error"``.

        >>> t = BinningTable("age", "numeric", splits=(30.0,), specials=(-999.0,),
        ...                  nonevent=(40, 80, 3, 5), event=(10, 5, 3, 0))
        >>> t.assign([18, 30, None, -999, float("nan")]).tolist()
        [0, 1, 3, 2, 3]
        """
        if self.kind == "numeric":
            return assign_numeric(self, _as_float(values))
        return assign_categorical(self, values, unknown=unknown)

    def worst_regular_bin(self) -> int:
        """The regular bin with the lowest WoE (where unseen categories may go)."""
        return int(np.argmin(np.asarray(self.woe[: self.n_regular])))

    # ----------------------------------------------------------------- data
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the artifact form); :meth:`from_dict` reverses it."""
        return {
            "name": self.name,
            "kind": self.kind,
            "splits": [float(s) for s in self.splits],
            "groups": [list(g) for g in self.groups],
            "specials": list(self.specials),
            "nonevent": [int(v) for v in self.nonevent],
            "event": [int(v) for v in self.event],
            "trend": self.trend,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BinningTable:
        """Rebuild a table from :meth:`to_dict` output."""
        return cls(
            name=str(data["name"]),
            kind=data["kind"],
            splits=tuple(float(s) for s in data.get("splits", ())),
            groups=tuple(tuple(str(v) for v in g) for g in data.get("groups", ())),
            specials=tuple(data.get("specials", ())),
            nonevent=tuple(int(v) for v in data["nonevent"]),
            event=tuple(int(v) for v in data["event"]),
            trend=str(data.get("trend", "none")),
        )

    def plot(self, ax: Any = None) -> Any:
        """Bar chart of count share per bin with the event rate as a line; returns the figure."""
        from fengkong.modeling.plots import plot_binning  # noqa: PLC0415 (matplotlib is heavy)

        return plot_binning(self, ax=ax)


def _as_float(values: Sequence[Any] | np.ndarray | pl.Series) -> np.ndarray:
    if isinstance(values, pl.Series):
        return values.cast(pl.Float64).fill_null(np.nan).to_numpy()
    arr = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    if arr.dtype == object:
        return np.array([np.nan if v is None else float(v) for v in arr], dtype=np.float64)
    return arr.astype(np.float64, copy=False)
