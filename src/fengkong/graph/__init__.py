"""The relationship graph: applicants linked by identifiers, components, hops, rings, online updates.

>>> import datetime as dt
>>> from fengkong.graph import OnlineGraph
>>> OnlineGraph().add(7, [("mobile", "+86 138 0013 8000", dt.datetime(2026, 1, 1))], dt.datetime(2026, 1, 1))["component_size"]
1
"""

from fengkong.graph.build import GraphConfig, IdentifierGraph
from fengkong.graph.export import neighbourhood, write_csv, write_graphml
from fengkong.graph.normalize import ID_TYPES, normalize_frame
from fengkong.graph.online import OnlineGraph, feature_names
from fengkong.graph.replay import features_at_each
from fengkong.graph.rings import RingConfig, detect_rings, propagate_risk

__all__ = [
    "ID_TYPES",
    "GraphConfig",
    "IdentifierGraph",
    "OnlineGraph",
    "RingConfig",
    "detect_rings",
    "feature_names",
    "features_at_each",
    "neighbourhood",
    "normalize_frame",
    "propagate_risk",
    "write_csv",
    "write_graphml",
]
