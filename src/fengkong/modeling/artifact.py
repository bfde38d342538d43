"""A fitted scorecard as data: points per bin, scoring, reason codes, JSON and its hash.

:class:`ScorecardModel` is what production runs: the decision engine loads it from JSON and
scores rows with :meth:`~ScorecardModel.score_row` (a dict, microseconds) or
:meth:`~ScorecardModel.score_frame` (a Polars frame, vectorised); the warehouse runs the SQL
from :func:`fengkong.modeling.sql.scorecard_sql`. All three use the same bins and the same
integer (or fixed-decimal) points, so they give identical scores; the tests prove it.

Points are ``Decimal`` values rounded HALF_EVEN to ``decimals`` places once, when the
scorecard is built; a score is their exact sum.

Reason codes rank the variables whose points fall furthest below the best points that variable
can give (the "points lost"), as adverse-action notices expect.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from fengkong.errors import InvalidArgumentError
from fengkong.modeling._assign import category_map
from fengkong.modeling._input import as_frame, is_numeric_series
from fengkong.modeling.sql import scorecard_sql
from fengkong.modeling.table import BinningTable

__all__ = ["SCHEMA_VERSION", "Reason", "ScorecardModel", "ScorecardVariable", "ScoredRow"]

SCHEMA_VERSION = 1
_PARALLEL_ROWS = 200_000


@dataclass(frozen=True, slots=True)
class ScorecardVariable:
    """One variable of a scorecard: its bins, the points of each bin and its reason code."""

    table: BinningTable
    points: tuple[Decimal, ...]
    reason_code: str
    coefficient: float

    @property
    def name(self) -> str:
        """The input field the variable reads."""
        return self.table.name

    @property
    def best_points(self) -> Decimal:
        """The most points this variable can give."""
        return max(self.points)


@dataclass(frozen=True, slots=True)
class Reason:
    """A reason code: the variable, its bin and the points lost against its best bin."""

    code: str
    variable: str
    bin: str
    points_lost: Decimal


@dataclass(frozen=True, slots=True)
class ScoredRow:
    """The score of one row with the points per variable and ranked reasons."""

    score: Decimal
    points: dict[str, Decimal]
    reasons: tuple[Reason, ...]


class _RowScorer:
    """Per-variable lookups compiled once for fast dict scoring."""

    __slots__ = ("cat", "kind", "missing", "name", "points", "specials", "splits", "unknown_bin")

    def __init__(self, var: ScorecardVariable, unknown: str) -> None:
        t = var.table
        self.name = t.name
        self.kind = t.kind
        self.points = var.points
        self.splits = list(t.splits)
        self.specials = {
            float(s) if t.kind == "numeric" else str(s): t.n_regular + k
            for k, s in enumerate(t.specials)
        }
        self.missing = t.missing_index
        self.cat = category_map(t) if t.kind == "categorical" else {}
        self.unknown_bin = (
            -1
            if unknown == "error"
            else (t.missing_index if unknown == "missing" else t.worst_regular_bin())
        )

    def bin_of(self, value: Any) -> int:  # noqa: PLR0911
        if value is None:
            return self.missing
        if self.kind == "numeric":
            if isinstance(value, str) or not isinstance(value, int | float | np.number):
                raise InvalidArgumentError(self.name, expected="a number or null", got=value)
            v = float(value)
            if math.isnan(v):
                return self.missing
            special = self.specials.get(v)
            if special is not None:
                return special
            return bisect.bisect_right(self.splits, v)
        if isinstance(value, float) and math.isnan(value):
            return self.missing
        k = self.cat.get(str(value))
        if k is None:
            if self.unknown_bin < 0:
                raise InvalidArgumentError(self.name, expected="a level seen in fitting", got=value)
            return self.unknown_bin
        return k


@dataclass(frozen=True, slots=True)
class ScorecardModel:
    """A scorecard ready to score: variables with points, scaling and provenance.

    Build one with :class:`fengkong.modeling.Scorecard` (``.model_``) or :meth:`load`.

    Examples
    --------
    >>> from decimal import Decimal
    >>> age = BinningTable("age", "numeric", splits=(30.0,), nonevent=(40, 80, 5),
    ...                    event=(10, 5, 1))
    >>> m = ScorecardModel(
    ...     variables=(ScorecardVariable(age, (Decimal(10), Decimal(35), Decimal(20)), "AGE", -1.0),),
    ...     base_points=600, base_odds=50.0, pdo=20.0, decimals=0)
    >>> m.score_row({"age": 25})
    Decimal('10')
    >>> r = m.explain_row({"age": 25}); r.reasons[0].code, r.reasons[0].points_lost
    ('AGE', Decimal('25'))
    >>> m.score_frame(pl.DataFrame({"age": [25.0, 40.0, None]})).to_list()
    [10, 35, 20]
    """

    variables: tuple[ScorecardVariable, ...]
    base_points: float
    base_odds: float
    pdo: float
    decimals: int
    intercept: float = 0.0
    unknown: str = "missing"
    name: str = "scorecard"
    version: str = "1"
    _scorers: list[_RowScorer] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for v in self.variables:
            if len(v.points) != v.table.n_bins:
                raise InvalidArgumentError(
                    f"{v.name}.points", expected=f"{v.table.n_bins} values", got=len(v.points)
                )

    # ------------------------------------------------------------------ scoring
    @property
    def features(self) -> list[str]:
        """The input fields the scorecard reads."""
        return [v.name for v in self.variables]

    def _row_scorers(self) -> list[_RowScorer]:
        scorers = self._scorers
        if scorers is None:
            scorers = [_RowScorer(v, self.unknown) for v in self.variables]
            object.__setattr__(self, "_scorers", scorers)
        return scorers

    def _bins_of_row(self, row: Mapping[str, Any]) -> list[int]:
        out = []
        for s in self._row_scorers():
            if s.name not in row:
                raise InvalidArgumentError(
                    s.name,
                    expected=f"a value (or null) for every scorecard field {self.features}",
                    got="absent",
                )
            out.append(s.bin_of(row[s.name]))
        return out

    def score_row(self, row: Mapping[str, Any]) -> Decimal:
        """Points of one applicant (a mapping of field -> value; None/NaN is missing)."""
        total = Decimal(0)
        for s, k in zip(self._row_scorers(), self._bins_of_row(row), strict=True):
            total += s.points[k]
        return total

    def explain_row(self, row: Mapping[str, Any], *, n_reasons: int = 4) -> ScoredRow:
        """Score, points per variable and the ``n_reasons`` reasons with most points lost."""
        bins = self._bins_of_row(row)
        points = {}
        lost = []
        for order, (v, k) in enumerate(zip(self.variables, bins, strict=True)):
            p = v.points[k]
            points[v.name] = p
            gap = v.best_points - p
            if gap > 0:
                lost.append((-gap, order, Reason(v.reason_code, v.name, v.table.labels[k], gap)))
        lost.sort(key=lambda item: (item[0], item[1]))
        return ScoredRow(
            sum(points.values(), Decimal(0)), points, tuple(r for _, _, r in lost[:n_reasons])
        )

    def bins_frame(self, frame: Any) -> dict[str, np.ndarray]:
        """Bin index of every variable for every row of a frame (checked columns)."""
        df = as_frame(frame)
        absent = [n for n in self.features if n not in df.columns]
        if absent:
            raise InvalidArgumentError(
                "X", expected=f"the scorecard fields {self.features}", got=f"missing {absent}"
            )
        for v in self.variables:
            s = df.get_column(v.name)
            if v.table.kind == "numeric" and not is_numeric_series(s):
                raise InvalidArgumentError(v.name, expected="numbers", got=str(s.dtype))

        def one(v: ScorecardVariable) -> np.ndarray:
            return v.table.assign(df.get_column(v.name), unknown=self.unknown)

        if df.height < _PARALLEL_ROWS or len(self.variables) < 2:
            return {v.name: one(v) for v in self.variables}
        with ThreadPoolExecutor(max_workers=2) as pool:  # the kernels release the GIL
            return dict(zip(self.features, pool.map(one, self.variables), strict=True))

    def _scaled_points(self, v: ScorecardVariable) -> np.ndarray:
        return np.array([int(p.scaleb(self.decimals)) for p in v.points], dtype=np.int64)

    def score_frame(self, frame: Any) -> pl.Series:
        """Scores of every row: Int64 when ``decimals == 0``, else Decimal with that scale."""
        bins = self.bins_frame(frame)
        n = len(next(iter(bins.values()))) if bins else 0
        total = np.zeros(n, dtype=np.int64)
        for v in self.variables:
            total += self._scaled_points(v)[bins[v.name]]
        if self.decimals == 0:
            return pl.Series("score", total)
        scaled = pl.Series("score", total).cast(pl.Decimal(38, 0))
        out: pl.Series = scaled.cast(pl.Decimal(38, self.decimals)) / 10**self.decimals
        return out

    def points_frame(self, frame: Any) -> pl.DataFrame:
        """Points per variable for every row (the columns the SQL export also returns)."""
        bins = self.bins_frame(frame)
        cols = {f"points_{v.name}": self._scaled_points(v)[bins[v.name]] for v in self.variables}
        out = pl.DataFrame(cols)
        if self.decimals:
            out = out.with_columns(pl.all().cast(pl.Float64) / 10**self.decimals)
        return out

    def probability(self, score: Any) -> np.ndarray:
        """Probability of bad implied by points through the scaling (monotone in the score)."""
        factor = self.pdo / math.log(2)
        offset = self.base_points - factor * math.log(self.base_odds)
        s = np.asarray(score, dtype=np.float64)
        return 1.0 / (1.0 + np.exp((s - offset) / factor))

    # ------------------------------------------------------------------ tables
    def points_table(self) -> pl.DataFrame:
        """One row per variable and bin: variable, reason code, bin, WoE, event rate, points."""
        rows = []
        for v in self.variables:
            t = v.table
            for k, label in enumerate(t.labels):
                rows.append(
                    {
                        "variable": v.name,
                        "reason_code": v.reason_code,
                        "bin": label,
                        "count": int(t.count[k]),
                        "event_rate": float(t.event_rate[k]) if t.count[k] else None,
                        "woe": t.woe[k],
                        "points": str(v.points[k]),
                    }
                )
        return pl.DataFrame(rows)

    # ------------------------------------------------------------------ artifact
    def to_dict(self) -> dict[str, Any]:
        """The versioned JSON form (points as strings, exact)."""
        body = {
            "schema_version": SCHEMA_VERSION,
            "kind": "scorecard",
            "name": self.name,
            "version": self.version,
            "scaling": {
                "base_points": self.base_points,
                "base_odds": self.base_odds,
                "pdo": self.pdo,
                "decimals": self.decimals,
            },
            "intercept": self.intercept,
            "unknown": self.unknown,
            "variables": [
                {
                    "table": v.table.to_dict(),
                    "points": [str(p) for p in v.points],
                    "reason_code": v.reason_code,
                    "coefficient": v.coefficient,
                }
                for v in self.variables
            ],
        }
        return {**body, "sha256": _digest(body)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScorecardModel:
        """Rebuild from :meth:`to_dict` output; the hash must match the content."""
        if data.get("kind") != "scorecard" or data.get("schema_version") != SCHEMA_VERSION:
            raise InvalidArgumentError(
                "schema_version",
                expected=f"a scorecard artifact, version {SCHEMA_VERSION}",
                got=(data.get("kind"), data.get("schema_version")),
            )
        body = {k: v for k, v in data.items() if k != "sha256"}
        if "sha256" in data and data["sha256"] != _digest(body):
            raise InvalidArgumentError(
                "sha256",
                expected="the hash of the artifact's content (the file was edited)",
                got=data["sha256"],
            )
        sc = data["scaling"]
        return cls(
            variables=tuple(
                ScorecardVariable(
                    BinningTable.from_dict(v["table"]),
                    tuple(Decimal(p) for p in v["points"]),
                    str(v["reason_code"]),
                    float(v.get("coefficient", 0.0)),
                )
                for v in data["variables"]
            ),
            base_points=float(sc["base_points"]),
            base_odds=float(sc["base_odds"]),
            pdo=float(sc["pdo"]),
            decimals=int(sc["decimals"]),
            intercept=float(data.get("intercept", 0.0)),
            unknown=str(data.get("unknown", "missing")),
            name=str(data.get("name", "scorecard")),
            version=str(data.get("version", "1")),
        )

    @property
    def sha256(self) -> str:
        """Content hash of the artifact (what a policy pins)."""
        return str(self.to_dict()["sha256"])

    def save(self, path: str | Path) -> Path:
        """Write the JSON artifact."""
        p = Path(path)
        p.write_text(
            json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        return p

    @classmethod
    def load(cls, path: str | Path) -> ScorecardModel:
        """Read a JSON artifact written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def to_sql(self, table: str, *, dialect: str = "sqlite", keep: Sequence[str] = ()) -> str:
        """A SELECT scoring every row of ``table`` (see :func:`fengkong.modeling.sql.scorecard_sql`)."""
        return scorecard_sql(self, table, dialect=dialect, keep=keep)


def _digest(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
