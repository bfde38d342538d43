"""POST /v1/collections/cases/{case_id}/notices: a 催收函 or a validation notice rendered from
the ledger as HTML or PDF, logged as a letter through the contact gate (the log row is the
record), refused with the breaches when the gate blocks it; a collector only on their own case."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from fengkong.api.routes import notices as notice_routes
from fengkong.collections.notices import Addressee, cjk_font
from fengkong.db import CollectionCaseRecord, ContactLogRecord
from fengkong.money import Money
from fengkong.services.servicing import book_loan, loan_id_for, loan_statement
from fengkong.servicing.products import load_products
from fengkong.servicing.schedule import LoanTerms

PATH = "/v1/collections/cases/{}/notices"


@pytest.fixture
def notices(service):
    app, client, keys = service
    if not any(getattr(r, "path", "") == PATH.format("{case_id}") for r in app.routes):
        app.include_router(notice_routes.router)
    with app.state.sessions.begin() as s:
        terms = LoanTerms(
            load_products()["cash_loan"], Money.of("3000"), Decimal("0.36"), 3, dt.date(2026, 8, 1)
        )
        book_loan(s, terms, external_id="L-D1", borrower_id="D1")
        s.get(CollectionCaseRecord, "K1").loans = ["L-D1"]
    return app, client, keys


def _log(app, log_id):
    with app.state.sessions() as s:
        return s.get(ContactLogRecord, log_id)


def _log_count(app):
    with app.state.sessions() as s:
        return s.scalar(select(func.count()).select_from(ContactLogRecord))


def _set_case(app, **values):
    with app.state.sessions.begin() as s:
        case = s.get(CollectionCaseRecord, "K1")
        for k, v in values.items():
            setattr(case, k, v)


def test_a_collector_issues_the_cuishou_letter_of_their_case_with_the_lawful_amount(notices, clock):
    app, client, keys = notices
    r = client.post(PATH.format("K1"), json={"kind": "cuishou_letter"}, headers=keys["carl"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    log = _log(app, int(r.headers["X-Contact-Log-Id"]))
    assert (log.case_id, log.channel, log.actor, log.allowed) == ("K1", "letter", "carl", True)
    assert log.template.startswith("催收函") and log.debts == ["L-D1"]
    with app.state.sessions() as s:
        st = loan_statement(s, loan_id_for(s, "L-D1"), clock.now.date(),
                            jurisdiction="cn", lender_type="licensed")  # fmt: skip
    total = st.line("total")
    assert total.contract.amount > total.lawful.amount  # 36 % against the 24 % cap
    assert f"依法应还合计：{total.owed.amount:,.2f} 元" in r.text
    assert f"{st.contract_owed.amount:,.2f}" not in r.text


@pytest.mark.skipif(cjk_font() is None, reason="no CJK font (apt-get install fonts-wqy-microhei)")
def test_the_letter_as_pdf(notices):
    _app, client, keys = notices
    body = {"kind": "cuishou_letter", "format": "pdf"}
    r = client.post(PATH.format("K1"), json=body, headers=keys["root"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-") and b"WenQuanYi" in r.content
    assert int(r.headers["X-Contact-Log-Id"]) >= 1


def test_the_validation_notice_of_a_us_case_escapes_the_directory_name(notices, clock):
    app, client, keys = notices
    _set_case(app, jurisdiction="us", time_zone="America/New_York", phone="+14155552671")
    clock.now = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)  # 10:00 in New York
    app.state.borrower_directory = lambda borrower: Addressee(
        f"<script>{borrower}</script>", ("1 Main St", "Springfield, IL")
    )
    r = client.post(PATH.format("K1"), json={"kind": "validation_notice"}, headers=keys["carl"])
    assert r.status_code == 200, r.text
    assert "&lt;script&gt;D1&lt;/script&gt;" in r.text and "<script>" not in r.text
    for part in ("is a debt collector", "I want to dispute the debt because I think:",
                 "This is not my debt.", "The amount is wrong.", "original creditor",
                 "www.cfpb.gov/debt-collection", "assumed received 2026-12-02",  # Thanksgiving skipped
                 "January 1, 2027", "****D1"):  # fmt: skip
        assert part in r.text
    assert _log(app, int(r.headers["X-Contact-Log-Id"])).jurisdiction == "us"


def test_a_blocked_letter_is_logged_and_refused_with_the_breaches(notices):
    app, client, keys = notices
    _set_case(app, status="settled")
    before = _log_count(app)
    r = client.post(PATH.format("K1"), json={"kind": "cuishou_letter"}, headers=keys["carl"])
    assert r.status_code == 409
    problems = r.json()["error"]["problems"]
    assert "stop:settled" in {p["rule"] for p in problems}
    log = _log(app, int(r.headers["X-Contact-Log-Id"]))
    assert log.allowed is False and _log_count(app) == before + 1
    assert "催收函" not in r.text


@pytest.mark.parametrize(
    ("who", "case", "body", "status"),
    [
        ("carl", "K2", {"kind": "cuishou_letter"}, 404),  # another collector's case
        ("root", "K9", {"kind": "cuishou_letter"}, 404),  # no such case
        ("audrey", "K1", {"kind": "cuishou_letter"}, 403),  # an auditor issues nothing
        ("carl", "K1", {"kind": "validation_notice"}, 422),  # a cn case gets a 催收函
        ("carl", "K1", {"kind": "threat_letter"}, 422),
        ("carl", "K1", {"kind": "cuishou_letter", "format": "docx"}, 422),
        ("carl", "K1", {"kind": "cuishou_letter", "loan": "L-XX"}, 422),
        ("carl", "K1", {"kind": "cuishou_letter", "loan": "<b>"}, 422),
        ("carl", "K1", {"kind": "cuishou_letter", "at": "2026-01-01T10:00:00Z"}, 422),
    ],
)
def test_bad_requests_are_refused_and_log_nothing(notices, who, case, body, status):
    app, client, keys = notices
    before = _log_count(app)
    r = client.post(PATH.format(case), json=body, headers=keys[who])
    assert r.status_code == status, r.text
    assert _log_count(app) == before
    if status == 422:
        assert r.json()["error"]["field"]
    assert client.get("/health").status_code == 200
