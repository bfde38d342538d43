"""The batch engine: every variable of a spec, point-in-time correct, for every target event.

For a target at time ``t`` the events it may see are those of the same entity key with

* ``boundary: exclusive`` (the default): timestamp strictly before ``t``; events at the same
  instant are invisible to each other;
* ``boundary: inclusive``: timestamp before ``t``, or equal to ``t`` and earlier in event-id
  order when the target is itself an event of that source (for another source: every event at
  ``t``). The target never sees itself; that is the documented tie rule.

A window ``7d`` covers ``[t - 7d, t)`` on top of that rule: an event exactly seven days old is
in. Targets whose key is null get null for that entity's variables; events with a null key
or a null timestamp are refused with an error naming the column (see :func:`prepare_events`).

Work is done per event *stream* (source × entity × filter): one sort by (key, time, id), then
compiled sliding-window kernels and prefix sums, O(events + targets) per window.

Examples
--------
>>> import datetime as dt
>>> import polars as pl
>>> from fengkong.features import load_spec
>>> spec = load_spec('''
... schema_version: 1
... sources:
...   app: {timestamp: at, id: id, entities: {person: pid}, columns: {inst: int}}
... groups:
...   - {source: app, entities: [person], windows: [1d, all], aggregations: [count, {distinct: inst}]}
... ''')
>>> t = dt.datetime(2026, 1, 1)
>>> apps = pl.DataFrame({"id": [1, 2, 3, 4], "pid": [7, 7, 7, 8], "inst": [1, 2, 1, 1],
...                      "at": [t, t + dt.timedelta(hours=1), t + dt.timedelta(days=2), t]})
>>> frame = build_variables(spec, {"app": apps}, target="app")
>>> frame.columns
['id', 'app_cnt_person_1d', 'app_dcnt_inst_person_1d', 'app_cnt_person_all', 'app_dcnt_inst_person_all']
>>> frame.rows()
[(1, 0, 0, 0, 0), (2, 1, 1, 1, 1), (3, 0, 0, 2, 2), (4, 0, 0, 0, 0)]
"""

from __future__ import annotations

import itertools
import math
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from fengkong.errors import InvalidArgumentError, OutputError
from fengkong.features._kernels import (
    counting_order,
    group_bounds,
    scatter_count,
    scatter_days,
    scatter_diff,
    scatter_ratio,
    scatter_std,
    sliding_distinct,
    sliding_extreme,
    window_starts,
)
from fengkong.features.spec import DAY_US, Aggregate, Filter, Source, VariableSpec

__all__ = ["build_variables", "filter_expr", "prepare_events", "write_variables"]

Frame = pl.DataFrame | pl.LazyFrame
Progress = Callable[[int], None]
_SID_MIN = np.iinfo(np.int64).min
_SID_MAX = np.iinfo(np.int64).max
_COUNT_DTYPE = pl.Int32


def filter_expr(flt: Filter, column: str) -> pl.Expr:
    """A filter as a Polars boolean expression (never null; the same null rules as the row test)."""
    col = pl.col(column)
    op, value = flt.op, flt.value
    if op == "is_null":
        return col.is_null()
    if op == "not_null":
        return col.is_not_null()
    if op in ("in", "not_in"):
        hit = col.is_in(sorted(value, key=repr)).fill_null(False)
        return (~hit | col.is_null()) if op == "not_in" else hit & col.is_not_null()
    compare: pl.Expr = {
        "eq": col == value,
        "ne": col != value,
        "lt": col < value,
        "le": col <= value,
        "gt": col > value,
        "ge": col >= value,
    }[op]
    return (compare | col.is_null()) if op == "ne" else compare.fill_null(False)


def _timestamp_us(column: str, schema: pl.Schema) -> pl.Expr:
    dtype = schema[column]
    if dtype == pl.Date:
        return pl.col(column).cast(pl.Datetime("us")).cast(pl.Int64)
    if isinstance(dtype, pl.Datetime):
        return pl.col(column).dt.cast_time_unit("us").cast(pl.Int64)
    if dtype.is_integer():
        return pl.col(column).cast(pl.Int64)
    raise InvalidArgumentError(
        column,
        expected="a Date, Datetime or integer (microseconds) timestamp column",
        got=str(dtype),
    )


def _known_us(source: Source, schema: pl.Schema, role: str) -> pl.Expr:
    """When each row becomes known (µs): its time by the source's ``known`` rule. A date
    says nothing of the hour, so a date column needs a rule (``end_of_day``, a delay): taken
    at its midnight, a loan disbursed that day would be seen by the application that made it."""
    column = source.known_from
    if schema[column] == pl.Date and not source.known_rule:
        raise InvalidArgumentError(
            f"{role}.{source.name}.{column}",
            expected="a visibility rule for a date column (known: end_of_day, or a delay "
            "such as +1d): a date row is not known at its midnight",
            got="known: at",
        )
    us = _timestamp_us(column, schema)
    if source.known_end_of_day:
        us = (us // DAY_US + 1) * DAY_US
    return us + source.known_delay_us if source.known_delay_us else us


def prepare_events(source: Source, frame: Frame, *, role: str = "events") -> pl.DataFrame:
    """A source's rows with ``__ts`` (µs) and ``__id`` added, every declared column checked.

    Raises :class:`~fengkong.errors.InvalidArgumentError` naming the first missing or null
    column (``events.app.applied_at``) and what was expected.
    """
    lazy = frame.lazy()
    schema = lazy.collect_schema()
    needed = [source.timestamp, source.known_from, source.id, *source.entities.values()]
    needed += [col for col, _ in source.columns.values()]
    for column in dict.fromkeys(needed):
        if column not in schema:
            raise InvalidArgumentError(
                f"{role}.{source.name}.{column}",
                expected=f"a column named {column!r}",
                got=f"columns {list(schema)}",
            )
    _check_types(source, schema, role)
    if not (schema[source.id].is_integer() or schema[source.id] == pl.Null):
        raise InvalidArgumentError(  # online takes integer ids only: 1.5 is no id, nor is 1.0
            f"{role}.{source.name}.{source.id}",
            expected="integer event ids",
            got=str(schema[source.id]),
        )
    aliases = [
        pl.col(col).alias(alias) for alias, (col, _) in source.columns.items() if alias != col
    ]
    df = lazy.select(
        *dict.fromkeys(needed),
        *aliases,
        _known_us(source, schema, role).alias("__ts"),
        pl.col(source.id).cast(pl.Int64).alias("__id"),
    ).collect()
    for column, internal in ((source.timestamp, "__ts"), (source.id, "__id")):
        nulls = df[internal].null_count()
        if nulls:
            raise InvalidArgumentError(
                f"{role}.{source.name}.{column}",
                expected="a value on every row",
                got=f"{nulls} null rows",
            )
    return _once_per_id(source, df, role)


_KINDS: dict[str, Callable[[pl.DataType], bool]] = {
    "int": lambda t: t.is_integer(),
    "str": lambda t: t == pl.String or isinstance(t, pl.Categorical | pl.Enum),
    "bool": lambda t: t == pl.Boolean,
}


def _check_types(source: Source, schema: pl.Schema, role: str) -> None:
    """Every declared column holds its kind, as the online engine requires of each event (a
    float amount 1.7 is refused in both, never truncated to 1)."""
    for column, kind in source.columns.values():
        dtype = schema[column]
        if dtype != pl.Null and not _KINDS[kind](dtype):
            raise InvalidArgumentError(
                f"{role}.{source.name}.{column}",
                expected=f"a column of {kind} values (as declared)",
                got=str(dtype),
            )


def _once_per_id(source: Source, df: pl.DataFrame, role: str) -> pl.DataFrame:
    """Each event once: a repeated id is a re-delivery and counts once (as online); copies
    that differ (another time or value) are refused, naming the id column."""
    ids = df["__id"].to_numpy()
    if len(ids) < 2 or bool((ids[1:] > ids[:-1]).all()):  # ids in order: none repeats (fast)
        return df
    if not df["__id"].is_duplicated().any():
        return df
    distinct = df.unique(maintain_order=True)
    clash = distinct.filter(pl.col("__id").is_duplicated())
    if clash.height:
        raise InvalidArgumentError(
            f"{role}.{source.name}.{source.id}",
            expected="one event per id (a re-delivered event must be identical)",
            got=f"{clash['__id'].n_unique()} ids with differing rows, e.g. {clash['__id'][0]}",
        )
    return distinct


@dataclass(slots=True)
class _Layout:
    """Events of one stream sorted by (key, ts, id) and the targets in matching order."""

    ev: pl.DataFrame  # the stream's events (key not null), in input order
    perm: npt.NDArray[np.int64]  # ev rows in (key, ts, id) order
    ev_ts: npt.NDArray[np.int64]
    t: npt.NDArray[np.int64]  # target times, in target order
    row: npt.NDArray[np.int64]  # target row in the caller's frame
    gstart: npt.NDArray[np.int64]
    end: npt.NDArray[np.int64]


def _key_codes(series: pl.Series) -> npt.NDArray[np.int64]:
    """Integer keys as they are; other keys as 64-bit hashes (collisions checked by the caller)."""
    if series.dtype.is_integer():
        return series.cast(pl.Int64).to_numpy()
    return series.hash(seed=0x5EED).to_numpy().view(np.int64)


def _sort_order(
    ev: pl.DataFrame, key: str, codes_np: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Row order by (key, ts, id): a stable sort by key when rows already come in (ts, id) order."""
    ts, ids = ev["__ts"].to_numpy(), ev["__id"].to_numpy()
    step = np.diff(ts)
    ordered = bool((step >= 0).all()) and bool((np.diff(ids)[step == 0] > 0).all())
    codes = pl.Series("k", codes_np)
    if ordered and ev.schema[key].is_integer() and len(codes_np):
        lo, hi = int(codes_np.min()), int(codes_np.max())
        if hi - lo < 4 * len(codes_np) + 1024:
            return counting_order(codes_np, lo, hi - lo + 1)  # type: ignore[no-any-return,unused-ignore]
    if ordered:
        frame = codes.to_frame()
        perm = frame.select(pl.arg_sort_by("k", maintain_order=True)).to_series().to_numpy()
    else:
        frame = pl.DataFrame({"k": codes, "t": ts, "i": ids})
        perm = frame.select(pl.arg_sort_by(["k", "t", "i"])).to_series().to_numpy()
    if not ev.schema[key].is_integer():
        k = codes.to_numpy()[perm]
        same = k[1:] == k[:-1]
        if same.any():
            values = ev[key].gather(perm)
            clash = pl.Series(same) & (values.slice(1) != values.slice(0, len(values) - 1))
            if clash.any():  # two keys share a hash: sort by the keys themselves
                exact = ev.select(pl.arg_sort_by([key, "__ts", "__id"]))
                return exact.to_series().to_numpy().astype(np.int64)
    return perm.astype(np.int64)


def _layout(
    events: pl.DataFrame,
    key: str,
    targets: pl.DataFrame,
    target_key: str,
    *,
    same_source: bool,
    inclusive: bool,
    self_targets: bool,
) -> _Layout:
    if self_targets:
        ev = events
        rows_of_ev: npt.NDArray[np.int64] | None = None
        if ev[key].null_count():
            rows_of_ev = np.flatnonzero(ev[key].is_not_null().to_numpy()).astype(np.int64)
            ev = ev.filter(pl.col(key).is_not_null())
        codes = _key_codes(ev[key])
        perm = _sort_order(ev, key, codes)
        ev_ts, gstart, end = group_bounds(codes, ev["__ts"].to_numpy(), perm, inclusive)
        rows = perm if rows_of_ev is None else rows_of_ev[perm]
        return _Layout(ev, perm, ev_ts, ev_ts, rows, gstart, end)
    ev = events.filter(pl.col(key).is_not_null())
    # where a target sorts among tied events: after earlier ids, after all, or before all
    sid = (
        (pl.col("__id") if same_source else pl.lit(_SID_MAX, pl.Int64))
        if inclusive
        else pl.lit(_SID_MIN, pl.Int64)
    )
    tg = (
        targets.with_row_index("__row")
        .filter(pl.col(target_key).is_not_null())
        .select(
            pl.col(target_key).cast(ev.schema[key]).alias(key),
            "__ts",
            sid.alias("__sid"),
            pl.lit(0, pl.Int8).alias("__kind"),
            pl.col("__row").cast(pl.Int64),
        )
    )
    evk = ev.select(
        key,
        "__ts",
        pl.col("__id").alias("__sid"),
        pl.lit(1, pl.Int8).alias("__kind"),
        pl.lit(-1, pl.Int64).alias("__row"),
    )
    perm = ev.select(pl.arg_sort_by([key, "__ts", "__id"])).to_series().to_numpy()
    merged = (
        pl.concat([tg, evk])
        .sort([key, "__ts", "__sid", "__kind"])
        .with_columns(
            (pl.col(key) != pl.col(key).shift()).fill_null(True).alias("__new"),
            (pl.col("__kind").cast(pl.Int64).cum_sum() - pl.col("__kind").cast(pl.Int64)).alias(
                "__before"
            ),
        )
    )
    merged = merged.with_columns(
        pl.when("__new").then("__before").otherwise(None).forward_fill().alias("__gstart")
    ).filter(pl.col("__kind") == 0)
    return _Layout(
        ev,
        perm,
        ev["__ts"].to_numpy()[perm],
        merged["__ts"].to_numpy(),
        merged["__row"].to_numpy(),
        merged["__gstart"].to_numpy(),
        merged["__before"].to_numpy(),
    )


def _value_codes(series: pl.Series) -> npt.NDArray[np.int64]:
    """Dense non-negative codes of a column's values, ``-1`` for null (small int ranges kept as is)."""
    if series.dtype.is_integer() and len(series) and series.null_count() < len(series):
        lo, hi = series.min(), series.max()
        assert isinstance(lo, int) and isinstance(hi, int)
        if hi - lo < 4 * len(series) + 1024:
            return (series.cast(pl.Int64) - lo).fill_null(-1).to_numpy()
    ranked = series.rank("dense").cast(pl.Int64) - 1
    return ranked.fill_null(-1).to_numpy()


def _exact_std(
    values: npt.NDArray[np.int64],
    counts: npt.NDArray[np.int64],
    start: npt.NDArray[np.int64],
    end: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
    n: int,
) -> npt.NDArray[np.float64]:
    """The standard deviation with exact integer sums of squares (Python integers), for
    amounts so large that a window's sum of squares passes int64 — the same arithmetic as
    the online engine, which never wraps (``scatter_std`` does the common case compiled)."""
    sums = [0, *itertools.accumulate(values.tolist())]
    squares = [0, *itertools.accumulate(v * v for v in values.tolist())]
    out = np.full(n, np.nan)
    for a, b, row in zip(start.tolist(), end.tolist(), rows.tolist(), strict=True):
        k = int(counts[b] - counts[a])
        if k > 0:
            fs, fn = float(sums[b] - sums[a]), float(k)
            q = float(squares[b] - squares[a])
            out[row] = math.sqrt(max((q - fs * fs / fn) / fn, 0.0))
    return out


def _prefix(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    out = np.zeros(len(values) + 1, np.int64)
    np.cumsum(values, out=out[1:])  # wraps on overflow; window differences stay exact
    return out


def _scatter(
    n: int,
    rows: npt.NDArray[np.int64],
    values: Any,
    valid: npt.NDArray[np.bool_] | None,
    dtype: Any,
) -> pl.Series:
    out = np.zeros(n, dtype=values.dtype)
    out[rows] = values
    if valid is None and len(rows) == n:
        return pl.Series(out).cast(dtype)
    mask = np.zeros(n, np.bool_)
    mask[rows] = True if valid is None else valid
    series = pl.Series(out).cast(dtype)
    if mask.all():
        return series
    return pl.select(pl.when(pl.lit(pl.Series(mask))).then(pl.lit(series))).to_series()


def _stream_columns(
    spec: VariableSpec,
    aggs: Sequence[Aggregate],
    events: pl.DataFrame,
    targets: pl.DataFrame,
    target: str,
    self_targets: bool,
) -> dict[str, pl.Series]:
    source = spec.sources[aggs[0].source]
    entity, flt = aggs[0].entity, aggs[0].filter
    key = source.entities[entity]
    target_key = spec.target_entities(target)[entity]
    if flt is not None:
        events = events.filter(filter_expr(spec.filters[flt], spec.filters[flt].column))
    lay = _layout(
        events,
        key,
        targets,
        target_key,
        same_source=source.name == target,
        inclusive=spec.boundary == "inclusive",
        self_targets=self_targets and flt is None,
    )
    ev, n_targets = lay.ev, len(targets)
    cache: dict[tuple[str, Any], Any] = {}

    def column(alias: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
        if ("col", alias) not in cache:
            series = ev[alias].gather(lay.perm)
            cache[("col", alias)] = (
                series.fill_null(0).cast(pl.Int64).to_numpy(),
                series.is_not_null().to_numpy(),
            )
        return cache[("col", alias)]  # type: ignore[no-any-return]

    def prefix(kind: str, alias: str) -> npt.NDArray[np.int64]:
        if (kind, alias) not in cache:
            if kind == "share":
                f = spec.filters[alias]
                vals = (
                    ev.select(filter_expr(f, f.column))
                    .to_series()
                    .cast(pl.Int64)
                    .to_numpy()[lay.perm]
                )
            else:
                values, valid = column(alias)
                vals = {"sum": values, "sq": values * values, "n": valid.astype(np.int64)}[kind]
            cache[(kind, alias)] = _prefix(vals)
        return cache[(kind, alias)]  # type: ignore[no-any-return]

    out: dict[str, pl.Series] = {}
    values: npt.NDArray[Any]
    gstart, end, t, rows = lay.gstart, lay.end, lay.t, lay.row
    missing: npt.NDArray[np.bool_] | None = None
    if len(rows) < n_targets:
        missing = np.ones(n_targets, np.bool_)
        missing[rows] = False

    def ints(values: npt.NDArray[Any]) -> pl.Series:
        """An integer column, null where the target has no key."""
        if missing is None:
            return pl.Series(values)
        return pl.Series(pa.array(values, mask=missing))

    for agg in aggs:
        wkey = ("start", agg.window_us)
        if wkey not in cache:
            cache[wkey] = (
                gstart.copy()
                if agg.window_us is None
                else window_starts(lay.ev_ts, gstart, end, t - agg.window_us)
            )
        start = cache[wkey]
        count = end - start
        kind, col = agg.aggregation, agg.column
        if kind == "count":
            out[agg.name] = ints(scatter_count(start, end, rows, n_targets))
        elif kind == "distinct":
            assert col is not None
            if ("codes", col) not in cache:
                cache[("codes", col)] = _value_codes(ev[col])[lay.perm]
            codes_np = cache[("codes", col)]
            n_codes = int(codes_np.max()) + 1 if len(codes_np) else 0
            values = sliding_distinct(codes_np, max(n_codes, 1), gstart, start, end)
            full = np.zeros(n_targets, np.int32)
            full[rows] = values
            out[agg.name] = ints(full)
        elif kind == "sum":
            assert col is not None
            out[agg.name] = ints(scatter_diff(prefix("sum", col), start, end, rows, n_targets))
        elif kind == "mean":
            assert col is not None
            values = scatter_ratio(
                prefix("sum", col), prefix("n", col), start, end, rows, n_targets, False
            )
            out[agg.name] = pl.Series(values, nan_to_null=True)
        elif kind == "std":
            assert col is not None
            raw, _ = column(col)
            big = int(np.abs(raw).max(initial=0))
            longest = int((end - start).max(initial=0))
            if big * big * max(longest, 1) >= 2**63:  # a window's squares may pass int64
                values = _exact_std(raw, prefix("n", col), start, end, rows, n_targets)
            else:
                values = scatter_std(
                    prefix("sum", col),
                    prefix("sq", col),
                    prefix("n", col),
                    start,
                    end,
                    rows,
                    n_targets,
                )
            out[agg.name] = pl.Series(values, nan_to_null=True)
        elif kind == "share":
            assert col is not None
            cf = prefix("share", col)
            values = scatter_ratio(cf, cf, start, end, rows, n_targets, True)
            out[agg.name] = pl.Series(values, nan_to_null=True)
        elif kind in ("min", "max"):
            assert col is not None
            vals, valid = column(col)
            values, has = sliding_extreme(vals, valid, gstart, start, end, kind == "max")
            out[agg.name] = _scatter(n_targets, rows, values, has, pl.Int64)
        elif kind == "last":
            assert col is not None
            has = count > 0
            idx = np.where(has, end - 1, 0)
            picked = (
                ev[col].gather(lay.perm[idx]) if len(ev) else pl.Series(col, [], ev.schema[col])
            )
            full_s = pl.Series(col, [None] * n_targets, dtype=ev.schema[col])
            if has.any():
                full_s = full_s.scatter(rows[has], picked.filter(pl.Series(has)))
            out[agg.name] = full_s
        elif kind in ("days_since_first", "days_since_last"):
            values = scatter_days(
                lay.ev_ts, t, start, end, rows, n_targets, kind == "days_since_first", DAY_US
            )
            out[agg.name] = pl.Series(values, nan_to_null=True)
        out[agg.name] = out[agg.name].alias(agg.name)
    return out


def _inputs(
    spec: VariableSpec, events: Mapping[str, Frame], target: str, targets: Frame | None
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame, bool]:
    if target not in spec.sources:
        raise InvalidArgumentError("target", expected=f"one of {sorted(spec.sources)}", got=target)
    needed = {a.source for a in spec.aggregates}
    prepared: dict[str, pl.DataFrame] = {}
    for name in sorted(needed | {target} if targets is None else needed):
        if name not in events:
            raise InvalidArgumentError(
                f"events.{name}",
                expected="a frame for every source the spec reads",
                got=sorted(events),
            )
        prepared[name] = prepare_events(spec.sources[name], events[name])
    if targets is None:
        return prepared, prepared[target], True
    return prepared, prepare_events(spec.sources[target], targets, role="targets"), False


def _streams(
    spec: VariableSpec,
    events: Mapping[str, Frame],
    target: str,
    targets: Frame | None,
) -> tuple[pl.DataFrame, list[Callable[[], dict[str, pl.Series]]]]:
    prepared, tg, self_targets = _inputs(spec, events, target, targets)
    jobs: list[Callable[[], dict[str, pl.Series]]] = [
        partial(
            _stream_columns,
            spec,
            aggs,
            prepared[source],
            tg,
            target,
            self_targets and source == target,
        )
        for (source, _entity, _flt), aggs in spec.streams().items()
    ]
    return tg.select(pl.col(spec.sources[target].id)), jobs


def build_variables(
    spec: VariableSpec,
    events: Mapping[str, Frame],
    *,
    target: str,
    targets: Frame | None = None,
    progress: Progress | None = None,
) -> pl.DataFrame:
    """Every variable of ``spec`` for each target, in memory.

    Parameters
    ----------
    events : mapping of source name to frame
        The rows of every source the spec aggregates.
    target : str
        The source whose rows are the targets (usually the applications).
    targets : frame, optional
        Other target rows of that source (default: every row of ``events[target]``).
    progress : callable, optional
        Called with 1 after each event stream is done.

    Returns the target id column followed by every variable, one row per target, in order.
    For files larger than memory use :func:`write_variables`.
    """
    ids, jobs = _streams(spec, events, target, targets)
    columns: dict[str, pl.Series] = {}
    for job in jobs:
        columns.update(job())
        if progress:
            progress(1)
    frame = ids.with_columns(columns[a.name] for a in spec.aggregates)
    for var in spec.derived:
        frame = frame.with_columns(var.expression.to_polars().alias(var.name))
    return frame


def write_variables(
    spec: VariableSpec,
    events: Mapping[str, Frame],
    out: str | Path,
    *,
    target: str,
    targets: Frame | None = None,
    progress: Progress | None = None,
    row_group: int = 500_000,
) -> int:
    """Every variable for each target, written to one Parquet file with bounded memory.

    Event streams are computed two at a time (the kernels release the GIL); each stream's
    columns go to a temporary LZ4 Arrow file as soon as they are ready, then the output is
    streamed from those files with the derived variables added (zstd Parquet, ``row_group``
    rows per group). The file appears only when complete. Returns the number of rows written.
    ``progress`` is called once per stream and once at the end.
    """
    ids, jobs = _streams(spec, events, target, targets)
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(str(out), exc.strerror or str(exc)) from exc
    with tempfile.TemporaryDirectory(prefix="fengkong-features-", dir=out.parent) as tmp:

        def run(i: int) -> Path:
            part = Path(tmp) / f"stream-{i:04d}.arrow"
            pl.DataFrame(jobs[i]()).write_ipc(part, compression="lz4")
            return part

        with ThreadPoolExecutor(max_workers=2) as pool:
            parts = []
            for part in pool.map(run, range(len(jobs))):
                parts.append(part)
                if progress:
                    progress(1)
        frames = [ids.lazy(), *(pl.scan_ipc(p) for p in parts)]
        lazy = pl.concat(frames, how="horizontal").select(
            ids.columns[0], *(a.name for a in spec.aggregates)
        )
        if spec.derived:
            lazy = lazy.with_columns(v.expression.to_polars().alias(v.name) for v in spec.derived)
        partial = out.with_suffix(out.suffix + ".partial")
        lazy.sink_parquet(
            partial, compression="zstd", compression_level=1, row_group_size=row_group
        )
        partial.replace(out)
        if progress:
            progress(1)
    return len(ids)
