"""The identifier graph kept current per application: union-find with per-root counters.

``OnlineGraph.add(person_id, identifiers, applied_at)`` links a new application in amortised
near-constant time (path-halving union by size, never a traversal of a component) and
returns its graph features. Each root keeps its component's size, first-seen time,
known-bad count and its applications in the last day and week (one time-ordered ring of
applications serves every component: entries leave the windows as time moves on, whatever
the component's size); each identifier keeps its holders until it passes the cap, after
which it only counts, and each applicant its first ``person_cap`` identifiers. Applications
come in time order give or take ``late`` (an hour by default); an older one is refused with
nothing changed. Features equal the batch graph's (:meth:`IdentifierGraph.features`) on the
same applications when identifiers arrive in first-seen order (ties by applicant id): an
identifier's first ``cap`` holders are linked before it is capped, online and in batch, and
a union is never undone. Re-seed periodically
from a batch build with :meth:`OnlineGraph.seed`, which also applies deletions and label
changes.

The structure lives in flat integer tables in one arena worked on by compiled kernels
(:mod:`fengkong.graph._kernels`); identifier values are normalised, hashed and interned in
compiled code too (:mod:`fengkong.graph._interning`, every hit confirmed against the stored
text). Python packs an application into one byte string in a few C-level passes (times as
``datetime`` states, type bytes, values), normalises the rare value outside ASCII and names
the features. Tables grow by doubling when full; a seed leaves ``headroom`` so that
a worker's inserts until the next re-seed never wait for one.

>>> g = OnlineGraph()
>>> t = dt.datetime(2026, 1, 1)
>>> g.add(1, [("device", "D1", t)], t)["component_size"]
1
>>> g.add(2, [("device", "d1 ", t)], t)["component_size"]  # normalised: the same device
2
"""

from __future__ import annotations

import datetime as dt
import os
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any, cast

import numpy as np
import polars as pl

from fengkong.errors import InvalidArgumentError
from fengkong.graph import _kernels as kern
from fengkong.graph._interning import ADDRESS, PHONE, PLAIN
from fengkong.graph.build import GraphConfig, IdentifierGraph
from fengkong.graph.normalize import ID_TYPES

__all__ = ["FEATURE_TYPES", "OnlineGraph", "feature_names"]

FEATURE_TYPES = {  # the applicant's graph features and their types (besides shared_<type>)
    "component_size": "integer",
    "component_age_days": "integer",
    "bad_1hop": "integer",
    "bad_2hop": "integer",
    "component_bad_share": "number",
    "component_apps_1d": "integer",
    "component_apps_7d": "integer",
    "devices_per_person": "integer",
    "persons_per_device": "integer",
}


def feature_names(config: GraphConfig | None = None) -> dict[str, str]:
    """Every graph feature :meth:`OnlineGraph.features` gives, with its type.

    >>> sorted(feature_names())[:3]
    ['bad_1hop', 'bad_2hop', 'component_age_days']
    """
    config = config or GraphConfig()
    shared = {f"shared_{t}": "integer" for t in config.strong + config.weak}
    return {**FEATURE_TYPES, **shared}


_PHONE_STRIP = re.compile(r"[\s\-()]")
_PHONE_OK = re.compile(r"^1[3-9][0-9]{9}$")  # ASCII digits only (`\d` takes any script's)
_SPACES = re.compile(r"\s+")
_PHONES = frozenset(("mobile", "emergency_phone"))
Identifier = tuple[str, str, dt.datetime]
_EPOCH = dt.datetime(1970, 1, 1)
_US = dt.timedelta(microseconds=1)
# (class, (10-byte state,)) for a naive datetime; the time zone follows the state when aware
_STATE = cast(Callable[[dt.datetime], tuple[Any, tuple[Any, ...]]], dt.datetime.__reduce__)


def _normalise(id_type: str, value: Any) -> str | None:
    """The batch normalisation rules (``graph.normalize``), for one value."""
    if value is None:
        return None
    v = (value if value.__class__ is str else str(value)).strip()
    if not v.isascii():  # full-width and compatibility forms fold to one spelling: ＤＥＶ１ is dev1
        v = unicodedata.normalize("NFKC", v).strip()
    if "\x00" in v:
        return None  # a NUL is no part of any identifier
    if id_type in _PHONES:
        if not (
            len(v) == 11 and v.isascii() and v.isdigit()
        ):  # the common, already clean spelling skips this
            v = _PHONE_STRIP.sub("", v)
            v = v[3:] if v.startswith("+86") else v[4:] if v.startswith("0086") else v
        return v if _PHONE_OK.match(v) else None
    if id_type == "address":
        return _SPACES.sub(" ", v.lower()) or None
    return v.lower() or None


def _micros(t: dt.date) -> int:
    """Microseconds since 1970 (an aware time is taken in UTC, a date at midnight)."""
    if not isinstance(t, dt.datetime):
        t = dt.datetime.combine(t, dt.time())
    if t.tzinfo is not None:
        t = t.astimezone(dt.UTC).replace(tzinfo=None)
    return (t - _EPOCH) // _US


def _state(t: Any, field: str) -> bytes:
    """The 10-byte state of the time as a naive UTC ``datetime``; a clear error for what is
    not a date or time."""
    naive = _naive(t)
    if naive is None:
        raise InvalidArgumentError(field, expected="a date or datetime", got=t)
    return bytes(_STATE(naive)[1][0])


def _naive(t: Any) -> dt.datetime | None:
    """The time as a naive ``datetime`` in UTC (a date at midnight), or ``None`` for what is
    not a date or time."""
    if isinstance(t, dt.datetime):
        return t if t.tzinfo is None else t.astimezone(dt.UTC).replace(tzinfo=None)
    return dt.datetime.combine(t, dt.time()) if isinstance(t, dt.date) else None


_WARM: list[bool] = []


def _warm() -> None:
    """Load (or compile) the kernels once per process, so no decision waits for it."""
    _WARM.append(True)
    graph, t = OnlineGraph(capacity=4), dt.datetime(2026, 1, 1)
    graph.add(1, [("device", "warm", t)], t)
    graph.add(2, [("device", "warm", t)], t)
    graph.add(2, [], t)
    graph.mark_bad(1)
    graph.features(2, as_of=t)


def _resident(size: int, dtype: type[np.generic]) -> np.ndarray:
    """``size`` zeros with every page written once now: a fresh allocation's pages are backed
    only at their first write, which would otherwise fall on the insert that first reaches
    a spare row (a fault that zeroes a page, 2 MB for a huge page, and may wait for the
    kernel to compact memory for one)."""
    out = np.zeros(size, dtype=dtype)
    out.fill(0)
    return out


def _aligned(size: int) -> np.ndarray:
    """``size`` zeroed int64s whose header ends on a cache line, so that every 64-byte row of
    the applicant and identifier tables sits in one line."""
    raw = _resident(size + 8, np.int64)
    skip = (-(raw.ctypes.data + 8 * kern.HEADER) % 64) // 8
    return raw[skip : skip + size]


def _table(rows: int, columns: int) -> np.ndarray:
    return np.zeros((rows, columns), dtype=np.int64)


class OnlineGraph:
    """Incremental identifier graph for real-time decisions (one process; see ``docs/graph.md``).

    Calls must not run concurrently (the decision service holds a lock around them).
    """

    # the arena's tables (views into ``mem``), see ``graph._kernels``
    pers: np.ndarray
    ids: np.ndarray
    ents: np.ndarray
    bads: np.ndarray
    apps: np.ndarray
    pmap: np.ndarray
    kmap: np.ndarray
    marks: np.ndarray

    def __init__(
        self,
        config: GraphConfig | None = None,
        *,
        capacity: int = 1024,
        late: dt.timedelta = dt.timedelta(hours=1),
    ) -> None:
        self.config = config or GraphConfig()
        self._types = self.config.strong + self.config.weak
        if len(self._types) > 8:
            raise InvalidArgumentError(
                "config", expected="at most 8 identifier types", got=len(self._types)
            )
        if not dt.timedelta(0) <= late < dt.timedelta(days=1):
            raise InvalidArgumentError("late", expected="from 0 to under a day", got=late)
        self._type_index = {t: i for i, t in enumerate(self._types)}
        # every known type to its index byte; the types this graph does not use are ignored
        self._kinds = {**dict.fromkeys(ID_TYPES, kern.IGNORED), **self._type_index}
        shared = tuple(f"shared_{t}" for t in self._types)
        self._names = ("person_id", *FEATURE_TYPES, *shared)
        self.mem = np.zeros(kern.HEADER, dtype=np.int64)  # the arena: header, then tables
        self.meta = self.mem[: kern.HEADER]
        self.meta[kern.CAP] = self.config.cap
        self.meta[kern.PERSON_CAP] = self.config.person_cap
        self.meta[kern.N_STRONG] = len(self.config.strong)
        self.meta[kern.DEVICE] = self._type_index.get("device", -1)
        self.meta[kern.SEED] = int.from_bytes(os.urandom(7), "little")  # no chosen collisions
        self.meta[kern.NOW] = kern.NEVER
        self.meta[kern.LATE] = late // _US
        for i, t in enumerate(self._types):
            self.meta[kern.CLASSES + i] = (
                PHONE if t in _PHONES else ADDRESS if t == "address" else PLAIN
            )
        self.text = np.zeros(16 * max(capacity, 16), dtype=np.uint8)  # normalised values
        self._allocate(*[capacity] * 5)
        self._room = 0  # rows every table can still take without a check
        self._text_room = 0  # bytes the text pool can still take without a check
        self._rejected = 0  # identifiers refused before the kernels saw them
        if not _WARM:
            _warm()

    @property
    def rejected(self) -> int:
        """How many identifiers were refused as malformed (unknown type, value or time)."""
        return self._rejected + int(self.meta[kern.REJECTED])

    @property
    def over_person_cap(self) -> int:
        """How many new identifiers were not linked because their applicant already held
        ``config.person_cap`` (each is also a sign worth a look: one applicant, many devices)."""
        return int(self.meta[kern.OVER])

    @property
    def persons(self) -> int:
        """How many applicants the graph holds."""
        return int(self.meta[kern.N_PERSONS])

    # -- room in the tables -------------------------------------------------------------------
    def _allocate(self, *rows: int) -> None:
        """A new arena with ``rows`` rows per table (persons, identifiers, entries, known-bad
        entries, application times) and lookup tables to match, the current rows copied in."""
        rows = tuple(max(r, 16) for r in rows)
        counts = (*rows, _slots(rows[0]), _slots(rows[1]), rows[0])  # marks: one per person
        shapes = [(n, c) for n, (_, c) in zip(counts, kern.TABLES, strict=True)]
        mem = _aligned(kern.HEADER + sum(n * c for n, c in shapes))
        mem[: kern.HEADER] = self.mem[: kern.HEADER]
        offset = kern.HEADER
        for i, ((name, _), (n, columns)) in enumerate(zip(kern.TABLES, shapes, strict=True)):
            mem[kern.LAYOUT + 2 * i] = offset
            mem[kern.LAYOUT + 2 * i + 1] = n
            table = mem[offset : offset + n * columns].reshape(n, columns)
            old = getattr(self, name, None)
            if old is not None and name == "apps":  # a ring: entry i lives at row i % rows
                live = np.arange(self.meta[kern.APP_START], self.meta[kern.N_APPS])
                table[live % n] = old[live % len(old)]
            elif old is not None and name not in ("pmap", "kmap"):
                table[: len(old)] = old
            setattr(self, name, table)
            offset += n * columns
        self.mem, self.meta = mem, mem[: kern.HEADER]
        kern.arena_rebuild_maps(self.mem, self.text, False)

    def _reserve(self, need: int, text: int) -> None:
        """Make sure every table takes ``need`` more rows and the text pool ``text`` more bytes
        (doubling what is full: the only pause, which a seed's headroom keeps away)."""
        meta = self.meta
        used = [int(meta[c]) for c in (kern.N_PERSONS, kern.N_KEYS, kern.N_ENTRIES, kern.N_BAD)]
        used.append(int(meta[kern.N_APPS] - meta[kern.APP_START]))  # the ring's live entries
        rows = [len(getattr(self, name)) for name, _ in kern.TABLES[:5]]
        if any(n + need > r for n, r in zip(used, rows, strict=True)):
            rows = [max(2 * r, n + need) if n + need > r else r for n, r in zip(used, rows, strict=True)]  # fmt: skip
            self._allocate(*rows)
        self._room = min(r - n for n, r in zip(used, rows, strict=True)) - need
        filled = int(meta[kern.N_TEXT])
        if filled + text > len(self.text):
            grown = _resident(max(2 * len(self.text), filled + text), np.uint8)
            grown[:filled] = self.text[:filled]
            self.text = grown
        self._text_room = len(self.text) - filled - text

    # -- updates ------------------------------------------------------------------------------
    def add(
        self, person_id: int, identifiers: Iterable[Identifier], applied_at: dt.datetime
    ) -> dict[str, Any]:
        """Link one application's identifiers and return the applicant's graph features.

        Malformed identifiers (unknown type, unreadable value or time) are skipped and counted
        in :attr:`rejected`; they never fail the call. New identifiers of an applicant who
        already holds ``config.person_cap`` are not linked and are counted in
        :attr:`over_person_cap`. Identifier types the graph does not use
        (``id_number`` by default) are ignored. Applications come in time order: one more than
        ``late`` (an hour by default) before the latest is refused, with nothing changed.
        """
        stamp: bytes
        try:
            (stamp,) = _STATE(applied_at)[1]  # a naive datetime's 10-byte state
        except (TypeError, ValueError):
            stamp = _state(applied_at, "applied_at")
        items: list[Any] = identifiers if identifiers.__class__ is list else list(identifiers)
        n = len(items)
        if n:
            try:  # the common case in a few C-level passes: naive times, known types, ASCII
                types, values, seens = zip(*items, strict=True)
                # a naive datetime reduces to (class, (state,)): an aware one's (state, zone)
                # fails the unpacking, a date's 4-byte state the length check below
                if seens.count(seens[0]) == n:  # all seen at one time, as when first seen now
                    (state,) = _STATE(seens[0])[1]
                    stamps = state * n
                else:
                    stamps = b"".join([state for _, (state,) in map(_STATE, seens)])
                kinds = bytes(map(self._kinds.__getitem__, types))
                text = "\x00".join(values)
                fast = len(stamps) == 10 * n and text.isascii() and text.count("\x00") == n - 1
            except (TypeError, ValueError, KeyError):
                fast = False
            buf, n = (
                (stamp + stamps + kinds + text.encode(), n) if fast else self._pack(stamp, items)
            )
        else:
            buf = stamp
        if self._room <= n or self._text_room < len(buf):
            self._reserve(n + 1, len(buf))
        else:
            self._room -= n + 1
            self._text_room -= len(buf)
        out = kern.arena_insert(self.mem, self.text, buf, n, int(person_id))
        if out[1] < 0:
            raise self.lateness_error("applied_at", applied_at)
        return dict(zip(self._names, out))  # noqa: B905 (8 shared slots, fewer types; strict= costs 0.15 us)

    def accepts(self, at: dt.datetime) -> bool:
        """Whether an application at ``at`` (naive UTC) would be taken: not more than the
        lateness before the latest application (a worker whose latest lies far in the future
        refuses every real one).

        >>> OnlineGraph().accepts(dt.datetime(2026, 1, 1))
        True
        """
        late, now = (int(self.meta[c]) for c in (kern.LATE, kern.NOW))
        return _micros(at) >= now - late

    def lateness_error(self, field: str, value: Any) -> InvalidArgumentError:
        """The error refusing ``value`` of ``field`` as older than the lateness allows."""
        late, now = (dt.timedelta(microseconds=int(self.meta[c])) for c in (kern.LATE, kern.NOW))
        return InvalidArgumentError(
            field,
            expected=f"at most {late} before the latest application ({_EPOCH + now})",
            got=value,
        )

    def _pack(self, stamp: bytes, items: list[Any]) -> tuple[bytes, int]:
        """:meth:`add`'s buffer for identifiers the fast path could not take, one at a time:
        malformed ones counted and skipped, aware times and dates made naive UTC times, values
        outside ASCII (or with a NUL) normalised here and flagged as done."""
        stamps: list[bytes] = []
        kinds, values = bytearray(), []
        for item in items:
            try:
                id_type, raw, seen = item
                kind = self._kinds[id_type]
            except (TypeError, ValueError, KeyError):
                self._rejected += 1
                continue
            when = _naive(seen)
            if when is None:
                self._rejected += 1
                continue
            if kind == kern.IGNORED:
                continue
            if not (raw.__class__ is str and raw.isascii() and "\x00" not in raw):
                raw = _normalise(id_type, raw)
                if raw is None:
                    self._rejected += 1
                    continue
                kind |= kern.PRENORMALISED
            stamps.append(_STATE(when)[1][0])  # naive: the state alone
            kinds.append(kind)
            values.append(raw)
        return stamp + b"".join(stamps) + kinds + "\x00".join(values).encode(), len(values)

    def __contains__(self, person_id: object) -> bool:
        """Whether the applicant is in the graph."""
        return isinstance(person_id, int) and kern.arena_person(self.mem, person_id) >= 0

    def mark_bad(self, person_id: int) -> None:
        """Record a known-bad applicant (defaulted, confirmed fraud)."""
        person = int(person_id)
        p = kern.arena_person(self.mem, person)
        self._reserve(len(self._keys_of(p)) + 1 if p >= 0 else 1, 0)
        kern.arena_mark_bad(self.mem, person)

    # -- features -----------------------------------------------------------------------------
    def features(self, person_id: int, *, as_of: dt.datetime) -> dict[str, Any]:
        """The applicant's current graph features (the batch graph's columns)."""
        person = int(person_id)
        p = kern.arena_person(self.mem, person)
        if p < 0:
            raise InvalidArgumentError(
                "person_id", expected="an applicant linked in this graph", got=person
            )
        at, meta = _micros(as_of), self.meta
        if at < meta[kern.NOW] - meta[kern.LATE]:
            raise self.lateness_error("as_of", as_of)
        values = kern.arena_features(self.mem, p, person, at)
        return dict(zip(self._names, values, strict=False))

    def _keys_of(self, p: int) -> list[int]:
        out, e = [], int(self.pers[p, kern.HEAD]) if self.pers[p, kern.SIZE] else -1
        while e >= 0:
            out.append(int(self.ents[e, kern.KEY]))
            e = int(self.ents[e, kern.NEXTP])
        return out

    def _holders_of(self, k: int) -> list[int]:
        out, e = [], int(self.ids[k, kern.KHEAD])
        while e >= 0:
            out.append(int(self.ents[e, kern.PERSON]))
            e = int(self.ents[e, kern.NEXTK])
        return out

    def _key_name(self, k: int) -> str:
        start, length = int(self.ids[k, kern.TOFF]), int(self.ids[k, kern.TLEN])
        value = self.text[start : start + length].tobytes().decode()
        return f"{self._types[int(self.ids[k, kern.TYPE])]}|{value}"

    def neighbourhood(self, person_id: int, *, hops: int = 2, limit: int = 100) -> dict[str, Any]:
        """The applicant's neighbourhood as :func:`fengkong.graph.export.neighbourhood` gives it
        for a batch graph (applicants within ``hops``, at most ``limit``; capped identifiers
        shown with their holder count, never expanded) — for the decision explorer. Off the
        hot path: it walks the neighbourhood, which a decision never does."""
        person = int(person_id)
        start = kern.arena_person(self.mem, person)
        if start < 0:
            return {"applicant": person, "hops": hops, "truncated": False, "nodes": [],
                    "edges": []}  # fmt: skip
        pid = self.marks[:, kern.PID]
        seen, frontier = {start: 0}, [start]
        nodes: dict[str, dict[str, Any]] = {}
        edges: list[dict[str, Any]] = []
        truncated = False
        for depth in range(hops + 1):
            nxt = []
            for who in frontier:
                node = f"person:{pid[who]}"
                nodes[node] = {"id": node, "kind": "applicant", "hop": seen[who],
                               "component": int(pid[kern.find(self.pers, who)]),
                               "bad": bool(self.pers[who, kern.BAD])}  # fmt: skip
                for k in self._keys_of(who):
                    key = self._key_name(k)
                    capped = bool(self.ids[k, kern.CAPPED])
                    nodes.setdefault(key, {"id": key, "kind": "identifier",
                                           "holders": int(self.ids[k, kern.COUNT]),
                                           "capped": capped})  # fmt: skip
                    edges.append({"source": node, "target": key})
                    if capped or depth == hops:
                        continue
                    for other in sorted(self._holders_of(k), key=lambda q: pid[q]):
                        if other in seen:
                            continue
                        if len(seen) >= limit:
                            truncated = True
                            continue
                        seen[other] = depth + 1
                        nxt.append(other)
            frontier = nxt
        return {"applicant": person, "hops": hops, "truncated": truncated,
                "nodes": list(nodes.values()), "edges": edges}  # fmt: skip

    def component(self, person: int, *, limit: int = 60) -> dict[str, Any]:
        """The applicant's component as it stands (the applicants joined through
        strong identifiers, as ``component_size`` counts them, at most ``limit``; each with every
        identifier it holds), in :meth:`~fengkong.graph.OnlineGraph.neighbourhood`'s shape.
        Weak identifiers (IP, address, employer) are drawn but never followed: they feed counts,
        not components; a capped identifier is never followed either."""
        strong = set(self.config.strong)
        hop = {person: 0}
        frontier = [person]
        nodes: dict[str, dict[str, Any]] = {}
        edges: set[tuple[str, str]] = set()
        truncated = False
        while frontier and not truncated:
            q = frontier.pop(0)
            around = self.neighbourhood(q, hops=1, limit=1_000_000)
            me = f"person:{q}"
            index = {n["id"]: n for n in around["nodes"]}
            if me not in index:
                continue
            nodes[me] = index[me] | {"hop": hop[q]}
            holders: dict[str, list[int]] = {}
            for e in around["edges"]:
                holders.setdefault(e["target"], []).append(int(e["source"].split(":", 1)[1]))
            for key in [e["target"] for e in around["edges"] if e["source"] == me]:
                nodes.setdefault(key, index[key])
                edges.add((me, key))
                if key.split("|", 1)[0] not in strong or index[key].get("capped"):
                    continue
                for other in sorted(set(holders[key]) - hop.keys()):
                    if len(hop) >= limit:
                        truncated = True
                        break
                    hop[other] = hop[q] + 1
                    nodes[f"person:{other}"] = index[f"person:{other}"] | {"hop": hop[other]}
                    edges.add((f"person:{other}", key))
                    frontier.append(other)
        return {"applicant": person, "hops": max(hop.values()), "truncated": truncated,
                "nodes": list(nodes.values()),
                "edges": [{"source": a, "target": b} for a, b in sorted(edges)]}  # fmt: skip

    # -- seeding ------------------------------------------------------------------------------
    @classmethod
    def seed(
        cls,
        graph: IdentifierGraph,
        *,
        bad: np.ndarray | None = None,
        applications: dict[int, list[dt.datetime]] | None = None,
        headroom: float = 0.25,
        as_of: dt.datetime | None = None,
        late: dt.timedelta = dt.timedelta(hours=1),
    ) -> OnlineGraph:
        """An online graph equal to a batch build (the periodic re-seed).

        ``bad`` flags known-bad applicants (rows of ``graph.persons``); ``applications`` gives
        each applicant's recent application times (the 1- and 7-day counts); ``headroom`` is
        the share of extra rows left in every table for the inserts until the next re-seed;
        ``as_of`` is the clock at seeding (the latest application by default), so that the
        first live application does not have to age the seeded windows; ``late`` as for the
        constructor.
        """
        persons = graph.persons.astype(np.int64)
        n = len(persons)
        keys = graph.keys
        csr = graph.incidence.tocsr()
        nnz = csr.nnz
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(csr.indptr))
        cols = csr.indices.astype(np.int64)
        flag = np.zeros(n, dtype=bool) if bad is None else np.asarray(bad, dtype=bool)
        times = [
            (row, _micros(t))
            for row, p in enumerate(persons.tolist())
            for t in (applications or {}).get(p, ())
        ]
        online = cls(graph.config, late=late)
        kind = keys["id_type"].replace_strict(online._type_index, return_dtype=pl.Int64).to_numpy()
        n_strong = len(graph.config.strong)
        bad_entries = np.flatnonzero(flag[rows] & (kind[cols] < n_strong))

        def spare(used: int) -> int:
            return int(used * (1 + headroom)) + 1024

        # Known-bad entries and recent application times are small tables whose use follows
        # the labels and the traffic rather than the graph: each gets room for a quarter of
        # the applicants on top (a few MB for millions), so that no insert waits for a copy.
        online._allocate(
            spare(n), spare(keys.height), spare(nnz), spare(len(bad_entries) + n // 4),
            spare(len(times) + n // 4),
        )  # fmt: skip
        pers, ids, ents, bads, apps, meta = (
            online.pers, online.ids, online.ents, online.bads, online.apps, online.meta,
        )  # fmt: skip

        # identifiers: the batch keys ("type|value", already normalised) are the text pool
        names = keys["key"].to_arrow(compat_level=pl.CompatLevel.oldest())
        offsets = np.frombuffer(names.buffers()[1], dtype=np.int64)[
            names.offset : names.offset + len(names) + 1
        ]
        data = np.frombuffer(names.buffers()[2], dtype=np.uint8)
        online.text = _resident(spare(len(data)) * 2, np.uint8)
        online.text[: len(data)] = data
        prefix = np.array([len(t) + 1 for t in online._types], dtype=np.int64)[kind]
        capped = keys["capped"].to_numpy()
        ids[: keys.height, kern.TYPE] = kind
        ids[: keys.height, kern.COUNT] = keys["holders"].to_numpy()
        ids[: keys.height, kern.CAPPED] = capped
        ids[: keys.height, kern.TOFF] = offsets[:-1] + prefix
        ids[: keys.height, kern.TLEN] = np.diff(offsets) - prefix
        ids[:, kern.KHEAD] = -1
        ids[:, kern.BADHEAD] = -1
        meta[kern.N_KEYS] = keys.height
        meta[kern.N_TEXT] = len(data)

        labels = graph.labels
        _, first_row = np.unique(labels, return_index=True)
        root = first_row[labels]
        online.marks[:n, kern.PID] = persons
        online.marks[:n, kern.HELD] = np.diff(csr.indptr)
        pers[:n, kern.PARENT] = root
        pers[:n, kern.SIZE] = 1  # non-zero marks a linked person; meaningful on roots only
        pers[first_row, kern.SIZE] = np.bincount(labels)
        pers[:n, kern.BAD] = flag
        pers[:n, kern.BADCNT] = 0
        pers[first_row, kern.BADCNT] = np.bincount(labels, weights=flag).astype(np.int64)
        pers[:n, kern.FIRST] = kern.NONE
        key_seen = keys["first_seen"].dt.epoch("us").to_numpy()
        joins = (kind[cols] < n_strong) & ~capped[cols]
        np.minimum.at(pers[:, kern.FIRST], root[rows[joins]], key_seen[cols[joins]])
        if graph.early is not None and graph.early.nnz:  # linked before their identifier capped
            e = graph.early.tocoo()
            np.minimum.at(pers[:, kern.FIRST], root[e.row], key_seen[e.col])
        pers[:, kern.HEAD] = -1
        pers[:n, kern.HEAD] = np.where(np.diff(csr.indptr) > 0, csr.indptr[:-1], -1)
        meta[kern.N_PERSONS] = n

        ents[:nnz, kern.PERSON] = rows
        ents[:nnz, kern.KEY] = cols
        ents[:nnz, kern.SEEN] = key_seen[cols]
        ents[:nnz, kern.NEXTP] = np.where(
            np.append(rows[1:] == rows[:-1], False), np.arange(1, nnz + 1), -1
        )
        ents[:nnz, kern.NEXTK] = -1
        _chain(ents[:, kern.NEXTK], ids[:, kern.KHEAD], np.flatnonzero(~capped[cols]), cols)
        meta[kern.N_ENTRIES] = nnz

        bads[: len(bad_entries), kern.VALUE] = rows[bad_entries]
        bads[: len(bad_entries), kern.NEXT] = -1
        _chain(bads[:, kern.NEXT], ids[:, kern.BADHEAD], bad_entries, cols, own_rows=True)
        meta[kern.N_BAD] = len(bad_entries)

        # the application ring, in time order, and each root's counts as of the clock
        owner = np.array([row for row, _ in times], dtype=np.int64)
        at = np.array([t for _, t in times], dtype=np.int64)
        now = max(int(at.max()) if len(at) else kern.NEVER, kern.NEVER if as_of is None
                  else _micros(as_of))  # fmt: skip
        order = np.argsort(at, kind="stable")
        keep = order[at[order] > now - kern.WINDOW - int(meta[kern.LATE])]
        apps[: len(keep), kern.VALUE] = at[keep]
        apps[: len(keep), kern.OWNER] = owner[keep]
        meta[kern.N_APPS] = len(keep)
        meta[kern.NOW] = now
        for head, column, span in ((kern.HEAD1, kern.CNT1, kern.DAY),
                                   (kern.HEAD7, kern.CNT7, kern.WINDOW)):  # fmt: skip
            first = int(np.searchsorted(at[keep], now - span, side="right"))
            meta[head] = first
            pers[:, column] = 0
            pers[:n, column] = np.bincount(root[owner[keep[first:]]], minlength=n)

        kern.arena_rebuild_maps(online.mem, online.text, True)
        online._reserve(1, 0)
        return online


def _slots(rows: int) -> int:
    """Slots of a lookup table for ``rows`` rows: a power of two, at most 5/8 full."""
    return 1 << max(4, int(np.ceil(np.log2(rows * 8 / 5))))


def _chain(
    nxt: np.ndarray, head: np.ndarray, items: np.ndarray, group: np.ndarray, *,
    own_rows: bool = False,
) -> None:  # fmt: skip
    """Link ``items`` into one list per ``group`` value (``head[g]`` → ``nxt[i]`` → …).

    ``items`` are entry rows whose group is ``group[item]``; with ``own_rows`` the list
    cells are ``0..len(items)-1`` (the i-th item is stored at row i of its own table).
    """
    if not len(items):
        return
    groups = group[items]
    order = np.argsort(groups, kind="stable")
    cells = order if own_rows else items[order]
    sorted_groups = groups[order]
    same = np.append(sorted_groups[1:] == sorted_groups[:-1], False)
    nxt[cells] = np.where(same, np.append(cells[1:], -1), -1)
    starts = np.append(True, sorted_groups[1:] != sorted_groups[:-1])
    head[sorted_groups[starts]] = cells[starts]
