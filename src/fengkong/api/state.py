"""What the service keeps between requests: the database, active policies, metrics."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from threading import Lock

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fengkong.db.models import PolicyVersionRecord
from fengkong.errors import NotFoundError
from fengkong.expression import ExpressionLimits
from fengkong.graph import OnlineGraph
from fengkong.policy import Policy
from fengkong.services.access import Principal, authenticate
from fengkong.services.policies import load_version

__all__ = ["KeyCache", "Metrics", "PolicyCache"]


class Metrics:
    """Prometheus metrics of one app (its own registry)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "fengkong_request_seconds",
            "Request latency by route",
            ["method", "route", "status"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.decisions = Counter(
            "fengkong_decisions_total",
            "Decisions by outcome",
            ["policy", "decision"],
            registry=self.registry,
        )
        self.blocks = Counter(
            "fengkong_guardrail_blocks_total",
            "Contact attempts blocked, by rule",
            ["rule"],
            registry=self.registry,
        )

    def watch_graph(self, graph: Callable[[], OnlineGraph]) -> None:
        """Expose the worker's relationship graph at each scrape: applicants held, identifiers
        refused as malformed and new identifiers refused past the per-applicant cap."""
        self.registry.register(_GraphCounters(graph))


class _GraphCounters(Collector):
    """Reads the graph's own counters when scraped (nothing on the decision path)."""

    def __init__(self, graph: Callable[[], OnlineGraph]) -> None:
        self.graph = graph

    def collect(self) -> Iterator[Metric]:
        graph = self.graph()
        yield GaugeMetricFamily(
            "fengkong_graph_applicants", "Applicants in the worker's graph", value=graph.persons
        )
        yield CounterMetricFamily(
            "fengkong_graph_identifiers_rejected",
            "Identifiers refused as malformed (unknown type, value or time)",
            value=graph.rejected,
        )
        yield CounterMetricFamily(
            "fengkong_graph_identifiers_over_person_cap",
            "New identifiers not linked: their applicant already held the per-applicant cap",
            value=graph.over_person_cap,
        )


@dataclass
class PolicyCache:
    """The active version of each policy, re-checked against the database every few seconds
    (so a promotion through another worker takes effect without a restart)."""

    sessions: sessionmaker[Session]
    recheck_seconds: float = 2.0
    limits: ExpressionLimits | None = None
    _entries: dict[str, tuple[str, Policy, float]] = field(default_factory=dict)
    _lock: Lock = field(default_factory=Lock)

    def active(self, name: str) -> Policy:
        now = time.monotonic()
        entry = self._entries.get(name)
        if entry is not None and now - entry[2] < self.recheck_seconds:
            return entry[1]
        with self.sessions() as session:
            sha = session.scalar(
                select(PolicyVersionRecord.sha256).where(
                    PolicyVersionRecord.name == name, PolicyVersionRecord.status == "active"
                )
            )
            if sha is None:
                raise NotFoundError("active policy", name)
            if entry is not None and entry[0] == sha:
                policy = entry[1]
            else:
                policy = load_version(session, name, limits=self.limits)
                policy.decide({}, audit=True)  # compile the row backend now, not on a request
        with self._lock:
            self._entries[name] = (sha, policy, now)
        return policy

    def forget(self, name: str) -> None:
        """Drop a cached policy (after a promotion in this process)."""
        with self._lock:
            self._entries.pop(name, None)


@dataclass
class KeyCache:
    """Principals of recently seen keys, re-read after ``ttl_seconds`` (a revoked key stops
    working within that time); unknown keys are never cached."""

    ttl_seconds: float = 5.0
    _entries: dict[str, tuple[Principal, float]] = field(default_factory=dict)

    def cached(self, key: str | None) -> Principal | None:
        """The key's principal if it was read less than ``ttl_seconds`` ago."""
        found = self._entries.get(key) if key else None
        if found is not None and time.monotonic() - found[1] < self.ttl_seconds:
            return found[0]
        return None

    def get(self, key: str | None, sessions: sessionmaker[Session]) -> Principal | None:
        """The key's principal, from the cache or the database (``None``: no such live key)."""
        if not key:
            return None
        found = self.cached(key)
        if found is not None:
            return found
        now = time.monotonic()
        with sessions() as session:
            who = authenticate(session, key)
        if who is None:
            self._entries.pop(key, None)
            return None
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key] = (who, now)
        return who
