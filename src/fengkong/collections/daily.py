"""A day of collections: cases, promises, the strategy's plan, the guardrails, allocation.

:func:`run_day` is pure: frames in, frames out. It updates the cases from the loan snapshot,
judges pending promises from the day's payments, plans every open case's actions with the
strategy (cases paused by a promise and cases in a stop state get none), puts every planned
contact through :func:`~fengkong.collections.check_attempt` at its planned local time (a
blocked contact is dropped with the rules it breaks — the batch cannot bypass the check any
more than the service can), and allocates collector calls and field visits to people.

The planned local times (``PLANNED_AT``) keep contacts well inside the allowed hours; a
lender changes them with ``planned_at``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from fengkong.collections.agencies import (
    AgencyContracts,
    empty_placements,
    load_agencies,
    place_cases,
)
from fengkong.collections.allocation import Allocation, allocate, allocate_greedy
from fengkong.collections.cases import DEFAULT_MIN_CASE_FEN, Stages, update_cases
from fengkong.collections.guardrails import (
    CHANNELS,
    Attempt,
    CaseState,
    LoggedAttempt,
    check_attempt,
)
from fengkong.collections.promises import evaluate_promises, paused_cases
from fengkong.collections.rules import ContactProfile, load_contact_rules
from fengkong.collections.strategy import Strategy

__all__ = ["PLANNED_AT", "DayResult", "run_day"]

PLANNED_AT = {
    "sms": dt.time(9, 30),
    "email": dt.time(9, 0),
    "robocall": dt.time(11, 0),
    "call": dt.time(10, 0),
    "field_visit": dt.time(14, 0),
    "letter": dt.time(9, 0),
}
_RECORDING = {"call": {"audio"}, "robocall": {"audio"}, "field_visit": {"audio", "video"}}


@dataclass(frozen=True, slots=True)
class DayResult:
    """Everything a day's run decided."""

    cases: pl.DataFrame
    events: pl.DataFrame
    promises: pl.DataFrame
    actions: pl.DataFrame  # case_id, arm, seq, action, template, planned_at, allowed, breaches
    calls: Allocation
    visits: Allocation
    placements: pl.DataFrame  # every agency placement so far, today's included
    recalled: pl.DataFrame  # case_id, agency_id recalled today

    def summary(self) -> dict[str, object]:
        """Headline figures of the day."""
        acts = self.actions
        return {
            "open_cases": int((self.cases["status"] == "open").sum()),
            "events": dict(self.events.group_by("event").len().iter_rows()),
            "actions_planned": acts.height,
            "actions_blocked": int((~acts["allowed"]).sum()) if acts.height else 0,
            "calls_assigned": self.calls.assignments.height,
            "calls_unserved": self.calls.unserved.height,
            "visits_assigned": self.visits.assignments.height,
            "visits_unserved": self.visits.unserved.height,
            "placed_with_agencies": self.placements.filter(pl.col("recalled_on").is_null()).height,
            "recalled_today": self.recalled.height,
            "expected_recovery_fen": round(
                self.calls.expected_recovery + self.visits.expected_recovery
            ),
        }


def _check_contacts(
    actions: pl.DataFrame,
    cases: pl.DataFrame,
    as_of: dt.date,
    profile: ContactProfile,
    planned_at: Mapping[str, dt.time],
    zones: pl.DataFrame,
    history: Mapping[str, Sequence[LoggedAttempt]],
    holds: Mapping[str, Sequence[tuple[str, frozenset[str] | None]]] | None = None,
    templates: Mapping[str, Mapping[str, str]] | None = None,
) -> pl.DataFrame:
    """Every planned contact through :func:`check_attempt` at its planned local time, with the
    text of its template (the content rules read the words sent, not the template's id).

    A debtor with contact history is checked attempt by attempt against it; for the others
    the verdict depends only on the channel, template, time zone and case status, so each
    distinct combination is checked once and applies to every attempt that shares it.
    """
    rules = load_contact_rules()
    frame = actions.join(
        cases.select("case_id", "borrower_id", "status"), on="case_id", how="left"
    ).join(zones, on="borrower_id", how="left")
    frame = frame.with_row_index("__row")

    def verdict(case_id: str, debtor: str, action: str, template: str | None, tz: str | None,
                status: str, past: Sequence[LoggedAttempt]) -> tuple[Any, bool, list[str]]:  # fmt: skip
        if action not in CHANNELS:  # placements are not contacts
            return None, True, []
        try:
            zone = ZoneInfo(tz or profile.time_zones[0])
        except (ZoneInfoNotFoundError, ValueError):  # the check reports it; the run goes on
            zone = ZoneInfo(profile.time_zones[0])
        at = dt.datetime.combine(as_of, planned_at[action], tzinfo=zone).astimezone(dt.UTC)
        held = frozenset(
            stop
            for stop, channels in (holds or {}).get(debtor, ())
            if channels is None or action in channels
        )
        attempt = Attempt(
            case_id,
            debtor,
            action,
            at,
            debtor_tz=tz,
            template=(templates or {}).get(template or "", {}).get("text", ""),
            template_id=template,
            recording=frozenset(_RECORDING.get(action, ())),
        )
        v = check_attempt(
            attempt,
            history=past,
            state=CaseState(status=status, holds=held),
            profile=profile,
            rules=rules,
        )
        return at, v.allowed, [b.rule for b in v.breaches]

    keys = ["action", "template", "time_zone", "status"]
    own = list({*history, *(holds or {})})  # debtors checked one by one
    known = frame.filter(pl.col("borrower_id").is_in(own))
    shared = frame.filter(~pl.col("borrower_id").is_in(own))
    distinct = shared.unique(keys, maintain_order=True).select(keys)
    checked = [verdict("-", "-", a, t, z, st, ()) for a, t, z, st in distinct.iter_rows()]
    table = distinct.with_columns(
        pl.Series("planned_at", [c[0] for c in checked], dtype=pl.Datetime("us", "UTC")),
        pl.Series("allowed", [c[1] for c in checked], dtype=pl.Boolean),
        pl.Series("breaches", [c[2] for c in checked], dtype=pl.List(pl.String)),
    )
    parts = [shared.join(table, on=keys, how="left", nulls_equal=True)]
    if known.height:
        one = [
            verdict(c, d, a, t, z, st, history.get(d, ()))
            for c, d, a, t, z, st in known.select("case_id", "borrower_id", *keys).iter_rows()
        ]
        parts.append(
            known.with_columns(
                pl.Series("planned_at", [c[0] for c in one], dtype=pl.Datetime("us", "UTC")),
                pl.Series("allowed", [c[1] for c in one], dtype=pl.Boolean),
                pl.Series("breaches", [c[2] for c in one], dtype=pl.List(pl.String)),
            )
        )
    out = pl.concat(parts).sort("__row")
    return out.select(*actions.columns, "planned_at", "allowed", "breaches")


def run_day(
    *,
    as_of: dt.date,
    loans: pl.DataFrame,
    cases: pl.DataFrame | None,
    promises: pl.DataFrame,
    payments: pl.DataFrame,
    p_pay: pl.DataFrame,
    strategy: Strategy,
    collectors: pl.DataFrame,
    field_agents: pl.DataFrame,
    profile: ContactProfile,
    borrowers: pl.DataFrame | None = None,
    uplift: Mapping[str, float] | None = None,
    stages: Stages | None = None,
    planned_at: Mapping[str, dt.time] | None = None,
    exact: bool = True,
    placements: pl.DataFrame | None = None,
    contracts: AgencyContracts | None = None,
    last_paid: pl.DataFrame | None = None,
    contact_history: Mapping[str, Sequence[LoggedAttempt]] | None = None,
    stops: Mapping[str, Sequence[tuple[str, frozenset[str] | None]]] | None = None,
    min_case_fen: int = DEFAULT_MIN_CASE_FEN,
) -> DayResult:
    """One day's run (see the module docstring).

    ``loans``: the snapshot for :func:`~fengkong.collections.cases.update_cases`;
    ``p_pay``: ``case_id, p_pay`` (the collection score); ``borrowers``: ``borrower_id``
    with ``language``, ``region``, ``city`` and ``time_zone`` (missing: ``zh``, ``-``, ``-``
    and the profile's most restrictive zone); ``collectors`` / ``field_agents``:
    ``agent_id, capacity, serves`` (keys ``stage|language|region`` / ``city``); ``uplift``:
    the relative lift in P(pay) of a collector call and of a field visit; ``placements``:
    agency placements so far (cases the strategy sends to an agency are placed under the
    ``contracts``, stale placements recalled; ``last_paid``: ``case_id, paid_on``);
    ``contact_history``: each debtor's logged attempts of the last 7 days (lender and
    agencies), against which their planned contacts are checked; ``stops``: each debtor's
    stop states in force, ``(stop, channels)`` (``channels`` None: every channel) — a debtor
    with a stop on every channel gets no plan and no agency placement (an active placement is
    recalled), a stop on some channels blocks those channels' contacts.
    """
    uplift = {"call": 0.15, "field_visit": 0.30, **(uplift or {})}
    today, events = update_cases(cases, loans, as_of, stages=stages, min_case_fen=min_case_fen)
    judged = evaluate_promises(promises, payments, as_of)
    open_cases = today.filter(pl.col("status") == "open")
    broken = judged.filter((pl.col("status") == "broken") & (pl.col("resolved_on") == as_of))
    people = (
        borrowers
        if borrowers is not None
        else pl.DataFrame(schema={"borrower_id": pl.String, "time_zone": pl.String})
    )
    for col, default in (("language", "zh"), ("region", "-"), ("city", "-"), ("time_zone", None)):
        if col not in people.columns:
            people = people.with_columns(pl.lit(default, pl.String).alias(col))
    frame = (
        open_cases.join(p_pay.select("case_id", "p_pay"), on="case_id", how="left")
        .join(
            people.select("borrower_id", "language", "region", "city", "time_zone"),
            on="borrower_id",
            how="left",
        )
        .with_columns(
            pl.col("p_pay").fill_null(0.5),
            pl.col("language").fill_null("zh"),
            pl.col("region").fill_null("-"),
            pl.col("city").fill_null("-"),
            pl.col("case_id").is_in(broken["case_id"].implode()).alias("broken_promise"),
        )
    )
    stops = stops or {}
    whole = [b for b, held in stops.items() if any(ch is None for _, ch in held)]
    stopped = today.filter(pl.col("borrower_id").is_in(whole))["case_id"].to_list()
    plan = strategy.plan(frame, paused=paused_cases(judged, as_of).to_list(), stopped=stopped)
    checked = _check_contacts(
        plan,
        today,
        as_of,
        profile,
        {**PLANNED_AT, **(planned_at or {})},
        people.select("borrower_id", "time_zone"),
        contact_history or {},
        stops,
        strategy.templates,
    )
    ok = checked.filter(pl.col("allowed"))
    work = ok.join(
        frame.select("case_id", "stage", "language", "region", "city", "overdue_fen", "p_pay"),
        on="case_id",
    )
    solve = allocate if exact else allocate_greedy
    calls = work.filter(pl.col("action") == "call").select(
        "case_id",
        (pl.col("overdue_fen") * pl.col("p_pay") * uplift["call"]).alias("value"),
        pl.concat_str(["stage", "language", "region"], separator="|").alias("need"),
    )
    visits = work.filter(pl.col("action") == "field_visit").select(
        "case_id",
        (pl.col("overdue_fen") * pl.col("p_pay") * uplift["field_visit"]).alias("value"),
        pl.col("city").alias("need"),
    )
    to_agency = ok.filter(pl.col("action") == "agency").select("case_id")
    candidates = frame.join(to_agency, on="case_id").with_columns(pl.col("max_dpd"))
    placed, recalled = place_cases(
        candidates,
        placements if placements is not None else empty_placements(),
        contracts or load_agencies(),
        as_of,
        last_paid=last_paid,
    )
    if stopped:  # a stop on every channel recalls the case from its agency today
        halt = pl.col("case_id").is_in(stopped) & pl.col("recalled_on").is_null()
        recalled = pl.concat([recalled, placed.filter(halt).select(recalled.columns)])
        placed = placed.with_columns(
            pl.when(halt).then(pl.lit(as_of)).otherwise(pl.col("recalled_on")).alias("recalled_on")
        )
    active = placed.filter(pl.col("recalled_on").is_null())["case_id"]
    today = today.with_columns(
        pl.when(pl.col("case_id").is_in(active.implode()))
        .then(pl.lit("agency"))
        .otherwise(pl.col("placement"))
        .alias("placement")
    )
    return DayResult(
        today,
        events,
        judged,
        checked,
        solve(calls, collectors),
        solve(visits, field_agents),
        placed,
        recalled,
    )
