"""A declined decision carries no offer: the outputs the pricing step prices (amount, rate,
term) and the APR are null on a decline, in both backends alike; other outputs stay.
Seen in the demo: declined decisions showing a limit and a rate."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from fengkong.policy import load_policy

DAY = dt.date(2026, 3, 1)


def _policy(*, on_breach: str = "refer", rate: str = "0.1"):
    return load_policy({
        "schema_version": 1, "name": "offer", "version": "1",
        "inputs": {"age": {"type": "integer"}, "d": {"type": "date"}},
        "rules": [{"id": "R_YOUNG", "when": "age < 18", "action": "decline"},
                  {"id": "R_OLD", "when": "age > 70", "action": "refer"}],
        "outputs": {"limit_fen": "500000", "rate": rate, "term_months": "12", "band": "'A'"},
        "pricing": {"product": "cash_loan", "jurisdiction": "cn", "lender_type": "licensed",
                    "amount_fen": "limit_fen", "annual_rate": "rate", "term_months": "term_months",
                    "date": "d", "on_breach": on_breach},
    })  # fmt: skip


def test_the_offer_is_the_priced_outputs():
    assert _policy().offer == ("limit_fen", "rate", "term_months")
    bare = load_policy({"schema_version": 1, "inputs": {}, "outputs": {"limit_fen": "1"}})
    assert bare.offer == ()
    assert bare.decide({}).outputs == {"limit_fen": 1}  # no pricing step: nothing is an offer


@pytest.mark.parametrize("age", [10, 30, 80])
def test_row_and_batch_null_the_offer_of_a_decline_only(age):
    policy = _policy()
    row = policy.decide({"age": age, "d": DAY})
    batch = policy.decide_frame(pl.DataFrame({"age": [age], "d": [DAY]})).row(0, named=True)
    offer = {k: row.outputs[k] for k in ("limit_fen", "rate", "term_months", "apr")}
    assert {k: batch[k] for k in offer} == offer and batch["decision"] == row.decision
    if row.decision == "decline":
        assert set(offer.values()) == {None}
    else:
        assert None not in offer.values()
    assert row.outputs["band"] == batch["band"] == "A"  # not part of the offer
    assert (
        row.audit is not None and row.audit.fields()["variables"]["limit_fen"] == offer["limit_fen"]
    )


def test_an_offer_declined_for_breaking_a_cap_is_not_shown_either():
    policy = _policy(on_breach="decline", rate="0.5")  # above the 24% cap
    row = policy.decide({"age": 30, "d": DAY})
    batch = policy.decide_frame(pl.DataFrame({"age": [30], "d": [DAY]})).row(0, named=True)
    assert row.decision == batch["decision"] == "decline"
    assert any(r.startswith("CAP:") for r in row.reasons)
    assert row.outputs["limit_fen"] is row.outputs["apr"] is None
    assert batch["limit_fen"] is batch["rate"] is batch["apr"] is None
