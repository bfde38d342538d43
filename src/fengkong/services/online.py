"""Variables and graph features computed inside the decision call.

A policy that declares ``variables: <features spec>`` gets every variable of that spec
computed from the online state for the application (the spec's first source is the
applications' source; its timestamp may come as ISO text); ``graph_features: true`` adds the
applicant's relationship-graph features after linking the identifiers sent with the
application. The computed values replace anything the caller sent under the same names (a
caller cannot supply its own velocity counts), and the application is observed in the same
atomic step, so the next one — on any worker — sees it. State lives in the worker (``FENGKONG_REDIS_URL``: variables shared
through Redis; the graph stays per worker until its periodic re-seed).

:meth:`OnlineState.decide` is the one real-time decision path (the HTTP service and the UI).
The server knows the time: an application without ``applied_at`` (or the spec's timestamp
column) is stamped with the server clock, and a caller's time is accepted only within
``[now - late, now + skew]`` (settings ``decision_late_seconds``/``decision_skew_seconds``);
anything else is refused naming the field, before any state changes — one request dated
9999-12-31 can no longer move the shared clock and refuse every later application. History
goes through :meth:`OnlineState.replay` (``fengkong demo``, backfills), in time order, never
through the live endpoint. Date inputs sent as ISO text (JSON has no dates) are read as
dates; anything else unreadable is left for the policy's data-quality checks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from typing import Any

import numpy as np
import polars as pl

from fengkong.errors import InvalidArgumentError
from fengkong.features import OnlineEngine, load_spec
from fengkong.features.online import known_us, to_us
from fengkong.graph import IdentifierGraph, OnlineGraph
from fengkong.policy import Decision, Policy

__all__ = [
    "Decided",
    "OnlineState",
    "known_bad_people",
    "known_bad_since",
    "seed_from_book",
    "seed_state",
]


def _instant(value: Any, field: str) -> Any:
    """A time as a naive UTC datetime (ISO text or a datetime in any zone); anything else
    is returned as given, for the caller's own check."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise InvalidArgumentError(field, expected="an ISO date-time", got=value) from None
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _from_micros(us: int) -> dt.datetime | None:
    """Integer microseconds since 1970 as a naive datetime (None beyond the calendar)."""
    try:
        return dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=us)
    except OverflowError:
        return None


def _links(identifiers: Iterable[Any], at: Any) -> list[tuple[str, str, Any]]:
    """``(type, value, first seen)`` of the applicant's identifiers: first seen null is the
    application's time; after it is refused (an identifier is not seen in the future)."""
    links = []
    for k, (kind, value, seen) in enumerate(identifiers):
        first = at if seen is None else _instant(seen, f"identifiers.{k}")
        if isinstance(first, dt.datetime) and isinstance(at, dt.datetime) and first > at:
            raise InvalidArgumentError(
                f"identifiers.{k}",
                expected=f"first seen at or before the application ({at})",
                got=seen,
            )
        links.append((kind, str(value), first))
    return links


@dataclass(frozen=True, slots=True)
class Decided:
    """A decision of :class:`OnlineState`, with what its record keeps and how to take it back.

    ``graph``: the applicant's component as the decision saw it (graph policies), for its
    trace page. ``forget()``: the decision's record could not be stored, so the application
    never happened — it leaves the variable state (applications decided meanwhile saw it).
    """

    decision: Decision
    graph: dict[str, Any] | None = None
    _forget: Callable[[], None] | None = None

    def forget(self) -> None:
        """Take the application back out of the variable state (idempotent)."""
        if self._forget is not None:
            self._forget()


class OnlineState:
    """The worker's variable engines (one per spec) and relationship graph."""

    def __init__(
        self,
        store_factory: Any = None,
        *,
        engines: dict[str, OnlineEngine] | None = None,
        graph: OnlineGraph | None = None,
        late: dt.timedelta = dt.timedelta(minutes=15),
        skew: dt.timedelta = dt.timedelta(minutes=1),
    ) -> None:
        self._engines: dict[str, OnlineEngine] = dict(engines or {})
        self.graph = graph or OnlineGraph()
        self.store_factory = store_factory
        self.late, self.skew = late, skew
        self._lock = Lock()

    def engine(self, spec_name: str) -> OnlineEngine:
        found = self._engines.get(spec_name)
        if found is None:
            spec = load_spec(spec_name)
            target = next(iter(spec.sources))
            store = self.store_factory(spec_name) if self.store_factory else None
            found = self._engines.setdefault(
                spec_name, OnlineEngine(spec, target=target, store=store)
            )
        return found

    def _observed(
        self,
        policy: Policy,
        application: dict[str, Any],
        identifiers: list[Any] | None,
        *,
        live: bool = False,
    ) -> Decided:
        """Decide one application, with it observed in the variable state and linked in the
        graph — all or nothing: every check (times, types, the graph's clock, the decision
        itself) runs before anything changes, and the variables are computed and observed in
        one atomic step per entity key, so simultaneous applications of one person see each
        other (``live``: in one serial order, see
        :meth:`~fengkong.features.OnlineEngine.compute_and_observe`).

        The decision runs inside the variables' step, before the application is observed: a
        decision that raises (a level a model refuses) leaves no trace. With graph features
        it first runs with them null (graph features are numbers, which never raise), then
        once more after the link, as the graph cannot take a link back. If the caller then
        cannot store the decision, :meth:`Decided.forget` takes the application back out of
        the variables; the graph keeps its link until the worker's graph is re-seeded from
        the stored applications."""
        values = dict(application)
        link = None
        if policy.graph_features:
            link = self._link(application, identifiers)
        decided: list[Decision] = []
        forget: Callable[[], None] | None = None

        def decide(found: dict[str, Any]) -> None:
            inputs = values | found
            if link is not None:  # the dry run: graph features null
                policy.decide(_typed(policy, inputs), audit=False)
            else:
                decided[:] = [policy.decide(_typed(policy, inputs))]

        with self._lock:
            if link is not None and not self.graph.accepts(link[2]):  # before any change
                late = self.graph.lateness_error("applied_at", link[2])
                raise InvalidArgumentError(
                    "application.applied_at", expected=late.expected, got=late.got
                )
            if policy.variable_spec:
                engine = self.engine(policy.variable_spec)
                source = engine.spec.sources[engine.target]
                event = dict(application)
                event[source.timestamp] = _instant(
                    event.get(source.timestamp), f"application.{source.timestamp}"
                )
                found, new = engine.observe_application(event, serial=live, check=decide)
                values.update(found)
                if new:
                    forget = self._forgetter(engine, event)
            else:
                decide({})
            if link is None:
                return Decided(decided[0], None, forget)
            graph = self.graph.add(*link)
            drawn = self.graph.component(link[0]) | {"as_of": link[2]}
            values.update({k: v for k, v in graph.items() if k != "person_id"})
        return Decided(policy.decide(_typed(policy, values)), drawn, forget)

    def _forgetter(self, engine: OnlineEngine, event: dict[str, Any]) -> Callable[[], None]:
        done: list[bool] = []

        def forget() -> None:
            with self._lock:
                if not done:
                    engine.forget(event)
                    done.append(True)

        return forget

    @staticmethod
    def _link(
        application: Mapping[str, Any], identifiers: list[Any] | None
    ) -> tuple[int, list[Any], dt.datetime]:
        """The applicant, identifiers and time to link in the graph, checked."""
        person = application.get("person_id")
        if person is None:
            raise InvalidArgumentError(
                "application.person_id",
                expected="the applicant's id (graph features)",
                got=None,
            )
        if (
            isinstance(person, bool)
            or not isinstance(person, int)
            or not -(2**63) <= person < 2**63
        ):
            raise InvalidArgumentError(
                "application.person_id",
                expected="the applicant's id, an integer within 64 bits",
                got=person,
            )
        at = _instant(application.get("applied_at"), "application.applied_at")
        if not isinstance(at, dt.datetime):
            raise InvalidArgumentError(
                "application.applied_at", expected="a date-time (graph features)", got=at
            )
        return int(person), _links(identifiers or (), at), at

    def problems(self, now: dt.datetime) -> list[str]:
        """Why this worker's state cannot take a live application at ``now`` (empty when it
        can): a variable state or graph whose clock lies past ``now`` by more than its
        lateness would refuse every real application."""
        clock = now.astimezone(dt.UTC).replace(tzinfo=None) if now.tzinfo else now
        found = [
            f"variables {name}: the state's newest event is after {clock} by more than the "
            "spec's lateness; it refuses live applications (reseed it)"
            for name, engine in sorted(self._engines.items())
            if not engine.accepts(clock)
        ]
        if not self.graph.accepts(clock):
            found.append(
                f"graph: its latest application is after {clock} by more than its lateness; "
                "it refuses live applications (reseed it)"
            )
        return found

    def time_fields(self, policy: Policy) -> list[str]:
        """The application's time columns: ``applied_at`` and the variable spec's timestamp
        and the column it becomes known by."""
        fields = ["applied_at"]
        if policy.variable_spec:
            engine = self.engine(policy.variable_spec)
            source = engine.spec.sources[engine.target]
            for stamp in (source.timestamp, source.known_from):  # when it is, when known
                fields += [stamp] if stamp not in fields else []
        return fields

    def stamped(
        self, policy: Policy, application: Mapping[str, Any], now: dt.datetime
    ) -> dict[str, Any]:
        """The application with its time columns set by the server clock ``now``, or the
        caller's time checked to lie within ``[now - late, now + skew]``.

        >>> state = OnlineState()
        >>> from fengkong.policy import load_policy
        >>> p = load_policy({"schema_version": 1, "inputs": {}})
        >>> now = dt.datetime(2026, 12, 5, 10, 0, tzinfo=dt.UTC)
        >>> state.stamped(p, {"person_id": 1}, now)["applied_at"]
        datetime.datetime(2026, 12, 5, 10, 0)
        >>> try:
        ...     state.stamped(p, {"applied_at": "9999-12-31T23:59:59"}, now)
        ... except InvalidArgumentError as exc:
        ...     print(exc.field, exc.expected[:34])
        application.applied_at a time from 2026-12-05 09:45:00 to
        """
        clock = now.astimezone(dt.UTC).replace(tzinfo=None) if now.tzinfo else now
        low, high = clock - self.late, clock + self.skew
        out = dict(application)
        for name in self.time_fields(policy):
            given = application.get(name)
            if given is None:
                out[name] = clock
                continue
            at = _instant(given, f"application.{name}")
            when = _from_micros(at) if isinstance(at, int) and not isinstance(at, bool) else at
            if not isinstance(when, dt.datetime) or not low <= when <= high:
                raise InvalidArgumentError(
                    f"application.{name}",
                    expected=f"a time from {low} to {high} UTC (the server's clock, {self.late} "
                    f"before to {self.skew} after; history is replayed, not decided live)",
                    got=given,
                )
            out[name] = at
        return out

    def decide(
        self,
        policy: Policy,
        application: dict[str, Any],
        identifiers: list[Any] | None = None,
        *,
        now: dt.datetime,
    ) -> Decided:
        """Decide a live application at the server's clock ``now`` (see :meth:`stamped`):
        compute its variables and graph features while observing it (so the next
        application sees it), and decide it with ``policy`` (full audit record)."""
        return self._observed(
            policy, self.stamped(policy, application, now), identifiers, live=True
        )

    def replay(
        self, policy: Policy, application: dict[str, Any], identifiers: list[Any] | None = None
    ) -> Decided:
        """Decide an application of history at its own time (in time order, by a trusted
        in-process caller: the demo, a backfill); the live path is :meth:`decide`."""
        return self._observed(policy, application, identifiers)


def _typed(policy: Policy, inputs: dict[str, Any]) -> dict[str, Any]:
    """``inputs`` with date inputs given as ISO text read as dates (unreadable text stays:
    the policy refers it as DQ_TYPE)."""
    for spec in policy.inputs:
        value = inputs.get(spec.name)
        if spec.type == "date" and isinstance(value, str):
            with suppress(ValueError):
                inputs[spec.name] = dt.date.fromisoformat(value[:10])
    return inputs


def known_bad_since(
    loans: pl.DataFrame, performance: pl.DataFrame, *, dpd: int = 90
) -> pl.DataFrame:
    """When each applicant became known bad: the first month-end snapshot at which one of
    their loans was ``dpd`` days past due (``person_id, bad_since``, a datetime: known from
    the start of the day after the snapshot). The graph's labels as of any time are those
    with ``bad_since`` at or before it."""
    late = performance.filter(pl.col("dpd") >= dpd).join(
        loans.select("loan_id", "person_id"), on="loan_id"
    )
    return late.group_by("person_id").agg(
        (pl.col("snapshot_on").min().cast(pl.Datetime("us")) + pl.duration(days=1)).alias(
            "bad_since"
        )
    )


def known_bad_people(
    loans: pl.DataFrame, performance: pl.DataFrame, *, before: dt.date, dpd: int = 90
) -> set[int]:
    """Applicants known bad before ``before`` (see :func:`known_bad_since`)."""
    since = known_bad_since(loans, performance, dpd=dpd)
    cut = dt.datetime.combine(before, dt.time())
    return set(since.filter(pl.col("bad_since") <= cut)["person_id"].to_list())


def seed_state(
    tables: Mapping[str, pl.DataFrame],
    *,
    specs: Sequence[str],
    as_of: dt.datetime,
    identifiers: pl.DataFrame | None = None,
    known_bad: Iterable[int] = (),
    graph: IdentifierGraph | None = None,
    store_factory: Any = None,
) -> OnlineState:
    """A worker's online state as of ``as_of`` from the history before it.

    Every variable spec's engine observes the rows of its sources' tables (``tables`` by
    table name: ``applications``, ``loans``, ...) known before ``as_of`` (by each source's
    ``known`` rule), in the order they became known (at the same instant, other sources
    before the applications). The relationship graph is
    seeded from a batch build of the identifiers of everyone who applied before ``as_of``
    (``graph`` when already built), with ``known_bad`` labels and the last 7 days'
    applications for the 1- and 7-day counts.

    Raises
    ------
    InvalidArgumentError
        A spec reads a table that is not given.
    """
    engines: dict[str, OnlineEngine] = {}
    for name in specs:
        spec = load_spec(name)
        target = next(iter(spec.sources))
        store = store_factory(name) if store_factory else None
        engine = OnlineEngine(spec, target=target, store=store)
        events: list[tuple[int, int, str, dict[str, Any]]] = []
        for source_name, source in spec.sources.items():
            frame = tables.get(source.table)
            if frame is None:
                raise InvalidArgumentError(
                    f"tables.{source.table}",
                    expected=f"the rows of source {source_name!r} of variable spec {name!r}",
                    got=sorted(tables),
                )
            rank = 1 if source_name == target else 0
            cut = to_us(as_of, "as_of")
            for row in frame.iter_rows(named=True):
                at = known_us(source, row)  # when the row became known, by its rule
                if at < cut:
                    events.append((at, rank, source_name, row))
        events.sort(key=lambda e: (e[0], e[1]))
        for _, _, source_name, row in events:
            engine.observe(source_name, row)
        engines[name] = engine
    online_graph = None
    applications = tables.get("applications")
    if applications is not None and (identifiers is not None or graph is not None):
        history = applications.filter(pl.col("applied_at") < as_of)
        if graph is None:
            assert identifiers is not None
            known = history["person_id"].unique().implode()
            graph = IdentifierGraph.build(identifiers.filter(pl.col("person_id").is_in(known)))
        bad = np.isin(graph.persons, np.fromiter(known_bad, dtype=np.int64))
        recent = history.filter(pl.col("applied_at") >= as_of - dt.timedelta(days=7))
        windows = dict(recent.group_by("person_id").agg("applied_at").iter_rows())
        online_graph = OnlineGraph.seed(graph, bad=bad, applications=windows)
    return OnlineState(store_factory, engines=engines, graph=online_graph)


def seed_from_book(
    folder: str | Path,
    *,
    specs: Sequence[str],
    as_of: dt.datetime | None = None,
    store_factory: Any = None,
) -> OnlineState:
    """:func:`seed_state` from a book folder (``fengkong synth`` layout: applications, loans,
    performance, person_identifiers), as of just after its last application by default; the
    known-bad applicants are those with a loan 90+ days past due before then."""
    from fengkong.synth import read_book  # noqa: PLC0415 (parquet reading on demand)

    book = read_book(folder)
    if as_of is None:
        last = book.applications["applied_at"].max()
        as_of = (last if isinstance(last, dt.datetime) else dt.datetime.min) + dt.timedelta(
            microseconds=1
        )
    return seed_state(
        {"applications": book.applications, "loans": book.loans},
        specs=specs,
        as_of=as_of,
        identifiers=book.person_identifiers,
        known_bad=known_bad_people(book.loans, book.performance, before=as_of.date()),
        store_factory=store_factory,
    )
