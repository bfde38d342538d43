"""The identifier graph kept current per application: union-find with per-root counters.

``OnlineGraph.add(person_id, identifiers, applied_at)`` links a new application in amortised
near-constant time (path-halving union by size, never a traversal of a component) and
returns its graph features. Each root keeps its component's size, first-seen time,
known-bad count and recent application times; each identifier keeps its holders until it
passes the cap, after which it only counts. Application times are kept for the last 7 days
only (the longest window any feature looks at), so merging components never copies long
histories. Features equal the batch graph's (:meth:`IdentifierGraph.features`) on the same
applications as long as no identifier crossed the cap since the last seed: a union cannot be
undone, so re-seed periodically from a batch build with :meth:`OnlineGraph.seed`, which also
applies deletions and label changes.

>>> g = OnlineGraph()
>>> t = dt.datetime(2026, 1, 1)
>>> g.add(1, [("device", "D1", t)], t)["component_size"]
1
>>> g.add(2, [("device", "d1 ", t)], t)["component_size"]  # normalised: the same device
2
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

import numpy as np

from fengkong.graph.build import GraphConfig, IdentifierGraph

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
_PHONE_OK = re.compile(r"^1[3-9]\d{9}$")
_SPACES = re.compile(r"\s+")
Identifier = tuple[str, str, dt.datetime]
_WINDOW = dt.timedelta(days=7)  # the longest look-back of any feature


def _normalise(id_type: str, value: str) -> str | None:
    """The batch normalisation rules (``graph.normalize``), for one value."""
    v = str(value).strip()
    if id_type in ("mobile", "emergency_phone"):
        v = _PHONE_STRIP.sub("", v)
        v = v[3:] if v.startswith("+86") else v[4:] if v.startswith("0086") else v
        return v if _PHONE_OK.match(v) else None
    if id_type == "address":
        return _SPACES.sub(" ", v.lower()) or None
    return v.lower() or None


class OnlineGraph:
    """Incremental identifier graph for real-time decisions (one process; see ``docs/graph.md``)."""

    def __init__(self, config: GraphConfig | None = None) -> None:
        self.config = config or GraphConfig()
        self._strong = frozenset(self.config.strong)
        self._types = frozenset(self.config.strong + self.config.weak)
        self.parent: dict[int, int] = {}
        self.size: dict[int, int] = {}
        self.first_seen: dict[int, dt.datetime] = {}
        self.bad_count: dict[int, int] = {}
        self.apps: dict[int, list[dt.datetime]] = {}
        self.holders: dict[str, set[int] | int] = {}  # a set until capped, then a count
        self.key_type: dict[str, str] = {}
        self.count: dict[str, int] = {}  # holders of each key, capped or not
        self._shared_names = {t: f"shared_{t}" for t in self.config.strong + self.config.weak}
        self.linking: dict[int, list[str]] = {}  # each person's strong keys
        self.bad_holders: dict[str, set[int]] = {}  # known-bad holders of each strong key
        self.person_keys: dict[int, dict[str, dt.datetime]] = {}
        self.bad: set[int] = set()
        self.rejected = 0

    # -- union-find ---------------------------------------------------------------------------
    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def _union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size.pop(rb)
        self.bad_count[ra] += self.bad_count.pop(rb)
        fa, fb = self.first_seen.get(ra), self.first_seen.pop(rb, None)
        if fb is not None and (fa is None or fb < fa):
            self.first_seen[ra] = fb
        small = self.apps.pop(rb)
        if small:
            self.apps[ra] = sorted(self.apps[ra] + small)  # both hold one window: small lists
        return ra

    def _ensure(self, person: int) -> None:
        if person not in self.parent:
            self.parent[person] = person
            self.size[person] = 1
            self.bad_count[person] = 1 if person in self.bad else 0
            self.apps[person] = []
            self.person_keys[person] = {}
            self.linking[person] = []

    # -- updates ------------------------------------------------------------------------------
    def add(
        self, person_id: int, identifiers: Iterable[Identifier], applied_at: dt.datetime
    ) -> dict[str, Any]:
        """Link one application's identifiers and return the applicant's graph features."""
        person = int(person_id)
        self._ensure(person)
        keys = self.person_keys[person]
        cap = self.config.cap
        for id_type, raw, seen in identifiers:
            if id_type not in self._types:
                self.rejected += 1
                continue
            value = _normalise(id_type, raw)
            if value is None:
                self.rejected += 1
                continue
            key = f"{id_type}|{value}"
            if key in keys:
                keys[key] = min(keys[key], seen)
                self._note_seen(person, key, keys[key])
                continue
            keys[key] = seen
            if id_type in self._strong:
                self.linking[person].append(key)
                if person in self.bad:
                    self.bad_holders.setdefault(key, set()).add(person)
            self.key_type[key] = id_type
            self.count[key] = self.count.get(key, 0) + 1
            members = self.holders.get(key)
            if members is None:
                self.holders[key] = {person}
            elif isinstance(members, set):
                members.add(person)
                if len(members) > cap:
                    self.holders[key] = len(members)  # capped from now on: counts only
                    continue
                if id_type in self._strong:
                    self._union(
                        person, next(iter(members - {person})) if len(members) > 1 else person
                    )
            else:
                self.holders[key] = members + 1
            self._note_seen(person, key, seen)
        root = self.find(person)
        apps = self.apps[root]
        bisect.insort(apps, applied_at)
        horizon = applied_at - _WINDOW
        if apps[0] <= horizon:  # keep only the window the features look at
            del apps[: bisect.bisect_right(apps, horizon)]
        return self.features(person, as_of=applied_at)

    def _note_seen(self, person: int, key: str, seen: dt.datetime) -> None:
        if self.key_type[key] in self._strong and isinstance(self.holders.get(key), set):
            root = self.find(person)
            current = self.first_seen.get(root)
            if current is None or seen < current:
                self.first_seen[root] = seen

    def mark_bad(self, person_id: int) -> None:
        """Record a known-bad applicant (defaulted, confirmed fraud)."""
        person = int(person_id)
        if person in self.bad:
            return
        self.bad.add(person)
        if person in self.parent:
            self.bad_count[self.find(person)] += 1
            for key in self.linking[person]:
                self.bad_holders.setdefault(key, set()).add(person)

    # -- features -----------------------------------------------------------------------------
    def _neighbours(self, person: int) -> set[int]:
        out: set[int] = set()
        holders = self.holders
        for key in self.linking[person]:
            members = holders[key]
            if members.__class__ is set and len(members) > 1:
                out |= members
        out.discard(person)
        return out

    def neighbourhood(self, person_id: int, *, hops: int = 2, limit: int = 100) -> dict[str, Any]:
        """The applicant's neighbourhood as :func:`fengkong.graph.export.neighbourhood` gives it
        for a batch graph (applicants within ``hops``, at most ``limit``; capped identifiers
        shown with their holder count, never expanded) — for the decision explorer. Off the
        hot path: it walks the neighbourhood, which a decision never does."""
        person = int(person_id)
        if person not in self.person_keys:
            return {"applicant": person, "hops": hops, "truncated": False, "nodes": [],
                    "edges": []}  # fmt: skip
        seen, frontier = {person: 0}, [person]
        nodes: dict[str, dict[str, Any]] = {}
        edges: list[dict[str, Any]] = []
        truncated = False
        for depth in range(hops + 1):
            nxt = []
            for who in frontier:
                node = f"person:{who}"
                nodes[node] = {"id": node, "kind": "applicant", "hop": seen[who],
                               "component": self.find(who), "bad": who in self.bad}  # fmt: skip
                for key in self.person_keys.get(who, {}):
                    members = self.holders.get(key)
                    capped = not isinstance(members, set)
                    count = self.count.get(key, 0)
                    nodes.setdefault(key, {"id": key, "kind": "identifier", "holders": count,
                                           "capped": capped})  # fmt: skip
                    edges.append({"source": node, "target": key})
                    if capped or depth == hops or not isinstance(members, set):
                        continue
                    for other in sorted(members):
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

    def features(self, person_id: int, *, as_of: dt.datetime) -> dict[str, Any]:
        """The applicant's current graph features (the batch graph's columns)."""
        person = int(person_id)
        root = self.find(person)
        size = self.size[root]
        first = self.first_seen.get(root)
        one = self._neighbours(person)
        bad = self.bad
        bad_1hop = bad_2hop = 0
        if bad and one:
            # Known-bad within two hops through the small per-key sets of bad holders: the cost
            # follows the neighbours' keys, never the neighbours' own neighbourhoods.
            holders, bad_holders, linking = self.holders, self.bad_holders, self.linking
            reached = one & bad
            bad_1hop = len(reached)
            for n in one:
                for key in linking[n]:
                    found = bad_holders.get(key)
                    if found and holders[key].__class__ is set:
                        reached |= found
            reached.discard(person)
            bad_2hop = len(reached)
        apps = self.apps[root]
        keys = self.person_keys[person]
        out: dict[str, Any] = {
            "person_id": person,
            "component_size": size,
            "component_age_days": (as_of - first).days if first is not None else 0,
            "bad_1hop": bad_1hop,
            "bad_2hop": bad_2hop,
            "component_bad_share": self.bad_count[root] / size,
            "component_apps_1d": len(apps)
            - bisect.bisect_right(apps, as_of - dt.timedelta(days=1)),
            "component_apps_7d": len(apps)
            - bisect.bisect_right(apps, as_of - dt.timedelta(days=7)),
        }
        names = self._shared_names
        shared = dict.fromkeys(names.values(), 0)
        devices, per_device = 0, 0
        key_type, counts = self.key_type, self.count
        for key in keys:
            id_type = key_type[key]
            others = counts[key] - 1
            name = names[id_type]
            shared[name] = max(shared[name], others)
            if id_type == "device":
                devices += 1
                per_device = max(per_device, others + 1)
        out["devices_per_person"] = devices
        out["persons_per_device"] = per_device
        out.update(shared)
        return out

    # -- seeding ------------------------------------------------------------------------------
    @classmethod
    def seed(
        cls,
        graph: IdentifierGraph,
        *,
        bad: np.ndarray | None = None,
        applications: dict[int, list[dt.datetime]] | None = None,
    ) -> OnlineGraph:
        """An online graph equal to a batch build (the periodic re-seed)."""
        online = cls(graph.config)
        keys = graph.keys
        coo = graph.incidence.tocoo()
        key_names = keys["key"].to_list()
        capped = keys["capped"].to_list()
        holders = keys["holders"].to_list()
        first_seen = keys["first_seen"].to_list()
        persons = graph.persons.tolist()
        labels = graph.labels.tolist()
        roots: dict[int, int] = {}
        for row, person in enumerate(persons):
            root = roots.setdefault(labels[row], person)
            online.parent[person] = root
            online.person_keys[person] = {}
            online.linking[person] = []
        for root in roots.values():
            online.size[root] = 0
            online.bad_count[root] = 0
            online.apps[root] = []
        bad_rows = set(np.flatnonzero(bad).tolist()) if bad is not None else set()
        for row, person in enumerate(persons):
            root = online.parent[person]
            online.size[root] += 1
            if row in bad_rows:
                online.bad.add(person)
                online.bad_count[root] += 1
            for t in (applications or {}).get(person, []):
                bisect.insort(online.apps[root], t)
        for row, col in zip(coo.row.tolist(), coo.col.tolist(), strict=True):
            person, key = persons[row], key_names[col]
            online.person_keys[person][key] = first_seen[col]
            id_type = key.split("|", 1)[0]
            online.key_type[key] = id_type
            online.count[key] = holders[col]
            if id_type in online._strong:
                online.linking[person].append(key)
            if capped[col]:
                online.holders[key] = holders[col]
            else:
                members = online.holders.setdefault(key, set())
                assert isinstance(members, set)
                members.add(person)
                if id_type in online._strong:
                    root = online.parent[person]
                    current = online.first_seen.get(root)
                    if current is None or first_seen[col] < current:
                        online.first_seen[root] = first_seen[col]
        for person in online.bad:
            for key in online.linking[person]:
                online.bad_holders.setdefault(key, set()).add(person)
        return online
