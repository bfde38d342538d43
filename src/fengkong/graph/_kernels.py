"""Compiled core of the online graph: union-find, holder lists and features over flat tables.

Every table is a C-contiguous ``int64`` array with one row per record and named columns, and
all of them live in one arena (``mem``: a header of counters and each table's offset and
rows, then the tables), so that a call passes one array:

- persons ``pers``: the applicant's id, union-find parent, component size / known-bad count / first-seen time (on
  roots), the person's first incidence entry, the root's list of recent application times,
  whether known bad, and three visit stamps (de-duplication without sets);
- identifiers ``ids``: type index, hash and place of the normalised text in the text pool,
  holders (capped or not), capped flag, first holder entry and
  first known-bad holder entry (strong identifiers only);
- incidence entries ``ents``: one person-identifier pair, its first-seen time, the next entry of
  the same person and the next holder of the same identifier (uncapped identifiers only);
- known-bad entries ``bads`` (per strong identifier) and application times ``apps`` (linked lists
  per component root, concatenated in O(1) on a union, freed to a free list when they leave
  the 7-day window);
- the lookup tables ``pmap`` (applicant id → row) and ``kmap`` (identifier hash → row).

Times are integer microseconds. Identifier values and applicant ids are interned by :mod:`fengkong.graph._interning`.
Nothing here allocates per call, traverses a component or
takes a lock: the caller (``OnlineGraph``) makes room in the tables before a call and
serialises calls (the GIL is held; these kernels mutate shared state).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from fengkong.graph._interning import EMPTY, find_key, find_person, hash_bytes, normalise_into

__all__ = [
    "DAY",
    "NONE",
    "arena_features",
    "arena_insert",
    "arena_mark_bad",
    "arena_person",
    "arena_rebuild_maps",
    "find",
]

NONE = np.iinfo(np.int64).max  # no first-seen time
DAY = 86_400_000_000  # microseconds
WINDOW = 7 * DAY  # the longest look-back of any feature
PRENORMALISED = 16  # flag on a type index: the value was normalised by the caller

# persons
PARENT, SIZE, BADCNT, FIRST, HEAD, APPHEAD, APPTAIL, BAD = range(8)
P_COLUMNS = 8  # 64 bytes: one cache line per applicant on the hot path
# applicants' cold columns: their id and three visit stamps (de-duplication without sets)
PID, ST1, ST2, ST3 = range(4)
MARK_COLUMNS = 4
# identifiers
TYPE, COUNT, CAPPED, KHEAD, BADHEAD, KHASH, TOFF, TLEN = range(8)
K_COLUMNS = 8
# incidence entries
PERSON, KEY, SEEN, NEXTP, NEXTK = range(5)
E_COLUMNS = 5
# known-bad entries and application times: (value, next)
VALUE, NEXT = range(2)
# the arena's header: counters and settings, normalisation class per type, then each table's
# (offset, rows)
N_ENTRIES, N_BAD, APP_FREE, N_APPS, STAMP, CAP, N_STRONG, DEVICE = range(8)
N_PERSONS, N_KEYS, N_TEXT, REJECTED, SEED = range(8, 13)
CLASSES = 13  # 8 slots
LAYOUT = 24  # 8 tables
HEADER = 40
TABLES = (
    ("pers", P_COLUMNS), ("ids", K_COLUMNS), ("ents", E_COLUMNS), ("bads", 2), ("apps", 2),
    ("pmap", 2), ("kmap", 2), ("marks", MARK_COLUMNS),
)  # fmt: skip


@njit(cache=True, inline="always")
def _table(mem: np.ndarray, which: int, columns: int) -> np.ndarray:
    offset, rows = mem[LAYOUT + 2 * which], mem[LAYOUT + 2 * which + 1]
    return mem[offset : offset + rows * columns].reshape((rows, columns))


@njit(cache=True)
def find(pers: np.ndarray, x: int) -> int:
    """The root of ``x`` (path halving)."""
    while pers[x, PARENT] != x:
        pers[x, PARENT] = pers[pers[x, PARENT], PARENT]
        x = pers[x, PARENT]
    return x


@njit(cache=True)
def _init_person(pers: np.ndarray, p: int) -> None:
    if pers[p, SIZE] == 0:
        pers[p, PARENT] = p
        pers[p, SIZE] = 1
        pers[p, BADCNT] = pers[p, BAD]
        pers[p, FIRST] = NONE
        pers[p, HEAD] = -1
        pers[p, APPHEAD] = -1
        pers[p, APPTAIL] = -1


@njit(cache=True)
def _merge(pers: np.ndarray, apps: np.ndarray, a: int, b: int) -> None:
    """Union by size of the components of ``a`` and ``b`` with every root counter merged."""
    ra, rb = find(pers, a), find(pers, b)
    if ra == rb:
        return
    if pers[ra, SIZE] < pers[rb, SIZE]:
        ra, rb = rb, ra
    pers[rb, PARENT] = ra
    pers[ra, SIZE] += pers[rb, SIZE]
    pers[ra, BADCNT] += pers[rb, BADCNT]
    pers[ra, FIRST] = min(pers[ra, FIRST], pers[rb, FIRST])
    if pers[rb, APPHEAD] >= 0:
        if pers[ra, APPHEAD] < 0:
            pers[ra, APPHEAD] = pers[rb, APPHEAD]
        else:
            apps[pers[ra, APPTAIL], NEXT] = pers[rb, APPHEAD]
        pers[ra, APPTAIL] = pers[rb, APPTAIL]
        pers[rb, APPHEAD] = -1
        pers[rb, APPTAIL] = -1


@njit(cache=True)
def _note_seen(
    pers: np.ndarray, ids: np.ndarray, meta: np.ndarray, p: int, k: int, seen: int
) -> None:
    if ids[k, TYPE] < meta[N_STRONG] and ids[k, CAPPED] == 0:
        root = find(pers, p)
        pers[root, FIRST] = min(pers[root, FIRST], seen)


@njit(cache=True)
def _add_bad_entry(ids: np.ndarray, bads: np.ndarray, meta: np.ndarray, p: int, k: int) -> None:
    b = meta[N_BAD]
    meta[N_BAD] = b + 1
    bads[b, VALUE] = p
    bads[b, NEXT] = ids[k, BADHEAD]
    ids[k, BADHEAD] = b


@njit(cache=True)
def link_person(
    pers: np.ndarray,
    ids: np.ndarray,
    ents: np.ndarray,
    bads: np.ndarray,
    apps: np.ndarray,
    meta: np.ndarray,
    scr: np.ndarray,
    n: int,
    p: int,
) -> None:
    """Link ``n`` identifiers (rows of ``scr``: identifier, type index, first seen) to ``p``."""
    _init_person(pers, p)
    cap = meta[CAP]
    for i in range(n):
        k, kind, seen = scr[i, 0], scr[i, 1], scr[i, 2]
        e = pers[p, HEAD]
        while e >= 0 and ents[e, KEY] != k:
            e = ents[e, NEXTP]
        if e >= 0:  # already held: an earlier sighting may move first-seen back
            ents[e, SEEN] = min(ents[e, SEEN], seen)
            _note_seen(pers, ids, meta, p, k, ents[e, SEEN])
            continue
        strong = kind < meta[N_STRONG]
        e = meta[N_ENTRIES]
        meta[N_ENTRIES] = e + 1
        ents[e, PERSON] = p
        ents[e, KEY] = k
        ents[e, SEEN] = seen
        ents[e, NEXTP] = pers[p, HEAD]
        ents[e, NEXTK] = -1
        pers[p, HEAD] = e
        if strong and pers[p, BAD]:
            _add_bad_entry(ids, bads, meta, p, k)
        held = ids[k, COUNT]
        ids[k, COUNT] = held + 1
        if ids[k, CAPPED]:
            continue  # counts only
        other = ids[k, KHEAD]
        ents[e, NEXTK] = other
        ids[k, KHEAD] = e
        if held + 1 > cap:
            ids[k, CAPPED] = 1  # from now on it only counts: never joins components
            continue
        if strong and other >= 0:
            _merge(pers, apps, p, ents[other, PERSON])
        _note_seen(pers, ids, meta, p, k, seen)


@njit(cache=True)
def _record_application(
    pers: np.ndarray, apps: np.ndarray, meta: np.ndarray, root: int, at: int
) -> None:
    """Append ``at`` to the root's application times and drop those out of the window."""
    a = meta[APP_FREE]
    if a >= 0:
        meta[APP_FREE] = apps[a, NEXT]
    else:
        a = meta[N_APPS]
        meta[N_APPS] = a + 1
    apps[a, VALUE] = at
    apps[a, NEXT] = -1
    if pers[root, APPHEAD] < 0:
        pers[root, APPHEAD] = a
    else:
        apps[pers[root, APPTAIL], NEXT] = a
    pers[root, APPTAIL] = a
    horizon = at - WINDOW
    prev, x = -1, pers[root, APPHEAD]
    while x >= 0:
        nxt = apps[x, NEXT]
        if apps[x, VALUE] <= horizon:
            if prev < 0:
                pers[root, APPHEAD] = nxt
            else:
                apps[prev, NEXT] = nxt
            apps[x, NEXT] = meta[APP_FREE]
            meta[APP_FREE] = x
        else:
            prev = x
        x = nxt
    pers[root, APPTAIL] = prev


@njit(cache=True)
def _bad_within_two_hops(
    pers: np.ndarray, marks: np.ndarray, ids: np.ndarray, ents: np.ndarray, bads: np.ndarray,
    meta: np.ndarray, p: int,
) -> tuple[int, int]:  # fmt: skip
    """Distinct known-bad applicants one hop and up to two hops from ``p``."""
    n_strong = meta[N_STRONG]
    stamp = meta[STAMP] + 1
    meta[STAMP] = stamp
    # 1 hop: holders of the applicant's strong, uncapped identifiers (ST1 marks the visited)
    marks[p, ST1] = stamp
    marks[p, ST2] = stamp  # never counted as its own bad neighbour
    bad1 = 0
    e = pers[p, HEAD]
    while e >= 0:
        k = ents[e, KEY]
        if ids[k, TYPE] < n_strong and ids[k, CAPPED] == 0 and ids[k, COUNT] > 1:
            h = ids[k, KHEAD]
            while h >= 0:
                q = ents[h, PERSON]
                if marks[q, ST1] != stamp:
                    marks[q, ST1] = stamp
                    if pers[q, BAD]:
                        marks[q, ST2] = stamp
                        bad1 += 1
                h = ents[h, NEXTK]
        e = ents[e, NEXTP]
    bad2 = bad1
    # 2 hops: known-bad holders of the neighbours' strong, uncapped identifiers, through
    # the short per-identifier lists of bad holders (ST2 marks the counted, ST3 the done)
    marks[p, ST3] = stamp
    e = pers[p, HEAD]
    while e >= 0:
        k = ents[e, KEY]
        if ids[k, TYPE] < n_strong and ids[k, CAPPED] == 0 and ids[k, COUNT] > 1:
            h = ids[k, KHEAD]
            while h >= 0:
                q = ents[h, PERSON]
                if marks[q, ST3] != stamp:
                    marks[q, ST3] = stamp
                    f = pers[q, HEAD]
                    while f >= 0:
                        k2 = ents[f, KEY]
                        if ids[k2, CAPPED] == 0:
                            b = ids[k2, BADHEAD]
                            while b >= 0:
                                r = bads[b, VALUE]
                                if marks[r, ST2] != stamp:
                                    marks[r, ST2] = stamp
                                    bad2 += 1
                                b = bads[b, NEXT]
                        f = ents[f, NEXTP]
                h = ents[h, NEXTK]
        e = ents[e, NEXTP]
    return bad1, bad2


@njit(cache=True)
def features(
    pers: np.ndarray,
    marks: np.ndarray,
    ids: np.ndarray,
    ents: np.ndarray,
    bads: np.ndarray,
    apps: np.ndarray,
    meta: np.ndarray,
    p: int,
    person_id: int,
    as_of: int,
) -> tuple[int, ...]:
    """``(person_id, size, age days, bad 1-hop, bad 2-hop, bad share, apps 1d, apps 7d, devices,
    persons per device, shared per type x 8)`` of person ``p`` (the order of ``OnlineGraph``'s
    feature names)."""
    root = find(pers, p)
    size = pers[root, SIZE]
    first = pers[root, FIRST]
    age = (as_of - first) // DAY if first != NONE else 0
    bad1 = 0
    bad2 = 0
    if pers[root, BADCNT] > pers[p, BAD]:
        # Known-bad neighbours within two hops through strong, uncapped identifiers are in the
        # component, so a component without another known-bad applicant needs no walk at all.
        bad1, bad2 = _bad_within_two_hops(pers, marks, ids, ents, bads, meta, p)
    apps1 = 0
    apps7 = 0
    x = pers[root, APPHEAD]
    while x >= 0:
        t = apps[x, VALUE]
        if t > as_of - DAY:
            apps1 += 1
        if t > as_of - WINDOW:
            apps7 += 1
        x = apps[x, NEXT]
    shared = np.zeros(8, dtype=np.int64)
    devices = 0
    per_device = 0
    device = meta[DEVICE]
    e = pers[p, HEAD]
    while e >= 0:
        k = ents[e, KEY]
        kind = ids[k, TYPE]
        held = ids[k, COUNT]
        shared[kind] = max(shared[kind], held - 1)
        if kind == device:
            devices += 1
            per_device = max(per_device, held)
        e = ents[e, NEXTP]
    return (
        person_id, size, age, bad1, bad2, pers[root, BADCNT] / size, apps1, apps7, devices,
        per_device,
        shared[0], shared[1], shared[2], shared[3], shared[4], shared[5], shared[6], shared[7],
    )  # fmt: skip


@njit(cache=True)
def mark_bad(
    pers: np.ndarray, ids: np.ndarray, ents: np.ndarray, bads: np.ndarray, meta: np.ndarray, p: int
) -> None:
    """Record person ``p`` as known bad: its root's count and its strong identifiers' lists."""
    if pers[p, BAD]:
        return
    pers[p, BAD] = 1
    if pers[p, SIZE] == 0:
        return  # not linked yet: counted when it first applies
    pers[find(pers, p), BADCNT] += 1
    e = pers[p, HEAD]
    while e >= 0:
        k = ents[e, KEY]
        if ids[k, TYPE] < meta[N_STRONG]:
            _add_bad_entry(ids, bads, meta, p, k)
        e = ents[e, NEXTP]


# -- interning --------------------------------------------------------------------------------
@njit(cache=True)
def _person(
    mem: np.ndarray, marks: np.ndarray, pmap: np.ndarray, person_id: int, create: bool
) -> int:
    """The row of applicant ``person_id`` (a new one when ``create``), or -1."""
    slot = find_person(pmap, person_id)
    p = pmap[slot, 1]
    if p == EMPTY and create:
        p = mem[N_PERSONS]
        mem[N_PERSONS] = p + 1
        pmap[slot, 0] = person_id
        pmap[slot, 1] = p
        marks[p, PID] = person_id
    return int(p)


@njit(cache=True)
def _intern(
    mem: np.ndarray, ids: np.ndarray, kmap: np.ndarray, text: np.ndarray, buf: np.ndarray,
    scr: np.ndarray, n: int,
) -> int:  # fmt: skip
    """Normalise and intern the ``n`` NUL-separated values of ``buf`` (types and first-seen
    times in ``scr``); rewrite ``scr`` as (identifier row, type, first seen) for the usable
    ones and return how many; count the malformed in the header."""
    used, start = 0, 0
    for i in range(n):
        end = start
        while end < buf.shape[0] and buf[end] != 0:
            end += 1
        kind, seen = scr[i, 0], scr[i, 1]
        at = mem[N_TEXT]
        if kind & PRENORMALISED:
            kind ^= PRENORMALISED
            length = end - start
            text[at : at + length] = buf[start:end]
        else:
            length = normalise_into(buf, start, end, mem[CLASSES + kind], text, at)
        start = end + 1
        if length < 0:
            mem[REJECTED] += 1
            continue
        h = hash_bytes(text, at, length, kind, mem[SEED])
        slot = find_key(kmap, ids, text, h, kind, at, length, TYPE, KHASH, TOFF, TLEN)
        k = kmap[slot, 1]
        if k == EMPTY:
            k = mem[N_KEYS]
            mem[N_KEYS] = k + 1
            mem[N_TEXT] = at + length
            kmap[slot, 0] = h
            kmap[slot, 1] = k
            ids[k, TYPE] = kind
            ids[k, COUNT] = 0
            ids[k, CAPPED] = 0
            ids[k, KHEAD] = -1
            ids[k, BADHEAD] = -1
            ids[k, KHASH] = h
            ids[k, TOFF] = at
            ids[k, TLEN] = length
        scr[used, 0] = k
        scr[used, 1] = kind
        scr[used, 2] = seen
        used += 1
    return used


# -- entry points over one arena (one array to pass: the call costs a fraction of a microsecond)
@njit(cache=True)
def arena_insert(
    mem: np.ndarray, text: np.ndarray, buf: np.ndarray, scr: np.ndarray, n: int,
    person_id: int, at: int,
) -> tuple[int, ...]:  # fmt: skip
    """Intern the applicant and its ``n`` identifiers (values in ``buf``, types and first-seen
    times in ``scr``), link them (:func:`link_person`), record the application and return the
    applicant's features (:func:`features`)."""
    pers, ids = _table(mem, 0, P_COLUMNS), _table(mem, 1, K_COLUMNS)
    ents, bads, apps = _table(mem, 2, E_COLUMNS), _table(mem, 3, 2), _table(mem, 4, 2)
    marks = _table(mem, 7, MARK_COLUMNS)
    p = _person(mem, marks, _table(mem, 5, 2), person_id, True)
    used = _intern(mem, ids, _table(mem, 6, 2), text, buf, scr, n)
    meta = mem[:HEADER]
    link_person(pers, ids, ents, bads, apps, meta, scr, used, p)
    _record_application(pers, apps, meta, find(pers, p), at)
    return features(pers, marks, ids, ents, bads, apps, meta, p, person_id, at)


@njit(cache=True)
def arena_person(mem: np.ndarray, person_id: int) -> int:
    """The row of a linked applicant, or -1."""
    pers = _table(mem, 0, P_COLUMNS)
    p = _person(mem, _table(mem, 7, MARK_COLUMNS), _table(mem, 5, 2), person_id, False)
    return p if p >= 0 and pers[p, SIZE] > 0 else -1


@njit(cache=True)
def arena_features(mem: np.ndarray, p: int, person_id: int, as_of: int) -> tuple[int, ...]:
    """:func:`features` on the tables of ``mem``."""
    return features(
        _table(mem, 0, P_COLUMNS), _table(mem, 7, MARK_COLUMNS), _table(mem, 1, K_COLUMNS),
        _table(mem, 2, E_COLUMNS), _table(mem, 3, 2), _table(mem, 4, 2), mem[:HEADER], p,
        person_id, as_of,
    )  # fmt: skip


@njit(cache=True)
def arena_mark_bad(mem: np.ndarray, person_id: int) -> None:
    """:func:`mark_bad` on the tables of ``mem`` (a new applicant's row when needed)."""
    pers = _table(mem, 0, P_COLUMNS)
    p = _person(mem, _table(mem, 7, MARK_COLUMNS), _table(mem, 5, 2), person_id, True)
    mark_bad(pers, _table(mem, 1, K_COLUMNS), _table(mem, 2, E_COLUMNS), _table(mem, 3, 2),
             mem[:HEADER], p)  # fmt: skip


@njit(cache=True)
def arena_rebuild_maps(mem: np.ndarray, text: np.ndarray, rehash: bool) -> None:
    """Fill both lookup tables from the applicant and identifier rows (after a resize or a
    seed; ``rehash`` computes the identifiers' hashes first)."""
    ids, marks = _table(mem, 1, K_COLUMNS), _table(mem, 7, MARK_COLUMNS)
    pmap, kmap = _table(mem, 5, 2), _table(mem, 6, 2)
    pmap[:, 1] = EMPTY
    kmap[:, 1] = EMPTY
    for p in range(mem[N_PERSONS]):
        slot = find_person(pmap, marks[p, PID])
        pmap[slot, 0] = marks[p, PID]
        pmap[slot, 1] = p
    mask = kmap.shape[0] - 1
    for k in range(mem[N_KEYS]):
        if rehash:
            ids[k, KHASH] = hash_bytes(text, ids[k, TOFF], ids[k, TLEN], ids[k, TYPE], mem[SEED])
        slot = ids[k, KHASH] & mask
        while kmap[slot, 1] != EMPTY:
            slot = (slot + 1) & mask
        kmap[slot, 0] = ids[k, KHASH]
        kmap[slot, 1] = k
