"""The contact log on SQLite and PostgreSQL: every attempt is logged with its verdict, the
history counts attempts of the lender and of agencies, and blocked attempts take no outcome."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from fengkong.collections import Attempt, CaseState
from fengkong.db import ContactLogRecord
from fengkong.errors import WorkflowError
from fengkong.services.collections import attempt_contact, contact_history, record_outcome

SH = ZoneInfo("Asia/Shanghai")
AUDIO = frozenset({"audio"})
OPEN = CaseState()


def call(hour, minute=0, actor="lender", **kw):
    at = dt.datetime(2026, 3, 2, hour, minute, tzinfo=SH).astimezone(dt.UTC)
    return Attempt("C1", "D1", "call", at, debtor_tz="Asia/Shanghai", number="13800138000",
                   actor=actor, recording=AUDIO, **kw)  # fmt: skip


def test_every_attempt_is_logged_and_counts_cross_agencies(sessions):
    with sessions.begin() as s:
        night = attempt_contact(s, call(22, 30), state=OPEN, jurisdiction="cn")
        assert not night.verdict.allowed
        assert [b.rule for b in night.verdict.breaches] == ["quiet_hours"]
        for hour, actor in ((9, "lender"), (10, "agency-7"), (11, "agency-9")):
            result = attempt_contact(s, call(hour, actor=actor), state=OPEN, jurisdiction="cn")
            assert result.verdict.allowed
            record_outcome(
                s, result.log_id, "connected", at=call(hour, 5).at, recording_id=f"rec-{hour}"
            )
        fourth = attempt_contact(s, call(15), state=OPEN, jurisdiction="cn")
        assert [b.rule for b in fourth.verdict.breaches] == ["connected_calls_per_day"]
        with pytest.raises(WorkflowError, match="never happened"):
            record_outcome(s, fourth.log_id, "connected", at=call(15, 5).at, recording_id="rec-15")
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(ContactLogRecord)) == 5
        history = contact_history(s, "D1", since=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
        assert [h.outcome for h in history] == [
            "connected",
            "connected",
            "connected",
            "blocked",
            "blocked",
        ]
        row = s.scalars(select(ContactLogRecord).where(ContactLogRecord.allowed.is_(False))).first()
        assert row.breaches[0]["rule"] in {"quiet_hours", "connected_calls_per_day"}
        assert "NIFA" in row.breaches[0]["source"]


def test_an_outcome_is_recorded_once(sessions):
    with sessions.begin() as s:
        ok = attempt_contact(s, call(10), state=OPEN, jurisdiction="cn")
        record_outcome(s, ok.log_id, "unanswered", at=call(10, 1).at, recording_id="rec-a")
        with pytest.raises(WorkflowError, match="append-only"):
            record_outcome(s, ok.log_id, "connected", at=call(10, 2).at, recording_id="rec-b")


def test_a_settled_case_is_blocked_and_still_logged(sessions):
    with sessions.begin() as s:
        result = attempt_contact(s, call(10), state=CaseState(status="settled"), jurisdiction="cn")
        assert [b.rule for b in result.verdict.breaches] == ["stop:settled"]
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(ContactLogRecord)) == 1
