"""``fengkong demo`` end to end: a lender's whole lifecycle on the embedded default.

Stages (each reported to ``progress``):

1. **book** — a synthetic lending book (``fengkong.synth``); the first half of its
   origination year is the lender's *history*, the second half arrives *live*.
2. **variables** — the ``demo_risk`` online variables, point in time, for every application.
3. **graph** — the relationship graph of the history's applicants as of the cut (links first
   seen by then), with the borrowers known bad by the cut (90+ days past due) marked; the
   training set's graph features are each application's as of its own time
   (:func:`fengkong.graph.features_at_each`).
4. **models** — the demo policy (:mod:`fengkong.demo.policy`: points scorecard, LightGBM,
   30 rules, limit and legal pricing) fitted on the history's approved applications, and the
   collection score on the book's earlier delinquent loan-months.
5. **publish** — the database (SQLite in the demo folder), one API key per role, the policy
   and the collections strategy submitted by the analyst and approved by the head of risk
   (maker-checker), then activated; a challenger (a stricter score cut-off) is left as a
   draft for the simulator.
6. **decisions** — every live application in time order through the real decision path
   (:meth:`fengkong.services.online.OnlineState.replay`: variables and graph features
   computed in the call, the full audit record stored), each decided at its application's
   own instant, with the relationship graph as the decision saw it (``record["graph"]``,
   drawn by the trace page).
7. **loans** — each approved application that the book disbursed is booked within the
   decision's limit, and its repayments from the book are posted. Every write of the demo
   is in the audit log at the demo's own clock: the keys (by ``demo``), the policies' maker-
   checker steps (by the analyst and the head of risk), the bookings and repayments.
8. **servicing and collections** — twelve month ends of end of day (every day caught up) and
   of the collections run (cases, promises, strategy, guardrails, allocation to collectors).
9. **report** — the portfolio report of the booked loans (HTML, PNG, tables).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, cast

import polars as pl
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from fengkong.collections import load_contact_rules, load_strategy
from fengkong.collections.score import collection_dataset, fit_collection_score
from fengkong.collections.synthetic import synthetic_staff
from fengkong.db import make_engine, migrate, session_factory
from fengkong.db.models import DecisionRecord, InstalmentRecord, LoanRecord
from fengkong.demo.policy import GRAPH_INPUTS, write_challenger, write_demo_policy
from fengkong.features import build_variables, load_spec
from fengkong.features.online import known_us
from fengkong.graph import IdentifierGraph, features_at_each
from fengkong.modeling import application_dataset
from fengkong.portfolio import portfolio_report
from fengkong.services.access import Principal, audit_write, audit_writes, create_api_key
from fengkong.services.casework import run_collections
from fengkong.services.online import OnlineState, known_bad_people, known_bad_since, seed_state
from fengkong.services.policies import decision_row, load_version, promote, submit_policy
from fengkong.services.servicing import (
    book_loan,
    import_repayments,
    run_end_of_day,
    synthetic_loan_terms,
)
from fengkong.servicing import LoanTerms, load_products
from fengkong.settings import Settings
from fengkong.synth import generate, write_book

__all__ = ["STAGES", "DemoResult", "run_demo"]

#: The stages in order, with how many steps each reports.
STAGES = (
    "book",
    "variables",
    "graph",
    "models",
    "publish",
    "decisions",
    "loans",
    "servicing and collections",
    "report",
)
Progress = Callable[[str, int, int], None]  # stage, steps done, steps in the stage
#: The people of the demo: key name, role, subject (a collector's own id).
PEOPLE = (
    ("admin", "admin", None),
    ("analyst", "risk_analyst", None),
    ("head-of-risk", "risk_analyst", None),
    ("auditor", "auditor", None),
    ("gateway", "service", None),
    ("collector-0000", "collector", "collector-0000"),
    ("collector-0001", "collector", "collector-0001"),
)
_COLLECTORS = 12
#: The demo itself, as the audit log names it: the keys it creates, the loans it books and
#: the repayments it posts (each at the demo's own clock); maker-checker steps are audited
#: under the analyst's and the head of risk's own names, as the service would.
DEMO = Principal("demo", "admin", None)
_ANALYST = Principal("analyst", "risk_analyst", None)
_HEAD_OF_RISK = Principal("head-of-risk", "risk_analyst", None)


@dataclass
class DemoResult:
    """What the demo made: where, the keys, the live state and the headline figures."""

    folder: Path
    database_url: str
    keys: dict[str, str]
    online: OnlineState
    as_of: dt.date
    figures: dict[str, Any] = field(default_factory=dict)


def _identifiers(book: Any) -> dict[int, list[tuple[str, str, Any]]]:
    ids = book.person_identifiers.group_by("person_id").agg("id_type", "id_value", "first_seen")
    return {r[0]: list(zip(r[1], r[2], r[3], strict=True)) for r in ids.iter_rows()}


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600), never briefly wider."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(path, 0o600)  # the umask may only narrow the mode; say it once more


def application_body(row: dict[str, Any], income: dict[int, int]) -> dict[str, Any]:
    """What the lender's front end sends for one application of the synthetic book."""
    return {
        **row,
        "monthly_income_fen": income.get(row["person_id"]),
        "bureau_past_delinquency": bool(row["bureau_past_delinquency"]),
        "application_date": row["applied_at"].date(),
    }


def run_demo(
    folder: Path,
    *,
    applications: int = 20_000,
    seed: int = 0,
    progress: Progress | None = None,
) -> DemoResult:
    """Run every stage into ``folder`` (replacing an earlier demo there)."""
    say = progress or (lambda _stage, _done, _total: None)
    folder.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {}

    # 1. the book
    say("book", 0, applications)
    book = generate(applications, seed=seed)
    write_book(folder / "book", applications, seed=seed, overwrite=True)
    say("book", applications, applications)
    start = cast(dt.datetime, book.applications["applied_at"].min()).date()
    cut = dt.date(start.year, start.month, 1) + dt.timedelta(days=182)
    cut = dt.date(cut.year, cut.month, 1)
    cut_at = dt.datetime.combine(cut, dt.time())

    # 2. variables, point in time for every application
    say("variables", 0, 1)
    spec = load_spec("demo_risk")
    names = [v.name for v in spec.variables]
    apps = book.applications.sort("applied_at")
    variables = build_variables(spec, {"app": apps, "loan": book.loans}, target="app")
    say("variables", 1, 1)

    # 3. the history's relationship graph
    say("graph", 0, 1)
    history = apps.filter(pl.col("applied_at") < cut_at)
    live = apps.filter(pl.col("applied_at") >= cut_at)
    known = history["person_id"].unique()
    history_ids = book.person_identifiers.filter(pl.col("person_id").is_in(known.implode()))
    # the graph the service starts from: the links first seen by the cut, the labels known then
    graph = IdentifierGraph.build(history_ids, as_of=cut_at)
    bad_people = known_bad_people(book.loans, book.performance, before=cut)
    # the training set: each application's graph features as of its own time (replayed)
    graph_features = features_at_each(
        history, history_ids, known_bad_since(book.loans, book.performance)
    ).select("application_id", *GRAPH_INPUTS)
    say("graph", 1, 1)

    # 4. models
    say("models", 0, 2)
    income = dict(book.persons.select("person_id", "monthly_income_fen").iter_rows())
    labels = application_dataset(book).select("application_id", "accepted", "bad")
    train = (
        history.join(variables, on="application_id")
        .join(graph_features, on="application_id", how="left")
        .join(labels, on="application_id")
        .filter(pl.col("accepted"))
        .with_columns(
            pl.col("person_id").replace_strict(income, default=None).alias("monthly_income_fen")
        )
    )
    policy_path = write_demo_policy(folder / "policy", train, names)
    figures["trained_on"] = train.height
    say("models", 1, 2)
    collection_rows = collection_dataset(book.loans, book.performance, book.collection_responses)
    collection_score = fit_collection_score(
        collection_rows.filter(pl.col("snapshot_on") < cut + dt.timedelta(days=120)),
        n_estimators=150,
    )
    figures["collection_score_auc"] = round(collection_score.test_auc, 3)
    say("models", 2, 2)

    # 5. publish: database, keys, maker-checker
    say("publish", 0, 1)
    database = folder / "fengkong.db"
    for stale in folder.glob("fengkong.db*"):
        stale.unlink()
    url = f"sqlite:///{database.as_posix()}"
    engine = make_engine(url)
    migrate(engine)
    sessions = session_factory(engine)
    now = dt.datetime.combine(cut, dt.time(), tzinfo=dt.UTC)
    keys: dict[str, str] = {}
    with sessions.begin() as s:
        for name, role, subject in PEOPLE:
            keys[name] = create_api_key(s, name=name, role=role, subject=subject, at=now, by=DEMO)
        shipped = resources.files("fengkong.collections").joinpath("data/strategy_default.yaml")
        _publish(s, policy_path, now)
        _publish(s, write_challenger(policy_path), now, to=())  # a draft for the simulator
        _publish(s, Path(str(shipped)), now)
    _write_private(folder / "keys.json", json.dumps(keys, indent=1) + "\n")
    say("publish", 1, 1)

    # 6. live decisions through the real decision path
    with sessions() as s:
        policy = load_version(s, "demo_credit")
    online = seed_state(
        {"applications": history, "loans": book.loans},
        specs=["demo_risk"],
        as_of=cut_at,
        known_bad=bad_people,
        graph=graph,
    )
    identifiers = _identifiers(book)
    loans_source = online.engine("demo_risk").spec.sources["loan"]
    known_loans = [  # each loan observed once it is known (its day over), in that order
        (dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=known_us(loans_source, r)), r)
        for r in book.loans.sort("disbursed_on").iter_rows(named=True)
    ]
    known_loans.sort(key=lambda e: e[0])
    loan_events = [(at, r) for at, r in known_loans if at >= cut_at]  # the seed holds the rest
    decided: list[tuple[str, str, int]] = []
    total = live.height
    pending_loans = 0
    batch: list[dict[str, Any]] = []
    for k, row in enumerate(live.iter_rows(named=True)):
        while (
            pending_loans < len(loan_events) and loan_events[pending_loans][0] <= row["applied_at"]
        ):
            online.engine("demo_risk").observe("loan", loan_events[pending_loans][1])
            pending_loans += 1
        seen = [  # what the front end knows then: identifiers first seen by this application
            link for link in identifiers.get(row["person_id"], []) if link[2] <= row["applied_at"]
        ]
        replayed = online.replay(  # history, in time order: each at its own time
            policy, application_body(row, income), seen
        )  # with the relationship graph as this decision saw it, for its trace page
        decision = replayed.decision
        limit = int(decision.outputs.get("limit_fen") or 0)
        decided.append((row["application_id"], decision.decision, limit))
        # decided at the application's own instant (history replayed), never before it
        at = row["applied_at"].replace(tzinfo=dt.UTC)
        stored = decision_row(
            decision, at=at, decision_id=f"d-{row['application_id']}",
            application_id=row["application_id"], graph=replayed.graph,
        )  # fmt: skip
        batch.append(stored)
        if len(batch) == 500 or k == total - 1:
            with sessions.begin() as s:
                s.execute(insert(DecisionRecord), batch)
            batch.clear()
            say("decisions", k + 1, total)
    outcomes = pl.DataFrame(decided, schema=["application_id", "decision", "limit_fen"],
                            orient="row").join(live.select("application_id", "applied_at"),
                                               on="application_id")  # fmt: skip
    figures["decided"] = outcomes.height
    figures["decisions"] = dict(outcomes.group_by("decision").len().sort("decision").iter_rows())

    # 7. book the approved applications the book disbursed, within the limit
    approved = outcomes.filter(pl.col("decision") == "approve")
    to_book = book.loans.join(approved, on="application_id").filter(
        pl.col("principal_fen") <= pl.col("limit_fen")
    )
    catalogue = load_products()
    total = to_book.height
    with sessions.begin() as s:
        booked_at = []
        for k, row in enumerate(to_book.iter_rows(named=True)):
            external = f"synth-{row['loan_id']}"
            book_loan(
                s, _demo_terms(row, catalogue), external_id=external,
                borrower_id=str(row["person_id"]),
            )  # fmt: skip
            # booked when disbursed, never before the decision it rests on
            disbursed = dt.datetime.combine(row["disbursed_on"], dt.time(), tzinfo=dt.UTC)
            at = max(disbursed, row["applied_at"].replace(tzinfo=dt.UTC))
            booked_at.append((external, at, {"decision_id": f"d-{row['application_id']}"}))
            if (k + 1) % 500 == 0 or k == total - 1:
                say("loans", k + 1, total)
        audit_writes(s, DEMO, "loan.book", booked_at)
        # the demo's clock runs to its last month end: later payments are in its future
        horizon = pl.Series([cut]).dt.offset_by("11mo").dt.month_end()[0]
        paid = _repayments(s, book, to_book).filter(pl.col("paid_on") <= horizon)
        figures["repayments"] = import_repayments(s, paid, business_date=horizon)
        audit_writes(  # each repayment when it was paid (all new: the database is fresh)
            s, DEMO, "loan.repay",
            ((loan, dt.datetime.combine(on, dt.time(), tzinfo=dt.UTC), {"key": key})
             for loan, on, key in paid.select("loan_id", "paid_on", "key").iter_rows()),
        )  # fmt: skip
    figures["booked"] = total

    # 8. twelve month ends of end of day and collections
    strategy = load_strategy()
    profile = load_contact_rules().profile("cn")
    borrowers = book.persons.select(
        pl.col("person_id").cast(pl.String).alias("borrower_id"),
        pl.lit("zh").alias("language"),
        pl.col("province").alias("region"),
        "city",
        pl.lit("Asia/Shanghai").alias("time_zone"),
    )
    phones = dict(
        book.person_identifiers.filter(pl.col("id_type") == "mobile")
        .group_by("person_id")
        .agg(pl.col("id_value").first())
        .select(pl.col("person_id").cast(pl.String), "id_value")
        .iter_rows()
    )
    collectors, field_agents = synthetic_staff(borrowers, collectors=_COLLECTORS, field_agents=4)
    month_ends = [(pl.Series([cut]).dt.offset_by(f"{m}mo").dt.month_end())[0] for m in range(12)]
    previous: dt.date | None = None
    runs = []
    timings = {"end of day": 0.0, "collections": 0.0}
    for m, day in enumerate(month_ends):
        t0 = time.perf_counter()
        with sessions.begin() as s:
            run_end_of_day(s, day)
        timings["end of day"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        scored = collection_rows.filter(pl.col("snapshot_on") == day)
        p_pay = scored.select(
            pl.col("loan_id"),
            pl.Series(
                "p_pay", collection_score.predict(scored) if scored.height else [], dtype=pl.Float64
            ),
        )
        with sessions.begin() as s:
            mapping = _database_ids(s)
            p_pay = p_pay.with_columns(
                pl.concat_str(pl.lit("synth-"), pl.col("loan_id").cast(pl.String))
                .replace_strict(mapping, default=None, return_dtype=pl.Int64)
                .alias("loan_id")
            ).drop_nulls("loan_id")
            result = run_collections(
                s,
                day,
                strategy=strategy,
                profile=profile,
                p_pay=p_pay,
                collectors=collectors,
                field_agents=field_agents,
                borrowers=borrowers,
                phones=phones,
                since=previous,
                min_case_fen=Settings().collections_min_case_fen,
            )
        timings["collections"] += time.perf_counter() - t0
        runs.append({"month_end": day.isoformat(), **result.summary()})
        previous = day
        say("servicing and collections", m + 1, len(month_ends))
    figures["collections"] = runs[-1]
    figures["seconds"] = {k: round(v, 1) for k, v in timings.items()}
    (folder / "collections.json").write_text(json.dumps(runs, indent=1, default=str) + "\n")

    # 9. the portfolio report of the booked loans
    say("report", 0, 1)
    booked = book.loans.join(to_book.select("loan_id"), on="loan_id")
    performance = book.performance.join(booked.select("loan_id"), on="loan_id").filter(
        pl.col("snapshot_on") <= month_ends[-1]
    )
    report = portfolio_report(
        booked, performance, folder / "report", title="fengkong demo: the booked portfolio"
    )
    figures["report"] = str(report.html)
    say("report", 1, 1)
    engine.dispose()
    (folder / "figures.json").write_text(json.dumps(figures, indent=1, default=str) + "\n")
    return DemoResult(folder, url, keys, online, month_ends[-1], figures)


def _publish(
    session: Session, path: Path, at: dt.datetime, *, to: tuple[str, ...] = ("approved", "active")
) -> None:
    """Submit a policy file as the analyst and move it through ``to`` as the head of risk
    (maker-checker), each step audited as the service audits it."""
    submitted = submit_policy(session, path, author=_ANALYST.name, at=at)
    target = f"{submitted.name}@{submitted.version}"
    audit_write(session, _ANALYST, "policy.submit", target, at=at, sha256=submitted.sha256)
    for step in to:
        promote(session, submitted.name, submitted.version, to=step, actor=_HEAD_OF_RISK.name,
                at=at)  # fmt: skip
        audit_write(session, _HEAD_OF_RISK, f"policy.{step}", target, at=at, note="")


def _database_ids(session: Session) -> dict[str, int]:
    return dict(session.execute(select(LoanRecord.external_id, LoanRecord.id)).all())


def _demo_terms(row: dict[str, Any], catalogue: dict[str, Any]) -> LoanTerms:
    """The book's contract under our catalogue, penalty interest and late fees waived: the
    synthetic borrowers repay the contract's amounts and never a penalty, so charging one
    would leave every late payer owing cents forever."""
    terms = synthetic_loan_terms(row, catalogue)
    product = terms.product.model_copy(
        update={"penalty_rate_multiplier": Decimal(0), "late_fee_fen": 0}
    )
    return dataclasses.replace(terms, product=product)


def _repayments(session: Session, book: Any, booked: pl.DataFrame) -> pl.DataFrame:
    """The book's repayments of the booked loans, scaled to our schedules' totals (the
    catalogue's day count can differ from the generator's by a few fen): cumulative amounts
    are scaled and differenced, so a loan the book repaid in full is repaid in full here."""
    due = _schedule_totals(session)
    paid = (
        book.performance.join(booked.select("loan_id", "total_due_fen"), on="loan_id")
        .filter(pl.col("paid_fen") + pl.col("prepaid_fen") > 0)
        .sort("loan_id", "mob")
        .with_columns(
            pl.concat_str(pl.lit("synth-"), pl.col("loan_id").cast(pl.String)).alias("external")
        )
        .join(due, on="external")
        .with_columns(
            (pl.col("paid_fen") + pl.col("prepaid_fen")).cum_sum().over("loan_id").alias("cum")
        )
        .with_columns(
            (pl.col("cum") * pl.col("our_due") / pl.col("total_due_fen"))
            .round()
            .cast(pl.Int64)
            .alias("scaled")
        )
    )
    # a payment made ahead of its due date waits in suspense and is applied on the due date
    # (the ledger reads a payment before the due date as a prepayment of principal)
    paid = paid.join(
        _due_dates(session), left_on=["external", "mob"], right_on=["external", "instalment"],
        how="left",
    )  # fmt: skip
    applied = (
        pl.when((pl.col("prepaid_fen") == 0) & (pl.col("paid_on") < pl.col("due_on")))
        .then(pl.col("due_on"))
        .otherwise(pl.col("paid_on"))
    )
    result: pl.DataFrame = paid.select(
        pl.col("external").alias("loan_id"),
        applied.alias("paid_on"),
        (pl.col("scaled") - pl.col("scaled").shift(1).over("loan_id").fill_null(0)).alias(
            "amount_fen"
        ),
        pl.concat_str(pl.lit("synth-pay-"), pl.col("mob").cast(pl.String)).alias("key"),
    ).filter(pl.col("amount_fen") > 0)
    return result


def _due_dates(session: Session) -> pl.DataFrame:
    rows = session.execute(
        select(LoanRecord.external_id, InstalmentRecord.instalment, InstalmentRecord.due_on).join(
            InstalmentRecord, InstalmentRecord.loan_id == LoanRecord.id
        )
    ).all()
    schema = {"external": pl.String, "instalment": pl.Int16, "due_on": pl.Date}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _schedule_totals(session: Session) -> pl.DataFrame:
    due = InstalmentRecord.due_principal + InstalmentRecord.due_interest + InstalmentRecord.due_fee
    rows = session.execute(
        select(LoanRecord.external_id, func.sum(due))
        .join(InstalmentRecord, InstalmentRecord.loan_id == LoanRecord.id)
        .group_by(LoanRecord.external_id)
    ).all()
    return pl.DataFrame(rows, schema={"external": pl.String, "our_due": pl.Int64}, orient="row")
