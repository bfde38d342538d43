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

import datetime as dt
import itertools
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np
import polars as pl

from fengkong.errors import InvalidArgumentError, Problem
from fengkong.expression._typing import INT64_MAX, INT64_MIN, Type, unify

__all__ = [
    "Cell",
    "DecisionTable",
    "RegionIndex",
    "as_type",
    "check_table",
    "parse_cell",
    "region_index",
]

_MAX_REGIONS = 200_000
# one way to match each number (no nested choices: linear on any text, however long)
_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf"


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
    lookup: frozenset[Any] = field(default=frozenset(), compare=False, repr=False)

    def __post_init__(self) -> None:
        # membership in one step however long the list (a cell may list 100,000 values)
        object.__setattr__(self, "lookup", frozenset(self.values))

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
        if self.kind in ("values", "not_values"):
            if isinstance(value, int) and not isinstance(value, bool):
                value = float(value)  # numbers compare as float64, as in Polars
            return (value in self.lookup) == (self.kind == "values")
        if isinstance(value, str | bool) or not isinstance(value, int | float):
            return False
        v = float(value)
        above = v >= self.low if self.low_closed else v > self.low
        below = v <= self.high if self.high_closed else v < self.high
        return above and below

    def to_polars(self, column: str, *, numeric: bool = False) -> pl.Expr:
        """The same test as a Polars boolean expression (never null); ``numeric`` compares
        the column as float64 (as :meth:`matches` does)."""
        col = pl.col(column).cast(pl.Float64) if numeric else pl.col(column)
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
                float(v)
                for v in self.values
                if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            ]
        return [p for p in (self.low, self.high) if math.isfinite(p)]


def _literal(text: str) -> Any:
    """A cell value: quoted text stays text; ``true``/``false`` are booleans; numbers."""
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        return t[1:-1]
    if t in ("true", "false"):
        return t == "true"
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
        if isinstance(value, bool) or not isinstance(value, int | float):
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
    types: tuple[str, ...] = ()  # each input's type, once typed (see :func:`type_table`)
    _index: list[Any] = field(default_factory=list, repr=False, compare=False)

    def numeric(self, j: int) -> bool:
        """Whether input ``j`` is typed as a number (its cells compare as float64)."""
        return bool(self.types) and self.types[j] in ("integer", "number")

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
            [
                c.to_polars(i, numeric=self.numeric(j))
                for j, (c, i) in enumerate(zip(self.cells[k], self.inputs, strict=True))
            ]
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


def _cell_problem(cell: Cell, kind: str) -> str | None:
    """Why a cell cannot test an input of type ``kind`` (None when it can)."""
    if cell.kind in ("any", "null", "not_null"):
        return None
    wanted = {"integer": "numbers", "number": "numbers", "text": "texts", "boolean": "booleans"}
    if kind not in wanted or (cell.kind == "interval" and kind not in ("integer", "number")):
        return (
            f"cell {cell.text!r} cannot test an input of type {kind} (expected -, null or not null)"
        )
    for v in cell.values:
        numeric = isinstance(v, int | float) and not isinstance(v, bool)
        ok = {
            "integer": numeric,
            "number": numeric,
            "text": isinstance(v, str),
            "boolean": isinstance(v, bool),
        }[kind]
        if not ok:
            return (
                f"cell {cell.text!r} on an input of type {kind}: expected {wanted[kind]}, got {v!r}"
            )
        if numeric and not math.isfinite(v):
            return f"cell {cell.text!r}: expected finite numbers, got {v!r}"
    return None


def _result_type(value: Any) -> str | None:
    """The type of an output value of a table or tree, or None when it is not a scalar."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer" if INT64_MIN <= value <= INT64_MAX else None
    if isinstance(value, float):
        return "number" if math.isfinite(value) else None
    return "text" if isinstance(value, str) else None


def as_type(value: Any, kind: str | None) -> Any:
    """An output value in its output's type: an integer in a ``number`` output is a float
    (so both backends give the same value and type).

    >>> as_type(3, "number"), as_type(3, "integer"), as_type(None, "number")
    (3.0, 3, None)
    """
    if kind == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def output_types(
    values: Mapping[str, list[tuple[str, Any]]],
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The type of each output from its values (with the path each came from), and the
    problems as ``(path, message)``: a value that is not a scalar, outputs of two types, or
    an integer in a ``number`` output that a 64-bit float cannot hold exactly."""
    types: dict[str, str] = {}
    problems: list[tuple[str, str]] = []
    for output, found in values.items():
        kind: Any = "null"
        for path, value in found:
            t = _result_type(value)
            if t is None:
                problems.append(
                    (path, f"expected a number, text, true/false or null, got {value!r}")
                )
                continue
            both = unify(kind, cast(Type, t)) if kind is not None else None
            if both is None:
                problems.append((path, f"expected one type for {output!r}, got {kind} and {t}"))
            kind = both
        if kind is None:
            continue
        types[output] = kind
        if kind == "number":
            problems += [
                (
                    path,
                    f"expected a number exact as a 64-bit float ({output!r} mixes "
                    f"integers and numbers), got {value!r}",
                )
                for path, value in found
                if isinstance(value, int) and not isinstance(value, bool) and float(value) != value
            ]
    return types, problems


def type_table(
    table: DecisionTable, types: Mapping[str, str], *, file: str = "<policy>", path: str = ""
) -> tuple[DecisionTable, dict[str, str], list[Problem]]:
    """The table typed by its inputs' types: cells checked against them (numbers compared
    as float64), and the type of each ``<table>_<output>`` variable; problems listed.

    >>> t = DecisionTable.from_dict({"inputs": ["age"], "outputs": ["x"],
    ...     "rows": [{"when": {"age": "in [lo, hi]"}, "then": {"x": 1}}]})
    >>> [p.message for p in type_table(t, {"age": "integer"})[2]]
    ["cell 'in [lo, hi]' on an input of type integer: expected numbers, got 'lo'"]
    """
    where = path or table.name
    problems: list[Problem] = []
    kinds = tuple(types.get(i, "null") for i in table.inputs)
    problems += [
        Problem(
            file,
            f"{where}.inputs",
            f"{name!r} is a list (a collect table's rows): a table reads numbers, texts, "
            "true/false and dates",
        )
        for name, kind in zip(table.inputs, kinds, strict=True)
        if kind == "list"
    ]
    cells = []
    for k, row in enumerate(table.cells):
        typed = []
        for given, name, kind in zip(row, table.inputs, kinds, strict=True):
            why = _cell_problem(given, kind)
            cell = given
            if why is not None:
                problems.append(Problem(file, f"{where}.rows.{k}.when.{name}", why))
            elif kind in ("integer", "number") and given.values:
                cell = replace(given, values=tuple(float(v) for v in given.values))
            typed.append(cell)
        cells.append(tuple(typed))
    found, bad = output_types(
        {
            o: [(f"{where}.rows.{k}.then.{o}", r[o]) for k, r in enumerate(table.results)]
            for o in table.outputs
        }
    )
    problems += [Problem(file, p, m) for p, m in bad]
    results = tuple({o: as_type(r[o], found.get(o)) for o in table.outputs} for r in table.results)
    list_or_row = "list" if table.hit == "collect" else None
    out_types = {f"{table.name}_{o}": list_or_row or t for o, t in found.items()}
    out_types[f"{table.name}_rows" if list_or_row else f"{table.name}_row"] = (
        list_or_row or "integer"
    )
    out = replace(table, cells=tuple(cells), results=results, types=kinds, _index=[])
    return out, out_types, problems


def _between(a: float, b: float) -> float | None:
    """A float strictly between ``a < b`` (None when they are adjacent floats)."""
    mid = a / 2 + b / 2
    return mid if a < mid < b else None


def _numeric_reps(points: list[float], *, integer: bool) -> list[Any]:
    """A value in every piece the cut points make: below, each point, between, above.

    For an integer input only integers stand for a piece (a piece holding none is left out),
    so that every gap reported can be met by a real input.
    """
    if not points:
        return [0 if integer else 0.0]
    if integer:
        # an integer compares as its float64: the integers next to a point are those whose
        # float is the next float below or above it (1e17 - 1 is 1e17 as a float)
        reps: list[Any] = [math.floor(math.nextafter(points[0], -math.inf))]
        for a, b in itertools.pairwise(points):
            if a == int(a):
                reps.append(int(a))
            up = math.ceil(math.nextafter(a, math.inf))
            if up < b:
                reps.append(up)
        if points[-1] == int(points[-1]):
            reps.append(int(points[-1]))
        reps.append(math.ceil(math.nextafter(points[-1], math.inf)))
        # the ends of int64 last: every piece a real input can reach has a representative
        # even where the cut points lie beyond int64
        inside = list(dict.fromkeys(r for r in reps if INT64_MIN <= r <= INT64_MAX))
        return inside + [e for e in (INT64_MIN, INT64_MAX) if e not in inside]
    below = points[0] - max(1.0, abs(points[0]))
    reps = [below if below < points[0] else math.nextafter(points[0], -math.inf)]
    for a, b in itertools.pairwise(points):
        mid = _between(a, b)
        reps += [a, a if mid is None else mid]  # the index's layout: one slot per piece
    above = points[-1] + max(1.0, abs(points[-1]))
    reps += [points[-1], above if math.isfinite(above) else math.nextafter(points[-1], math.inf)]
    return reps


def _regions(
    table: DecisionTable, never_null: frozenset[str], *, exact: bool = True
) -> list[list[Any]]:
    """Representative values of every elementary region, per input.

    ``exact`` keeps only pieces a value of the input's type can fall in (integers for an
    integer input); the batch index wants the float layout of every piece instead.
    """
    per_input: list[list[Any]] = []
    for j, name in enumerate(table.inputs):
        cells = [row[j] for row in table.cells]
        kind = table.types[j] if table.types else None
        reps: list[Any] = [] if name in never_null else [None]
        if kind == "boolean":
            per_input.append([*reps, False, True])
            continue
        if kind == "date":
            per_input.append([*reps, dt.date(2000, 1, 1)])
            continue
        texts = {v for c in cells for v in c.values if isinstance(v, str)}
        numeric_cells = any(c.kind == "interval" for c in cells) or any(
            isinstance(v, int | float) and not isinstance(v, bool) for c in cells for v in c.values
        )
        if texts or kind == "text":
            reps += [*sorted(texts), "\x00other"]
        if kind in ("integer", "number") or (kind is None and (numeric_cells or not texts)):
            points = sorted({p for c in cells for p in c.cut_points()})
            numbers = _numeric_reps(points, integer=exact and kind == "integer")
            # beyond the largest float lies only ±inf, which no input holds (it is DQ_RANGE)
            reps += [r for r in numbers if math.isfinite(r)] if exact else numbers
        per_input.append(reps)
    return per_input


def _hits(table: DecisionTable, regions: list[list[Any]]) -> Iterator[tuple[tuple[Any, ...], int]]:
    """Every combination of the regions (in ``itertools.product`` order) with the rows
    matching it, as a bit mask (bit ``k``: row ``k``).

    Each input's cells are tested once per region value, and a combination's rows are the
    AND of its inputs' masks: the work grows with regions plus rows, not their product.
    """
    everything = (1 << len(table.cells)) - 1
    per_input: list[list[int]] = []
    for j, reps in enumerate(regions):
        by_cell: dict[Cell, int] = {}
        for k, row in enumerate(table.cells):
            by_cell[row[j]] = by_cell.get(row[j], 0) | (1 << k)
        per_input.append([sum(m for cell, m in by_cell.items() if cell.matches(v)) for v in reps])
    for combo in itertools.product(*(range(len(r)) for r in regions)):
        mask = everything
        for j, i in enumerate(combo):
            mask &= per_input[j][i]
        yield tuple(regions[j][i] for j, i in enumerate(combo)), mask


def _first(mask: int) -> int:
    """The lowest row of a mask (-1 for none)."""
    return (mask & -mask).bit_length() - 1


def check_table(
    table: DecisionTable,
    *,
    file: str = "<policy>",
    never_null: frozenset[str] = frozenset(),
    path: str = "",
) -> list[Problem]:
    """Every gap and every unreachable first-hit row, each with an example input.

    ``never_null`` names inputs that cannot be null (a scorecard's score), so no null
    region is enumerated for them; ``path`` is where the table is in the file (its name by
    default).
    """
    where = path or table.name
    regions = _regions(table, never_null)
    total = math.prod(len(r) for r in regions)
    if total > _MAX_REGIONS:
        return [
            Problem(
                file, where, f"too many input combinations to check ({total:,}); split the table"
            )
        ]
    if not table.cells:
        return [Problem(file, f"{where}.rows", "expected at least one row")]
    reached = 0
    gaps: list[dict[str, Any]] = []
    for combo, mask in _hits(table, regions):
        if not mask:
            if len(gaps) < 3:
                gaps.append(
                    {
                        k: (None if v is None else "<other>" if v == "\x00other" else v)
                        for k, v in zip(table.inputs, combo, strict=True)
                    }
                )
            continue
        reached |= mask & -mask if table.hit == "first" else mask
    problems = [Problem(file, where, f"gap: no row matches {example}") for example in gaps]
    why = (
        "earlier rows take every input it matches"
        if table.hit == "first"
        else ("no input matches it")
    )
    problems += [
        Problem(file, f"{where}.rows.{k}", f"unreachable: {why}")
        for k in range(len(table.cells))
        if not reached >> k & 1
    ]
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
    if table.hit != "first" or any(t in ("boolean", "date") for t in table.types):
        return None
    regions = _regions(table, frozenset(), exact=False)
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
    first = [_first(mask) for _, mask in _hits(table, regions)]
    return RegionIndex(table.inputs, tuple(texts), tuple(points), tuple(strides), tuple(first))
