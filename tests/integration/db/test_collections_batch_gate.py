"""Issue 24 parts 2 and 3 on the daily batch: it reads the stop states and the contact log,
writes every automated contact (SMS, robocalls) to the log, survives a bad zone name (a reported
breach; the rest runs), and keeps agency placements across days. A debtor with a stop state in
force gets zero contacts from it."""

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest
from sqlalchemy import select

from fengkong.collections import load_strategy
from fengkong.collections.rules import load_contact_rules
from fengkong.db import AgencyPlacementRecord, CollectionCaseRecord, ContactLogRecord, LoanRecord
from fengkong.money import Money
from fengkong.services import servicing as svc
from fengkong.services.access import Principal
from fengkong.services.casework import run_collections
from fengkong.services.debtors import REQUEST_KINDS, set_request
from fengkong.servicing import LoanTerms, load_products

ROOT = Principal("root", "admin", None)
AS_OF = dt.date(2026, 7, 20)
BORROWERS = ["B1", "B2", "B3", "B4"]


def _book(sessions):
    with sessions.begin() as s:
        for b in BORROWERS:
            terms = LoanTerms(load_products()["cash_loan"], Money.of("3000"), Decimal("0.12"), 3,
                              dt.date(2026, 5, 1))  # fmt: skip
            svc.book_loan(s, terms, external_id=f"L-{b}", borrower_id=b)
        svc.run_end_of_day(s, AS_OF, today=AS_OF)


def _run(sessions, day=AS_OF, zones=None, p=0.9):
    with sessions.begin() as s:
        ids = dict(s.execute(select(LoanRecord.external_id, LoanRecord.id)).all())
        p_pay = pl.DataFrame({"loan_id": list(ids.values()), "p_pay": [p] * len(ids)})
        people = pl.DataFrame({"borrower_id": BORROWERS,
                               "time_zone": [(zones or {}).get(b, "Asia/Shanghai") for b in BORROWERS]})  # fmt: skip
        staff = pl.DataFrame({"agent_id": ["C-1"], "capacity": [100], "serves": [["early|zh|-"]]})
        visits = pl.DataFrame({"agent_id": ["F-1"], "capacity": [10], "serves": [["-"]]})
        return run_collections(s, day, strategy=load_strategy(),
                               profile=load_contact_rules().profile("cn"), p_pay=p_pay,
                               collectors=staff, field_agents=visits, borrowers=people)  # fmt: skip


def _logged(sessions, debtor):
    with sessions() as s:
        return s.scalars(select(ContactLogRecord).where(ContactLogRecord.debtor_id == debtor)).all()


@pytest.mark.parametrize("kind", sorted(REQUEST_KINDS))
def test_a_stop_state_gives_zero_contacts_from_the_batch(sessions, kind):
    _book(sessions)
    at = dt.datetime(2026, 7, 19, 9, tzinfo=dt.UTC)
    with sessions.begin() as s:
        extra = {}
        if kind == "represented":
            from fengkong.services.debtors import add_contact  # noqa: PLC0415

            made = add_contact(s, ROOT, "B1", role="attorney", name="Counsel", number="13900139000",
                               at=at)  # fmt: skip
            extra["attorney_contact_id"] = made["contact_id"]
        set_request(s, ROOT, "B1", kind, at=at, reason="stop for the test", **extra)
    result = _run(sessions)
    b1 = result.cases.filter(pl.col("borrower_id") == "B1")["case_id"].to_list()
    assert b1, "B1 must have a case"
    assert result.actions.filter(pl.col("case_id").is_in(b1)).height == 0
    assert _logged(sessions, "B1") == []
    assert [r.actor for r in _logged(sessions, "B2")] == ["batch:sms"]  # the others are contacted


def test_the_batch_writes_its_sms_to_the_log_with_the_text_sent(sessions):
    from fengkong.collections.strategy import load_templates  # noqa: PLC0415

    _book(sessions)
    _run(sessions)
    first = _logged(sessions, "B2")
    assert len(first) == 1 and first[0].channel == "sms" and first[0].allowed
    texts = {t["text"] for t in load_templates().values()}
    assert first[0].debts == ["L-B2"] and first[0].template in texts


def test_a_bad_zone_is_a_reported_breach_and_the_rest_runs(sessions):
    _book(sessions)
    result = _run(sessions, zones={"B3": "Mars/Olympus"})
    mine = result.cases.filter(pl.col("borrower_id") == "B3")["case_id"].to_list()
    bad = result.actions.filter(pl.col("case_id").is_in(mine))
    assert bad.height and not bad["allowed"].any()
    assert "debtor_time_zone" in bad["breaches"].explode().to_list()
    assert _logged(sessions, "B2")[0].allowed
    with sessions() as s:
        assert s.get(CollectionCaseRecord, mine[0]).time_zone == "Mars/Olympus"


def test_a_lifted_stop_lets_the_batch_contact_again(sessions):
    _book(sessions)
    from fengkong.services.debtors import lift_request  # noqa: PLC0415

    at = dt.datetime(2026, 7, 19, 9, tzinfo=dt.UTC)
    with sessions.begin() as s:
        made = set_request(s, ROOT, "B1", "hardship", at=at, reason="lost job")
        lift_request(s, ROOT, "B1", made["request_id"], at=at + dt.timedelta(hours=1),
                     reason="back at work")  # fmt: skip
    _run(sessions)
    assert len(_logged(sessions, "B1")) == 1


def test_agency_placements_are_kept_across_days(sessions):
    _book(sessions)
    late = dt.date(2026, 10, 30)  # 90+ days past due: the late stage, placed with an agency
    with sessions.begin() as s:
        svc.run_end_of_day(s, late, today=late)
    _run(sessions, day=late, p=0.3)
    with sessions() as s:
        placed = s.scalars(select(AgencyPlacementRecord)).all()
    assert len(placed) == len(BORROWERS)
    nxt = late + dt.timedelta(days=1)
    with sessions.begin() as s:
        svc.run_end_of_day(s, nxt, today=nxt)
    _run(sessions, day=nxt, p=0.3)
    with sessions() as s:
        again = s.scalars(select(AgencyPlacementRecord)).all()
    assert [(p.case_id, p.number) for p in again] == [(p.case_id, p.number) for p in placed]


def test_a_stop_recalls_the_case_from_its_agency(sessions):
    _book(sessions)
    late = dt.date(2026, 10, 30)
    with sessions.begin() as s:
        svc.run_end_of_day(s, late, today=late)
    _run(sessions, day=late, p=0.3)
    nxt = late + dt.timedelta(days=1)
    with sessions.begin() as s:
        svc.run_end_of_day(s, nxt, today=nxt)
        set_request(s, ROOT, "B1", "deceased", at=dt.datetime(2026, 10, 31, 1, tzinfo=dt.UTC),
                    reason="death certificate received")  # fmt: skip
    result = _run(sessions, day=nxt, p=0.3)
    b1 = result.cases.filter(pl.col("borrower_id") == "B1")["case_id"].to_list()
    assert result.recalled.filter(pl.col("case_id").is_in(b1)).height == 1
    with sessions() as s:
        rows = s.scalars(
            select(AgencyPlacementRecord).where(AgencyPlacementRecord.case_id == b1[0])
        ).all()
    assert [r.recalled_on for r in rows] == [nxt]
    others = result.placements.filter(
        ~pl.col("case_id").is_in(b1) & pl.col("recalled_on").is_null()
    )
    assert others.height == len(BORROWERS) - 1


def test_the_batch_checks_the_text_of_each_template_not_its_id():
    """Issue 24 (seen: the batch checked a template id, not its text): a template whose text
    is banned is blocked in the batch even when its id looks harmless."""
    from fengkong.collections.daily import _check_contacts  # noqa: PLC0415
    from fengkong.collections.rules import load_contact_rules  # noqa: PLC0415

    actions = pl.DataFrame({"case_id": ["C1"], "arm": ["a"], "seq": [0], "action": ["sms"],
                            "template": ["friendly"]}, schema_overrides={"seq": pl.Int32})  # fmt: skip
    cases = pl.DataFrame({"case_id": ["C1"], "borrower_id": ["B1"], "status": ["open"]})
    zones = pl.DataFrame({"borrower_id": ["B1"], "time_zone": ["Asia/Shanghai"]})
    texts = {"friendly": {"channel": "sms", "text": "Pay today or the police will arrest you"}}
    out = _check_contacts(actions, cases, AS_OF, load_contact_rules().profile("cn"),
                          {"sms": dt.time(10)}, zones, {}, None, texts)  # fmt: skip
    assert not out["allowed"][0]
    assert any(b.startswith("content:") for b in out["breaches"][0])
