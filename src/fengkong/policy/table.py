"""Decision tables: rows of cell conditions with outputs, first-hit or collect, checked exactly.

A table reads some inputs and gives outputs (a limit, a price, a reason code …). Each row
has one cell per input; a cell is one of

* ``-``: anything, null included;
* ``null`` / ``not null``;
* a comparison ``< 3``, ``<= 3``, ``> 3``, ``>= 3``, ``== 3``, ``!= 3`` (numbers), or
  ``== app`` / ``!= app`` (text);
* an interval ``[0, 3000)`` (brackets say closed or open; ``-inf``/``inf`` allowed);
* ``in [h5, partner_api]`` / ``not in [offline]`` (text or numbers).

A null input matches only ``-``, ``null`` and ``not in``/``!=`` never (null is not a value).

``first`` returns the first matching row; ``collect`` every matching row in order. Both
backends — a row evaluator for real time and a Polars expression for batch — share the
parsed cells; tests hold them equal.

:func:`check_table` is exact, not sampled: every cell is constant on the *elementary
regions* of the input space (for a number, the pieces between all the cut points any cell
uses, each point itself, and null; for text, each listed value, "any other value" and null),
so enumerating the regions finds every gap (a region no row matches) and every unreachable
first-hit row (all of its regions taken by earlier rows), with an example input for each.

>>> t = DecisionTable.from_dict({
...     "hit": "first", "inputs": ["age", "channel"], "outputs": ["limit"],
...     "rows": [
...         {"when": {"age": "< 18"}, "then": {"limit": 0}},
...         {"when": {"age": "[18, 30)", "channel": "in [h5]"}, "then": {"limit": 2000}},
...         {"when": {"age": ">= 18"}, "then": {"limit": 5000}},
...         {"when": {"age": "null"}, "then": {"limit": 0}},
...     ]})
>>> t.evaluate({"age": 25, "channel": "h5"})
(1, {'limit': 2000})
>>> [p.message for p in check_table(t)]
[]
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from fengkong.errors import InvalidArgumentError, Problem

__all__ = ["Cell", "DecisionTable", "RegionIndex", "check_table", "parse_cell", "region_index"]

_MAX_REGIONS = 200_000
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf"


@dataclass(frozen=True, slots=True)
class Cell:
    """A parsed cell condition (see the module docstring for the syntax)."""

    text: str
    kind: str  # any | null | not_null | interval | values | not_values
    low: float = -math.inf
    low_closed: bool = False
    high: float = math.inf
    high_closed: bool = False
    values: tuple[Any, ...] = ()

    def matches(self, value: Any) -> bool:  # noqa: PLR0911 (one return per cell kind)
        """Whether one input value satisfies the cell."""
        if self.kind == "any":
            return True
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return self.kind == "null"
        if self.kind == "null":
            return False
        if self.kind == "not_null":
            return True
        if self.kind == "values":
            return value in self.values
        if self.kind == "not_values":
            return value not in self.values
        if isinstance(value, str | bool):
            return False
        v = float(value)
        above = v >= self.low if self.low_closed else v > self.low
        below = v <= self.high if self.high_closed else v < self.high
        return above and below

    def to_polars(self, column: str) -> pl.Expr:
        """The same test as a Polars boolean expression (never null)."""
        col = pl.col(column)
        if self.kind == "any":
            return col.is_null() | col.is_not_null()  # true, one value per row
        if self.kind == "null":
            return col.is_null()
        if self.kind == "not_null":
            return col.is_not_null()
        if self.kind in ("values", "not_values"):
            hit = pl.any_horizontal([col == pl.lit(v) for v in self.values])
            hit = hit if self.kind == "values" else hit.not_()
            return hit.fill_null(False) & col.is_not_null()
        parts = []
        if self.low != -math.inf:
            parts.append(col >= self.low if self.low_closed else col > self.low)
        if self.high != math.inf:
            parts.append(col <= self.high if self.high_closed else col < self.high)
        test = pl.all_horizontal(parts) if parts else pl.lit(True)
        return (test & col.is_not_null()).fill_null(False)

    def cut_points(self) -> list[float]:
        """The numbers where the cell's truth can change."""
        if self.kind != "interval":
            return [
                v for v in self.values if isinstance(v, int | float) and not isinstance(v, bool)
            ]
        return [p for p in (self.low, self.high) if math.isfinite(p)]


def _literal(text: str) -> Any:
    t = text.strip().strip("'\"")
    if re.fullmatch(_NUM, t):
        return float(t) if any(ch in t for ch in ".eEin") else int(t)
    return t


def parse_cell(text: Any) -> Cell:  # noqa: PLR0911 (one return per cell form)
    """Parse one cell; ``ValueError`` says what was expected.

    >>> parse_cell("[0, 3000)").matches(2999.5), parse_cell("in [h5, app]").matches("app")
    (True, True)
    """
    raw = "-" if text is None else str(text).strip()
    if raw in ("-", ""):
        return Cell(raw or "-", "any")
    if raw == "null":
        return Cell(raw, "null")
    if raw == "not null":
        return Cell(raw, "not_null")
    m = re.fullmatch(r"(not\s+in|in)\s*\[(.*)\]", raw)
    if m:
        items = [_literal(x) for x in m.group(2).split(",") if x.strip()]
        if not items:
            raise ValueError(f"cell {raw!r}: expected at least one value in the list")
        return Cell(raw, "values" if m.group(1) == "in" else "not_values", values=tuple(items))
    m = re.fullmatch(rf"([\[(])\s*({_NUM})\s*,\s*({_NUM})\s*([\])])", raw)
    if m:
        low, high = float(m.group(2)), float(m.group(3))
        if low > high:
            raise ValueError(f"cell {raw!r}: expected the lower bound first")
        return Cell(raw, "interval", low, m.group(1) == "[", high, m.group(4) == "]")
    m = re.fullmatch(r"(<=|>=|==|!=|<|>)\s*(.+)", raw)
    if m:
        op, value = m.group(1), _literal(m.group(2))
        if op in ("==", "!="):
            return Cell(raw, "values" if op == "==" else "not_values", values=(value,))
        if not isinstance(value, int | float):
            raise ValueError(f"cell {raw!r}: expected a number after {op}")
        v = float(value)
        return {
            "<": Cell(raw, "interval", high=v),
            "<=": Cell(raw, "interval", high=v, high_closed=True),
            ">": Cell(raw, "interval", low=v),
            ">=": Cell(raw, "interval", low=v, low_closed=True),
        }[op]
    raise ValueError(
        f"cell {raw!r}: expected -, null, not null, a comparison, an interval "
        "like [0, 10) or in [a, b]"
    )


@dataclass(frozen=True, slots=True)
class DecisionTable:
    """A first-hit or collect decision table with parsed cells."""

    hit: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    cells: tuple[tuple[Cell, ...], ...]
    results: tuple[Mapping[str, Any], ...]
    name: str = "table"
    _index: list[Any] = field(default_factory=list, repr=False, compare=False)

    def fast_index(self) -> RegionIndex | None:
        """The table's :class:`RegionIndex` (computed once), or None where it does not apply."""
        if not self._index:
            self._index.append(region_index(self))
        found: RegionIndex | None = self._index[0]
        return found

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, name: str = "table") -> DecisionTable:
        """Build from the YAML shape; the first problem raises (use :func:`check_table` after)."""
        hit = data.get("hit", "first")
        if hit not in ("first", "collect"):
            raise InvalidArgumentError(f"{name}.hit", expected="first or collect", got=hit)
        inputs = tuple(data.get("inputs") or ())
        outputs = tuple(data.get("outputs") or ())
        cells, results = [], []
        for k, row in enumerate(data.get("rows") or ()):
            when = dict(row.get("when") or {})
            unknown = sorted(set(when) - set(inputs))
            if unknown:
                raise InvalidArgumentError(
                    f"{name}.rows.{k}.when", expected=f"inputs {inputs}", got=unknown
                )
            then = dict(row.get("then") or {})
            missing = sorted(set(outputs) - set(then))
            if missing or set(then) - set(outputs):
                raise InvalidArgumentError(
                    f"{name}.rows.{k}.then",
                    expected=f"exactly the outputs {outputs}",
                    got=sorted(then),
                )
            try:
                cells.append(tuple(parse_cell(when.get(i, "-")) for i in inputs))
            except ValueError as exc:
                raise InvalidArgumentError(
                    f"{name}.rows.{k}.when", expected="valid cells", got=str(exc)
                ) from None
            results.append(then)
        return cls(hit, inputs, outputs, tuple(cells), tuple(results), name)

    def matching_rows(self, row: Mapping[str, Any]) -> list[int]:
        """Indices of the rows whose every cell matches (all of them, in order)."""
        values = [row.get(i) for i in self.inputs]
        return [
            k
            for k, cells in enumerate(self.cells)
            if all(c.matches(v) for c, v in zip(cells, values, strict=True))
        ]

    def evaluate(self, row: Mapping[str, Any]) -> Any:
        """First hit: ``(row index, outputs)`` or None; collect: a list of those pairs."""
        if self.hit == "first":
            values = [row.get(i) for i in self.inputs]
            for k, cells in enumerate(self.cells):
                if all(c.matches(v) for c, v in zip(cells, values, strict=True)):
                    return k, dict(self.results[k])
            return None
        return [(k, dict(self.results[k])) for k in self.matching_rows(row)]

    def _row_test(self, k: int) -> pl.Expr:
        return pl.all_horizontal(
            [c.to_polars(i) for c, i in zip(self.cells[k], self.inputs, strict=True)]
        )

    def to_polars(self) -> dict[str, pl.Expr]:
        """Polars expressions: ``{table}_row`` (first hit, null if none; collect: a list of
        matching row indices) and, for first hit, one expression per output."""
        if self.hit == "collect":
            hits = [pl.when(self._row_test(k)).then(pl.lit(k)) for k in range(len(self.cells))]
            listed = pl.concat_list(hits).list.drop_nulls() if hits else pl.lit([])
            return {f"{self.name}_rows": listed}
        index: Any = None
        for k in range(len(self.cells)):
            index = (
                pl.when(self._row_test(k)) if index is None else index.when(self._row_test(k))
            ).then(pl.lit(k, pl.Int32))
        row_index = index.otherwise(None) if index is not None else pl.lit(None, pl.Int32)
        out = {f"{self.name}_row": row_index}
        for o in self.outputs:
            mapping = {k: r[o] for k, r in enumerate(self.results)}
            out[o] = row_index.replace_strict(mapping, default=None)
        return out


def _regions(table: DecisionTable, never_null: frozenset[str]) -> list[list[Any]]:
    """Representative values of every elementary region, per input."""
    per_input: list[list[Any]] = []
    for j, name in enumerate(table.inputs):
        cells = [row[j] for row in table.cells]
        texts = {v for c in cells for v in c.values if isinstance(v, str)}
        numeric_cells = any(c.kind == "interval" for c in cells) or any(
            isinstance(v, int | float) and not isinstance(v, bool) for c in cells for v in c.values
        )
        reps: list[Any] = [] if name in never_null else [None]
        if texts:
            reps += [*sorted(texts), "\x00other"]
        if numeric_cells or not texts:
            points = sorted({p for c in cells for p in c.cut_points()})
            if not points:
                reps.append(0.0)
            else:
                reps.append(points[0] - 1.0)
                for a, b in itertools.pairwise(points):
                    reps += [a, (a + b) / 2]
                reps += [points[-1], points[-1] + 1.0]
        per_input.append(reps)
    return per_input


def check_table(
    table: DecisionTable, *, file: str = "<policy>", never_null: frozenset[str] = frozenset()
) -> list[Problem]:
    """Every gap and every unreachable first-hit row, each with an example input.

    ``never_null`` names inputs that cannot be null (a scorecard's score), so no null
    region is enumerated for them.
    """
    problems: list[Problem] = []
    regions = _regions(table, never_null)
    total = math.prod(len(r) for r in regions)
    if total > _MAX_REGIONS:
        return [
            Problem(
                file,
                table.name,
                f"too many input combinations to check ({total:,}); split the table",
            )
        ]
    reachable = [False] * len(table.cells)
    gaps: list[dict[str, Any]] = []
    for combo in itertools.product(*regions):
        row = dict(zip(table.inputs, combo, strict=True))
        hits = table.matching_rows(row)
        if not hits:
            if len(gaps) < 3:
                gaps.append(
                    {
                        k: (None if v is None else "<other>" if v == "\x00other" else v)
                        for k, v in row.items()
                    }
                )
            continue
        if table.hit == "first":
            reachable[hits[0]] = True
        else:
            for k in hits:
                reachable[k] = True
    for example in gaps:
        problems.append(Problem(file, f"{table.name}", f"gap: no row matches {example}"))
    for k, ok in enumerate(reachable):
        if not ok:
            why = (
                "earlier rows take every input it matches"
                if table.hit == "first"
                else "no input matches it"
            )
            problems.append(Problem(file, f"{table.name}.rows.{k}", f"unreachable: {why}"))
    return problems


@dataclass(frozen=True, slots=True)
class RegionIndex:
    """A first-hit table precomputed over its elementary regions (the batch fast path).

    Each input's value maps to its region (null, a listed text or any other text; for
    numbers: below, at or between the cut points, by binary search); the regions of all
    inputs index one array holding the first matching row, found by evaluating the table
    once per combination — the same enumeration :func:`check_table` proves complete.
    """

    inputs: tuple[str, ...]
    texts: tuple[tuple[str, ...] | None, ...]  # listed texts, or None for a numeric input
    points: tuple[tuple[float, ...], ...]
    strides: tuple[int, ...]
    first_row: tuple[int, ...]  # -1: no row matches

    def rows(self, frame: pl.DataFrame) -> pl.Series | None:
        """The first matching row of every frame row (null when none), or None when a
        column's type does not suit the fast path."""
        flat = np.zeros(frame.height, dtype=np.int64)
        for name, texts, points, stride in zip(
            self.inputs, self.texts, self.points, self.strides, strict=True
        ):
            col = frame[name]
            if texts is None and not points:  # only -, null, not null: null-ness decides
                region = col.is_not_null().cast(pl.Int64).to_numpy()
            elif texts is not None:
                if col.dtype not in (pl.String, pl.Null):
                    return None
                codes = {t: k + 1 for k, t in enumerate(texts)}
                listed = col.cast(pl.String).replace_strict(
                    codes, default=len(texts) + 1, return_dtype=pl.Int64
                )
                region = np.where(col.is_null().to_numpy(), 0, listed.to_numpy())
            else:
                if not (col.dtype.is_numeric() or col.dtype == pl.Null):
                    return None
                values = col.cast(pl.Float64).fill_null(np.nan).to_numpy()
                if points:
                    cuts = np.asarray(points)
                    i0 = np.searchsorted(cuts, values, side="left")
                    at = cuts[np.minimum(i0, len(cuts) - 1)] == values
                    region = 1 + 2 * i0 + at
                else:
                    region = np.ones(len(values), dtype=np.int64)
                region = np.where(np.isnan(values), 0, region)
            flat += region.astype(np.int64) * stride
        found = np.asarray(self.first_row, dtype=np.int32)[flat]
        return pl.Series(found).scatter(np.flatnonzero(found < 0), None)


def region_index(table: DecisionTable) -> RegionIndex | None:
    """The :class:`RegionIndex` of a first-hit table, or None when it does not apply (a
    collect table, an input mixing text and number cells, too many regions)."""
    if table.hit != "first":
        return None
    regions = _regions(table, frozenset())
    total = math.prod(len(r) for r in regions)
    if total > _MAX_REGIONS:
        return None
    texts: list[tuple[str, ...] | None] = []
    points: list[tuple[float, ...]] = []
    for j, reps in enumerate(regions):
        listed = tuple(v for v in reps[1:] if isinstance(v, str) and v != "\x00other")
        numeric = [v for v in reps[1:] if not isinstance(v, str)]
        if listed and numeric:
            return None
        texts.append(listed if listed else None)
        cells = [row[j] for row in table.cells]
        points.append(tuple(sorted({p for c in cells for p in c.cut_points()})))
    strides = [1] * len(regions)
    for j in range(len(regions) - 2, -1, -1):
        strides[j] = strides[j + 1] * len(regions[j + 1])
    first = []
    for combo in itertools.product(*regions):
        hits = table.matching_rows(dict(zip(table.inputs, combo, strict=True)))
        first.append(hits[0] if hits else -1)
    return RegionIndex(table.inputs, tuple(texts), tuple(points), tuple(strides), tuple(first))
