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
- known-bad entries ``bads`` (per strong identifier);
- application times ``apps``: one ring of (time, applicant) in time order for the whole graph.
  Each component root counts its applications in the last day and the last 7 days; a new
  application moves two heads along the ring past what left each window and takes one off
  the count of the entry's current root (amortised O(1), whatever the component's size), and
  a union adds the counts. Entries stay in the ring for ``LATE`` beyond the window, so that
  counts as of an earlier time (a late application, a query) come from two short ring
  segments (:func:`window_counts`);
- the lookup tables ``pmap`` (applicant id → row) and ``kmap`` (identifier hash → row).

Times are integer microseconds. Identifier values and applicant ids are interned by
:mod:`fengkong.graph._interning`. The tables are far larger than any cache, so an insert is
mostly memory reads; it reads an application's identifiers ahead in chunks of ``CHUNK``
(:func:`_read_ahead`: normalise and hash each, then prefetch its lookup slot, row, text and
first holder in rounds) so that their misses overlap instead of queueing.
Nothing here allocates per call, traverses a component or
takes a lock: the caller (``OnlineGraph``) makes room in the tables before a call and
serialises calls (the GIL is held; these kernels mutate shared state).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from fengkong.graph._interning import (
    EMPTY,
    find_key,
    find_person,
    hash_bytes,
    normalise_into,
    person_slot,
)
from fengkong.graph._prefetch import prefetch

__all__ = [
    "DAY",
    "NONE",
    "arena_features",
    "arena_insert",
    "arena_mark_bad",
    "arena_person",
    "arena_rebuild_maps",
    "find",
    "state_micros",
    "window_counts",
]

NONE = np.iinfo(np.int64).max  # no first-seen time
DAY = 86_400_000_000  # microseconds
WINDOW = 7 * DAY  # the longest look-back of any feature
PRENORMALISED = 16  # flag on a type index: the value was normalised by the caller

# persons (CNT1/CNT7: the root's applications in the last day / 7 days)
PARENT, SIZE, BADCNT, FIRST, HEAD, CNT1, CNT7, BAD = range(8)
P_COLUMNS = 8  # 64 bytes: one cache line per applicant on the hot path
# applicants' cold columns: their id, three visit stamps (de-duplication without sets) and
# how many identifiers they hold (against the per-applicant cap)
PID, ST1, ST2, ST3, HELD = range(5)
MARK_COLUMNS = 5
# identifiers
TYPE, COUNT, CAPPED, KHEAD, BADHEAD, KHASH, TOFF, TLEN = range(8)
K_COLUMNS = 8
# incidence entries
PERSON, KEY, SEEN, NEXTP, NEXTK = range(5)
E_COLUMNS = 5
# known-bad entries: (applicant, next); application times: (time, applicant)
VALUE, NEXT = range(2)
OWNER = 1
IGNORED = 255  # a type index for identifier types the graph does not use
# the arena's header: counters and settings, normalisation class per type, the application
# ring's positions (logical indices: entry i is row i % rows; START..N_APPS are kept, HEAD7 and
# HEAD1 are the first inside each window of NOW, the latest application time), each table's
# (offset, rows), the lateness allowed, scratch for one call's per-type counts, the per-applicant
# cap and how many identifiers it refused
N_ENTRIES, N_BAD, APP_START, N_APPS, STAMP, CAP, N_STRONG, DEVICE = range(8)
N_PERSONS, N_KEYS, N_TEXT, REJECTED, SEED = range(8, 13)
CLASSES = 13  # 8 slots
NOW, HEAD1, HEAD7 = range(21, 24)
LAYOUT = 24  # 8 tables
LATE = 40
SHARED = 41  # 8 slots
PERSON_CAP, OVER = 49, 50  # identifiers one applicant may hold; new ones refused past it
CHUNK = 16  # identifiers read ahead together (their memory reads overlap)
AHEAD = 56  # CHUNK rows of (text position, length, hash, type) for the identifiers read ahead
HEADER = AHEAD + 4 * CHUNK
NEVER = -(1 << 62)  # NOW before any application
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
        pers[p, CNT1] = 0
        pers[p, CNT7] = 0


@njit(cache=True)
def _merge(pers: np.ndarray, a: int, b: int) -> None:
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
    pers[ra, CNT1] += pers[rb, CNT1]
    pers[ra, CNT7] += pers[rb, CNT7]


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
def link(
    pers: np.ndarray, marks: np.ndarray, ids: np.ndarray, ents: np.ndarray, bads: np.ndarray,
    meta: np.ndarray, p: int, k: int, seen: int,
) -> None:  # fmt: skip
    """Link identifier ``k`` (first seen at ``seen``) to the initialised person ``p``; a new
    one is refused (and counted in ``OVER``) when ``p`` already holds ``PERSON_CAP``, so that
    no applicant's list, which every insert of theirs walks, grows without bound."""
    head = pers[p, HEAD]
    e = head if ids[k, COUNT] else -1  # nobody holds a new identifier: nothing to look for
    while e >= 0 and ents[e, KEY] != k:
        e = ents[e, NEXTP]
    if e >= 0:  # already held: an earlier sighting may move first-seen back
        ents[e, SEEN] = min(ents[e, SEEN], seen)
        _note_seen(pers, ids, meta, p, k, ents[e, SEEN])
        return
    held = marks[p, HELD]
    if held >= meta[PERSON_CAP]:
        meta[OVER] += 1
        return
    marks[p, HELD] = held + 1
    strong = ids[k, TYPE] < meta[N_STRONG]
    e = meta[N_ENTRIES]
    meta[N_ENTRIES] = e + 1
    ents[e, PERSON] = p
    ents[e, KEY] = k
    ents[e, SEEN] = seen
    ents[e, NEXTP] = head
    ents[e, NEXTK] = -1
    pers[p, HEAD] = e
    if strong and pers[p, BAD]:
        _add_bad_entry(ids, bads, meta, p, k)
    holders = ids[k, COUNT]
    ids[k, COUNT] = holders + 1
    if ids[k, CAPPED]:
        return  # counts only
    other = ids[k, KHEAD]
    ents[e, NEXTK] = other
    ids[k, KHEAD] = e
    if holders + 1 > meta[CAP]:
        ids[k, CAPPED] = 1  # from now on it only counts: never joins components
        return
    if strong and other >= 0:
        _merge(pers, p, ents[other, PERSON])
    _note_seen(pers, ids, meta, p, k, seen)


@njit(cache=True)
def _advance(pers: np.ndarray, apps: np.ndarray, meta: np.ndarray, now: int) -> None:
    """Move the window heads to ``now``: each entry leaving a window comes off its current
    root's count; entries older than any query may need are dropped from the ring."""
    rows, end = apps.shape[0], meta[N_APPS]
    i = meta[HEAD1]
    while i < end and apps[i % rows, VALUE] <= now - DAY:
        pers[find(pers, apps[i % rows, OWNER]), CNT1] -= 1
        i += 1
    meta[HEAD1] = i
    i = meta[HEAD7]
    while i < end and apps[i % rows, VALUE] <= now - WINDOW:
        pers[find(pers, apps[i % rows, OWNER]), CNT7] -= 1
        i += 1
    meta[HEAD7] = i
    i = meta[APP_START]
    while i < meta[HEAD7] and apps[i % rows, VALUE] <= now - WINDOW - meta[LATE]:
        i += 1
    meta[APP_START] = i


@njit(cache=True)
def record_application(
    pers: np.ndarray, apps: np.ndarray, meta: np.ndarray, p: int, at: int
) -> None:
    """Put person ``p``'s application at ``at`` in the ring, in time order (the caller makes
    room and refuses times more than ``LATE`` before ``NOW``; ``LATE`` is under a day)."""
    rows, end = apps.shape[0], meta[N_APPS]
    if at >= meta[NOW]:
        meta[NOW] = at
        _advance(pers, apps, meta, at)
        i = end
    else:  # late: after the entries up to its time (inside both windows of NOW)
        i = end
        while i > meta[HEAD1] and apps[(i - 1) % rows, VALUE] > at:
            apps[i % rows, VALUE] = apps[(i - 1) % rows, VALUE]
            apps[i % rows, OWNER] = apps[(i - 1) % rows, OWNER]
            i -= 1
    apps[i % rows, VALUE] = at
    apps[i % rows, OWNER] = p
    meta[N_APPS] = end + 1
    root = find(pers, p)
    pers[root, CNT1] += 1
    pers[root, CNT7] += 1


@njit(cache=True)
def _count(
    pers: np.ndarray, apps: np.ndarray, meta: np.ndarray, root: int, lo: int, hi: int
) -> int:
    """Ring entries of ``root``'s component with a time in ``(lo, hi]``."""
    rows, left, right = apps.shape[0], meta[APP_START], meta[N_APPS]
    while left < right:  # the first entry after lo
        middle = (left + right) // 2
        if apps[middle % rows, VALUE] <= lo:
            left = middle + 1
        else:
            right = middle
    n = 0
    while left < meta[N_APPS] and apps[left % rows, VALUE] <= hi:
        n += find(pers, apps[left % rows, OWNER]) == root
        left += 1
    return n


@njit(cache=True)
def window_counts(
    pers: np.ndarray, apps: np.ndarray, meta: np.ndarray, root: int, as_of: int
) -> tuple[int, int]:
    """The component's applications in ``(as_of - 1 day, as_of]`` and ``(as_of - 7 days,
    as_of]``: the root's counts (as of ``NOW``) corrected by the ring segments between
    (``as_of`` at least ``NOW - LATE``, which the caller checks)."""
    now = meta[NOW]
    day, week = pers[root, CNT1], pers[root, CNT7]
    if as_of == now:
        return day, week
    if as_of > now:
        day -= _count(pers, apps, meta, root, now - DAY, as_of - DAY)
        week -= _count(pers, apps, meta, root, now - WINDOW, as_of - WINDOW)
        return day, week
    later = _count(pers, apps, meta, root, as_of, now)
    day += _count(pers, apps, meta, root, as_of - DAY, now - DAY) - later
    week += _count(pers, apps, meta, root, as_of - WINDOW, now - WINDOW) - later
    return day, week


@njit(cache=True)
def _bad_within_two_hops(
    pers: np.ndarray, marks: np.ndarray, ids: np.ndarray, ents: np.ndarray, bads: np.ndarray,
    meta: np.ndarray, p: int, others: int,
) -> tuple[int, int]:  # fmt: skip
    """Distinct known-bad applicants one hop and up to two hops from ``p``, given that the
    component holds ``others`` known-bad applicants besides ``p`` (the walk stops once it has
    found them all)."""
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
    if bad2 == others:
        return bad1, bad2
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
                                    if bad2 == others:
                                        return bad1, bad2
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
) -> tuple[float, ...]:
    """``(person_id, size, age days, bad 1-hop, bad 2-hop, bad share, apps 1d, apps 7d, devices,
    persons per device, shared per type x 8)`` of person ``p`` (the order of ``OnlineGraph``'s
    feature names)."""
    root = find(pers, p)
    size = pers[root, SIZE]
    first = pers[root, FIRST]
    age = max((as_of - first) // DAY, 0) if first != NONE else 0  # none before it existed
    bad1 = 0
    bad2 = 0
    if pers[root, BADCNT] > pers[p, BAD]:
        # Known-bad neighbours within two hops through strong, uncapped identifiers are in the
        # component, so a component without another known-bad applicant needs no walk at all.
        others = pers[root, BADCNT] - pers[p, BAD]
        bad1, bad2 = _bad_within_two_hops(pers, marks, ids, ents, bads, meta, p, others)
    apps1, apps7 = window_counts(pers, apps, meta, root, as_of)
    # the share of the *other* applicants of the component known bad (never one's own label)
    share = (pers[root, BADCNT] - pers[p, BAD]) / (size - 1) if size > 1 else 0.0
    shared = meta[SHARED : SHARED + 8]
    shared[:] = 0
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
        person_id, size, age, bad1, bad2, share, apps1, apps7, devices,
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
def _read_ahead(
    mem: np.ndarray, ids: np.ndarray, ents: np.ndarray, kmap: np.ndarray, text: np.ndarray,
    buf: bytes, first: int, count: int, n: int, start: int,
) -> int:  # fmt: skip
    """Normalise identifiers ``first .. first + count - 1`` of ``buf`` one after another past
    the end of the text pool, hash them, note each in the header's read-ahead rows and
    prefetch, in three rounds, what interning and linking them will read: the lookup slot,
    then the row it points to, then that row's text and first holder. The misses of all the
    identifiers overlap instead of queueing. Returns where the next value starts."""
    at = mem[N_TEXT]
    for j in range(count):
        end = start
        while end < len(buf) and buf[end] != 0:
            end += 1
        kind = buf[10 * n + 10 + first + j]
        length, h = -2, 0  # -2: a type the graph does not use
        if kind != IGNORED:
            if kind & PRENORMALISED:
                kind ^= PRENORMALISED
                length = end - start
                for i in range(length):
                    text[at + i] = buf[start + i]
            else:
                length = normalise_into(buf, start, end, mem[CLASSES + kind], text, at)
            if length >= 0:
                h = hash_bytes(text, at, length, kind, mem[SEED])
                prefetch(kmap, h & (kmap.shape[0] - 1))
        row = AHEAD + 4 * j
        mem[row], mem[row + 1], mem[row + 2], mem[row + 3] = at, length, h, kind
        at += max(length, 0)
        start = end + 1
    mask = kmap.shape[0] - 1
    for j in range(count):
        h = mem[AHEAD + 4 * j + 2]
        k = kmap[h & mask, 1]
        if mem[AHEAD + 4 * j + 1] >= 0 and k != EMPTY:
            prefetch(ids, k)
    for j in range(count):
        h = mem[AHEAD + 4 * j + 2]
        k = kmap[h & mask, 1]
        if mem[AHEAD + 4 * j + 1] >= 0 and k != EMPTY and kmap[h & mask, 0] == h:
            prefetch(text, ids[k, TOFF])
            if ids[k, KHEAD] >= 0:
                prefetch(ents, ids[k, KHEAD])
    return start


@njit(cache=True)
def _intern(
    mem: np.ndarray, ids: np.ndarray, kmap: np.ndarray, text: np.ndarray, at: int, length: int,
    h: int, kind: int,
) -> int:  # fmt: skip
    """The row of the identifier whose normalised value is ``text[at:at + length]`` (at or
    past the pool's end) with hash ``h``; a new row, its value moved to the pool's end, for a
    new identifier."""
    slot = find_key(kmap, ids, text, h, kind, at, length, TYPE, KHASH, TOFF, TLEN)
    k = kmap[slot, 1]
    if k == EMPTY:
        k = mem[N_KEYS]
        mem[N_KEYS] = k + 1
        end = mem[N_TEXT]
        for i in range(length):  # values read ahead before it were not new: close the gap
            text[end + i] = text[at + i]
        mem[N_TEXT] = end + length
        kmap[slot, 0] = h
        kmap[slot, 1] = k
        ids[k, TYPE] = kind
        ids[k, COUNT] = 0
        ids[k, CAPPED] = 0
        ids[k, KHEAD] = -1
        ids[k, BADHEAD] = -1
        ids[k, KHASH] = h
        ids[k, TOFF] = end
        ids[k, TLEN] = length
    return int(k)


@njit(cache=True)
def state_micros(buf: bytes, at: int) -> int:
    """Microseconds since 1970 of the naive ``datetime`` whose pickled state (10 bytes: year,
    month with the fold bit, day, hour, minute, second, microsecond) starts at ``buf[at]``."""
    y, m, d = buf[at] * 256 + buf[at + 1], buf[at + 2] & 127, buf[at + 3]
    y -= m <= 2  # days from the civil date (March-based years)
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    seconds = ((days * 24 + buf[at + 4]) * 60 + buf[at + 5]) * 60 + buf[at + 6]
    return seconds * 1_000_000 + (buf[at + 7] << 16) + (buf[at + 8] << 8) + buf[at + 9]


# -- entry points over one arena (one array to pass: the call costs a fraction of a microsecond)
@njit(cache=True)
def arena_insert(mem: np.ndarray, text: np.ndarray, buf: bytes, n: int, person_id: int) -> tuple[float, ...]:  # fmt: skip
    """Intern the applicant and its ``n`` identifiers, link them (:func:`link`), record the
    application (:func:`record_application`) and return the applicant's features
    (:func:`features`). ``buf`` holds the application time and each identifier's first-seen
    time (10-byte ``datetime`` states), then one type index byte per identifier, then the
    values separated by NUL. An application more than ``LATE`` before ``NOW`` changes nothing
    and gets a component size of -1."""
    pers, ids = _table(mem, 0, P_COLUMNS), _table(mem, 1, K_COLUMNS)
    ents, bads, apps = _table(mem, 2, E_COLUMNS), _table(mem, 3, 2), _table(mem, 4, 2)
    kmap, marks = _table(mem, 6, 2), _table(mem, 7, MARK_COLUMNS)
    meta = mem[:HEADER]
    at = state_micros(buf, 0)
    if at < meta[NOW] - meta[LATE]:
        return (person_id, -1, 0, 0, 0, 0.0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    # start the reads that do not wait for the applicant's row (its lookup slot, the
    # applicants whose applications leave the day and the week windows next) and read the
    # first identifiers ahead while they come
    pmap, rows = _table(mem, 5, 2), apps.shape[0]
    prefetch(pmap, person_slot(pmap, person_id))
    for head in (meta[HEAD1], meta[HEAD7]):
        if head < meta[N_APPS]:
            prefetch(pers, apps[head % rows, OWNER])
    start = _read_ahead(mem, ids, ents, kmap, text, buf, 0, min(CHUNK, n), n, 11 * n + 10)
    p = _person(mem, marks, pmap, person_id, True)
    _init_person(pers, p)
    prefetch(pers, pers[p, PARENT])
    if pers[p, HEAD] >= 0:  # a new applicant's rows are in cache already
        prefetch(ents, pers[p, HEAD])
        if n:
            prefetch(marks, p)  # its count of identifiers held
    for first in range(0, n, CHUNK):
        count = min(CHUNK, n - first)
        if first:
            start = _read_ahead(mem, ids, ents, kmap, text, buf, first, count, n, start)
        for j in range(count):
            row = AHEAD + 4 * j
            length = mem[row + 1]
            if length >= 0:
                k = _intern(mem, ids, kmap, text, mem[row], length, mem[row + 2], mem[row + 3])
                seen = state_micros(buf, 10 * (first + j) + 10)
                link(pers, marks, ids, ents, bads, meta, p, k, seen)
            elif length == -1:
                meta[REJECTED] += 1
    record_application(pers, apps, meta, p, at)
    return features(pers, marks, ids, ents, bads, apps, meta, p, person_id, at)


@njit(cache=True)
def arena_person(mem: np.ndarray, person_id: int) -> int:
    """The row of a linked applicant, or -1."""
    pers = _table(mem, 0, P_COLUMNS)
    p = _person(mem, _table(mem, 7, MARK_COLUMNS), _table(mem, 5, 2), person_id, False)
    return p if p >= 0 and pers[p, SIZE] > 0 else -1


@njit(cache=True)
def arena_features(mem: np.ndarray, p: int, person_id: int, as_of: int) -> tuple[float, ...]:
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
