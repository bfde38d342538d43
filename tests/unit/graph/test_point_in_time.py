"""Batch graph features point in time (issue 22 part 2): links first seen after ``as_of`` do not
merge components, the applicant's own label never counts, and a training set's features are
each application's as of its own time — equal to batch builds as of those times."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from fengkong.graph import IdentifierGraph, OnlineGraph, features_at_each
from fengkong.services.online import known_bad_since
from fengkong.synth import generate

T = dt.datetime(2026, 1, 1)


def test_a_link_first_seen_after_as_of_does_not_merge():
    ids = pl.DataFrame(
        {
            "person_id": [1, 2, 2, 3],
            "id_type": ["device"] * 4,
            "id_value": ["a", "a", "b", "b"],
            "first_seen": [T, T, T + dt.timedelta(days=10), T + dt.timedelta(days=10)],
        }
    )
    assert IdentifierGraph.build(ids).component_sizes().tolist() == [3, 3, 3]
    then = IdentifierGraph.build(ids, as_of=T + dt.timedelta(days=1))
    assert then.persons.tolist() == [1, 2] and then.component_sizes().tolist() == [2, 2]


def test_the_own_label_never_counts_online_or_in_batch():
    ids = pl.DataFrame(
        {
            "person_id": [1, 2],
            "id_type": ["device"] * 2,
            "id_value": ["a", "a"],
            "first_seen": [T, T],
        }
    )
    g = IdentifierGraph.build(ids)
    f = g.features(as_of=T, bad=np.array([True, False]))
    assert f["component_bad_share"].to_list() == [0.0, 1.0]  # 1 sees 2 (good), 2 sees 1 (bad)
    online = OnlineGraph()
    online.add(1, [("device", "a", T)], T)
    online.mark_bad(1)
    assert online.features(1, as_of=T)["component_bad_share"] == 0.0
    assert online.add(2, [("device", "a", T)], T)["component_bad_share"] == 1.0
    alone = OnlineGraph()
    alone.add(3, [("device", "z", T)], T)
    alone.mark_bad(3)
    assert alone.features(3, as_of=T)["component_bad_share"] == 0.0


@pytest.fixture(scope="module")
def book():
    return generate(5_000, seed=11)


def test_each_application_as_of_its_own_time_equals_a_batch_build_then(book):
    apps = book.applications.select("application_id", "person_id", "applied_at")
    ids = book.person_identifiers
    since = known_bad_since(book.loans, book.performance)
    replayed = features_at_each(apps, ids, since)
    assert replayed.height == apps.height
    checked = 0
    for app_id, person, at in apps.sort("applied_at").gather_every(125).iter_rows():
        prior = apps.filter(pl.col("applied_at") <= at)
        who = prior["person_id"].unique().implode()
        g = IdentifierGraph.build(ids.filter(pl.col("person_id").is_in(who)), as_of=at)
        bad = np.isin(g.persons, since.filter(pl.col("bad_since") <= at)["person_id"].to_numpy())
        batch = g.features(as_of=at, bad=bad, applications=prior)
        want = batch.filter(pl.col("person_id") == person).row(0, named=True)
        got = replayed.filter(pl.col("application_id") == app_id).row(0, named=True)
        for name, value in want.items():
            if name != "component_id":
                assert got[name] == pytest.approx(value), (app_id, name)
        checked += 1
    assert checked == 40


def test_features_as_of_one_cut_differ_from_each_applications_own(book):
    """What the demo used to train on: every application given the graph as of the cut."""
    apps = book.applications.select("application_id", "person_id", "applied_at")
    cut = apps["applied_at"].max()
    ids = book.person_identifiers
    late = ids.filter(pl.col("first_seen") > apps["applied_at"].min()).height
    assert late > 0
    at_cut = IdentifierGraph.build(ids, as_of=cut).features(as_of=cut)
    own = features_at_each(apps, ids)
    joined = own.join(apps, on="application_id").join(
        at_cut.select("person_id", pl.col("component_size").alias("size_at_cut")), on="person_id"
    )
    assert (joined["size_at_cut"] != joined["component_size"]).sum() > 0
