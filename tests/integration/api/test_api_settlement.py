"""Issue 24 part 6: settlement in full. An offer within the approver's authority (the limit
table is data), accepted by paying exactly its amount before it expires: the discount is waived,
every loan settles with nothing in suspense, the case closes as settled in full and collection
stops for good."""

import datetime as dt
from decimal import Decimal

import pytest

from fengkong.db import CollectionCaseRecord
from fengkong.money import Money
from fengkong.services import servicing as svc
from fengkong.servicing import LoanTerms, load_products

URL = "/v1/collections/cases/K1/settlements"


@pytest.fixture
def case(service):
    """K1 (collector carl) holds D1's two overdue loans, 45 days past due."""
    app, client, keys = service
    with app.state.sessions.begin() as s:
        for external, principal, rate in (("L-A", "3000", "0.24"), ("L-B", "1000", "0.36")):
            terms = LoanTerms(load_products()["cash_loan"], Money.of(principal), Decimal(rate), 6,
                              dt.date(2026, 8, 1))  # fmt: skip
            svc.book_loan(s, terms, external_id=external, borrower_id="D1")
        record = s.get(CollectionCaseRecord, "K1")
        record.loans, record.max_dpd = ["L-A", "L-B"], 45
    return app, client, keys


def _payoff(client, keys):
    return sum(
        client.get(
            f"/v1/loans/{loan}/payoff", params={"on": "2026-11-24"}, headers=keys["root"]
        ).json()["amount_fen"]
        for loan in ("L-A", "L-B")
    )


def test_a_collector_offers_within_authority_and_the_payment_settles_the_case(case):
    app, client, keys = case
    payoff = _payoff(client, keys)
    too_deep = client.post(URL, json={"amount_fen": payoff * 80 // 100, "expires_on": "2026-12-10"},
                           headers=keys["carl"])  # fmt: skip
    assert too_deep.status_code == 422 and too_deep.json()["error"]["field"] == "amount_fen"
    amount = payoff * 92 // 100
    made = client.post(URL, json={"amount_fen": amount, "expires_on": "2026-12-10"},
                       headers=keys["carl"])  # fmt: skip
    assert made.status_code == 200, made.text
    offer = made.json()
    assert offer["balance_fen"] == payoff and offer["approved_by"] == "carl"
    second = client.post(URL, json={"amount_fen": amount, "expires_on": "2026-12-10"},
                         headers=keys["root"])  # fmt: skip
    assert second.status_code == 409  # one open offer at a time
    pay = f"{URL}/{offer['offer_id']}/payments"
    wrong = client.post(pay, json={"amount_fen": amount - 1, "idempotency_key": "s1"},
                        headers=keys["gate"])  # fmt: skip
    assert wrong.status_code == 422
    assert client.post(pay, json={"amount_fen": amount, "idempotency_key": "s1"},
                       headers=keys["carl"]).status_code == 403  # a collector takes no money  # fmt: skip
    paid = client.post(
        pay, json={"amount_fen": amount, "idempotency_key": "s1"}, headers=keys["gate"]
    )
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "accepted"
    again = client.post(
        pay, json={"amount_fen": amount, "idempotency_key": "s1"}, headers=keys["gate"]
    )
    assert again.status_code == 200 and again.json() == paid.json()  # a retry is a no-op
    for loan in ("L-A", "L-B"):
        state = client.get(f"/v1/loans/{loan}", params={"as_of": "2026-11-24"},
                           headers=keys["root"]).json()  # fmt: skip
        assert state["status"] == "settled" and state["suspense_fen"] == 0
    paid_total = sum(
        int(
            Decimal(
                client.get(
                    f"/v1/loans/{loan}", params={"as_of": "2026-11-24"}, headers=keys["root"]
                ).json()["paid_total"]["amount"]
            )
            * 100
        )
        for loan in ("L-A", "L-B")
    )
    assert paid_total == amount  # the borrower paid the offer, not a fen more
    with app.state.sessions() as s:
        assert s.get(CollectionCaseRecord, "K1").status == "settled_in_full"
    sms = {"case_id": "K1", "channel": "sms", "template_id": "reminder"}
    after = client.post("/v1/contacts", json=sms, headers=keys["carl"]).json()
    assert not after["allowed"]
    assert "stop:settled_in_full" in {b["rule"] for b in after["breaches"]}


def test_an_offer_is_limited_by_role_days_past_due_and_expiry(case):
    app, client, keys = case
    payoff = _payoff(client, keys)
    half = {"amount_fen": payoff // 2 + 1, "expires_on": "2026-12-10"}
    assert client.post(URL, json=half, headers=keys["root"]).status_code == 200  # a manager may
    late = client.post(URL.replace("K1", "K2"), json=half, headers=keys["root"])
    assert late.status_code == 409  # K2 has no loans: nothing to settle
    for body, field in (
        ({"amount_fen": payoff + 1, "expires_on": "2026-12-10"}, "amount_fen"),
        ({"amount_fen": payoff, "expires_on": "2027-01-10"}, "expires_on"),
        ({"amount_fen": payoff, "expires_on": "2026-11-23"}, "expires_on"),
        ({"amount_fen": 0, "expires_on": "2026-12-10"}, "body.amount_fen"),
    ):
        with app.state.sessions.begin() as s:
            from fengkong.db import SettlementOfferRecord  # noqa: PLC0415

            for row in s.query(SettlementOfferRecord).all():
                row.status = "withdrawn"
        r = client.post(URL, json=body, headers=keys["root"])
        assert r.status_code == 422 and r.json()["error"]["field"] == field, r.text
    with app.state.sessions.begin() as s:
        s.get(CollectionCaseRecord, "K1").max_dpd = 12
    early = client.post(URL, json={"amount_fen": payoff, "expires_on": "2026-12-10"},
                        headers=keys["carl"])  # fmt: skip
    assert early.status_code == 422 and early.json()["error"]["field"] == "case_id"


def test_an_expired_offer_cannot_be_paid(case, clock):
    _app, client, keys = case
    amount = _payoff(client, keys)
    made = client.post(URL, json={"amount_fen": amount, "expires_on": "2026-11-30"},
                       headers=keys["root"]).json()  # fmt: skip
    clock.now = dt.datetime(2026, 12, 1, 3, tzinfo=dt.UTC)
    paid = client.post(f"{URL}/{made['offer_id']}/payments",
                       json={"amount_fen": amount, "idempotency_key": "late"}, headers=keys["gate"])  # fmt: skip
    assert paid.status_code == 409
    state = client.get("/v1/loans/L-A", params={"as_of": "2026-12-01"}, headers=keys["root"]).json()
    assert state["status"] != "settled" and state["paid_total"]["amount"] == "0.00"
