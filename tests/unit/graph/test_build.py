"""The batch identifier graph: networkx agreement, caps, bad input, features."""

import datetime as dt

import networkx as nx
import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from fengkong.errors import InvalidArgumentError
from fengkong.graph.build import GraphConfig, IdentifierGraph, linking_identifiers, person_links

T0 = dt.datetime(2026, 1, 1)


def _frame(rows):
    return pl.DataFrame(
        rows, schema=["person_id", "id_type", "id_value"], orient="row"
    ).with_columns(first_seen=pl.lit(T0))


@pytest.fixture(scope="module")
def sample(small_book):
    return small_book.person_identifiers


def _reference(ids: pl.DataFrame, config: GraphConfig) -> nx.Graph:
    """networkx on the person projection: persons linked by a shared strong identifier within the cap."""
    strong = ids.filter(pl.col("id_type").is_in(list(config.strong))).with_columns(
        key=pl.col("id_type") + "|" + pl.col("id_value").str.to_lowercase()
    )
    groups = (
        strong.group_by("key")
        .agg(pl.col("person_id").unique())
        .filter(pl.col("person_id").list.len() <= config.cap)
    )
    g = nx.Graph()
    g.add_nodes_from(ids["person_id"].unique().to_list())
    for members in groups["person_id"].to_list():
        g.add_edges_from((members[0], m) for m in members[1:])
        g.add_edges_from((a, b) for i, a in enumerate(members) for b in members[i + 1 :])
    return g


def test_components_and_hop_counts_equal_networkx(sample):
    config = GraphConfig()
    graph = IdentifierGraph.build(sample, config)
    ref = _reference(sample, config)
    sizes = dict(zip(graph.persons.tolist(), graph.component_sizes().tolist(), strict=True))
    for component in nx.connected_components(ref):
        for person in list(component)[:3]:
            assert sizes[person] == len(component)
    rng = np.random.default_rng(0)
    bad = rng.random(len(graph.persons)) < 0.05
    one, two = graph.bad_within_hops(bad)
    bad_ids = set(graph.persons[bad].tolist())
    for row in rng.choice(len(graph.persons), 400, replace=False):
        person = int(graph.persons[row])
        lengths = nx.single_source_shortest_path_length(ref, person, cutoff=2)
        assert one[row] == sum(1 for p, d in lengths.items() if d == 1 and p in bad_ids)
        assert two[row] == sum(1 for p, d in lengths.items() if 1 <= d <= 2 and p in bad_ids)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 40), st.integers(1, 30), st.lists(st.tuples(st.integers(0, 39),
       st.integers(0, 29)), max_size=200))  # fmt: skip
def test_person_links_equal_the_sparse_product(persons, identifiers, entries):
    rows = [min(r, persons - 1) for r, _ in entries]
    cols = [min(c, identifiers - 1) for _, c in entries]
    values = np.array([1 + (r + c) % 3 for r, c in zip(rows, cols, strict=True)], dtype=np.int8)
    values[::7] = 0  # stored zeros hold nothing
    s = sp.csr_matrix((values, (rows, cols)), shape=(persons, identifiers))
    held = s.toarray() != 0
    product = (held.astype(np.int32) @ held.T.astype(np.int32)) > 0
    np.fill_diagonal(product, False)
    mine = person_links(s)
    assert mine.has_sorted_indices and (mine.toarray() == product).all()
    assert (mine.data == 1).all()


def test_only_shared_strong_uncapped_identifiers_link(sample):
    graph = IdentifierGraph.build(sample)
    keys = graph.keys
    chosen = set(linking_identifiers(keys, graph.config).tolist())
    for k, row in enumerate(keys.iter_rows(named=True)):
        links = row["id_type"] in graph.config.strong and not row["capped"] and row["holders"] > 1
        assert (k in chosen) == links


def test_hubs_are_capped_and_never_merge_the_graph():
    rows = [(p, "device", "shared-by-all") for p in range(100)] + [
        (p, "ip", "1.2.3.4") for p in range(100)
    ]
    graph = IdentifierGraph.build(_frame(rows), GraphConfig(cap=50))
    # the first 50 holders were linked before the device passed the cap (as online, where a
    # union is never undone); the other 50 only count; the hub is no hop for anyone
    assert sorted(graph.component_sizes().tolist()) == [1] * 50 + [50] * 50
    assert graph.adjacency().nnz == 0
    assert any("capped at 50" in p.message for p in graph.problems)
    features = graph.features(as_of=T0)
    assert features["shared_device"].max() == 99  # still counted
    assert features["bad_1hop"].max() == 0


def test_an_applicant_past_the_person_cap_keeps_the_first_seen_identifiers():
    rows = [(1, "device", f"d{i}", T0 + dt.timedelta(hours=9 - i)) for i in range(10)]
    rows += [(2, "device", "d0", T0), (3, "device", "d9", T0)]
    frame = pl.DataFrame(rows, schema=["person_id", "id_type", "id_value", "first_seen"],
                         orient="row")  # fmt: skip
    graph = IdentifierGraph.build(frame, GraphConfig(person_cap=4))
    assert [(p.path, p.message) for p in graph.problems] == [
        ("1", "holds 10 identifiers: capped at 4")
    ]
    assert graph.incidence[0].nnz == 4  # d9 .. d6, seen first
    assert graph.component_sizes().tolist() == [2, 1, 2]  # d9 links 1 and 3; d0 was dropped
    features = graph.features(as_of=T0 + dt.timedelta(days=1))
    assert features["devices_per_person"].to_list() == [4, 1, 1]
    with pytest.raises(InvalidArgumentError, match="person_cap"):
        GraphConfig(person_cap=0)


def test_bad_identifiers_are_reported_not_fatal():
    rows = [
        (1, "mobile", "+86 138 0013 8000"),
        (2, "mobile", "138-0013-8000"),
        (3, "mobile", "12345"),
        (4, "shoe", "x"),
        (5, "device", ""),
    ]
    graph = IdentifierGraph.build(_frame(rows))
    assert graph.persons.tolist() == [1, 2]
    assert graph.component_sizes().tolist() == [2, 2]  # the two spellings of one phone meet
    assert {p.path for p in graph.problems} == {
        "person 3.mobile",
        "person 4.shoe",
        "person 5.device",
    }
    with pytest.raises(InvalidArgumentError, match="person_id"):
        graph.index_of([99])
    empty = IdentifierGraph.build(_frame([(9, "mobile", "bad")]))
    assert len(empty.persons) == 0 and any(
        "no usable identifier" in p.message for p in empty.problems
    )


def test_features_on_the_synthetic_book(small_book):
    graph = IdentifierGraph.build(small_book.person_identifiers)
    f = graph.features(as_of=dt.datetime(2026, 1, 1), applications=small_book.applications)
    assert f.height == small_book.persons.height
    ring_members = f.filter(pl.col("person_id").is_in(small_book.rings["person_id"].to_list()))
    others = f.join(small_book.rings.select("person_id"), on="person_id", how="anti")
    assert ring_members["persons_per_device"].mean() > 3 > others["persons_per_device"].mean()
    assert (f["component_size"] >= 1).all() and (f["component_age_days"] >= 0).all()
    assert (f["component_apps_7d"] >= f["component_apps_1d"]).all()
    with pytest.raises(InvalidArgumentError, match="cap"):
        GraphConfig(cap=1)
