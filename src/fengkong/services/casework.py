"""The collector's workbench over the database: the daily collections run, queues, cases,
promises.

:func:`run_collections` is the daily job: it reads the servicing book after end of day
(:func:`~fengkong.services.servicing.delinquency_snapshot`), yesterday's cases and the
promises from the database, runs :func:`fengkong.collections.run_day` (cases, promises, the
strategy's plan, the guardrails on every planned contact, exact allocation) and writes back
each case with its plan and the collector its call was allocated to. :func:`queue` and
:func:`case_detail` are what a person sees: a collector only the cases assigned to them
(another collector's case is "not found", so its existence does not leak). :func:`add_promise`
records a promise to pay through the core's checks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengkong.collections.agencies import PLACEMENT_SCHEMA
from fengkong.collections.cases import CASE_SCHEMA, DEFAULT_MIN_CASE_FEN, update_cases
from fengkong.collections.daily import DayResult, run_day
from fengkong.collections.promises import PROMISE_SCHEMA, make_promise
from fengkong.collections.rules import ContactProfile
from fengkong.collections.score import case_p_pay
from fengkong.collections.strategy import Strategy
from fengkong.db.models import (
    AgencyPlacementRecord,
    ApiKeyRecord,
    CollectionCaseRecord,
    ContactLogRecord,
    ContactOutcomeRecord,
    DebtorContactRecord,
    LoanEventRecord,
    LoanRecord,
    PromiseRecord,
)
from fengkong.errors import InvalidArgumentError, NotFoundError
from fengkong.services.access import Principal, owner_of, workable_case
from fengkong.services.collections import (
    ContactResult,
    log_planned_contacts,
    recent_contacts,
    request_contact,
)
from fengkong.services.debtors import (
    REQUEST_KINDS,
    covered_channels,
    list_requests,
    stops_by_borrower,
)
from fengkong.services.servicing import delinquency_snapshot, loan_id_for, loan_state

__all__ = [
    "add_promise",
    "case_detail",
    "contact_case",
    "owner_of",
    "queue",
    "reassign_case",
    "run_collections",
    "workable_case",
]


def _open_cases(session: Session) -> pl.DataFrame:
    rows = session.scalars(
        select(CollectionCaseRecord).where(CollectionCaseRecord.status.in_(["open", "recovery"]))
    ).all()
    ids = {
        r.id: r.external_id
        for r in session.execute(select(LoanRecord.id, LoanRecord.external_id)).all()
    }
    back = {v: k for k, v in ids.items()}
    return pl.DataFrame(
        [
            {
                "case_id": r.case_id,
                "borrower_id": r.borrower_id,
                "opened_on": r.opened_on,
                "closed_on": None,
                "status": r.status,
                "stage": r.stage,
                "max_dpd": r.max_dpd,
                "overdue_fen": r.overdue_fen,
                "balance_fen": r.balance_fen,
                "written_off_fen": 0,
                "loans": [back[x] for x in r.loans if x in back],
                "placement": r.placement,
            }
            for r in rows
        ],
        schema=CASE_SCHEMA,
    )


def _promises(session: Session) -> pl.DataFrame:
    rows = session.scalars(select(PromiseRecord)).all()
    return pl.DataFrame(
        [{k: getattr(r, k) for k in PROMISE_SCHEMA} for r in rows], schema=PROMISE_SCHEMA
    )


def _payments(session: Session, since: dt.date, as_of: dt.date) -> pl.DataFrame:
    """Repayments posted between the runs, per borrower (promises are judged per case)."""
    rows = session.execute(
        select(LoanRecord.borrower_id, LoanEventRecord.on, LoanEventRecord.amount_minor)
        .join(LoanRecord, LoanRecord.id == LoanEventRecord.loan_id)
        .where(
            LoanEventRecord.kind == "Repayment",
            LoanEventRecord.on > since,
            LoanEventRecord.on <= as_of,
        )
    ).all()
    return pl.DataFrame(
        rows,
        schema={"borrower_id": pl.String, "paid_on": pl.Date, "amount_fen": pl.Int64},
        orient="row",
    )


def _placements(session: Session) -> pl.DataFrame:
    """Every agency placement so far (recalled ones too): capacity and recall span the days."""
    rows = session.scalars(select(AgencyPlacementRecord).order_by(AgencyPlacementRecord.id))
    return pl.DataFrame(
        [{k: getattr(r, k) for k in PLACEMENT_SCHEMA} for r in rows], schema=PLACEMENT_SCHEMA
    )


def _store_placements(session: Session, placements: pl.DataFrame) -> None:
    known = {(r.case_id, r.number): r for r in session.scalars(select(AgencyPlacementRecord))}
    for row in placements.iter_rows(named=True):
        record = known.get((row["case_id"], row["number"]))
        if record is None:
            session.add(AgencyPlacementRecord(**row))
        elif record.recalled_on is None and row["recalled_on"] is not None:
            record.recalled_on = row["recalled_on"]
    session.flush()


def run_collections(
    session: Session,
    as_of: dt.date,
    *,
    strategy: Strategy,
    profile: ContactProfile,
    p_pay: pl.DataFrame,
    collectors: pl.DataFrame,
    field_agents: pl.DataFrame,
    borrowers: pl.DataFrame | None = None,
    phones: Mapping[str, str] | None = None,
    since: dt.date | None = None,
    min_case_fen: int = DEFAULT_MIN_CASE_FEN,
) -> DayResult:
    """Run collections for ``as_of`` over the database and store the cases (one transaction).

    ``p_pay``: ``loan_id`` (the loans' database ids) and ``p_pay`` from the collection score;
    ``borrowers`` as for :func:`~fengkong.collections.run_day`; ``phones``: each borrower's
    number for the workbench; ``since``: the previous run (its payments judge the promises);
    ``min_case_fen``: no case below this (``Settings.collections_min_case_fen``).
    """
    loans = delinquency_snapshot(session, as_of)
    cases = _open_cases(session)
    promises = _promises(session)
    paid = _payments(session, since or as_of - dt.timedelta(days=1), as_of)
    case_of = cases.select("borrower_id", "case_id")
    payments = paid.join(case_of, on="borrower_id").select("case_id", "paid_on", "amount_fen")
    previous = cases if cases.height else None
    today, _ = update_cases(previous, loans, as_of, min_case_fen=min_case_fen)
    day_start = dt.datetime.combine(as_of, dt.time.min, tzinfo=dt.UTC)
    day_end = dt.datetime.combine(as_of, dt.time.max, tzinfo=dt.UTC)
    held: dict[str, set[tuple[str, frozenset[str] | None]]] = {}
    for moment in (day_start, day_end):  # in force at any time of the day
        for borrower, rows in stops_by_borrower(session, moment).items():
            held.setdefault(borrower, set()).update(
                (REQUEST_KINDS[r.kind], covered_channels(r.channels) if r.channels else None)
                for r in rows
            )
    history = recent_contacts(session, since=day_start - dt.timedelta(days=8))
    placements = _placements(session)
    last_paid = (
        _payments(session, dt.date.min, as_of)
        .join(case_of, on="borrower_id")
        .group_by("case_id")
        .agg(pl.col("paid_on").max())
    )
    result = run_day(
        as_of=as_of,
        loans=loans,
        cases=previous,
        promises=promises,
        payments=payments,
        p_pay=case_p_pay(today, loans, p_pay),
        strategy=strategy,
        collectors=collectors,
        field_agents=field_agents,
        profile=profile,
        borrowers=borrowers,
        contact_history=history,
        stops={b: sorted(v, key=str) for b, v in held.items()},
        placements=placements,
        last_paid=last_paid,
        min_case_fen=min_case_fen,
    )
    _store_placements(session, result.placements)
    zones = (
        dict(borrowers.select("borrower_id", "time_zone").iter_rows())
        if borrowers is not None and "time_zone" in borrowers.columns
        else {}
    )
    _store(session, result, as_of, p_pay=case_p_pay(today, loans, p_pay), phones=phones or {},
           zones=zones)  # fmt: skip
    log_planned_contacts(session, result, profile=profile)
    return result


def _store(
    session: Session,
    result: DayResult,
    as_of: dt.date,
    *,
    p_pay: pl.DataFrame,
    phones: Mapping[str, str],
    zones: Mapping[str, str | None] | None = None,
) -> None:
    external = dict(session.execute(select(LoanRecord.id, LoanRecord.external_id)).all())
    assigned = dict(result.calls.assignments.select("case_id", "agent_id").iter_rows())
    scores = dict(p_pay.iter_rows())
    plans: dict[str, list[dict[str, Any]]] = {}
    for row in result.actions.iter_rows(named=True):
        plans.setdefault(row["case_id"], []).append(
            {
                "action": row["action"],
                "template": row.get("template"),
                "allowed": row["allowed"],
                "breaches": list(row["breaches"] or []),
            }
        )
    for row in result.cases.iter_rows(named=True):
        record = session.get(CollectionCaseRecord, row["case_id"])
        if record is None:
            record = CollectionCaseRecord(case_id=row["case_id"], opened_on=row["opened_on"])
            session.add(record)
        record.borrower_id = row["borrower_id"]
        record.status = row["status"]
        record.stage = row["stage"]
        record.max_dpd = row["max_dpd"] or 0
        record.overdue_fen = row["overdue_fen"] or 0
        record.balance_fen = row["balance_fen"] or 0
        record.loans = [external[x] for x in row["loans"] or [] if x in external]
        record.placement = row["placement"]
        record.p_pay = scores.get(row["case_id"])
        # a case keeps its collector until the allocation gives its call to someone else, and
        # a person's assignment holds until its date whatever the allocation says
        held = record.assignment_held_until is not None and as_of <= record.assignment_held_until
        if not held:
            record.assigned_to = assigned.get(row["case_id"], record.assigned_to)
            record.assigned_by = None if row["case_id"] in assigned else record.assigned_by
        record.plan = plans.get(row["case_id"], [])
        record.phone = phones.get(row["borrower_id"], record.phone)
        # the debtor's own zone; unknown: None, checked in every zone of the profile
        record.time_zone = (zones or {}).get(row["borrower_id"]) or record.time_zone
        record.updated_on = as_of
    session.flush()
    judged = result.promises.filter(pl.col("resolved_on") == as_of)
    for row in judged.iter_rows(named=True):
        for promise in session.scalars(
            select(PromiseRecord).where(
                PromiseRecord.case_id == row["case_id"],
                PromiseRecord.status == "pending",
                PromiseRecord.due_on == row["due_on"],
                PromiseRecord.amount_fen == row["amount_fen"],
            )
        ):
            promise.status = row["status"]
            promise.resolved_on = as_of
    session.flush()


def _summary(r: CollectionCaseRecord) -> dict[str, Any]:
    return {
        "case_id": r.case_id,
        "borrower_id": r.borrower_id,
        "status": r.status,
        "stage": r.stage,
        "max_dpd": r.max_dpd,
        "overdue_fen": r.overdue_fen,
        "balance_fen": r.balance_fen,
        "p_pay": r.p_pay,
        "assigned_to": r.assigned_to,
        "placement": r.placement,
        "updated_on": r.updated_on.isoformat(),
    }


def queue(
    session: Session,
    who: Principal,
    *,
    status: str = "open",
    assigned_to: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Cases to work, the most valuable first (overdue × P(pay)); a collector's own only.

    >>> import datetime as dt
    >>> from fengkong.db import make_engine, migrate, session_factory
    >>> engine = make_engine("sqlite:///:memory:"); migrate(engine)
    >>> with session_factory(engine)() as s:
    ...     queue(s, Principal("wang", "collector", "collector-0001"))
    []
    """
    query = select(CollectionCaseRecord).where(CollectionCaseRecord.status == status)
    mine = owner_of(who)
    if mine is not None:
        query = query.where(CollectionCaseRecord.assigned_to == mine)
    elif assigned_to is not None:
        query = query.where(CollectionCaseRecord.assigned_to == assigned_to)
    rows = session.scalars(query).all()
    ranked = sorted(rows, key=lambda r: (-(r.overdue_fen * (r.p_pay or 0.5)), r.case_id))
    return [_summary(r) for r in ranked[:limit]]


def case_detail(session: Session, case_id: str, who: Principal, as_of: dt.date) -> dict[str, Any]:
    """A case with its loans (schedule and balances as of ``as_of``), today's plan, contact
    history with outcomes, and promises."""
    record = workable_case(session, case_id, who)
    loans = []
    for external in record.loans:
        state = loan_state(session, loan_id_for(session, external), as_of)
        loans.append(
            {
                "loan_id": external,
                "status": state.status,
                "dpd": state.dpd,
                "bucket": state.bucket,
                "principal_outstanding_fen": state.outstanding_principal.minor,
                "overdue_fen": state.overdue.minor,
                "instalments": [
                    {
                        "number": line.number,
                        "due_on": line.due_on.isoformat(),
                        "due_fen": sum(line.due.values()),
                        "paid_fen": sum(line.paid.values()),
                    }
                    for line in state.instalments
                ],
            }
        )
    contacts = session.execute(
        select(ContactLogRecord, ContactOutcomeRecord.outcome)
        .outerjoin(ContactOutcomeRecord, ContactOutcomeRecord.log_id == ContactLogRecord.id)
        .where(ContactLogRecord.case_id == case_id)
        .order_by(ContactLogRecord.at.desc(), ContactLogRecord.id.desc())
    ).all()
    promises = session.scalars(
        select(PromiseRecord).where(PromiseRecord.case_id == case_id).order_by(PromiseRecord.id)
    ).all()
    at = dt.datetime.combine(as_of, dt.time.max, tzinfo=dt.UTC)
    people = session.scalars(
        select(DebtorContactRecord)
        .where(DebtorContactRecord.borrower_id == record.borrower_id)
        .order_by(DebtorContactRecord.id)
    ).all()
    return {
        **_summary(record),
        "stops": [r for r in list_requests(session, record.borrower_id) if _in_force_on(r, at)],
        "people": [
            {
                "contact_id": p.id,
                "role": p.role,
                "contact_name": p.name,
                "contact_relation": p.relation,
                "phone": p.number,
            }
            for p in people
        ],
        "jurisdiction": record.jurisdiction,
        "phone": record.phone,
        "time_zone": record.time_zone,
        "opened_on": record.opened_on.isoformat(),
        "plan": record.plan,
        "loans": loans,
        "contacts": [
            {
                "log_id": c.id,
                "at": c.at.isoformat(),
                "channel": c.channel,
                "party": c.party,
                "actor": c.actor,
                "allowed": c.allowed,
                "breaches": c.breaches,
                "outcome": outcome,
            }
            for c, outcome in contacts
        ],
        "promises": [
            {
                "amount_fen": p.amount_fen,
                "due_on": p.due_on.isoformat(),
                "made_on": p.made_on.isoformat(),
                "made_by": p.made_by,
                "status": p.status,
            }
            for p in promises
        ],
    }


def _in_force_on(request: dict[str, Any], at: dt.datetime) -> bool:
    start = dt.datetime.fromisoformat(request["effective_from"])
    lifted = request["lifted_at"]
    return start <= at and (lifted is None or dt.datetime.fromisoformat(lifted) > at)


def add_promise(
    session: Session,
    case_id: str,
    who: Principal,
    *,
    amount_fen: int,
    due_on: dt.date,
    today: dt.date,
) -> dict[str, Any]:
    """Record a promise to pay on a case the caller may work (checked: positive, not above
    the case's balance, from today up to 30 days ahead); it pauses the case's actions."""
    record = workable_case(session, case_id, who)
    promise = make_promise(
        case_id,
        amount_fen=amount_fen,
        due_on=due_on,
        today=today,
        made_by=who.name,
        balance_fen=record.balance_fen or None,
    )
    row = PromiseRecord(
        case_id=case_id,
        amount_fen=promise.amount_fen,
        due_on=promise.due_on,
        made_on=promise.made_on,
        made_by=promise.made_by,
        status="pending",
    )
    session.add(row)
    session.flush()
    return {"promise_id": row.id, "status": "pending", "due_on": due_on.isoformat()}


def contact_case(
    session: Session,
    case_id: str,
    who: Principal,
    *,
    channel: str,
    template_id: str,
    at: dt.datetime,
    contact_id: int | None = None,
) -> ContactResult:
    """The workbench's "log a contact": the same gate as the contacts API
    (:func:`~fengkong.services.collections.request_contact`): the server supplies the time,
    the debtor, number, zone, stop states and history."""
    return request_contact(
        session,
        who,
        case_id=case_id,
        channel=channel,
        template_id=template_id,
        at=at,
        contact_id=contact_id,
    )


def reassign_case(
    session: Session,
    case_id: str,
    collector: str,
    *,
    hold_days: int,
    who: Principal,
    today: dt.date,
) -> dict[str, Any]:
    """Give an open case to ``collector`` (a collector with a live API key) for ``hold_days``
    days: the daily runs keep it with them until then, whatever the allocation says.

    >>> from fengkong.db import make_engine, migrate, session_factory
    >>> engine = make_engine("sqlite://"); migrate(engine)
    >>> with session_factory(engine).begin() as s:
    ...     reassign_case(s, "C-1", "collector-0002", hold_days=7,
    ...                   who=Principal("root", "admin", None), today=dt.date(2026, 11, 25))
    Traceback (most recent call last):
    fengkong.errors.NotFoundError: collection case not found: 'C-1'
    """
    record = session.get(CollectionCaseRecord, case_id)
    if record is None:
        raise NotFoundError("collection case", case_id)
    if record.status not in ("open", "recovery"):
        raise InvalidArgumentError(
            "case_id", expected="an open or recovery case", got=f"{case_id} ({record.status})"
        )
    if not 1 <= hold_days <= 90:
        raise InvalidArgumentError("hold_days", expected="1 to 90 days", got=hold_days)
    known = session.scalar(
        select(ApiKeyRecord.id).where(
            ApiKeyRecord.role == "collector",
            ApiKeyRecord.subject == collector,
            ApiKeyRecord.revoked.is_(False),
        )
    )
    if known is None:
        raise InvalidArgumentError(
            "collector", expected="a collector id with a live collector key", got=collector
        )
    before = record.assigned_to
    record.assigned_to = collector
    record.assigned_by = who.name
    record.assignment_held_until = today + dt.timedelta(days=hold_days)
    session.flush()
    return {
        "case_id": case_id,
        "assigned_to": collector,
        "previous": before,
        "held_until": record.assignment_held_until.isoformat(),
    }
