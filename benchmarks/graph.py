"""Benchmark of the relationship graph on the synthetic book's person-identifier table.

1. Components plus known-bad counts within 1 and 2 hops for every applicant: fengkong
   (SciPy sparse) against networkx, igraph and rustworkx on the same person-person edges, in
   the same run. Components are timed on the whole graph for every library; the 2-hop counts
   of the libraries (a per-node neighbourhood walk) are timed on a sample and scaled.
   Checked against networkx: the same partition of every applicant into components, and the
   same counts for a sample of 100,000 applicants (``--check``).
2. Per-application insert into the online graph with all features: latency p50 / p99 / max
   over the book's applications in time order, with the garbage collector frozen; timed
   first, while the process holds only the book and the batch graph, as a decision worker.
   Then two explosions on the same graph: one applicant re-applying 300 times with 100 new
   devices each (30,000 devices: the per-applicant cap), and 30,000 new applicants on one
   device (the identifier cap); the slowest call of each.
3. Ring detection precision and recall against the planted rings.

Run: ``python -m benchmarks.graph [--applications N]`` (default 5,000,000 applications, about
2,000,000 applicants).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import time
import tracemalloc

import numpy as np
import polars as pl
from scipy.sparse.csgraph import connected_components

from benchmarks._harness import SKIPPED, parse_args, peer_available, report
from fengkong.graph.build import IdentifierGraph, linking_identifiers, person_links
from fengkong.graph.online import OnlineGraph
from fengkong.graph.rings import RingConfig, detect_rings
from fengkong.synth import SyntheticBook, generate
from fengkong.synth.outcomes import observed_early_defaults


def _timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _networkx(
    n: int, src: np.ndarray, dst: np.ndarray, sample: np.ndarray, bad_set: set[int]
) -> tuple[float, float, np.ndarray, list[tuple[int, int]]]:
    """networkx's component label of every applicant and its distinct known-bad applicants
    within 1 and 2 hops of each sampled one, with the time each took."""
    import networkx as nx  # noqa: PLC0415 (a peer, optional in a tiny run)

    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(zip(src.tolist(), dst.tolist(), strict=True))
    t_cc, components = _timed(lambda: list(nx.connected_components(g)))
    label = np.empty(n, dtype=np.int64)
    for i, members in enumerate(components):
        label[list(members)] = i

    def hops() -> list[tuple[int, int]]:
        out = []
        for v in sample.tolist():
            lengths = nx.single_source_shortest_path_length(g, v, cutoff=2)
            one = sum(1 for p, d in lengths.items() if d == 1 and p in bad_set)
            out.append((one, sum(1 for p, d in lengths.items() if 1 <= d <= 2 and p in bad_set)))
        return out

    t_hop, counts = _timed(hops)
    return t_cc, t_hop, label, counts


def _igraph(n: int, src: np.ndarray, dst: np.ndarray, sample: np.ndarray) -> tuple[float, float]:
    import igraph as ig  # noqa: PLC0415 (a peer, optional in a tiny run)

    g = ig.Graph(n=n, edges=np.column_stack([src, dst]).tolist())
    t_cc, _ = _timed(g.connected_components)
    t_hop, _ = _timed(lambda: [g.neighborhood(v, order=2) for v in sample.tolist()])
    return t_cc, t_hop


def _rustworkx(n: int, src: np.ndarray, dst: np.ndarray) -> float:
    import rustworkx as rx  # noqa: PLC0415 (a peer, optional in a tiny run)

    g = rx.PyGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from_no_data(list(zip(src.tolist(), dst.tolist(), strict=True)))
    t_cc, _ = _timed(lambda: rx.connected_components(g))
    return t_cc


def _explosions(online: OnlineGraph, at: dt.datetime, count: int = 30_000) -> str:
    """The slowest call while one applicant brings ``count`` new devices (100 a call) and while
    ``count`` new applicants bring one device, on the live graph."""
    farm, worst_farm = 10**15, 0
    for call in range(count // 100):
        devices = [("device", f"farm-{call}-{j}", at) for j in range(100)]
        t0 = time.perf_counter_ns()
        online.add(farm, devices, at)
        worst_farm = max(worst_farm, time.perf_counter_ns() - t0)
    worst_hub = 0
    for i in range(count):
        t0 = time.perf_counter_ns()
        size = online.add(farm + 1 + i, [("device", "hub-device", at)], at)["component_size"]
        worst_hub = max(worst_hub, time.perf_counter_ns() - t0)
    line = (
        f"one applicant with {count:,} new devices (100 a call): slowest call"
        f" {worst_farm / 1e6:.2f} ms, {online.over_person_cap:,} past the cap;"
        f" one device on {count:,} new applicants: slowest call {worst_hub / 1e6:.2f} ms,"
        f" component size {size}"
    )
    print(line)
    return line


def _online(
    book: SyntheticBook, bad_people: np.ndarray, n_live: int, explosion: int = 30_000
) -> tuple[np.ndarray, str, float, int]:
    """Per-application insert latencies (ns) of the last ``n_live`` applications, a line on
    first and repeat applications and the explosions, the seed's time and applicants.

    Timed first, in a process that holds only the book and the batch graph (as a decision
    worker would), not the peers' graphs or their garbage.
    """
    # Online inserts as deployed: seed from a batch build of everything before, then insert the
    # last applications in time order (each applicant's identifiers on their first application).
    ordered = book.applications.sort("applied_at").select("person_id", "applied_at")
    cut = ordered.height - n_live
    history, live = ordered.head(cut), ordered.tail(n_live)
    known = history["person_id"].unique()
    seed_graph = IdentifierGraph.build(
        book.person_identifiers.filter(pl.col("person_id").is_in(known.implode()))
    )
    recent = history.filter(
        pl.col("applied_at") > history["applied_at"].max() - dt.timedelta(days=7)
    )
    windows = recent.group_by("person_id").agg(pl.col("applied_at"))
    t_seed, online = _timed(
        lambda: OnlineGraph.seed(
            seed_graph,
            bad=np.isin(seed_graph.persons, bad_people),
            applications=dict(windows.iter_rows()),
        )
    )
    newcomers = book.person_identifiers.join(
        live.select("person_id").unique(), on="person_id"
    ).filter(~pl.col("person_id").is_in(known.implode()))
    ids = newcomers.group_by("person_id").agg(
        pl.col("id_type"), pl.col("id_value"), pl.col("first_seen")
    )
    per_person = {r[0]: list(zip(r[1], r[2], r[3], strict=True)) for r in ids.iter_rows()}
    gc.collect()
    gc.freeze()
    gc.disable()
    latencies = np.zeros(live.height)
    carried = np.zeros(live.height, dtype=np.int64)  # identifiers each application brought
    for i, (person, at) in enumerate(live.iter_rows()):
        identifiers = per_person.pop(person, [])
        carried[i] = len(identifiers)
        t0 = time.perf_counter_ns()
        online.add(person, identifiers, at)
        latencies[i] = time.perf_counter_ns() - t0
    explosions = _explosions(online, at, explosion)
    gc.enable()
    first = carried > 0
    split = (
        f"first applications ({first.sum():,}, {carried[first].mean():.1f} raw identifiers"
        f" each): p50 {np.percentile(latencies[first], 50) / 1e3:.1f} us, p99"
        f" {np.percentile(latencies[first], 99) / 1e3:.1f} us; repeat applications"
        f" ({(~first).sum():,}): p50 {np.percentile(latencies[~first], 50) / 1e3:.1f} us, p99"
        f" {np.percentile(latencies[~first], 99) / 1e3:.1f} us"
    )
    print(split)
    return latencies, f"{split}; {explosions}", t_seed, len(seed_graph.persons)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=5_000_000)
    parser.add_argument("--sample", type=int, default=2_000, help="igraph's timed 2-hop walks")
    parser.add_argument(
        "--check", type=int, default=100_000, help="applicants whose hop counts networkx checks"
    )
    parser.add_argument("--online", type=int, default=100_000)
    parser.add_argument(
        "--explosion", type=int, default=30_000, help="devices (and applicants) of the explosions"
    )
    args = parse_args(
        parser,
        tiny={"applications": 3_000, "sample": 50, "check": 200, "online": 300, "explosion": 300},
    )
    peers = {m: peer_available(m, tiny=args.tiny) for m in ("networkx", "igraph", "rustworkx")}
    nan = float("nan")

    book = generate(args.applications, seed=0)
    as_of = book.applications["applied_at"].max()  # the point-in-time filter, on every row
    t_build, graph = _timed(lambda: IdentifierGraph.build(book.person_identifiers, as_of=as_of))
    n = len(graph.persons)
    t_adjacency, adjacency = _timed(graph.adjacency)
    upper = adjacency.tocoo()
    keep = upper.row < upper.col
    src, dst = upper.row[keep], upper.col[keep]
    bad = np.zeros(n, dtype=bool)
    outcomes = book.oracle.join(
        book.applications.select("application_id", "person_id"), on="application_id"
    )
    bad_people = outcomes.filter("ever_90dpd")["person_id"].unique().to_numpy()
    bad[np.isin(graph.persons, bad_people)] = True
    print(
        f"graph: {n:,} applicants, {graph.incidence.nnz:,} applicant-identifier edges, {len(src):,} links"
    )
    print(f"build {t_build:.1f} s, adjacency {t_adjacency:.2f} s")
    latencies, split, t_seed, seeded = _online(book, bad_people, args.online, args.explosion)
    p50, p99, worst = (np.percentile(latencies, q) / 1e3 for q in (50, 99, 100))

    # the identifiers that can link anyone (strong, uncapped, two holders or more), chosen from
    # the keys table of the build, as the peers get their edge lists from it
    strong = graph.incidence[:, linking_identifiers(graph.keys, graph.config)].tocsr()

    def ours() -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        links = person_links(strong)
        _, labels = connected_components(links, directed=False)
        return labels, graph.bad_within_hops(bad, adjacency=links)

    tracemalloc.start()
    t_ours, (labels, (one, two)) = _timed(ours)
    peak = tracemalloc.get_traced_memory()[1] / 1024**3
    tracemalloc.stop()
    rng = np.random.default_rng(0)
    checked = rng.choice(n, min(args.check, n), replace=False)
    sample = checked[: args.sample]
    bad_set = set(np.flatnonzero(bad).tolist())

    same_components: bool | str = SKIPPED
    agree: bool | str = SKIPPED
    t_nx_cc = t_nx_hop = t_ig_cc = t_ig_hop = t_rx_cc = nan
    if peers["networkx"]:
        t_nx_cc, t_nx_hop, nx_labels, nx_counts = _networkx(n, src, dst, checked, bad_set)
        # the same partition (labels may be numbered differently): as many label pairs as parts
        pairs = np.unique(np.column_stack([labels, nx_labels]), axis=0)
        same_components = len(pairs) == len(np.unique(labels)) == len(np.unique(nx_labels))
        agree = all(nx_counts[i] == (one[v], two[v]) for i, v in enumerate(checked.tolist()))
        print(
            f"networkx agrees: components {same_components}, hop counts on {len(checked):,}: {agree}"
        )
    if peers["igraph"]:
        t_ig_cc, t_ig_hop = _igraph(n, src, dst, sample)
    if peers["rustworkx"]:
        t_rx_cc = _rustworkx(n, src, dst)

    fpd = observed_early_defaults(book.applications, book.oracle)
    t_rings, (_, members) = _timed(
        lambda: detect_rings(graph, book.applications, early_default=fpd)
    )
    truth = set(book.rings["person_id"].to_list())

    def precision_recall(flagged: set[int]) -> tuple[float, float]:
        hit = len(flagged & truth)
        return hit / max(len(flagged), 1), hit / max(len(truth), 1)

    precision, recall = precision_recall(set(members.filter("flagged")["person_id"].to_list()))
    print("ring detection, precision and recall by threshold (the default is 0.55):")
    for threshold in (0.3, 0.4, 0.5, 0.55, 0.6, 0.7, 0.8):
        _, at = detect_rings(
            graph, book.applications, early_default=fpd, config=RingConfig(threshold=threshold)
        )
        p, r = precision_recall(set(at.filter("flagged")["person_id"].to_list()))
        print(f"  threshold {threshold:.2f}: precision {p:.3f}, recall {r:.3f}")

    def row(workload: str, engine: str, seconds: float, note: str = "") -> dict[str, object]:
        return {
            "workload": workload,
            "engine": engine,
            "seconds": seconds,
            "ratio": seconds / t_ours,
            "note": note,
        }

    rows = [
        row(
            "components + 1/2-hop bad counts, all applicants",
            "fengkong (scipy.sparse)",
            t_ours,
            f"peak {peak:.2f} GB allocated (tracemalloc)",
        ),
        row("components", "peer: networkx", t_nx_cc, f"same partition: {same_components}"),
        row(
            "1/2-hop bad counts, all applicants",
            "peer: networkx (sample, scaled)",
            t_nx_hop * n / len(checked),
            f"{len(checked):,} timed; equal: {agree}" if peers["networkx"] else SKIPPED,
        ),
        row("components", "peer: igraph", t_ig_cc, "" if peers["igraph"] else SKIPPED),
        row(
            "2-hop neighbourhoods, all applicants",
            "peer: igraph (sample, scaled)",
            t_ig_hop * n / len(sample),
            f"{len(sample):,} timed" if peers["igraph"] else SKIPPED,
        ),
        row("components", "peer: rustworkx", t_rx_cc, "" if peers["rustworkx"] else SKIPPED),
        row(
            f"online insert + all features, {len(latencies):,} applications after a seed of {seeded:,}",
            "fengkong OnlineGraph",
            float(latencies.sum() / 1e9),
            f"p50 {p50:.1f} us, p99 {p99:.1f} us, max {worst / 1e3:.2f} ms; seed {t_seed:.1f} s;"
            f" {split}",
        ),
        row(
            "ring detection",
            "fengkong detect_rings",
            t_rings,
            f"precision {precision:.3f}, recall {recall:.3f}",
        ),
    ]
    meta = {
        "applicants": n,
        "links": len(src),
        "build_seconds": t_build,
        "p50_us": p50,
        "p99_us": p99,
        "max_ms": worst / 1e3,
        "online_split": split,
        "precision": precision,
        "recall": recall,
        "hops_equal_networkx": agree,
        "hops_checked": len(checked),
        "components_equal_networkx": same_components,
        "as_of": str(dt.date.today()),
    }
    path = report("graph", rows, meta)
    print(f"written {path}")


if __name__ == "__main__":
    main()
