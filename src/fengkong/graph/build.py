"""The applicant-identifier graph in batch: sparse incidence, components, hop counts, features.

Applicants (persons) link through identifiers they hold. Identifier types are namespaces
(``device|d1`` never meets ``ip|d1``). Strong types (mobile, device, bank card, emergency
phone) join components; weak types (IP, address, employer) only feed counts. An identifier
held by more than ``cap`` applicants (carrier IPs, big employers, a leaked test phone) is
*capped*: it feeds counts and is never a hop, so one hub can never merge the graph; its first
``cap`` holders (by first sighting) stay in one component, as in the online graph, which
linked them before the identifier passed the cap (a union is not undone).

Everything is SciPy sparse algebra: components by ``connected_components`` on the person
adjacency ``S Sᵀ``; known-bad applicants within 1 and 2 hops by boolean products of the person-person
adjacency ``S Sᵀ`` (distinct neighbours, not paths), which a test checks against networkx.

>>> ids = pl.DataFrame({"person_id": [1, 2, 2, 3, 4], "id_type": ["device"] * 4 + ["ip"],
...     "id_value": ["a", "a", "b", "b", "x"], "first_seen": [dt.datetime(2026, 1, 1)] * 5})
>>> g = IdentifierGraph.build(ids)
>>> g.component_sizes().tolist()
[3, 3, 3, 1]
>>> g.bad_within_hops(np.array([False, False, True, False]))[0].tolist()  # person 3 is bad
[0, 1, 0, 0]
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import polars as pl
import scipy.sparse as sp
from numba import njit
from scipy.sparse.csgraph import connected_components

from fengkong.errors import InvalidArgumentError, Problem
from fengkong.graph.normalize import ID_TYPES, normalize_frame

__all__ = ["GraphConfig", "IdentifierGraph", "linking_identifiers", "person_links"]

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


def person_links(strong: sp.csr_matrix) -> sp.csr_matrix:
    """Boolean person-person adjacency ``S Sᵀ`` without self loops, from a persons x identifiers
    matrix: each applicant's distinct co-holders, by one compiled pass over the holders of its
    identifiers (what SciPy's general sparse product computes, without its accumulator and
    its sort; a test holds the two equal).

    >>> s = sp.csr_matrix(np.array([[1, 0], [1, 1], [0, 1]], dtype=np.int8))
    >>> person_links(s).toarray().tolist()
    [[0, 1, 0], [1, 0, 1], [0, 1, 0]]
    """
    s = sp.csr_matrix(strong, copy=True)
    s.eliminate_zeros()  # a stored zero holds nothing
    by_identifier = s.tocsc()
    holders = np.diff(by_identifier.indptr).astype(np.int64)
    bound = int((holders * np.maximum(holders - 1, 0)).sum())  # pairs, before de-duplication
    indptr, indices = _co_holders(
        s.indptr.astype(np.int64), s.indices.astype(np.int64),
        by_identifier.indptr.astype(np.int64), by_identifier.indices.astype(np.int32), bound,
    )  # fmt: skip
    n = s.shape[0]
    a = sp.csr_matrix((np.ones(len(indices), dtype=np.int32), indices, indptr), shape=(n, n))
    a.has_sorted_indices = True
    return a


def linking_identifiers(keys: pl.DataFrame, config: GraphConfig) -> I64:
    """The identifiers that link applicants: strong, uncapped and held by two or more (one
    held by a single applicant links no one; most identifiers are such)."""
    strong = keys["id_type"].is_in(list(config.strong)).to_numpy()
    shared = keys["holders"].to_numpy() >= 2
    return np.flatnonzero(strong & shared & ~keys["capped"].to_numpy()).astype(np.int64)


@njit(cache=True)
def _co_holders(
    indptr: np.ndarray, indices: np.ndarray, t_indptr: np.ndarray, t_indices: np.ndarray,
    bound: int,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """CSR rows of each person's distinct co-holders (sorted), from the person → identifier and
    identifier → person CSR structures; ``bound`` caps the output's length."""
    n = len(indptr) - 1
    seen = np.full(n, -1, dtype=np.int64)
    out_ptr = np.zeros(n + 1, dtype=np.int64)
    out = np.empty(bound, dtype=np.int32)
    used = 0
    for p in range(n):
        start = used
        for a in range(indptr[p], indptr[p + 1]):
            k = indices[a]
            for b in range(t_indptr[k], t_indptr[k + 1]):
                q = t_indices[b]
                if q != p and seen[q] != p:
                    seen[q] = p
                    out[used] = q
                    used += 1
        for i in range(start + 1, used):  # insertion sort: rows hold a handful
            v, j = out[i], i - 1
            while j >= start and out[j] > v:
                out[j + 1] = out[j]
                j -= 1
            out[j + 1] = v
        out_ptr[p + 1] = used
    return out_ptr, out[:used].copy()


def _cap_persons(edges: pl.DataFrame, cap: int, problems: list[Problem]) -> pl.DataFrame:
    """The person-identifier edges with each applicant's first ``cap`` identifiers (by first
    sighting, then by value) and a problem for each applicant who held more (the first 100)."""
    held = edges.group_by("person_id").len()
    over = held.filter(pl.col("len") > cap).sort("person_id")
    if not over.height:
        return edges
    for person, n in over.head(100).iter_rows():
        problems.append(
            Problem("<identifiers>", str(person), f"holds {n} identifiers: capped at {cap}")
        )
    crowded = pl.col("person_id").is_in(over["person_id"].implode())
    kept = (
        edges.filter(crowded)
        .sort("person_id", "first_seen", "key")
        .filter(pl.int_range(pl.len()).over("person_id") < cap)
    )
    return pl.concat([edges.filter(~crowded), kept])


@dataclass(frozen=True, slots=True)
class GraphConfig:
    """Which identifier types link applicants, the degree cap on any one identifier
    (``cap`` holders) and on any one applicant (``person_cap`` identifiers: the first held are
    kept, by first sighting, the rest reported)."""

    strong: tuple[str, ...] = ("mobile", "device", "bank_card", "emergency_phone")
    weak: tuple[str, ...] = ("ip", "address", "employer")
    cap: int = 50
    person_cap: int = 500

    def __post_init__(self) -> None:
        if self.cap < 2:
            raise InvalidArgumentError("cap", expected="at least 2 holders", got=self.cap)
        if self.person_cap < 1:
            raise InvalidArgumentError(
                "person_cap", expected="at least 1 identifier", got=self.person_cap
            )
        unknown = set(self.strong + self.weak) - set(ID_TYPES)
        if unknown:
            raise InvalidArgumentError(
                "id types", expected=f"a subset of {list(ID_TYPES)}", got=sorted(unknown)
            )


@dataclass(frozen=True)
class IdentifierGraph:
    """The graph of one set of applicants; rows of every per-person array follow ``persons``."""

    config: GraphConfig
    persons: I64
    keys: pl.DataFrame  # identifier index: key, id_type, holders, capped, first_seen
    incidence: sp.csr_matrix  # persons x identifiers (all types)
    labels: I64  # component of each person (strong, uncapped identifiers)
    links: sp.csr_matrix  # person-person adjacency through strong, uncapped identifiers
    problems: list[Problem] = field(default_factory=list)
    # persons x identifiers: the first ``cap`` holders of each capped strong identifier (by
    # first sighting, then applicant id): linked into one component before it was capped,
    # as the online graph links them (a union is never undone), never counted as hops
    early: sp.csr_matrix | None = None

    @classmethod
    def build(
        cls,
        identifiers: pl.DataFrame,
        config: GraphConfig | None = None,
        *,
        as_of: dt.datetime | None = None,
    ) -> IdentifierGraph:
        """Build from a person-identifier frame (``person_id, id_type, id_value, first_seen``);
        with ``as_of``, only the identifiers first seen by then (the graph as it was: a link
        first seen later must not merge components in a training set as of ``as_of``)."""
        config = config or GraphConfig()
        if as_of is not None:
            identifiers = identifiers.filter(pl.col("first_seen") <= as_of)
        clean, problems = normalize_frame(identifiers)
        clean = clean.filter(pl.col("id_type").is_in(config.strong + config.weak))
        persons = np.unique(clean["person_id"].to_numpy())
        if identifiers.height and not len(persons):
            problems.append(
                Problem("<identifiers>", "", "no usable identifier: the graph is empty")
            )
        edges = (
            clean.with_columns(key=pl.col("id_type") + "|" + pl.col("id_value"))
            .group_by("person_id", "key", "id_type")
            .agg(pl.col("first_seen").min())
        )
        edges = _cap_persons(edges, config.person_cap, problems)
        keys = (
            edges.group_by("key", "id_type")
            .agg(pl.col("person_id").n_unique().alias("holders"), pl.col("first_seen").min())
            .sort("key")
            .with_columns(
                (pl.col("holders") > config.cap).alias("capped"), pl.int_range(pl.len()).alias("k")
            )
        )
        capped = keys.filter("capped")
        for r in capped.head(100).iter_rows(named=True):
            problems.append(
                Problem(
                    "<identifiers>",
                    r["key"],
                    f"held by {r['holders']} applicants: capped at {config.cap}",
                )
            )
        edges = edges.join(keys.select("key", "k", "capped"), on="key")
        rows = np.searchsorted(persons, edges["person_id"].to_numpy())
        cols = edges["k"].to_numpy()
        shape = (len(persons), keys.height)
        incidence = sp.csr_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=shape)
        links = person_links(incidence[:, linking_identifiers(keys, config)])
        first = (
            edges.with_row_index("__edge")
            .filter(pl.col("capped") & pl.col("id_type").is_in(list(config.strong)))
            .sort("k", "first_seen", "person_id")
            .filter(pl.int_range(pl.len()).over("k") < config.cap)["__edge"]
            .to_numpy()
        )
        early = sp.csr_matrix(
            (np.ones(len(first), dtype=np.int8), (rows[first], cols[first])), shape=shape
        )
        _, labels = connected_components(links + person_links(early), directed=False)
        return cls(
            config,
            persons,
            keys.drop("k"),
            incidence,
            labels.astype(np.int64),
            links,
            problems,
            early,
        )

    # -- structure ---------------------------------------------------------------------------
    def index_of(self, person_ids: npt.ArrayLike) -> I64:
        """Row of each person id (raises for unknown ids)."""
        ids = np.asarray(person_ids, dtype=np.int64)
        pos = np.searchsorted(self.persons, ids)
        ok = (pos < len(self.persons)) & (
            self.persons[np.minimum(pos, len(self.persons) - 1)] == ids
        )
        if not ok.all():
            raise InvalidArgumentError(
                "person_id", expected="applicants of this graph", got=ids[~ok][:5].tolist()
            )
        return pos.astype(np.int64)

    def adjacency(self) -> sp.csr_matrix:
        """Person-person adjacency through strong, uncapped identifiers (boolean, no self loops)."""
        return self.links

    def component_sizes(self) -> I64:
        """Size of each person's component."""
        return np.bincount(self.labels)[self.labels].astype(np.int64)

    def bad_within_hops(self, bad: B, *, adjacency: sp.csr_matrix | None = None) -> tuple[I64, I64]:
        """Distinct known-bad applicants within 1 and within 2 hops of each person (self excluded).

        Only the columns of bad applicants are multiplied (``A @ A[:, bad]``), so the cost
        follows the number of known-bad applicants, not the square of the graph.
        """
        a = self.adjacency() if adjacency is None else adjacency
        flags = np.asarray(bad, dtype=bool)
        cols = np.flatnonzero(flags)
        one = np.asarray(a @ flags.astype(np.int64), dtype=np.int64)
        to_bad = a[:, cols]
        reach = (a @ to_bad + to_bad).tocsr()
        reach.data[:] = 1
        two = np.diff(reach.indptr).astype(np.int64)
        if len(cols):  # a bad applicant reaches itself through any neighbour: not a neighbour
            self_hit = np.zeros(len(flags), dtype=np.int64)
            diagonal = reach[cols, np.arange(len(cols))]
            self_hit[cols] = np.asarray(diagonal).ravel().astype(np.int64)
            two -= self_hit
        return one, two

    # -- features -----------------------------------------------------------------------------
    def features(
        self, *, as_of: dt.datetime, bad: B | None = None, applications: pl.DataFrame | None = None
    ) -> pl.DataFrame:
        """Per-person graph features as of ``as_of`` (see ``docs/graph.md`` for each column)."""
        n = len(self.persons)
        bad = np.zeros(n, dtype=bool) if bad is None else np.asarray(bad, dtype=bool)
        sizes = self.component_sizes()
        one, two = self.bad_within_hops(bad)
        comp_bad = np.bincount(self.labels, weights=bad.astype(float))[self.labels]
        holders = self.keys["holders"].to_numpy()
        coo = self.incidence.tocoo()
        frame = pl.DataFrame({"row": coo.row, "k": coo.col}).with_columns(
            pl.Series("id_type", self.keys["id_type"].to_numpy()[coo.col]),
            pl.Series("holders", holders[coo.col]),
            pl.Series("first_seen", self.keys["first_seen"].to_numpy()[coo.col]),
        )
        shared = frame.group_by("row", "id_type").agg((pl.col("holders") - 1).max().alias("others"))
        wide = shared.pivot(on="id_type", index="row", values="others")
        per_type = pl.DataFrame({"row": np.arange(n)}).join(wide, on="row", how="left")
        joined = frame.filter(
            pl.col("id_type").is_in(list(self.config.strong))
            & (pl.col("holders") <= self.config.cap)
        ).select("row", "first_seen")
        if self.early is not None and self.early.nnz:
            e = self.early.tocoo()
            seen = self.keys["first_seen"].to_numpy()[e.col]
            joined = pl.concat(
                [joined, pl.DataFrame({"row": e.row, "first_seen": seen}).cast(joined.schema)]
            )
        strong_first = joined.group_by("row").agg(pl.col("first_seen").min())
        first = pl.DataFrame({"row": np.arange(n)}).join(strong_first, on="row", how="left")[
            "first_seen"
        ]
        comp_first = (
            pl.DataFrame({"c": self.labels, "first": first})
            .group_by("c")
            .agg(pl.col("first").min())
        )
        age = pl.DataFrame({"c": self.labels}).join(
            comp_first, on="c", how="left", maintain_order="left"
        )["first"]
        devices = (
            frame.filter(pl.col("id_type") == "device")
            .group_by("row")
            .agg(pl.len().alias("devices"), (pl.col("holders")).max().alias("ppd"))
        )
        dev = pl.DataFrame({"row": np.arange(n)}).join(devices, on="row", how="left")
        out = pl.DataFrame(
            {
                "person_id": self.persons,
                "component_id": self.labels,
                "component_size": sizes,
                "component_age_days": (as_of - age).dt.total_days().fill_null(0).clip(0),
                "bad_1hop": one,
                "bad_2hop": two,
                # the other applicants' labels: never the applicant's own
                "component_bad_share": np.where(
                    sizes > 1, (comp_bad - bad) / np.maximum(sizes - 1, 1), 0.0
                ),
                "devices_per_person": dev["devices"].fill_null(0),
                "persons_per_device": dev["ppd"].fill_null(0),
            }
        )
        for t in self.config.strong + self.config.weak:
            column = per_type[t] if t in per_type.columns else pl.Series([None] * n, dtype=pl.Int64)
            out = out.with_columns(column.fill_null(0).cast(pl.Int64).alias(f"shared_{t}"))
        if applications is not None:
            out = out.join(
                self._recent(applications, as_of), on="component_id", how="left"
            ).with_columns(
                pl.col("component_apps_1d").fill_null(0), pl.col("component_apps_7d").fill_null(0)
            )
        return out

    def _recent(self, applications: pl.DataFrame, as_of: dt.datetime) -> pl.DataFrame:
        apps = applications.filter(
            pl.col("person_id").is_in(self.persons.tolist()) & (pl.col("applied_at") <= as_of)
        )
        comp = (
            pl.Series(self.labels[self.index_of(apps["person_id"].to_numpy())])
            if apps.height
            else pl.Series([], dtype=pl.Int64)
        )
        return (
            apps.with_columns(component_id=comp)
            .group_by("component_id")
            .agg(
                (pl.col("applied_at") > as_of - dt.timedelta(days=1))
                .sum()
                .cast(pl.Int64)
                .alias("component_apps_1d"),
                (pl.col("applied_at") > as_of - dt.timedelta(days=7))
                .sum()
                .cast(pl.Int64)
                .alias("component_apps_7d"),
            )
        )
