"""The online engine: ``observe(event)`` updates per-entity state, ``compute(application)``
returns every variable of the spec, equal to what the batch engine computes for it.

State is kept per event stream (source × entity × filter) and entity key: the events of the
last ``horizon`` (the longest finite window plus the allowed lateness), sorted by (time, id),
with running prefix sums, and a summary of everything older (counts, sums, extremes, the
first time, distinct values) so that ``all`` windows stay exact after eviction.

Out-of-order events are accepted up to ``lateness`` behind the newest event seen (the
*watermark*) and placed in time order; older ones are refused with
:class:`LateEventError`. A value for an application is final once every event before it has
arrived: in real time, compute before observing the application; when replaying with
late arrivals, compute once the watermark has passed its time plus the lateness.

State lives in a :class:`StateStore`: :class:`InProcessStore` (one worker, the default; it can
be saved to and loaded from a JSON-lines file) or the Redis store in
:mod:`fengkong.services.feature_store` shared by every worker of a service.

Examples
--------
>>> import datetime as dt
>>> from fengkong.features import load_spec
>>> spec = load_spec('''
... schema_version: 1
... sources:
...   app: {timestamp: at, id: id, entities: {person: pid}, columns: {inst: int}}
... groups:
...   - {source: app, entities: [person], windows: [1d, all], aggregations: [count, {distinct: inst}]}
... ''')
>>> engine = OnlineEngine(spec, target="app")
>>> t = dt.datetime(2026, 1, 1)
>>> engine.observe("app", {"id": 1, "pid": 7, "inst": 1, "at": t})
>>> engine.compute({"id": 2, "pid": 7, "inst": 2, "at": t + dt.timedelta(hours=1)})
{'app_cnt_person_1d': 1, 'app_dcnt_inst_person_1d': 1, 'app_cnt_person_all': 1, 'app_dcnt_inst_person_all': 1}
"""

from __future__ import annotations

import datetime as dt
import json
import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from fengkong.errors import InvalidArgumentError
from fengkong.features.spec import DAY_US, Aggregate, Filter, Source, VariableSpec

__all__ = [
    "InProcessStore",
    "KeyState",
    "LateEventError",
    "OnlineEngine",
    "StateMismatchError",
    "StateStore",
    "Stream",
    "to_us",
]

_EPOCH = dt.datetime(1970, 1, 1)
StreamId = tuple[str, str, str | None]


class LateEventError(InvalidArgumentError):
    """An event arrived further behind the watermark than the spec's ``lateness`` allows."""


class StateMismatchError(InvalidArgumentError):
    """Online state built for one spec content read with another: stream indices would read
    another variable's history. Reseed the state for the new spec (``fengkong features
    reseed``)."""


def check_spec_hash(held: str | None, wanted: str, where: str) -> None:
    """Refuse state held for another spec's content (``held`` None: not bound yet)."""
    if held is not None and held != wanted:
        raise StateMismatchError(
            "state",
            expected=f"state built for spec {wanted[:16]}… ({where})",
            got=f"state built for spec {held[:16]}… (reseed it: fengkong features reseed)",
        )


def to_us(value: Any, field: str) -> int:
    """A timestamp (datetime, date or integer microseconds) as microseconds since 1970.

    >>> to_us(dt.datetime(1970, 1, 1, 0, 0, 1), "at"), to_us(dt.date(1970, 1, 2), "at")
    (1000000, 86400000000)
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        delta = value - _EPOCH
        return int((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)
    if isinstance(value, dt.date):
        return (value - _EPOCH.date()).days * DAY_US
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InvalidArgumentError(
        field, expected="a datetime, date or integer microseconds", got=value
    )


def known_us(source: Source, event: Mapping[str, Any], name: str | None = None) -> int:
    """When an event becomes known (µs since 1970), by its source's ``known`` rule; a date
    needs a rule (see :func:`fengkong.features.batch.prepare_events`).

    >>> from fengkong.features.spec import Source
    >>> loans = Source("loan", "loans", "on", "id", {}, {}, known_end_of_day=True)
    >>> known_us(loans, {"on": dt.date(1970, 1, 2)}) // 86_400_000_000
    2
    """
    column = source.known_from
    value = event[column]
    field = f"{name or source.name}.{column}"
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime) and not source.known_rule:
        raise InvalidArgumentError(
            field,
            expected="a visibility rule for a date column (known: end_of_day, or a delay such "
            "as +1d): a date row is not known at its midnight",
            got=value,
        )
    return source.known_us(to_us(value, field))


def _check_keys(source: Source, event: Mapping[str, Any], name: str) -> None:
    """Every entity key is null, an integer within 64 bits or a text (a list or a float
    cannot key the state), named when it is not."""
    for column in source.entities.values():
        key = event.get(column)
        if key is None or isinstance(key, str):
            continue
        if isinstance(key, bool) or not isinstance(key, int) or not -(2**63) <= key < 2**63:
            raise InvalidArgumentError(
                f"{name}.{column}", expected="an integer within 64 bits, a text or null", got=key
            )


@dataclass(frozen=True, slots=True)
class Stream:
    """What one stream keeps: its value columns and which prefix sums."""

    id: StreamId
    source: str
    key_column: str
    columns: tuple[str, ...]  # aliases kept per event, in encoding order
    column_names: tuple[str, ...]  # the same, as columns of the source's rows
    sums: tuple[str, ...]  # aliases with sum / count-of-values / square prefixes
    shares: tuple[str, ...]  # filter names with a matching-count prefix
    distinct_all: tuple[str, ...]  # aliases whose evicted values must be remembered
    distincts: tuple[str, ...]  # aliases with a distinct count: last occurrence per value kept
    aggregates: tuple[Aggregate, ...]
    passes: Callable[[Mapping[str, Any]], bool]  # the stream's own filter
    share_tests: tuple[Callable[[Any], bool], ...]


@dataclass(slots=True)
class KeyState:
    """The retained events of one entity key in one stream, and a summary of evicted ones."""

    ts: list[int] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    values: dict[str, list[Any]] = field(default_factory=dict)
    prefix: dict[str, list[int]] = field(default_factory=dict)  # "sum:x", "n:x", "sq:x", "share:f"
    evicted: int = 0
    first_ts: int | None = None
    last_evicted_ts: int | None = None
    last_evicted: dict[str, Any] = field(default_factory=dict)
    extremes: dict[str, list[Any]] = field(default_factory=dict)  # alias -> [min, max] evicted
    evicted_values: dict[str, set[Any]] = field(default_factory=dict)
    last_of: dict[str, dict[Any, int]] = field(default_factory=dict)  # alias -> value -> last ts
    lasts: dict[str, list[int]] = field(default_factory=dict)  # alias -> sorted last times

    @classmethod
    def empty(cls, stream: Stream) -> KeyState:
        state = cls(values={c: [] for c in stream.columns})
        for alias in stream.distincts:
            state.last_of[alias] = {}
            state.lasts[alias] = []
        for alias in stream.sums:
            for kind in ("sum", "n", "sq"):
                state.prefix[f"{kind}:{alias}"] = [0]
        for name in stream.shares:
            state.prefix[f"share:{name}"] = [0]
        return state

    def insert(self, stream: Stream, ts: int, eid: int, row: Mapping[str, Any]) -> bool:
        """Place one event in time order; ``False`` when its id is already held (a
        re-delivery counts once, as in the batch engine)."""
        if eid in self.ids:
            return False
        pos = bisect_right(self.ts, ts)
        while pos > 0 and self.ts[pos - 1] == ts and self.ids[pos - 1] > eid:
            pos -= 1
        self.first_ts = ts if self.first_ts is None else min(self.first_ts, ts)
        self.ts.insert(pos, ts)
        self.ids.insert(pos, eid)
        for alias in stream.columns:
            self.values[alias].insert(pos, row.get(alias))
        for alias in stream.distincts:
            value = row.get(alias)
            if value is None:
                continue
            seen, lasts = self.last_of[alias], self.lasts[alias]
            old = seen.get(value)
            if old is None or ts > old:
                if old is not None:
                    del lasts[bisect_left(lasts, old)]
                seen[value] = ts
                insort(lasts, ts)
        increments: dict[str, int] = {}
        for alias in stream.sums:
            v = row.get(alias)
            increments[f"sum:{alias}"] = 0 if v is None else int(v)
            increments[f"n:{alias}"] = 0 if v is None else 1
            increments[f"sq:{alias}"] = 0 if v is None else int(v) * int(v)
        for name, test in zip(stream.shares, stream.share_tests, strict=True):
            increments[f"share:{name}"] = int(test(row))
        for name, inc in increments.items():
            cum = self.prefix[name]
            if pos == len(cum) - 1:
                cum.append(cum[-1] + inc)
            else:  # out of order: shift the later prefixes
                cum.insert(pos + 1, cum[pos] + inc)
                for i in range(pos + 2, len(cum)):
                    cum[i] += inc
        return True

    def remove(self, stream: Stream, eid: int) -> bool:
        """Take event ``eid`` back out (its application's decision could not be stored):
        the state is as if it had never been inserted, for every window the state answers.
        ``False`` when the event is not held (never inserted, or already evicted).

        A value whose only other occurrences were evicted is remembered only where a
        whole-history distinct needs it (evicted events lie before every window).
        """
        if eid not in self.ids:
            return False
        pos = self.ids.index(eid)
        ts = self.ts.pop(pos)
        del self.ids[pos]
        removed = {alias: self.values[alias].pop(pos) for alias in stream.columns}
        for cum in self.prefix.values():
            inc = cum[pos + 1] - cum[pos]
            del cum[pos + 1]
            for i in range(pos + 1, len(cum)):
                cum[i] -= inc
        for alias in stream.distincts:
            value = removed.get(alias)
            seen, lasts = self.last_of[alias], self.lasts[alias]
            if value is None or seen.get(value) != ts:
                continue
            del lasts[bisect_left(lasts, ts)]
            column = self.values[alias]
            before = [t for t, v in zip(self.ts, column, strict=True) if v == value]
            if before:
                seen[value] = before[-1]
                insort(lasts, before[-1])
            elif value in self.evicted_values.get(alias, ()) and self.last_evicted_ts is not None:
                seen[value] = self.last_evicted_ts
                insort(lasts, self.last_evicted_ts)
            else:
                del seen[value]
        if not self.evicted:
            self.first_ts = self.ts[0] if self.ts else None
        return True

    def evict_before(self, stream: Stream, cutoff: int) -> None:
        """Fold events older than ``cutoff`` into the summary."""
        k = bisect_left(self.ts, cutoff)
        if k == 0:
            return
        self.last_evicted_ts = self.ts[k - 1]
        for alias in stream.columns:
            old = self.values[alias][:k]
            present = [v for v in old if v is not None]
            self.last_evicted[alias] = old[-1]
            if alias in stream.sums and present:
                lo, hi = min(present), max(present)
                prev = self.extremes.get(alias)
                self.extremes[alias] = (
                    [lo, hi] if prev is None else [min(prev[0], lo), max(prev[1], hi)]
                )
            if alias in stream.distinct_all:
                self.evicted_values.setdefault(alias, set()).update(present)
            del self.values[alias][:k]
        for cum in self.prefix.values():
            del cum[:k]
        del self.ts[:k]
        del self.ids[:k]
        self.evicted += k

    # -- persistence ------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (sets become sorted lists)."""
        return {
            "ts": self.ts,
            "ids": self.ids,
            "values": self.values,
            "prefix": self.prefix,
            "evicted": self.evicted,
            "first_ts": self.first_ts,
            "last_evicted_ts": self.last_evicted_ts,
            "last_evicted": self.last_evicted,
            "extremes": self.extremes,
            "evicted_values": {k: sorted(v, key=repr) for k, v in self.evicted_values.items()},
            "last_of": {k: list(v.items()) for k, v in self.last_of.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> KeyState:
        """The inverse of :meth:`to_json`."""
        return cls(
            ts=list(data["ts"]),
            ids=list(data["ids"]),
            values={k: list(v) for k, v in data["values"].items()},
            prefix={k: list(v) for k, v in data["prefix"].items()},
            evicted=int(data["evicted"]),
            first_ts=data["first_ts"],
            last_evicted_ts=data["last_evicted_ts"],
            last_evicted=dict(data["last_evicted"]),
            extremes={k: list(v) for k, v in data["extremes"].items()},
            evicted_values={k: set(v) for k, v in data["evicted_values"].items()},
            last_of={k: dict(map(tuple, v)) for k, v in data["last_of"].items()},
            lasts={k: sorted(ts for _, ts in v) for k, v in data["last_of"].items()},
        )


class StateStore(Protocol):
    """Where the online engine keeps its per-key state."""

    def get_many(self, keys: list[tuple[int, Any]]) -> list[KeyState | None]:
        """States for (stream index, entity key) pairs, ``None`` for unknown keys: one round trip."""

    def update(
        self, stream_index: int, key: Any, change: Callable[[KeyState | None], KeyState]
    ) -> None:
        """Apply ``change`` to a key's state atomically."""

    def get_watermark(self) -> int | None:
        """The newest event time seen by any worker."""

    def advance_watermark(self, ts: int) -> int:
        """Raise the watermark to ``ts`` if it is newer; returns the watermark."""

    def bind(self, spec_sha256: str) -> None:
        """Tie the state to a spec's content: record it when new, refuse another one
        (:class:`StateMismatchError` naming both hashes)."""

    def transact(self, keys: list[tuple[int, Any]], step: Step, *, lateness: int = 0) -> Any:
        """One atomic step over ``keys``: read their states and the watermark, run ``step``
        (which returns its result, the keys it changed and a new event time), write the
        changes and raise the watermark together; nothing in between is seen by others (an
        event that became more than ``lateness`` behind the watermark meanwhile is not
        written: the step runs again and refuses it)."""


# states by key, watermark -> (result, changed keys, event time to raise the watermark to)
Step = Callable[
    [dict[tuple[int, Any], "KeyState | None"], "int | None"],
    tuple[Any, list[tuple[int, Any]], "int | None"],
]


class InProcessStore:
    """State in this process's memory, for one worker; ``save``/``load`` keep it over restarts."""

    def __init__(self) -> None:
        self.states: dict[tuple[int, Any], KeyState] = {}
        self.watermark: int | None = None
        self.spec_sha256: str | None = None

    def bind(self, spec_sha256: str) -> None:
        check_spec_hash(self.spec_sha256, spec_sha256, "in this process")
        self.spec_sha256 = spec_sha256

    def transact(self, keys: list[tuple[int, Any]], step: Step, *, lateness: int = 0) -> Any:
        """Atomic as long as one thread works on the store at a time (the service holds
        its lock; the Redis store is atomic across workers): nothing moves the watermark
        between the step's read and its write, so ``lateness`` needs no second check."""
        states = {k: self.states.get(k) for k in keys}
        result, changed, ts = step(states, self.watermark)
        for k in changed:
            state = states[k]
            if state is not None:
                self.states[k] = state
        if ts is not None:
            self.advance_watermark(ts)
        return result

    def get_many(self, keys: list[tuple[int, Any]]) -> list[KeyState | None]:
        get = self.states.get
        return [get(k) for k in keys]

    def update(
        self, stream_index: int, key: Any, change: Callable[[KeyState | None], KeyState]
    ) -> None:
        self.states[(stream_index, key)] = change(self.states.get((stream_index, key)))

    def get_watermark(self) -> int | None:
        return self.watermark

    def advance_watermark(self, ts: int) -> int:
        if self.watermark is None or ts > self.watermark:
            self.watermark = ts
        return self.watermark

    def items(self) -> Iterator[tuple[tuple[int, Any], KeyState]]:
        """Every (stream index, key) and its state."""
        return iter(self.states.items())

    def save(self, path: str | Path) -> None:
        """Write the state as JSON lines (a header, then one line per key), atomically."""
        path = Path(path)
        partial = path.with_suffix(path.suffix + ".partial")
        with partial.open("w", encoding="utf-8") as fh:
            fh.write(
                json.dumps(
                    {
                        "format": "fengkong-online-state",
                        "version": 2,
                        "watermark": self.watermark,
                        "spec_sha256": self.spec_sha256,
                    }
                )
                + "\n"
            )
            for (index, key), state in self.states.items():
                fh.write(json.dumps([index, key, state.to_json()]) + "\n")
        partial.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> InProcessStore:
        """A store saved with :meth:`save`."""
        store = cls()
        with Path(path).open(encoding="utf-8") as fh:
            header = json.loads(fh.readline())
            if header.get("format") != "fengkong-online-state":
                raise InvalidArgumentError(
                    "path", expected="a file written by InProcessStore.save", got=str(path)
                )
            store.watermark = header["watermark"]
            store.spec_sha256 = header.get("spec_sha256")  # version 1 files: not bound yet
            for line in fh:
                index, key, data = json.loads(line)
                store.states[(index, key)] = KeyState.from_json(data)
        return store


def _row_test(flt: Filter | None) -> Callable[[Mapping[str, Any]], bool]:
    """A filter as a test on one event's row of aliases (every row passes no filter)."""
    if flt is None:
        return lambda row: True
    return lambda row: flt.test(row.get(flt.column))


def _streams(spec: VariableSpec) -> list[Stream]:
    out = []
    for (source, entity, flt), aggs in spec.streams().items():
        src = spec.sources[source]
        columns = {a.column for a in aggs if a.column and a.aggregation != "share"}
        sums = {a.column for a in aggs if a.aggregation in ("sum", "mean", "std") and a.column}
        extremes = {a.column for a in aggs if a.aggregation in ("min", "max") and a.column}
        shares = tuple(sorted({a.column for a in aggs if a.aggregation == "share" and a.column}))
        distinct_all = {
            a.column
            for a in aggs
            if a.aggregation == "distinct" and a.window_us is None and a.column
        }
        kept = tuple(sorted(columns | sums | extremes))
        own = spec.filters[flt] if flt else None
        out.append(
            Stream(
                id=(source, entity, flt),
                source=source,
                key_column=src.entities[entity],
                columns=kept,
                column_names=tuple(src.columns[c][0] for c in kept),
                sums=tuple(sorted(sums | extremes)),
                shares=shares,
                distinct_all=tuple(sorted(distinct_all)),
                distincts=tuple(
                    sorted({a.column for a in aggs if a.aggregation == "distinct" and a.column})
                ),
                aggregates=tuple(aggs),
                passes=_row_test(own),
                share_tests=tuple(_row_test(spec.filters[s]) for s in shares),
            )
        )
    return out


def _aggregate(  # noqa: PLR0911 - one return per aggregation reads best here
    agg: Aggregate, st: KeyState | None, t: int, end: int, start: int
) -> Any:
    """One aggregate over retained events ``[start, end)`` (plus the summary for ``all``)."""
    kind, col = agg.aggregation, agg.column
    whole = agg.window_us is None
    if st is None:
        return 0 if kind in ("count", "distinct", "sum") else None
    count = end - start + (st.evicted if whole else 0)
    if kind == "count":
        return count
    if kind == "sum":
        cs = st.prefix[f"sum:{col}"]
        return cs[end] - (0 if whole else cs[start])
    if kind in ("mean", "std"):
        cs, cn = st.prefix[f"sum:{col}"], st.prefix[f"n:{col}"]
        n = cn[end] - (0 if whole else cn[start])
        if n == 0:
            return None
        s = cs[end] - (0 if whole else cs[start])
        if kind == "mean":
            return float(s) / float(n)  # as the batch engine divides (float64 operands)
        cq = st.prefix[f"sq:{col}"]
        q = float(cq[end] - (0 if whole else cq[start]))
        fs, fn = float(s), float(n)
        return math.sqrt(max((q - fs * fs / fn) / fn, 0.0))
    if kind == "share":
        if count == 0:
            return None
        cf = st.prefix[f"share:{col}"]
        return (cf[end] - (0 if whole else cf[start])) / count
    if kind == "days_since_first":
        if count == 0:
            return None
        first = st.first_ts if whole and st.evicted else st.ts[start]
        assert first is not None
        return (t - first) / DAY_US
    if kind == "days_since_last":
        if count == 0:
            return None
        latest = st.ts[end - 1] if end > start else st.last_evicted_ts
        assert latest is not None
        return (t - latest) / DAY_US
    assert col is not None
    if kind == "last":
        if end > start:
            return st.values[col][end - 1]
        return st.last_evicted.get(col) if whole and st.evicted else None
    if kind == "distinct" and end == len(st.ts):
        # every retained event is visible: the last occurrence of each value answers
        if whole:
            return len(st.last_of[col])
        assert agg.window_us is not None
        lasts = st.lasts[col]
        return len(lasts) - bisect_left(lasts, t - agg.window_us)
    present = [v for v in st.values[col][start:end] if v is not None]
    if kind == "distinct":
        if whole and col in st.evicted_values:
            return len(set(present) | st.evicted_values[col])
        return len(set(present))
    # min / max
    if whole and col in st.extremes:
        present.append(st.extremes[col][0 if kind == "min" else 1])
    if not present:
        return None
    return min(present) if kind == "min" else max(present)


class OnlineEngine:
    """Variables of a spec for one application at a time, from incrementally kept state.

    Parameters
    ----------
    spec : VariableSpec
    target : str
        The source whose events are the applications scored by :meth:`compute`.
    store : StateStore, optional
        Where state lives; an :class:`InProcessStore` by default.
    """

    def __init__(self, spec: VariableSpec, *, target: str, store: StateStore | None = None) -> None:
        if target not in spec.sources:
            raise InvalidArgumentError(
                "target", expected=f"one of {sorted(spec.sources)}", got=target
            )
        self.spec = spec
        self.target = target
        self.store: StateStore = store if store is not None else InProcessStore()
        self.store.bind(spec.sha256)
        self.streams = _streams(spec)
        self._by_source: dict[str, list[tuple[int, Stream]]] = {}
        for i, s in enumerate(self.streams):
            self._by_source.setdefault(s.source, []).append((i, s))
        self._cutoff = spec.horizon_us() + spec.lateness_us
        entities = spec.target_entities(target)
        self._target_keys = [entities[s.id[1]] for s in self.streams]
        self._inclusive = spec.boundary == "inclusive"
        self._derived = [(d.name, d.expression.evaluate) for d in spec.derived]
        # per stream, the longest finite window (0 for `all` only): the reach back from t
        self._reach = [
            max((a.window_us for a in s.aggregates if a.window_us is not None), default=0)
            for s in self.streams
        ]

    def _check_exact(self, evicted_ts: int, t: int, stream: int, given: Any) -> None:
        """Refuse a time the state cannot answer exactly: events up to ``evicted_ts`` are
        folded into summaries that cannot be split, so every window of a variable at ``t``
        must begin after them (else the answer would count the future, or miss the past)."""
        if t - self._reach[stream] <= evicted_ts:
            raise LateEventError(
                f"{self.target}.{self.spec.sources[self.target].timestamp}",
                expected="a time whose windows begin after the events this state has folded "
                f"into its summaries (up to {_EPOCH + dt.timedelta(microseconds=evicted_ts)}); "
                "replay history in time order instead",
                got=given,
            )

    # -- events -------------------------------------------------------------------------------

    def _row(self, source: str, event: Mapping[str, Any]) -> tuple[int, int, dict[str, Any]]:
        src = self.spec.sources.get(source)
        if src is None:
            raise InvalidArgumentError(
                "source", expected=f"one of {sorted(self.spec.sources)}", got=source
            )
        for column in (src.known_from, src.id):
            if event.get(column) is None:
                raise InvalidArgumentError(f"{source}.{column}", expected="a value", got=None)
        ts = known_us(src, event, source)
        _check_keys(src, event, source)
        eid = event[src.id]
        if not isinstance(eid, int) or isinstance(eid, bool):
            raise InvalidArgumentError(f"{source}.{src.id}", expected="an integer id", got=eid)
        row: dict[str, Any] = {}
        for alias, (column, kind) in src.columns.items():
            value = event.get(column)
            if value is not None:
                ok = {
                    "int": isinstance(value, int)
                    and not isinstance(value, bool)
                    and -(2**63) <= value < 2**63,  # as the batch engine's int64 columns
                    "str": isinstance(value, str),
                    "bool": isinstance(value, bool),
                }[kind]
                if not ok:
                    expected = "an integer within 64 bits" if kind == "int" else f"a {kind}"
                    raise InvalidArgumentError(
                        f"{source}.{column}", expected=f"{expected} or null", got=value
                    )
            row[alias] = value
        return ts, eid, row

    def observe(self, source: str, event: Mapping[str, Any]) -> None:
        """Add one event of ``source``. Refuses a bad or too-late event before changing anything.

        Raises
        ------
        InvalidArgumentError
            A missing timestamp or id, or a value of the wrong type (the field is named).
        LateEventError
            The event is more than ``lateness`` older than the newest event seen.
        """
        ts, eid, row = self._row(source, event)
        self._check_late(source, event, ts, self.store.get_watermark())
        watermark = self.store.advance_watermark(ts)
        for index, key, change in self._changes(source, event, ts, eid, row, watermark):
            self.store.update(index, key, change)

    def _check_late(
        self, source: str, event: Mapping[str, Any], ts: int, watermark: int | None
    ) -> None:
        if watermark is not None and ts < watermark - self.spec.lateness_us:
            raise LateEventError(
                f"{source}.{self.spec.sources[source].timestamp}",
                expected=f"no more than the spec's lateness ({self.spec.lateness_us // 1_000_000} s)"
                " behind the newest event",
                got=event[self.spec.sources[source].timestamp],
            )

    def _changes(
        self,
        source: str,
        event: Mapping[str, Any],
        ts: int,
        eid: int,
        row: dict[str, Any],
        watermark: int,
    ) -> list[tuple[int, Any, Callable[[KeyState | None], KeyState]]]:
        """The state changes one event makes: ``(stream index, key, change)`` per stream."""
        cutoff = watermark - self._cutoff
        out: list[tuple[int, Any, Callable[[KeyState | None], KeyState]]] = []
        for index, stream in self._by_source.get(source, []):
            key = event.get(stream.key_column)
            if key is None or not stream.passes(row):
                continue

            def change(state: KeyState | None, stream: Stream = stream) -> KeyState:
                state = state if state is not None else KeyState.empty(stream)
                state.insert(stream, ts, eid, row)
                if state.ts[0] < cutoff:
                    state.evict_before(stream, cutoff)
                return state

            out.append((index, key, change))
        return out

    def compute_and_observe(
        self,
        event: Mapping[str, Any],
        *,
        serial: bool = False,
        check: Callable[[dict[str, Any]], object] | None = None,
    ) -> dict[str, Any]:
        """Every variable for one application, and the application observed, as one atomic
        step per entity key (:meth:`StateStore.transact`: in process under the caller's
        lock, through Redis as one transaction retried on conflict).

        ``serial`` (live decisions): the application's instant is the later of its own time
        and just after the newest event its own keys hold, so for each entity the order of the
        atomic steps is the order in time: of simultaneous applications of one person, on any
        workers, each sees every one decided before it (two workers' clocks differing by a
        millisecond can no longer hide them from each other). Only applications sharing a key
        ever wait for each other.

        ``check`` (the decision that uses the variables) runs on the values inside the step,
        before anything changes: if it raises, the application is not observed. It may run
        more than once (Redis retries a step whose keys changed meanwhile), so it must not
        change anything itself.

        >>> from fengkong.features import load_spec
        >>> import datetime as dt
        >>> e = OnlineEngine(load_spec("application_risk"), target="app")
        >>> app = {"application_id": 1, "person_id": 7, "applied_at": dt.datetime(2026, 1, 1)}
        >>> e.compute_and_observe(app)["app_cnt_person_7d"]
        0
        >>> later = {"application_id": 2, "applied_at": dt.datetime(2026, 1, 1, 0, 1)}
        >>> e.compute_and_observe(app | later)["app_cnt_person_7d"]
        1
        """
        return self.observe_application(event, serial=serial, check=check)[0]

    def observe_application(
        self,
        event: Mapping[str, Any],
        *,
        serial: bool = False,
        check: Callable[[dict[str, Any]], object] | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """:meth:`compute_and_observe`, and whether the application was new (``False``: a
        repeat of one already held, which changed nothing — never :meth:`forget` it).

        >>> from fengkong.features import load_spec
        >>> import datetime as dt
        >>> e = OnlineEngine(load_spec("application_risk"), target="app")
        >>> app = {"application_id": 1, "person_id": 7, "applied_at": dt.datetime(2026, 1, 1)}
        >>> e.observe_application(app)[1], e.observe_application(app)[1]
        (True, False)
        """
        src = self.spec.sources[self.target]
        ts, eid, row = self._row(self.target, event)
        wanted = [(i, event.get(col)) for i, col in enumerate(self._target_keys) if col is not None]
        reads = [(i, key) for i, key in wanted if key is not None]
        writes = [
            (i, event.get(s.key_column))
            for i, s in self._by_source.get(self.target, [])
            if event.get(s.key_column) is not None and s.passes(row)
        ]
        keys = list(dict.fromkeys(reads + writes))

        def step(
            states: dict[tuple[int, Any], KeyState | None], watermark: int | None
        ) -> tuple[tuple[dict[str, Any], bool], list[tuple[int, Any]], int]:
            self._check_late(self.target, event, ts, watermark)
            at = ts
            first = next(  # a retry of an application already decided: at its first time
                (
                    st.ts[st.ids.index(eid)]
                    for (i, _), st in states.items()
                    if st is not None and self.streams[i].source == self.target and eid in st.ids
                ),
                None,
            )
            if first is not None:
                at = first
            elif serial:  # just after the newest event of the application's own keys
                held = [st.ts[-1] for st in states.values() if st is not None and st.ts]
                at = max(ts, max(held) + 1) if held else ts
            values = self._values(event, at, wanted, states, event[src.timestamp])
            if check is not None:
                check(values)
            newest = at if watermark is None else max(watermark, at)
            changed = []
            for index, key, change in self._changes(self.target, event, at, eid, row, newest):
                states[(index, key)] = change(states.get((index, key)))
                changed.append((index, key))
            return (values, first is None), changed, at

        return self.store.transact(  # type: ignore[no-any-return]
            keys, step, lateness=self.spec.lateness_us
        )

    def forget(self, event: Mapping[str, Any]) -> None:
        """Take a new application observed by :meth:`observe_application` back out of every
        key's state (its decision's record could not be stored, so it never happened).
        The watermark stays where it is. Applications decided in between saw it.

        >>> from fengkong.features import load_spec
        >>> import datetime as dt
        >>> e = OnlineEngine(load_spec("application_risk"), target="app")
        >>> app = {"application_id": 1, "person_id": 7, "applied_at": dt.datetime(2026, 1, 1)}
        >>> _ = e.compute_and_observe(app)
        >>> e.forget(app)
        >>> later = {"application_id": 2, "applied_at": dt.datetime(2026, 1, 1, 0, 1)}
        >>> e.compute_and_observe(app | later)["app_cnt_person_7d"]
        0
        """
        _, eid, row = self._row(self.target, event)
        streams = [
            (i, s, event.get(s.key_column))
            for i, s in self._by_source.get(self.target, [])
            if event.get(s.key_column) is not None and s.passes(row)
        ]

        def step(
            states: dict[tuple[int, Any], KeyState | None], watermark: int | None
        ) -> tuple[None, list[tuple[int, Any]], None]:
            changed = []
            for i, stream, key in streams:
                state = states.get((i, key))
                if state is not None and state.remove(stream, eid):
                    changed.append((i, key))
            return None, changed, None

        self.store.transact(list(dict.fromkeys((i, k) for i, _, k in streams)), step)

    def accepts(self, at: dt.datetime) -> bool:
        """Whether an event or application at ``at`` would be taken (not more than the
        lateness behind the watermark).

        >>> from fengkong.features import load_spec
        >>> OnlineEngine(load_spec("application_risk"), target="app").accepts(dt.datetime(2026, 1, 1))
        True
        """
        watermark = self.store.get_watermark()
        return watermark is None or to_us(at, "at") >= watermark - self.spec.lateness_us

    def observe_many(self, source: str, events: Iterable[Mapping[str, Any]]) -> int:
        """Observe events in order; returns how many were added."""
        n = 0
        for event in events:
            self.observe(source, event)
            n += 1
        return n

    # -- variables ----------------------------------------------------------------------------

    def compute(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Every variable for one application (an event of the target source), point in time.

        The application itself is never counted; the boundary rule is the spec's (see
        :mod:`fengkong.features.batch`). Keys missing from the application give null for
        that entity's variables; unknown keys give zero counts and null statistics.
        """
        src = self.spec.sources[self.target]
        if event.get(src.known_from) is None:
            raise InvalidArgumentError(
                f"{self.target}.{src.known_from}", expected="a value", got=None
            )
        t = known_us(src, event, self.target)
        _check_keys(src, event, self.target)
        wanted = [(i, event.get(col)) for i, col in enumerate(self._target_keys) if col is not None]
        lookups = [(i, key) for i, key in wanted if key is not None]
        states = dict(zip(lookups, self.store.get_many(lookups), strict=True))
        return self._values(event, t, wanted, states, event[src.timestamp])

    def _values(
        self,
        event: Mapping[str, Any],
        t: int,
        wanted: list[tuple[int, Any]],
        states: Mapping[tuple[int, Any], KeyState | None],
        given: Any,
    ) -> dict[str, Any]:
        """The variables at ``t`` from the states of the application's keys."""
        own_id = event.get(self.spec.sources[self.target].id)
        out: dict[str, Any] = {}
        for i, key in wanted:
            stream = self.streams[i]
            if key is None:
                for agg in stream.aggregates:
                    out[agg.name] = None
                continue
            st = states[(i, key)]
            end = 0
            if st is not None and st.last_evicted_ts is not None:
                self._check_exact(st.last_evicted_ts, t, i, given)
            if st is not None:
                if self._inclusive:
                    end = bisect_right(st.ts, t)
                    if stream.source == self.target and own_id is not None:
                        while end > 0 and st.ts[end - 1] == t and st.ids[end - 1] >= own_id:
                            end -= 1
                else:
                    end = bisect_left(st.ts, t)
            starts: dict[int | None, int] = {}
            for agg in stream.aggregates:
                w = agg.window_us
                if w is None:
                    start = 0
                elif w in starts:
                    start = starts[w]
                else:
                    start = starts[w] = bisect_left(st.ts, t - w, 0, end) if st is not None else 0
                out[agg.name] = _aggregate(agg, st, t, end, start)
        result = {a.name: out.get(a.name) for a in self.spec.aggregates}
        for name, evaluate in self._derived:
            result[name] = evaluate(result)
        return result
