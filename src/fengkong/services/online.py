"""Variables and graph features computed inside the decision call.

A policy that declares ``variables: <features spec>`` gets every variable of that spec
computed from the online state for the application (the spec's first source is the
applications' source; its timestamp may come as ISO text); ``graph_features: true`` adds the
applicant's relationship-graph features after linking the identifiers sent with the
application. The computed values replace anything the caller sent under the same names (a
caller cannot supply its own velocity counts), and the application is observed afterwards so
the next one sees it. State lives in the worker (``FENGKONG_REDIS_URL``: variables shared
through Redis; the graph stays per worker until its periodic re-seed).

:meth:`OnlineState.decide` is the one real-time decision path — the HTTP service and
``fengkong demo`` both go through it. Date inputs sent as ISO text (JSON has no dates) are
read as dates; anything else unreadable is left for the policy's data-quality checks.
"""

from __future__ import annotations

import datetime as dt
from contextlib import suppress
from threading import Lock
from typing import Any

from fengkong.errors import InvalidArgumentError
from fengkong.features import OnlineEngine, load_spec
from fengkong.graph import OnlineGraph
from fengkong.policy import Decision, Policy

__all__ = ["OnlineState"]


def _instant(value: Any, field: str) -> Any:
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise InvalidArgumentError(field, expected="an ISO date-time", got=value) from None
        return parsed.astimezone(dt.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
    return value


class OnlineState:
    """The worker's variable engines (one per spec) and relationship graph."""

    def __init__(
        self,
        store_factory: Any = None,
        *,
        engines: dict[str, OnlineEngine] | None = None,
        graph: OnlineGraph | None = None,
    ) -> None:
        self._engines: dict[str, OnlineEngine] = dict(engines or {})
        self.graph = graph or OnlineGraph()
        self._store_factory = store_factory
        self._lock = Lock()

    def engine(self, spec_name: str) -> OnlineEngine:
        found = self._engines.get(spec_name)
        if found is None:
            spec = load_spec(spec_name)
            target = next(iter(spec.sources))
            store = self._store_factory(spec_name) if self._store_factory else None
            found = self._engines.setdefault(
                spec_name, OnlineEngine(spec, target=target, store=store)
            )
        return found

    def inputs(
        self, policy: Policy, application: dict[str, Any], identifiers: list[Any] | None
    ) -> tuple[dict[str, Any], Any]:
        """The policy's inputs for one application, and what to observe after deciding."""
        values = dict(application)
        observe = None
        if policy.variable_spec:
            engine = self.engine(policy.variable_spec)
            source = engine.spec.sources[engine.target]
            event = dict(application)
            event[source.timestamp] = _instant(
                event.get(source.timestamp), f"application.{source.timestamp}"
            )
            with self._lock:
                values.update(engine.compute(event))
            observe = (engine, event)
        if policy.graph_features:
            person = application.get("person_id")
            if person is None:
                raise InvalidArgumentError(
                    "application.person_id",
                    expected="the applicant's id (graph features)",
                    got=None,
                )
            at = _instant(application.get("applied_at"), "application.applied_at")
            links = [(t, str(v), _instant(seen, "identifiers")) for t, v, seen in identifiers or ()]
            with self._lock:
                graph = self.graph.add(int(person), links, at)
            values.update({k: v for k, v in graph.items() if k != "person_id"})
        return values, observe

    def decide(
        self, policy: Policy, application: dict[str, Any], identifiers: list[Any] | None = None
    ) -> Decision:
        """Compute the application's variables and graph features, decide it with ``policy``
        (full audit record), and observe it so the next application sees it."""
        inputs, pending = self.inputs(policy, application, identifiers)
        for spec in policy.inputs:
            value = inputs.get(spec.name)
            if spec.type == "date" and isinstance(value, str):
                with suppress(ValueError):  # unreadable: the policy refers it as DQ_TYPE
                    inputs[spec.name] = dt.date.fromisoformat(value[:10])
        decision = policy.decide(inputs)
        self.observe(pending)
        return decision

    def observe(self, pending: Any) -> None:
        """Record the application in the variable state (after it was decided)."""
        if pending is None:
            return
        engine, event = pending
        with self._lock:
            engine.observe(engine.target, event)
