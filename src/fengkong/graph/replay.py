"""Graph features for a training set: each application as of its own time.

A model trained on graph features computed as of one cut date for applications spread over
the whole history learns from links and labels its applications could not have known (a
device first seen after the application, a default that happened later). :func:`features_at_each`
replays the history through an :class:`~fengkong.graph.OnlineGraph` instead — the structure the
decision service keeps — so each application gets exactly what the service would have
answered then: identifiers linked when first seen (at the first application on or after
that time), known-bad labels applied from the moment each became known, the applicant's own
label never counted.

>>> import datetime as dt, polars as pl
>>> t = dt.datetime(2026, 1, 1)
>>> apps = pl.DataFrame({"application_id": [1, 2, 3], "person_id": [1, 2, 3],
...                      "applied_at": [t, t + dt.timedelta(days=1), t + dt.timedelta(days=2)]})
>>> ids = pl.DataFrame({"person_id": [1, 2, 3], "id_type": ["device"] * 3,
...                     "id_value": ["a", "a", "a"],
...                     "first_seen": [t, t + dt.timedelta(days=1), t + dt.timedelta(days=2)]})
>>> bad = pl.DataFrame({"person_id": [1], "bad_since": [t + dt.timedelta(days=1, hours=12)]})
>>> features_at_each(apps, ids, bad)["component_bad_share"].to_list()
[0.0, 0.0, 0.5]
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from fengkong.graph.build import GraphConfig
from fengkong.graph.online import OnlineGraph

__all__ = ["features_at_each"]


def features_at_each(
    applications: pl.DataFrame,
    identifiers: pl.DataFrame,
    bad_since: pl.DataFrame | None = None,
    *,
    config: GraphConfig | None = None,
) -> pl.DataFrame:
    """Every application's graph features as of its own ``applied_at``.

    ``applications``: ``application_id, person_id, applied_at``; ``identifiers``:
    ``person_id, id_type, id_value, first_seen``; ``bad_since``: ``person_id, bad_since``
    (when the label became known). Returns ``application_id, person_id`` and every feature
    of :func:`~fengkong.graph.feature_names`, in the applications' time order.
    """
    graph = OnlineGraph(config) if config is not None else OnlineGraph()
    held: dict[int, list[tuple[str, str, dt.datetime]]] = {}
    for person, kind, value, seen in identifiers.select(
        "person_id", "id_type", "id_value", "first_seen"
    ).iter_rows():
        held.setdefault(int(person), []).append((kind, value, seen))
    labels = (
        []
        if bad_since is None
        else sorted(bad_since.select("bad_since", "person_id").iter_rows(), key=lambda r: r[0])
    )
    rows: list[dict[str, Any]] = []
    next_label = 0
    pending: set[int] = set()  # labels known before the applicant is in the graph
    for app_id, person, at in (
        applications.select("application_id", "person_id", "applied_at")
        .sort("applied_at", "application_id")
        .iter_rows()
    ):
        while next_label < len(labels) and labels[next_label][0] <= at:
            pending.add(int(labels[next_label][1]))
            next_label += 1
        known = [link for link in held.get(int(person), ()) if link[2] <= at]
        graph.add(int(person), known, at)
        for who in list(pending):  # a label applies once its applicant is in the graph
            if who in graph:
                graph.mark_bad(who)
                pending.discard(who)
        features = graph.features(int(person), as_of=at)
        rows.append({"application_id": app_id, **features})
    return pl.DataFrame(rows)
