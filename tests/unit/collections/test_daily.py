"""A collections day end to end on the synthetic book: cases, plans, every contact checked,
capacity respected, promises pausing cases, a settled account getting nothing."""

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from fengkong.collections import Attempt, LoggedAttempt, load_contact_rules
from fengkong.collections.cases import update_cases
from fengkong.collections.daily import run_day
from fengkong.collections.promises import PROMISE_SCHEMA, make_promise, promises_frame
from fengkong.collections.score import case_p_pay
from fengkong.collections.strategy import load_strategy
from fengkong.collections.synthetic import book_day, synthetic_staff
from fengkong.synth import generate

NO_PAYMENTS = pl.DataFrame(
    schema={"case_id": pl.String, "paid_on": pl.Date, "amount_fen": pl.Int64}
)


@pytest.fixture(scope="module")
def day():
    book = generate(40_000, seed=6)
    busiest = (
        book.performance.filter(pl.col("dpd") > 0)
        .group_by("snapshot_on")
        .len()
        .sort("len")["snapshot_on"][-1]
    )
    inputs = book_day(book, busiest)
    cases, _ = update_cases(None, inputs["loans"], busiest)
    return busiest, inputs, case_p_pay(cases, inputs["loans"], inputs["scored"]), cases


def run(day, *, promises=None, collectors=10, field_agents=3, jurisdiction="cn", planned_at=None):
    as_of, inputs, p_pay, _ = day
    team, field = synthetic_staff(
        inputs["borrowers"], collectors=collectors, field_agents=field_agents
    )
    return run_day(
        as_of=as_of, loans=inputs["loans"], cases=None,
        promises=promises if promises is not None else pl.DataFrame(schema=PROMISE_SCHEMA),
        payments=NO_PAYMENTS, p_pay=p_pay, strategy=load_strategy(), collectors=team,
        field_agents=field, profile=load_contact_rules().profile(jurisdiction),
        borrowers=inputs["borrowers"], planned_at=planned_at,
    ), team, field  # fmt: skip


def test_a_day_plans_checks_and_allocates_within_capacity(day):
    result, team, field = run(day)
    s = result.summary()
    assert s["open_cases"] > 100 and s["actions_planned"] >= s["open_cases"] * 0.5
    assert s["actions_blocked"] == 0  # planned inside the allowed hours
    contacts = result.actions.filter(pl.col("action") != "agency")
    assert contacts["planned_at"].null_count() == 0
    for alloc, roster in ((result.calls, team), (result.visits, field)):
        load = alloc.assignments.group_by("agent_id").len().join(roster, on="agent_id")
        assert (load["len"] <= load["capacity"]).all()
    assert set(result.calls.assignments["case_id"]) <= set(
        result.actions.filter(pl.col("action") == "call")["case_id"]
    )


def test_contacts_planned_at_night_are_all_blocked_and_kept_with_their_rule(day):
    result, *_ = run(day, planned_at={"sms": dt.time(23, 0), "call": dt.time(7, 0)})
    night = result.actions.filter(pl.col("action").is_in(["sms", "call"]))
    assert night.height and not night["allowed"].any()
    assert all("quiet_hours" in b for b in night["breaches"].to_list())
    assert result.calls.assignments.height == 0


def test_a_promise_pauses_the_case_for_the_day(day):
    as_of, _, _, cases = day
    target = cases["case_id"][0]
    promise = make_promise(
        target, amount_fen=100, due_on=as_of + dt.timedelta(days=5), today=as_of, made_by="u"
    )
    result, *_ = run(day, promises=promises_frame([promise]))
    assert result.actions.filter(pl.col("case_id") == target).height == 0


def test_cases_the_strategy_sends_to_an_agency_are_placed_under_the_contracts(day):
    result, *_ = run(day)
    placed = result.placements
    sent = set(result.actions.filter(pl.col("action") == "agency")["case_id"])
    assert placed.height > 0 and set(placed["case_id"]) <= sent
    marked = result.cases.filter(pl.col("placement") == "agency")["case_id"]
    assert set(marked) == set(placed["case_id"])
    frame = result.cases.filter(pl.col("case_id").is_in(placed["case_id"].implode()))
    assert (frame["overdue_fen"] >= 100_000).all()


def test_a_debtor_with_history_is_checked_against_it(day):
    as_of, inputs, p_pay, cases = day
    first, *_ = run(day)
    called = first.actions.filter(pl.col("action") == "call")["case_id"][0]
    debtor = cases.filter(pl.col("case_id") == called)["borrower_id"].item()
    zone = ZoneInfo("Asia/Shanghai")
    past = [
        LoggedAttempt(
            Attempt(called, debtor, "call", dt.datetime.combine(as_of, dt.time(8, k), tzinfo=zone),
                    debtor_tz="Asia/Shanghai", recording=frozenset({"audio"}), actor=f"agency-{k}"),
            "connected",
        )
        for k in range(3)
    ]  # fmt: skip
    team, field = synthetic_staff(inputs["borrowers"], collectors=10, field_agents=3)
    result = run_day(
        as_of=as_of, loans=inputs["loans"], cases=None, promises=pl.DataFrame(schema=PROMISE_SCHEMA),
        payments=NO_PAYMENTS, p_pay=p_pay, strategy=load_strategy(), collectors=team,
        field_agents=field, profile=load_contact_rules().profile("cn"), borrowers=inputs["borrowers"],
        contact_history={debtor: past},
    )  # fmt: skip
    mine = result.actions.filter((pl.col("case_id") == called) & (pl.col("action") == "call"))
    assert mine["allowed"].to_list() == [False]
    assert mine["breaches"].to_list() == [["connected_calls_per_day"]]
    others = result.actions.filter((pl.col("case_id") != called) & (pl.col("action") == "call"))
    assert others["allowed"].all()
