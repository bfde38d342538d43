"""Fraud-ring detection in batch: candidates, a transparent score, evidence; risk propagation.

Candidates are the components of a *suspicious-sharing* graph: applicants linked by a device
or bank card they share (2 to ``cap`` holders) form cores; a phone or emergency contact shared
by at least ``min_phone_holders`` (5) applicants merges cores (a ring shares one organiser's
number) but never pulls in an applicant without a hard link (a popular friend, a household
contact). A candidate of at least ``min_size`` applicants is scored from four
parts, each in [0, 1], so an analyst can read why it was flagged:

- ``sharing``: density of the sharing graph inside the candidate;
- ``burst``: share of members whose first application falls within ``burst_days`` of at
  least half of the candidate's (an outsider joined by chance does not dilute the ring's);
- ``early_default``: share of members with a known early default (first-payment default or
  confirmed fraud), when outcomes are given;
- ``device_sharing``: share of members on a device another member also uses;
- ``fresh``: share of members whose shared device or card was first seen within
  ``fresh_days`` before their first application (a ring's identifiers are new; a family
  tablet or a second-hand phone has a past).

Candidates above ``max_size`` (60, beyond any plausible ring) are split into Leiden
communities when the optional compiled igraph library is installed.

``score = 0.15 sharing + 0.10 device_sharing + 0.25 burst + 0.25 early_default + 0.25 fresh``
(``RingConfig.weights``, data); flagged at ``threshold`` (0.55), so sharing alone (at most
0.25) never flags a group. A flagged ring's members are flagged on evidence of their own (in
the burst, fresh identifiers or an early default). The evidence lists the identifiers that
link the members and a timeline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from fengkong.graph.build import IdentifierGraph, person_links

__all__ = ["RingConfig", "detect_rings", "propagate_risk"]


_WEIGHTS = {
    "sharing": 0.15,
    "device_sharing": 0.10,
    "burst": 0.25,
    "early_default": 0.25,
    "fresh": 0.25,
}


@dataclass(frozen=True, slots=True)
class RingConfig:
    """The detector's parameters, all data: what makes a candidate, how each part weighs and
    the threshold. Sharing alone (a family tablet, a couple's card) weighs at most
    ``sharing + device_sharing`` = 0.25, below the threshold: a flag needs evidence beyond
    sharing — a burst, early defaults, identifiers fresh at the application."""

    min_size: int = 3
    min_phone_holders: int = 5
    burst_days: int = 7
    fresh_days: int = 30  # a shared device or card first seen this close before applying
    threshold: float = 0.55
    max_size: int = (
        60  # larger candidates are split into Leiden communities when igraph is installed
    )
    weights: tuple[tuple[str, float], ...] = tuple(_WEIGHTS.items())


def _links(
    graph: IdentifierGraph, cols: npt.NDArray[np.int64], rows: npt.NDArray[np.bool_] | None = None
) -> sp.csr_matrix:
    s = graph.incidence[:, cols]
    if rows is not None:
        s = sp.diags(rows.astype(np.int32), dtype=np.int32) @ s
    return person_links(s)


def _suspicious(
    graph: IdentifierGraph, config: RingConfig
) -> tuple[sp.csr_matrix, npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """Hard links (shared device or card) make cores; a widely shared phone joins cores only.

    A phone shared by many is weak evidence on its own (a popular friend, a family contact), so
    it never pulls in an applicant without a hard link: it only merges cores.
    """
    keys = graph.keys
    id_type = keys["id_type"].to_numpy()
    holders = keys["holders"].to_numpy()
    capped = keys["capped"].to_numpy()
    hard_cols = np.flatnonzero(np.isin(id_type, ["device", "bank_card"]) & (holders >= 2) & ~capped)
    hard = _links(graph, hard_cols)
    core = np.asarray(hard.sum(axis=1)).ravel() > 0
    phones = (
        np.isin(id_type, ["mobile", "emergency_phone"])
        & (holders >= config.min_phone_holders)
        & ~capped
    )
    links = (hard + _links(graph, np.flatnonzero(phones), core)).tocsr()
    links.data[:] = 1
    device_cols = np.flatnonzero((id_type == "device") & (holders >= 2) & ~capped)
    on_shared_device = np.asarray(graph.incidence[:, device_cols].sum(axis=1)).ravel() > 0
    # the newest first-seen time of each applicant's shared devices and cards (µs; min if none)
    seen = graph.keys["first_seen"].cast(pl.Datetime("us")).dt.epoch("us").to_numpy()
    coo = graph.incidence[:, hard_cols].tocoo()
    newest = np.full(graph.incidence.shape[0], np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(newest, coo.row, seen[hard_cols][coo.col])
    return links, on_shared_device, newest


def _split_large(
    a: sp.csr_matrix, labels: npt.NDArray[np.int64], max_size: int
) -> npt.NDArray[np.int64]:
    """Split candidates above ``max_size`` into Leiden communities (modularity), via the optional
    compiled igraph library; without it the candidates stay whole."""
    sizes = np.bincount(labels)
    large = np.flatnonzero(sizes > max_size)
    if not len(large):
        return labels
    try:
        import igraph  # noqa: PLC0415 - optional dependency, only for oversized candidates
    except ImportError:  # pragma: no cover - exercised where igraph is absent
        return labels
    import random  # noqa: PLC0415

    labels = labels.copy()
    next_label = int(labels.max()) + 1
    igraph.set_random_number_generator(random.Random(0))  # deterministic communities
    for comp in large.tolist():
        rows = np.flatnonzero(labels == comp)
        sub = a[rows][:, rows].tocoo()
        keep = sub.row < sub.col
        g = igraph.Graph(
            n=len(rows), edges=np.column_stack([sub.row[keep], sub.col[keep]]).tolist()
        )
        parts = np.asarray(
            g.community_leiden(objective_function="modularity", n_iterations=-1).membership
        )
        labels[rows] = next_label + parts
        next_label += int(parts.max()) + 1
    igraph.set_random_number_generator(random)
    return labels


def detect_rings(
    graph: IdentifierGraph,
    applications: pl.DataFrame,
    *,
    early_default: pl.DataFrame | None = None,
    config: RingConfig | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rank candidate rings; returns ``(rings, members)``.

    ``applications`` needs ``person_id`` and ``applied_at``; ``early_default`` (optional) has
    ``person_id`` and a boolean ``bad``. ``rings`` has one row per candidate with its score
    parts, ``flagged`` and evidence; ``members`` maps ``person_id`` to ``ring_id``.
    """
    config = config or RingConfig()
    a, shared_device, newest_shared = _suspicious(graph, config)
    _, labels = connected_components(a, directed=False)
    labels = _split_large(a, labels, config.max_size)
    sizes = np.bincount(labels)
    keep = sizes[labels] >= config.min_size
    members = pl.DataFrame(
        {"person_id": graph.persons[keep], "ring_id": labels[keep], "row": np.flatnonzero(keep)}
    )
    if members.is_empty():
        empty = pl.DataFrame(
            schema={
                "ring_id": pl.Int64,
                "size": pl.Int64,
                "score": pl.Float64,
                "flagged": pl.Boolean,
            }
        )
        return empty, members.select("person_id", "ring_id")
    inside = a[members["row"].to_numpy()][:, members["row"].to_numpy()]
    degree = np.asarray(inside.sum(axis=1)).ravel()
    first_app = applications.group_by("person_id").agg(
        pl.col("applied_at").min().alias("first_app")
    )
    outcome = early_default.select("person_id", "bad") if early_default is not None else None
    frame = members.with_columns(
        pl.Series("degree", degree),
        pl.Series("shared_device", shared_device[members["row"].to_numpy()]),
        pl.Series("newest_shared", newest_shared[members["row"].to_numpy()]),
    )
    frame = frame.join(first_app, on="person_id", how="left")
    if outcome is not None:
        frame = frame.join(outcome, on="person_id", how="left")
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Boolean).alias("bad"))
    frame = _member_evidence(frame, config)
    seconds = pl.col("first_app").dt.epoch("s")
    span_days = (seconds.quantile(0.9, "nearest") - seconds.quantile(0.1, "nearest")) / 86_400
    rings = (
        frame.group_by("ring_id")
        .agg(
            pl.len().alias("size"),
            (pl.col("degree").sum() / (pl.len() * (pl.len() - 1))).alias("sharing"),
            span_days.alias("span_days"),
            pl.col("in_burst").mean().alias("burst"),
            pl.col("bad").mean().fill_null(0.0).alias("early_default"),
            pl.col("shared_device").mean().alias("device_sharing"),
            pl.col("fresh").mean().alias("fresh"),
            pl.col("first_app").min().alias("first_application"),
            pl.col("first_app").max().alias("last_application"),
        )
        .with_columns(
            pl.sum_horizontal(pl.col(part) * weight for part, weight in config.weights).alias(
                "score"
            )
        )
        .with_columns((pl.col("score") >= config.threshold).alias("flagged"))
        .sort("score", "size", descending=True)
    )
    # a member of a flagged ring is flagged on evidence of its own, never on sharing alone
    flagged = frame.join(rings.select("ring_id", "flagged"), on="ring_id").select(
        "person_id",
        "ring_id",
        (
            pl.col("flagged")
            & (pl.col("in_burst") | pl.col("fresh") | pl.col("bad").fill_null(False))
        ).alias("flagged"),
    )
    return rings.join(_evidence(graph, members), on="ring_id", how="left"), flagged


def _member_evidence(frame: pl.DataFrame, config: RingConfig) -> pl.DataFrame:
    """Each member's own signals: ``in_burst`` (its first application within ``burst_days``
    of at least half of the candidate's, and of two others at least), ``fresh`` (a shared
    device or card first seen within ``fresh_days`` before it)."""
    window = config.burst_days * 86_400_000_000
    t = frame.select("ring_id", "person_id", pl.col("first_app").dt.epoch("us").alias("t"))
    near = (
        t.join(t.select("ring_id", pl.col("t").alias("u")), on="ring_id")
        .filter((pl.col("u") - pl.col("t")).abs() <= window)
        .group_by("person_id", "ring_id")
        .len("near")
    )
    return frame.join(near, on=["person_id", "ring_id"], how="left").with_columns(
        (
            pl.col("near")
            >= pl.max_horizontal(pl.lit(3), (pl.len().over("ring_id") / 2).ceil().cast(pl.UInt32))
        )
        .fill_null(False)
        .alias("in_burst"),
        (pl.col("first_app").dt.epoch("us") - pl.col("newest_shared"))
        .is_between(0, config.fresh_days * 86_400_000_000)  # seen before, not years after
        .fill_null(False)
        .alias("fresh"),
    )


def _evidence(graph: IdentifierGraph, members: pl.DataFrame) -> pl.DataFrame:
    coo = graph.incidence[members["row"].to_numpy()].tocoo()
    links = pl.DataFrame(
        {
            "ring_id": members["ring_id"].to_numpy()[coo.row],
            "key": graph.keys["key"].to_numpy()[coo.col],
        }
    )
    shared = links.group_by("ring_id", "key").len().filter(pl.col("len") >= 2)
    return (
        shared.sort("len", descending=True)
        .group_by("ring_id")
        .agg(pl.format("{} ({} applicants)", "key", "len").head(10).alias("evidence"))
    )


def propagate_risk(
    graph: IdentifierGraph, bad: npt.ArrayLike, *, alpha: float = 0.5, iterations: int = 20
) -> npt.NDArray[np.float64]:
    """Label propagation: ``r = (1 - alpha) bad + alpha W r`` over the strong graph (W row-normalised).

    A person with no link keeps their own label; risk flows along shared identifiers and fades
    by ``alpha`` each hop.
    """
    a = graph.adjacency().astype(np.float64)
    degree = np.asarray(a.sum(axis=1)).ravel()
    w = sp.diags(np.divide(1.0, degree, out=np.zeros_like(degree), where=degree > 0)) @ a
    seed = np.asarray(bad, dtype=np.float64)
    r = seed.copy()
    for _ in range(iterations):
        r = (1 - alpha) * seed + alpha * (w @ r)
    return r
