"""Variable specs: a compact YAML file that expands into thousands of named risk variables.

A spec names its event *sources* (a table, its timestamp, its event id, the column holding each
*entity* key, the value columns), reusable *filters*, and *groups* that expand combinatorially:
every source × entity × window × filter × aggregation of a group is one variable with a stable,
self-explaining name such as ``app_cnt_person_7d`` and a generated description. *Trends* are
ratios between two windows of the same variable; *expressions* combine any variables.

Names follow ``{source}_{aggregation}[_{column}]_{entity}_{window}[_{filter}]``; aggregation
codes are ``cnt`` (count), ``dcnt`` (distinct count), ``sum``, ``avg``, ``std`` (population),
``min``, ``max``, ``last``, ``dfirst``/``dlast`` (days since the first/last event) and
``share`` (share of events matching a filter). A trend is ``{variable}_vs_{window}``.

Examples
--------
>>> spec = load_spec('''
... schema_version: 1
... sources:
...   app:
...     timestamp: applied_at
...     id: application_id
...     entities: {person: person_id, device: device_id}
...     columns: {institution_id: int, amount: {column: requested_amount_fen, type: int}}
... groups:
...   - source: app
...     entities: [person]
...     windows: [7d, 30d]
...     aggregations: [count, {distinct: institution_id}]
... trends:
...   - {source: app, entities: [person], aggregations: [count], pairs: [[7d, 30d]]}
... ''')
>>> for v in spec.variables:
...     print(v.name)
app_cnt_person_7d
app_dcnt_institution_id_person_7d
app_cnt_person_30d
app_dcnt_institution_id_person_30d
app_cnt_person_7d_vs_30d
>>> spec.variable("app_dcnt_institution_id_person_30d").description
'Distinct institution_id among app events of the same person in the 30 days before'
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from fengkong._yaml_lines import with_lines
from fengkong.errors import ConfigError, InvalidArgumentError, Problem
from fengkong.features.expression import Expression, parse_expression

__all__ = [
    "AGGREGATIONS",
    "DAY_US",
    "Aggregate",
    "Derived",
    "Filter",
    "Source",
    "VariableSpec",
    "builtin_specs",
    "check_spec",
    "load_spec",
    "parse_window",
]

SCHEMA_VERSION = 1
DAY_US = 86_400_000_000
_UNITS = {"m": 60_000_000, "h": 3_600_000_000, "d": DAY_US, "w": 7 * DAY_US}
_WINDOW = re.compile(r"^([1-9][0-9]*)([mhdw])$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

#: aggregation -> (name code, needs a column, column type it needs, description template)
AGGREGATIONS: dict[str, tuple[str, bool, str | None, str]] = {
    "count": ("cnt", False, None, "Number of {src} events"),
    "distinct": ("dcnt", True, None, "Distinct {col} among {src} events"),
    "sum": ("sum", True, "int", "Sum of {col} over {src} events"),
    "mean": ("avg", True, "int", "Mean {col} over {src} events"),
    "std": ("std", True, "int", "Population standard deviation of {col} over {src} events"),
    "min": ("min", True, "int", "Smallest {col} among {src} events"),
    "max": ("max", True, "int", "Largest {col} among {src} events"),
    "last": ("last", True, None, "{col} of the latest {src} event"),
    "days_since_first": ("dfirst", False, None, "Days since the first {src} event"),
    "days_since_last": ("dlast", False, None, "Days since the latest {src} event"),
    "share": ("share", True, None, "Share of {src} events matching filter {col}"),
}
ColumnType = Literal["int", "str", "bool"]
_OPS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "is_null", "not_null")


def parse_window(text: object) -> int | None:
    """A window as microseconds (``None`` for ``all``).

    >>> parse_window("7d"), parse_window("1h"), parse_window("all")
    (604800000000, 3600000000, None)
    >>> parse_window("7 days")
    Traceback (most recent call last):
    ...
    ValueError: window: expected a number and a unit (m, h, d, w) such as 7d, or all; got '7 days'
    """
    if text == "all":
        return None
    match = _WINDOW.match(str(text))
    if not match:
        raise ValueError(
            f"window: expected a number and a unit (m, h, d, w) such as 7d, or all; got {text!r}"
        )
    return int(match.group(1)) * _UNITS[match.group(2)]


@dataclass(frozen=True, slots=True)
class Source:
    """An event source: where its rows live and which columns mean what."""

    name: str
    table: str
    timestamp: str
    id: str
    entities: Mapping[str, str]
    columns: Mapping[str, tuple[str, ColumnType]]  # alias -> (column, type)
    # when a row becomes known (see :func:`parse_known`): the column read (default: the
    # timestamp), whether at the end of its day, and a delay after that
    known_column: str | None = None
    known_end_of_day: bool = False
    known_delay_us: int = 0

    @property
    def known_from(self) -> str:
        """The column whose time says when a row becomes known."""
        return self.known_column or self.timestamp

    @property
    def known_rule(self) -> bool:
        """Whether the source says how long after a day's midnight a date is known (a date
        column, the timestamp or the one ``known`` names, needs it)."""
        return self.known_end_of_day or self.known_delay_us > 0

    def known_us(self, us: int) -> int:
        """When a row whose ``known_from`` time is ``us`` becomes known.

        >>> Source("loan", "loans", "on", "id", {}, {}, known_end_of_day=True).known_us(DAY_US + 5)
        172800000000
        """
        if self.known_end_of_day:
            us = (us // DAY_US + 1) * DAY_US
        return us + self.known_delay_us


def parse_known(raw: object) -> tuple[str | None, bool, int]:
    """A source's ``known`` rule: ``at`` (known at its timestamp), ``end_of_day`` (at the end
    of its timestamp's day: what a date column needs), a delay such as ``+1d``, or
    ``{column: recorded_at, after: 2h}``; as ``(column, end of day, delay in µs)``.

    >>> parse_known("end_of_day"), parse_known("+1d"), parse_known({"column": "booked_at"})
    ((None, True, 0), (None, False, 86400000000), ('booked_at', False, 0))
    """
    if raw in (None, "at"):
        return None, False, 0
    if raw == "end_of_day":
        return None, True, 0
    if isinstance(raw, str) and raw.startswith("+"):
        delay = parse_window(raw[1:])
        if delay:
            return None, False, delay
    if (
        isinstance(raw, dict)
        and isinstance(raw.get("column"), str)
        and set(raw) <= {"column", "after"}
    ):
        after = parse_window(raw["after"]) if "after" in raw else 0
        if after is not None:
            return raw["column"], False, after
    raise ValueError(
        "known: expected at, end_of_day, a delay such as +1d, or {column: <time column>, "
        f"after: <delay>}}; got {raw!r}"
    )


@dataclass(frozen=True, slots=True)
class Filter:
    """A predicate on one value column of a source, e.g. ``channel in [h5]``."""

    name: str
    column: str  # alias in the source's columns
    op: str
    value: Any = None

    def test(self, value: Any) -> bool:
        """Whether one event's value passes (nulls pass only ``is_null``, ``ne`` and ``not_in``)."""
        op = self.op
        if op == "is_null":
            return value is None
        if op == "not_null":
            return value is not None
        if value is None:
            return op in ("ne", "not_in")
        if op == "in":
            return bool(value in self.value)
        if op == "not_in":
            return bool(value not in self.value)
        return bool(
            {
                "eq": value == self.value,
                "ne": value != self.value,
                "lt": value < self.value,
                "le": value <= self.value,
                "gt": value > self.value,
                "ge": value >= self.value,
            }[op]
        )


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One windowed aggregation of one source's events sharing an entity key with the target."""

    name: str
    description: str
    source: str
    entity: str
    window: str
    window_us: int | None
    filter: str | None
    aggregation: str
    column: str | None  # alias in the source's columns (for share: the filter name)

    @property
    def stream(self) -> tuple[str, str, str | None]:
        """The event stream it reads: (source, entity, filter)."""
        return (self.source, self.entity, self.filter)


@dataclass(frozen=True, slots=True)
class Derived:
    """A variable computed from other variables: a trend (ratio) or an expression."""

    name: str
    description: str
    expression: Expression


@dataclass(frozen=True, slots=True)
class VariableSpec:
    """A validated, expanded spec. ``variables`` lists aggregates, then derived ones."""

    name: str
    boundary: Literal["exclusive", "inclusive"]
    lateness_us: int
    sources: Mapping[str, Source]
    filters: Mapping[str, Filter]
    aggregates: tuple[Aggregate, ...]
    derived: tuple[Derived, ...]
    file: str = "<spec>"
    sha256: str = ""  # of the spec's content: online state is valid for this content only
    _index: dict[str, Aggregate | Derived] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        everything: tuple[Aggregate | Derived, ...] = (*self.aggregates, *self.derived)
        for var in everything:
            self._index[var.name] = var

    @property
    def variables(self) -> tuple[Aggregate | Derived, ...]:
        """Every variable, aggregates first, in spec order."""
        return (*self.aggregates, *self.derived)

    @property
    def names(self) -> list[str]:
        """Every variable name, in output order."""
        return [v.name for v in self.variables]

    def variable(self, name: str) -> Aggregate | Derived:
        """The variable called ``name``."""
        return self._index[name]

    def horizon_us(self) -> int:
        """The longest finite window: how long the online engine keeps raw events."""
        finite = [a.window_us for a in self.aggregates if a.window_us is not None]
        return max(finite, default=0)

    def streams(self) -> dict[tuple[str, str, str | None], list[Aggregate]]:
        """Aggregates grouped by the event stream they read."""
        out: dict[tuple[str, str, str | None], list[Aggregate]] = {}
        for agg in self.aggregates:
            out.setdefault(agg.stream, []).append(agg)
        return out

    def target_entities(self, target: str) -> dict[str, str]:
        """entity -> column in the target source, for every entity the spec aggregates by."""
        src = self.sources[target]
        wanted = dict.fromkeys(a.entity for a in self.aggregates)
        missing = [e for e in wanted if e not in src.entities]
        if missing:
            raise InvalidArgumentError(
                f"sources.{target}.entities",
                expected=f"a key column for every entity the variables use ({', '.join(wanted)})",
                got=f"none for {', '.join(missing)}",
            )
        return {e: src.entities[e] for e in wanted}


# ---------------------------------------------------------------------------------------------
# parsing


class _Collector:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, path, message))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _parse_sources(raw: Any, c: _Collector) -> dict[str, Source]:
    sources: dict[str, Source] = {}
    if not isinstance(raw, dict) or not raw:
        c.add("sources", "expected a mapping of source name to its description")
        return sources
    for name, body in raw.items():
        path = f"sources.{name}"
        if not isinstance(name, str) or not _NAME.match(name):
            c.add(path, "source names are lower-case letters, digits and _")
            continue
        if not isinstance(body, dict):
            c.add(path, "expected a mapping with timestamp, id, entities and columns")
            continue
        unknown = set(body) - {
            "table",
            "timestamp",
            "id",
            "entities",
            "columns",
            "known",
            "description",
        }
        for key in sorted(unknown):
            c.add(f"{path}.{key}", "unknown key")
        for key in ("timestamp", "id"):
            if not isinstance(body.get(key), str):
                c.add(f"{path}.{key}", "expected the name of a column")
        entities = body.get("entities")
        if not isinstance(entities, dict) or not entities:
            c.add(f"{path}.entities", "expected a mapping of entity name to key column")
            entities = {}
        columns: dict[str, tuple[str, ColumnType]] = {}
        for alias, decl in (body.get("columns") or {}).items():
            cpath = f"{path}.columns.{alias}"
            full = {"column": alias, "type": decl} if isinstance(decl, str) else decl
            if not isinstance(full, dict) or full.get("type") not in ("int", "str", "bool"):
                c.add(cpath, "expected a type (int, str or bool) or {column: ..., type: ...}")
                continue
            columns[str(alias)] = (str(full.get("column", alias)), full["type"])
        try:
            known = parse_known(body.get("known"))
        except ValueError as exc:
            c.add(f"{path}.known", str(exc))
            known = (None, False, 0)
        sources[name] = Source(
            name=name,
            table=str(body.get("table", name)),
            timestamp=str(body.get("timestamp")),
            id=str(body.get("id")),
            entities={str(k): str(v) for k, v in entities.items()},
            columns=columns,
            known_column=known[0],
            known_end_of_day=known[1],
            known_delay_us=known[2],
        )
    return sources


def _parse_filters(raw: Any, sources: Mapping[str, Source], c: _Collector) -> dict[str, Filter]:
    filters: dict[str, Filter] = {}
    for name, body in (raw or {}).items():
        path = f"filters.{name}"
        if not isinstance(name, str) or not _NAME.match(name):
            c.add(path, "filter names are lower-case letters, digits and _")
            continue
        if not isinstance(body, dict) or "column" not in body:
            c.add(path, f"expected {{column: ..., <op>: value}} with op one of {', '.join(_OPS)}")
            continue
        ops = [k for k in body if k != "column"]
        if len(ops) != 1 or ops[0] not in _OPS:
            c.add(path, f"expected exactly one operator out of {', '.join(_OPS)}; got {ops}")
            continue
        op = ops[0]
        value = body[op]
        listed = _as_list(value) if op in ("in", "not_in") else [value]
        odd = [v for v in listed if v is not None and not isinstance(v, str | int | float | bool)]
        if odd:  # YAML reads 2026-01-01 as a date: no column of a source holds one
            c.add(
                f"{path}.{op}", f"expected text (quote it), a number or true/false; got {odd[0]!r}"
            )
            continue
        if op in ("in", "not_in"):
            value = frozenset(listed)
        column = str(body["column"])
        if not any(column in s.columns for s in sources.values()):
            c.add(f"{path}.column", f"no source declares a column {column!r}")
        filters[name] = Filter(name, column, op, value)
    return filters


def _human(window: str) -> str:
    number, unit = window[:-1], {"m": "minute", "h": "hour", "d": "day", "w": "week"}[window[-1]]
    return f"{number} {unit}{'' if number == '1' else 's'}"


def _describe(
    agg: str, src: str, col: str | None, entity: str, window: str, flt: str | None
) -> str:
    text = AGGREGATIONS[agg][3].format(src=src, col=col)
    text = text[0].upper() + text[1:]
    span = "at any time before" if window == "all" else f"in the {_human(window)} before"
    where = f", filter {flt}" if flt else ""
    return f"{text} of the same {entity}{where} {span}"


def _parse_groups(
    raw: Any,
    sources: Mapping[str, Source],
    filters: Mapping[str, Filter],
    c: _Collector,
) -> list[Aggregate]:
    out: list[Aggregate] = []
    if not isinstance(raw, list) or not raw:
        c.add("groups", "expected a list of variable groups")
        return out
    for i, group in enumerate(raw):
        path = f"groups.{i}"
        if not isinstance(group, dict):
            c.add(path, "expected a mapping with source, entities, windows and aggregations")
            continue
        for key in sorted(
            set(group) - {"source", "entities", "windows", "filters", "aggregations"}
        ):
            c.add(f"{path}.{key}", "unknown key")
        src = sources.get(group.get("source", ""))
        if src is None:
            c.add(
                f"{path}.source", f"expected one of {sorted(sources)}; got {group.get('source')!r}"
            )
            continue
        entities = _as_list(group.get("entities") or [])
        for j, ent in enumerate(entities):
            if ent not in src.entities:
                c.add(f"{path}.entities.{j}", f"source {src.name} has no entity {ent!r}")
        windows: list[tuple[str, int | None]] = []
        for j, win in enumerate(_as_list(group.get("windows") or [])):
            try:
                windows.append((str(win), parse_window(win)))
            except ValueError as exc:
                c.add(f"{path}.windows.{j}", str(exc))
        flts = _as_list(group.get("filters", [None]))
        for j, flt in enumerate(flts):
            if flt is not None and flt not in filters:
                c.add(f"{path}.filters.{j}", f"unknown filter {flt!r}")
            elif flt is not None and filters[flt].column not in src.columns:
                c.add(
                    f"{path}.filters.{j}",
                    f"source {src.name} has no column {filters[flt].column!r}",
                )
        aggs: list[tuple[str, str | None]] = []
        for j, item in enumerate(_as_list(group.get("aggregations") or [])):
            apath = f"{path}.aggregations.{j}"
            agg, col = (
                next(iter(item.items()))
                if isinstance(item, dict) and len(item) == 1
                else (item, None)
            )
            if agg not in AGGREGATIONS:
                c.add(apath, f"expected one of {', '.join(AGGREGATIONS)}; got {agg!r}")
                continue
            _, needs, col_type, _ = AGGREGATIONS[agg]
            if needs and col is None:
                c.add(apath, f"{agg} needs a column: {{{agg}: <column>}}")
                continue
            if not needs and col is not None:
                c.add(apath, f"{agg} takes no column")
                continue
            if agg == "share":
                if not isinstance(col, str) or col not in filters:
                    c.add(apath, f"share needs a filter name; unknown filter {col!r}")
                    continue
                if filters[col].column not in src.columns:
                    c.add(apath, f"source {src.name} has no column {filters[col].column!r}")
                    continue
            elif col is not None:
                if col not in src.columns:
                    c.add(apath, f"source {src.name} has no column {col!r}")
                    continue
                if col_type and src.columns[col][1] != col_type:
                    c.add(
                        apath, f"{agg} needs an {col_type} column; {col} is {src.columns[col][1]}"
                    )
                    continue
            aggs.append((agg, col))
        if not (entities and windows and aggs):
            c.add(path, "a group needs at least one entity, window and aggregation")
            continue
        for ent, (win, win_us), flt, (agg, col) in itertools.product(entities, windows, flts, aggs):
            code = AGGREGATIONS[agg][0]
            parts = [src.name, code, col, ent, win, flt]
            name = "_".join(p for p in parts if p)
            out.append(
                Aggregate(
                    name=name,
                    description=_describe(agg, src.name, col, ent, win, flt),
                    source=src.name,
                    entity=ent,
                    window=win,
                    window_us=win_us,
                    filter=flt,
                    aggregation=agg,
                    column=col,
                )
            )
    return out


def _parse_trends(raw: Any, aggs: Sequence[Aggregate], c: _Collector) -> list[Derived]:
    by_key = {(a.source, a.entity, a.filter, a.aggregation, a.column, a.window): a for a in aggs}
    out: list[Derived] = []
    for i, trend in enumerate(raw or []):
        path = f"trends.{i}"
        if not isinstance(trend, dict):
            c.add(path, "expected a mapping with source, entities, aggregations and pairs")
            continue
        items = [
            next(iter(x.items())) if isinstance(x, dict) else (x, None)
            for x in _as_list(trend.get("aggregations") or [])
        ]
        pairs = trend.get("pairs") or []
        for ent, flt, (agg, col), pair in itertools.product(
            _as_list(trend.get("entities") or []),
            _as_list(trend.get("filters", [None])),
            items,
            pairs,
        ):
            if not (isinstance(pair, list) and len(pair) == 2):
                c.add(f"{path}.pairs", f"expected [short window, long window]; got {pair!r}")
                continue
            key = (str(trend.get("source")), ent, flt, agg, col)
            short, long = by_key.get((*key, str(pair[0]))), by_key.get((*key, str(pair[1])))
            if short is None or long is None:
                c.add(
                    path,
                    f"no group defines {agg} of {col or 'events'} by {ent} over both"
                    f" {pair[0]} and {pair[1]}",
                )
                continue
            name = f"{short.name.removesuffix('_' + flt) if flt else short.name}_vs_{long.window}"
            name = f"{name}_{flt}" if flt else name
            out.append(
                Derived(
                    name=name,
                    description=f"{short.name} / {long.name}: recent activity against the longer"
                    " window (null when the longer window is 0)",
                    expression=parse_expression(f"{short.name} / {long.name}"),
                )
            )
    return out


def _parse_expressions(raw: Any, known: set[str], c: _Collector) -> list[Derived]:
    out: list[Derived] = []
    for i, item in enumerate(raw or []):
        path = f"expressions.{i}"
        if not isinstance(item, dict) or not {"name", "expression"} <= set(item):
            c.add(path, "expected {name: ..., expression: ..., description: ...}")
            continue
        name = str(item["name"])
        if not _NAME.match(name):
            c.add(f"{path}.name", "names are lower-case letters, digits and _")
            continue
        try:
            expr = parse_expression(str(item["expression"]))
        except ValueError as exc:
            c.add(f"{path}.expression", str(exc))
            continue
        for ref in sorted(expr.names - known):
            c.add(f"{path}.expression", f"unknown variable {ref!r}")
        out.append(Derived(name, str(item.get("description", item["expression"])), expr))
        known.add(name)
    return out


def _build(raw: Any, file: str) -> tuple[VariableSpec | None, list[Problem]]:
    c = _Collector(file)
    if not isinstance(raw, dict):
        c.add("", "expected a mapping at the top of the spec")
        return None, c.problems
    allowed = {
        "schema_version",
        "name",
        "boundary",
        "lateness",
        "sources",
        "filters",
        "groups",
        "trends",
        "expressions",
    }
    for key in sorted(set(raw) - allowed):
        c.add(key, "unknown key")
    if raw.get("schema_version") != SCHEMA_VERSION:
        c.add("schema_version", f"expected {SCHEMA_VERSION}; got {raw.get('schema_version')!r}")
    boundary = raw.get("boundary", "exclusive")
    if boundary not in ("exclusive", "inclusive"):
        c.add("boundary", f"expected exclusive or inclusive; got {boundary!r}")
    lateness_us = 0
    try:
        lateness_us = parse_window(raw.get("lateness", "1h")) or 0
    except ValueError as exc:
        c.add("lateness", str(exc))
    sources = _parse_sources(raw.get("sources"), c)
    filters = _parse_filters(raw.get("filters"), sources, c)
    aggs = _parse_groups(raw.get("groups"), sources, filters, c) if sources else []
    derived = _parse_trends(raw.get("trends"), aggs, c)
    known = {a.name for a in aggs} | {d.name for d in derived}
    derived += _parse_expressions(raw.get("expressions"), known, c)
    seen: set[str] = set()
    every: list[Aggregate | Derived] = [*aggs, *derived]
    for var in every:
        if var.name in seen:
            c.add("groups", f"variable {var.name} is defined twice")
        seen.add(var.name)
    if c.problems:
        return None, c.problems
    spec = VariableSpec(
        name=str(raw.get("name", Path(file).stem)),
        boundary=boundary,
        lateness_us=lateness_us,
        sources=sources,
        filters=filters,
        aggregates=tuple(aggs),
        derived=tuple(derived),
        file=file,
        sha256=hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest(),
    )
    return spec, []


def builtin_specs() -> dict[str, Path]:
    """Specs shipped with fengkong, by name (``application_risk``: for the synthetic book)."""
    folder = Path(str(resources.files("fengkong.features") / "data"))
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def _read(source: str | Path) -> tuple[Any, str, str]:
    """The parsed document, the name problems carry and the text (for their lines)."""
    if isinstance(source, str) and source in builtin_specs():
        source = builtin_specs()[source]
    if isinstance(source, Path) or ("\n" not in source and source.endswith((".yaml", ".yml"))):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                [Problem(str(path), "", f"cannot read the file: {exc.strerror}")]
            ) from exc
        name = str(path)
    else:
        text, name = str(source), "<spec>"
    try:
        return yaml.safe_load(text), name, text
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError([Problem(name, "", f"not valid YAML: {exc}", line)]) from exc


def check_spec(source: str | Path) -> list[Problem]:
    """Every problem in a spec (file path or YAML text), each with its line; an empty list
    when it is valid. An unreadable file or invalid YAML raises
    :class:`~fengkong.errors.ConfigError`.

    >>> for p in check_spec("schema_version: 2\\nsources: {}\\ngroups: []"):
    ...     print(p)
    <spec>:1: schema_version: expected 1; got 2
    <spec>:2: sources: expected a mapping of source name to its description
    """
    raw, name, text = _read(source)
    return with_lines(_build(raw, name)[1], text)


def load_spec(source: str | Path) -> VariableSpec:
    """A validated, expanded spec from a file path, YAML text or a shipped spec's name.

    >>> len(load_spec("application_risk").variables) > 300
    True

    Raises :class:`~fengkong.errors.ConfigError` holding every problem found.
    """
    raw, name, text = _read(source)
    spec, problems = _build(raw, name)
    if spec is None:
        raise ConfigError(with_lines(problems, text))
    return spec
