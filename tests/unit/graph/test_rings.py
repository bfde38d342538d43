"""Ring detection on the synthetic book's planted rings, and risk propagation."""

import datetime as dt

import numpy as np
import polars as pl

from fengkong.graph.build import IdentifierGraph
from fengkong.graph.rings import RingConfig, detect_rings, propagate_risk
from fengkong.synth.outcomes import observed_early_defaults


def test_planted_rings_are_found_with_precision_and_recall_above_0_9(small_book):
    graph = IdentifierGraph.build(small_book.person_identifiers)
    outcomes = observed_early_defaults(small_book.applications, small_book.oracle)
    rings, members = detect_rings(graph, small_book.applications, early_default=outcomes)
    flagged = set(
        members.join(rings.filter("flagged").select("ring_id"), on="ring_id")["person_id"].to_list()
    )
    truth = set(small_book.rings["person_id"].to_list())
    assert len(truth) >= 50
    precision = len(flagged & truth) / len(flagged)
    recall = len(flagged & truth) / len(truth)
    assert precision >= 0.9 and recall >= 0.9, (precision, recall)
    top = rings.row(0, named=True)
    assert top["flagged"] and top["evidence"] and top["burst"] > 0.5


def test_risk_propagates_along_shared_identifiers(small_book):
    graph = IdentifierGraph.build(small_book.person_identifiers)
    ring = small_book.rings.filter(ring_id=small_book.rings["ring_id"][0])["person_id"].to_numpy()
    rows = graph.index_of(ring)
    bad = np.zeros(len(graph.persons))
    bad[rows[0]] = 1.0
    risk = propagate_risk(graph, bad)
    assert risk[rows[0]] > risk[rows[1:]].max() > 0
    others = np.setdiff1d(np.arange(len(risk)), rows)
    assert risk[rows[1:]].mean() > 10 * risk[others].mean()
    unconnected = graph.labels != graph.labels[rows[0]]
    assert risk[unconnected].max() == 0.0


def test_oversized_candidates_are_split_into_communities():
    # Two dense rings of 40 joined by one bridging card: one component of 80, two communities.
    rows = []
    for ring in (0, 1):
        for k in range(40):
            person = ring * 100 + k
            rows.append((person, "device", f"r{ring}-d{k // 4}"))
            rows.append((person, "bank_card", f"r{ring}-shared"))
    rows.append((0, "bank_card", "bridge"))
    rows.append((100, "bank_card", "bridge"))
    ids = pl.DataFrame(
        rows, schema=["person_id", "id_type", "id_value"], orient="row"
    ).with_columns(first_seen=pl.lit(dt.datetime(2026, 1, 1)))
    apps = ids.select("person_id").unique().with_columns(applied_at=pl.lit(dt.datetime(2026, 1, 2)))
    graph = IdentifierGraph.build(ids)
    whole, _ = detect_rings(graph, apps, config=RingConfig(max_size=1_000))
    split, members = detect_rings(graph, apps, config=RingConfig(max_size=60))
    assert whole["size"].to_list() == [80]
    assert sorted(split["size"].to_list()) == [40, 40]
    assert (
        members.group_by("ring_id")
        .agg((pl.col("person_id") // 100).n_unique().alias("k"))["k"]
        .max()
        == 1
    )
