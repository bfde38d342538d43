"""Issue 23 part 4 over HTTP: ``POST /v1/loans/{id}/repayments`` goes through the one door —
hostile dates and amounts are a 4xx naming the field and store nothing; above the payoff the
excess is held in suspense, shown by the loan's state and refunded by ``/refunds``."""

import datetime as dt
from decimal import Decimal

import pytest

from fengkong.money import Money
from fengkong.services import servicing as svc
from fengkong.servicing import LoanTerms, load_products

DISBURSED = dt.date(2026, 1, 10)  # the service's clock in these tests: 2026-11-24


@pytest.fixture
def loan(service):
    app, client, keys = service
    terms = LoanTerms(load_products()["cash_loan"], Money.of("1200"), Decimal("0.12"), 3, DISBURSED)
    with app.state.sessions.begin() as s:
        svc.book_loan(s, terms, external_id="L1", borrower_id="B1")
    return client, keys["gate"], keys["alice"]


def _pay(client, key, **body):
    payment = {"amount_fen": 10_000, "paid_on": "2026-02-10", "idempotency_key": "p1"} | body
    return client.post("/v1/loans/L1/repayments", json=payment, headers=key)


def _state(client, key, as_of="2026-11-24"):
    return client.get("/v1/loans/L1", params={"as_of": as_of}, headers=key).json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"paid_on": "9999-12-31"}, "body.paid_on"),  # seen: stored, DPD 2,912,230
        ({"paid_on": "2031-01-01"}, "body.paid_on"),
        ({"paid_on": "2026-11-25"}, "body.paid_on"),  # the day after the business date
        ({"paid_on": "0001-01-01"}, "body.paid_on"),
        ({"paid_on": "2026-01-09"}, "body.paid_on"),  # before disbursement
        ({"paid_on": "2026-02-30"}, "body.paid_on"),
        ({"amount_fen": 0}, "body.amount_fen"),
        ({"amount_fen": -100}, "body.amount_fen"),
        ({"amount_fen": 10**12 + 1}, "body.amount_fen"),
        ({"amount_fen": 2**70}, "body.amount_fen"),
        ({"amount_fen": 12.5}, "body.amount_fen"),
        ({"amount_fen": "1e3"}, "body.amount_fen"),
        ({"currency": "USD"}, "body.currency"),
        ({"currency": "usd"}, "body.currency"),
        ({"idempotency_key": ""}, "body.idempotency_key"),
        ({"idempotency_key": "k" * 129}, "body.idempotency_key"),
    ],
)
def test_a_hostile_payment_is_a_4xx_naming_the_field_and_stores_nothing(loan, body, field):
    client, gate, alice = loan
    response = _pay(client, gate, **body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    assert _state(client, alice)["paid_total"]["amount"] == "0.00"
    assert _pay(client, gate).status_code == 200  # and the service still serves


def test_above_the_payoff_the_excess_is_held_shown_and_refunded(loan):
    client, gate, alice = loan
    paid = _pay(client, gate, amount_fen=100_000_000, paid_on="2026-02-10")
    assert paid.status_code == 200, paid.text
    body = paid.json()
    assert body["status"] == "settled" and body["suspense_fen"] > 0
    held = body["suspense_fen"]
    state = _state(client, alice)
    assert state["suspense_fen"] == held and state["unapplied"] == [["p1", held]]
    settled = _pay(client, gate, idempotency_key="p2", paid_on="2026-02-11")
    assert settled.status_code == 422 and settled.json()["error"]["field"] == "loan_id"
    refund = {"amount_fen": held + 1, "refunded_on": "2026-02-12", "idempotency_key": "r1"}
    too_much = client.post("/v1/loans/L1/refunds", json=refund, headers=gate)
    assert too_much.status_code == 422 and too_much.json()["error"]["field"] == "body.amount_fen"
    back = client.post("/v1/loans/L1/refunds", json=refund | {"amount_fen": held}, headers=gate)
    assert back.status_code == 200 and back.json()["suspense_fen"] == 0
    assert _state(client, alice)["suspense_fen"] == 0
    assert _state(client, alice, "2026-02-11")["suspense_fen"] == held  # before the refund


def test_the_same_key_for_another_payment_is_refused(loan):
    client, gate, alice = loan
    assert _pay(client, gate).status_code == 200
    assert _pay(client, gate).json() == _pay(client, gate).json()  # a retry: a no-op
    other = _pay(client, gate, amount_fen=10_001)
    assert other.status_code == 422 and other.json()["error"]["field"] == "body.idempotency_key"
    assert _state(client, alice)["paid_total"]["amount"] == "100.00"
    missing = client.post(
        "/v1/loans/NOPE/repayments",
        json={"amount_fen": 1, "paid_on": "2026-02-10", "idempotency_key": "x"},
        headers=gate,
    )
    assert missing.status_code == 404


@pytest.mark.parametrize("as_of", ["0001-01-01", "9999-12-31", "2026-02-09"])
def test_a_state_at_any_date_answers_and_ignores_later_payments(loan, as_of):
    client, gate, alice = loan
    assert _pay(client, gate).status_code == 200
    state = client.get("/v1/loans/L1", params={"as_of": as_of}, headers=alice)
    assert state.status_code == 200
    expected = "0.00" if as_of < "2026-02-10" else "100.00"
    assert state.json()["paid_total"]["amount"] == expected
