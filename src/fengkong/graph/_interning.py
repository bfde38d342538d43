"""Compiled identifier handling for the online graph: normalisation, hashing, interning.

An application's identifier values arrive as one UTF-8 buffer (values separated by NUL).
Each value is normalised by the rules of :func:`fengkong.graph.online._normalise` (ASCII
values here; the caller normalises the rare non-ASCII value in Python and marks it done),
written at the end of the text pool, hashed with its type, and looked up in an
open-addressing table of ``(hash, row)``; a hit is confirmed byte for byte against the pool,
so two different identifiers never share a row whatever their hashes. Applicants are
interned the same way by id. Tables hold at most half their slots, so probes stay short.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "ADDRESS",
    "PHONE",
    "PLAIN",
    "find_key",
    "find_person",
    "hash_bytes",
    "normalise_into",
    "person_slot",
]

PLAIN, PHONE, ADDRESS = 0, 1, 2  # normalisation classes
EMPTY = -1  # a free slot's row

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@njit(cache=True, inline="always")
def _space(c: int) -> bool:
    """Python's ``str.isspace`` on an ASCII byte (also what ``\\s`` matches)."""
    return c == 32 or 9 <= c <= 13 or 28 <= c <= 31


@njit(cache=True)
def normalise_into(
    src: np.ndarray | bytes, start: int, end: int, cls: int, out: np.ndarray, at: int
) -> int:
    """Normalise the ASCII value ``src[start:end]`` into ``out[at:]``; its length, or -1.

    Phones lose whitespace, dashes and brackets and a +86/0086 prefix and must be mainland
    mobiles (``1[3-9]`` and nine more digits); addresses are lower-cased with whitespace runs
    collapsed to one space; other values are lower-cased; all are trimmed, and empty is -1.
    """
    while start < end and _space(src[start]):
        start += 1
    while end > start and _space(src[end - 1]):
        end -= 1
    n = 0
    if cls == PHONE:
        for i in range(start, end):
            c = src[i]
            if not (_space(c) or c == 45 or c == 40 or c == 41):  # noqa: PLR1714 (- ( ), numba)
                out[at + n] = c
                n += 1
        skip = 0
        if n >= 3 and out[at] == 43 and out[at + 1] == 56 and out[at + 2] == 54:  # +86
            skip = 3
        elif n >= 4 and out[at] == 48 and out[at + 1] == 48 and out[at + 2] == 56 and out[at + 3] == 54:  # fmt: skip
            skip = 4  # 0086
        if skip:
            for i in range(n - skip):
                out[at + i] = out[at + i + skip]
            n -= skip
        if n != 11 or out[at] != 49 or not (51 <= out[at + 1] <= 57):
            return -1
        for i in range(2, 11):
            if not (48 <= out[at + i] <= 57):
                return -1
        return n
    gap = False
    for i in range(start, end):
        c = src[i]
        if cls == ADDRESS and _space(c):
            gap = True
            continue
        if gap:
            out[at + n] = 32
            n += 1
            gap = False
        out[at + n] = c + 32 if 65 <= c <= 90 else c
        n += 1
    return n if n else -1


@njit(cache=True)
def hash_bytes(buf: np.ndarray, start: int, length: int, kind: int, seed: int) -> int:
    """A 62-bit hash of ``kind`` and ``buf[start:start+length]`` (FNV-1a, then mixed)."""
    h = _FNV_OFFSET ^ np.uint64(seed)
    h = (h ^ np.uint64(kind + 1)) * _FNV_PRIME
    for i in range(start, start + length):
        h = (h ^ np.uint64(buf[i])) * _FNV_PRIME
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    return int(np.int64(h >> np.uint64(2)))


@njit(cache=True, inline="always")
def person_slot(pmap: np.ndarray, person_id: int) -> int:
    """The slot where the search for ``person_id`` in ``pmap`` starts."""
    h = np.uint64(person_id) * np.uint64(0x9E3779B97F4A7C15)
    return int(np.int64((h >> np.uint64(20)) & np.uint64(pmap.shape[0] - 1)))


@njit(cache=True)
def find_person(pmap: np.ndarray, person_id: int) -> int:
    """The slot of ``person_id`` in ``pmap`` (``(id, row)`` rows), or the free slot for it."""
    mask = pmap.shape[0] - 1
    slot = person_slot(pmap, person_id)
    while pmap[slot, 1] != EMPTY and pmap[slot, 0] != person_id:
        slot = (slot + 1) & mask
    return int(slot)


@njit(cache=True)
def find_key(
    kmap: np.ndarray, ids: np.ndarray, text: np.ndarray, h: int, kind: int, start: int,
    length: int, type_col: int, hash_col: int, off_col: int, len_col: int,
) -> int:  # fmt: skip
    """The slot of the identifier ``(kind, text[start:start+length])`` with hash ``h`` in
    ``kmap`` (``(hash, row)`` rows), or the free slot for it; hits are compared byte for byte."""
    mask = kmap.shape[0] - 1
    slot = h & mask
    while True:
        row = kmap[slot, 1]
        if row == EMPTY:
            return int(slot)
        if kmap[slot, 0] == h and ids[row, type_col] == kind and ids[row, len_col] == length:
            other = ids[row, off_col]
            same = True
            for i in range(length):
                if text[other + i] != text[start + i]:
                    same = False
                    break
            if same and ids[row, hash_col] == h:
                return int(slot)
        slot = (slot + 1) & mask
