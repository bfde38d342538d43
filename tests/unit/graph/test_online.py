"""The online graph equals the batch graph on the same applications; seeding; speed sanity."""

import datetime as dt

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fengkong.graph.build import GraphConfig, IdentifierGraph
from fengkong.graph.online import OnlineGraph

T0 = dt.datetime(2026, 1, 1)
COLUMNS = [
    "component_size",
    "component_age_days",
    "bad_1hop",
    "bad_2hop",
    "component_bad_share",
    "component_apps_1d",
    "component_apps_7d",
    "devices_per_person",
    "persons_per_device",
    "shared_mobile",
    "shared_device",
    "shared_bank_card",
    "shared_emergency_phone",
    "shared_ip",
    "shared_address",
    "shared_employer",
]


def _compare(online, graph, bad_rows, applications, as_of):
    batch = graph.features(as_of=as_of, bad=bad_rows, applications=applications).sort("person_id")
    for row in batch.iter_rows(named=True):
        mine = online.features(row["person_id"], as_of=as_of)
        for c in COLUMNS:
            assert mine[c] == row[c] or abs(mine[c] - row[c]) < 1e-12, (
                row["person_id"],
                c,
                mine[c],
                row[c],
            )


events = st.lists(
    st.tuples(
        st.integers(0, 30),  # person
        st.sampled_from(
            ["mobile", "device", "bank_card", "emergency_phone", "ip", "address", "employer"]
        ),
        st.integers(0, 12),  # value
        st.integers(0, 200),  # hours after T0
    ),
    min_size=1,
    max_size=80,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events, st.sets(st.integers(0, 30), max_size=6))
def test_online_equals_batch(stream, bad_people):
    config = GraphConfig(cap=1_000)  # no identifier crosses the cap: unions never need undoing
    online = OnlineGraph(config)
    early = sorted(bad_people)[: len(bad_people) // 2]  # some are known bad before they apply
    for p in early:
        online.mark_bad(p)
    rows = []
    apps = []
    for person, id_type, value, hours in sorted(stream, key=lambda e: e[3]):
        at = T0 + dt.timedelta(hours=hours)
        raw = f"13{value:09d}" if id_type in ("mobile", "emergency_phone") else f"V{value}"
        online.add(person, [(id_type, raw, at)], at)
        rows.append((person, id_type, raw, at))
        apps.append((person, at))
    for p in bad_people:
        online.mark_bad(p)
    frame = pl.DataFrame(
        rows, schema=["person_id", "id_type", "id_value", "first_seen"], orient="row"
    )
    graph = IdentifierGraph.build(frame, config)
    bad = np.isin(graph.persons, list(bad_people))
    applications = pl.DataFrame(apps, schema=["person_id", "applied_at"], orient="row")
    as_of = max(a for _, a in apps)
    _compare(online, graph, bad, applications, as_of)


def test_seed_from_a_batch_build_equals_it(small_book):
    graph = IdentifierGraph.build(small_book.person_identifiers)
    rng = np.random.default_rng(1)
    bad = rng.random(len(graph.persons)) < 0.03
    apps = small_book.applications.group_by("person_id").agg(pl.col("applied_at"))
    by_person = dict(zip(apps["person_id"].to_list(), apps["applied_at"].to_list(), strict=True))
    online = OnlineGraph.seed(graph, bad=bad, applications=by_person)
    as_of = dt.datetime(2026, 1, 1)
    batch = graph.features(as_of=as_of, bad=bad, applications=small_book.applications)
    sample = batch.sample(300, seed=2)
    for row in sample.iter_rows(named=True):
        mine = online.features(row["person_id"], as_of=as_of)
        for c in COLUMNS:
            assert mine[c] == row[c] or abs(mine[c] - row[c]) < 1e-12, (c, mine[c], row[c])


def test_malformed_identifiers_are_counted_not_fatal():
    g = OnlineGraph()
    features = g.add(1, [("mobile", "12", T0), ("shoe", "x", T0), ("device", "  ", T0)], T0)
    assert g.rejected == 3 and features["component_size"] == 1


def test_online_neighbourhood_equals_the_batch_one(small_book):
    from fengkong.graph.export import neighbourhood  # noqa: PLC0415

    graph = IdentifierGraph.build(small_book.person_identifiers)
    online = OnlineGraph.seed(graph)
    sizes = graph.component_sizes()
    people = graph.persons[np.argsort(-sizes)[:5]].tolist() + graph.persons[:5].tolist()
    for person in people:
        batch = neighbourhood(graph, person, hops=2, limit=10_000)
        mine = online.neighbourhood(person, hops=2, limit=10_000)

        def members(view):
            return {(n["id"], n.get("hop")) for n in view["nodes"] if n["kind"] == "applicant"}

        assert members(mine) == members(batch)
        keys = lambda view: {n["id"] for n in view["nodes"] if n["kind"] == "identifier"}  # noqa: E731
        assert keys(mine) == keys(batch)
    assert online.neighbourhood(-1)["nodes"] == []
