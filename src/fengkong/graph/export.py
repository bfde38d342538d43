"""Explain and export: an applicant's k-hop neighbourhood as JSON, the graph as GraphML or CSV.

>>> import datetime as dt
>>> import polars as pl
>>> ids = pl.DataFrame({"person_id": [1, 2], "id_type": ["device", "device"], "id_value": ["a", "a"],
...     "first_seen": [dt.datetime(2026, 1, 1)] * 2})
>>> view = neighbourhood(IdentifierGraph.build(ids), 1, hops=2)
>>> sorted(n["id"] for n in view["nodes"]), len(view["edges"])
(['device|a', 'person:1', 'person:2'], 2)
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np

from fengkong.graph.build import IdentifierGraph

__all__ = ["neighbourhood", "write_csv", "write_graphml"]


def neighbourhood(
    graph: IdentifierGraph, person_id: int, *, hops: int = 2, limit: int = 200
) -> dict[str, Any]:
    """Applicants and identifiers within ``hops`` applicant steps, at most ``limit`` applicants.

    Capped identifiers appear (with their holder count) but are not expanded.
    """
    incidence = graph.incidence.tocsr()
    by_key = incidence.T.tocsr()
    keys, capped, holders = (
        graph.keys["key"].to_list(),
        graph.keys["capped"].to_list(),
        graph.keys["holders"].to_list(),
    )
    start = int(graph.index_of([person_id])[0])
    seen_people, frontier = {start: 0}, [start]
    nodes: dict[str, dict[str, Any]] = {}
    edges: list[dict[str, Any]] = []
    truncated = False
    for depth in range(hops + 1):
        nxt = []
        for row in frontier:
            nodes[f"person:{graph.persons[row]}"] = {
                "id": f"person:{graph.persons[row]}",
                "kind": "applicant",
                "hop": seen_people[row],
                "component": int(graph.labels[row]),
            }
            for col in incidence.indices[incidence.indptr[row] : incidence.indptr[row + 1]]:
                key = keys[col]
                nodes.setdefault(
                    key,
                    {
                        "id": key,
                        "kind": "identifier",
                        "holders": holders[col],
                        "capped": capped[col],
                    },
                )
                edges.append({"source": f"person:{graph.persons[row]}", "target": key})
                if capped[col] or depth == hops:
                    continue
                for other in by_key.indices[by_key.indptr[col] : by_key.indptr[col + 1]]:
                    if other not in seen_people:
                        if len(seen_people) >= limit:
                            truncated = True
                            continue
                        seen_people[int(other)] = depth + 1
                        nxt.append(int(other))
        frontier = nxt
    return {
        "applicant": person_id,
        "hops": hops,
        "truncated": truncated,
        "nodes": list(nodes.values()),
        "edges": edges,
    }


def write_csv(graph: IdentifierGraph, folder: str | Path) -> tuple[Path, Path]:
    """``nodes.csv`` and ``edges.csv`` in Neo4j's import header format."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    nodes, edges = out / "nodes.csv", out / "edges.csv"
    with nodes.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id:ID", ":LABEL", "id_type", "holders:int", "capped:boolean", "component:int"])
        for person, label in zip(graph.persons.tolist(), graph.labels.tolist(), strict=True):
            w.writerow([f"person:{person}", "Applicant", "", "", "", label])
        for key, id_type, holders, capped in graph.keys.select(
            "key", "id_type", "holders", "capped"
        ).iter_rows():
            w.writerow([key, "Identifier", id_type, holders, str(capped).lower(), ""])
    coo = graph.incidence.tocoo()
    keys = graph.keys["key"].to_numpy()
    with edges.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([":START_ID", ":END_ID", ":TYPE"])
        for row, col in zip(coo.row.tolist(), coo.col.tolist(), strict=True):
            w.writerow([f"person:{graph.persons[row]}", keys[col], "HOLDS"])
    return nodes, edges


def write_graphml(
    graph: IdentifierGraph, path: str | Path, *, persons: np.ndarray | None = None
) -> Path:
    """The bipartite graph (or the part touching ``persons``) as GraphML for Gephi or yEd."""
    rows = np.arange(len(graph.persons)) if persons is None else graph.index_of(persons)
    sub = graph.incidence[rows].tocoo()
    keys = graph.keys["key"].to_numpy()
    used = np.unique(sub.col)
    out = Path(path)
    with out.open("w", encoding="utf-8") as f:
        f.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n'
        )
        f.write(
            '<key id="kind" for="node" attr.name="kind" attr.type="string"/>\n<graph edgedefault="undirected">\n'
        )
        for row in rows.tolist():
            f.write(
                f'<node id="person:{graph.persons[row]}"><data key="kind">applicant</data></node>\n'
            )
        for col in used.tolist():
            f.write(
                f'<node id={quoteattr(str(keys[col]))}><data key="kind">identifier</data></node>\n'
            )
        for r, c in zip(sub.row.tolist(), sub.col.tolist(), strict=True):
            f.write(
                f'<edge source="person:{graph.persons[rows[r]]}" target={quoteattr(str(keys[c]))}/>\n'
            )
        f.write("</graph>\n</graphml>\n")
    return out
