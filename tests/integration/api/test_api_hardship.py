"""Issue 23 part 6 over HTTP: ``POST /v1/loans/{id}/hardship-plans`` grants a hardship plan
through the same door as a payment — hostile values are a 4xx naming the field and store nothing;
the re-age limits of the product's policy hold; the same key again is a no-op."""

import datetime as dt
from decimal import Decimal

import pytest

from fengkong.money import Money
from fengkong.services import servicing as svc
from fengkong.servicing import LoanTerms, load_products

DISBURSED = dt.date(2026, 1, 10)  # the service's clock in these tests: 2026-11-24


@pytest.fixture
def loan(service):
    """A 12-month CNY 12,000 loan at 12 % with three qualifying monthly payments (Mar-May;
    February missed)."""
    app, client, keys = service
    terms = LoanTerms(
        load_products()["cash_loan"], Money.of("12000"), Decimal("0.12"), 12, DISBURSED
    )
    with app.state.sessions.begin() as s:
        svc.book_loan(s, terms, external_id="H1", borrower_id="B1")
        loan_id = svc.loan_id_for(s, "H1")
        for month in (3, 4, 5):
            svc.post_repayment(
                s, loan_id, dt.date(2026, month, 10), 106_619, key=f"p{month}",
                business_date=dt.date(2026, 11, 24),
            )  # fmt: skip
    return client, keys["gate"], keys["alice"]


def _plan(client, key, **body):
    plan = {"starts_on": "2026-05-20", "months": 3, "idempotency_key": "h1"} | body
    return client.post("/v1/loans/H1/hardship-plans", json=plan, headers=key)


def _lines(client, key, as_of="2026-11-24"):
    found = client.get("/v1/loans/H1", params={"as_of": as_of}, headers=key)
    return found.json()["instalments"]


def test_a_plan_reduces_the_next_instalments_then_resumes_and_a_retry_is_a_no_op(loan):
    client, gate, alice = loan
    before = _lines(client, alice)
    granted = _plan(client, gate, annual_rate="0", share="0.5")
    assert granted.status_code == 200, granted.text
    after = granted.json()["instalments"]
    reduced = [line for line in after if "2026-06-20" <= line["due_on"] <= "2026-08-20"]
    assert len(reduced) == 3  # monthly from a month after the plan's start
    unpaid = 1_200_000 - sum(line["paid"]["principal"] for line in before)
    remaining = sum(line["due_on"] > "2026-05-20" for line in before)  # 8 instalments left
    half_level = round(unpaid / remaining / 2)  # half the level principal, interest frozen
    assert [line["due"]["principal"] for line in reduced] == [half_level] * 3
    assert all(line["due"]["interest"] == 0 for line in reduced)
    assert max(line["due_on"] for line in after) > max(line["due_on"] for line in before)
    principal = sum(line["due"]["principal"] for line in after)
    assert principal == 1_200_000  # the plan moves principal, it never creates or loses any
    again = _plan(client, gate, annual_rate="0", share="0.5")
    assert again.status_code == 200 and again.json()["instalments"] == after
    assert _lines(client, alice, as_of="2026-05-20") == after  # stored as answered
    other = _plan(client, gate, annual_rate="0", share="0.4")  # same key, another plan
    assert other.status_code == 422 and other.json()["error"]["field"] == "body.idempotency_key"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"starts_on": "9999-12-31"}, "body.starts_on"),
        ({"starts_on": "2026-11-25"}, "body.starts_on"),  # after the business date
        ({"starts_on": "2025-12-31"}, "body.starts_on"),  # before disbursement
        ({"months": 0}, "body.months"),
        ({"months": 2**70}, "body.months"),
        ({"annual_rate": "0.2"}, "body.annual_rate"),  # above the contract's 12 %
        ({"annual_rate": "-0.01"}, "body.annual_rate"),
        ({"annual_rate": "NaN"}, "body.annual_rate"),
        ({"share": "1.5"}, "body.share"),
        ({"share": "Infinity"}, "body.share"),
        ({"term": 0}, "body.term"),
        ({"idempotency_key": ""}, "body.idempotency_key"),
        ({"surprise": 1}, "body.surprise"),
    ],
)
def test_a_hostile_plan_is_a_4xx_naming_the_field_and_stores_nothing(loan, body, field):
    client, gate, alice = loan
    before = _lines(client, alice)
    response = _plan(client, gate, **body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    assert _lines(client, alice) == before
    assert _plan(client, gate).status_code == 200  # and the service still serves


def test_the_re_age_limits_hold_over_http(loan):
    client, gate, _alice = loan
    assert _plan(client, gate).status_code == 200
    second = _plan(client, gate, starts_on="2026-06-20", idempotency_key="h2")
    assert second.status_code == 422, second.text  # once in 12 months (FFIEC 2000)
    assert second.json()["error"]["field"] == "body.starts_on"


def test_only_writers_grant_plans(loan):
    client, _, alice = loan
    assert _plan(client, alice).status_code == 403
    assert _plan(client, {}).status_code == 401
