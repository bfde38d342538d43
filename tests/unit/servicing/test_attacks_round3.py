"""Round 3 attacks on the pure ledger (``fengkong.servicing.ledger``): each test fails on the
code it was written against, for a real defect; the comment says what was expected and why."""

import datetime as dt
from decimal import Decimal

import pytest

from fengkong.errors import FengkongError, InvalidArgumentError
from fengkong.money import Money
from fengkong.servicing.ledger import (
    COMPONENTS,
    FeeCharge,
    HardshipPlan,
    Prepayment,
    Refund,
    Repayment,
    Reschedule,
    Reversal,
    Waiver,
    WriteOff,
    payoff_quote,
    replay,
)
from fengkong.servicing.products import load_products
from fengkong.servicing.schedule import LoanTerms, build_schedule

CATALOGUE = load_products()


def _schedule(
    name="cash_loan", amount="12000", rate="0.12", term=12, on=dt.date(2026, 1, 10), **update
):
    product = CATALOGUE[name].model_copy(update=update) if update else CATALOGUE[name]
    return build_schedule(LoanTerms(product, Money.of(amount), Decimal(rate), term, on))


def _lines_paid(state):
    return sum(i.paid[c] for i in state.instalments for c in COMPONENTS)


# -- money lost: a held credit (hold_credit products) that nothing can pay back ------------------


def test_held_credit_left_over_after_a_waiver_is_neither_applied_nor_refundable():
    # hold_credit: 5,000 paid in advance is held for the borrower. The lender then waives 9,000
    # of principal, so the credit is larger than everything still owed. Expected (ledger module
    # docs: "never lost"; cash in = applied + suspense + refunded): once the loan is settled,
    # what the credit did not pay is in suspense and can be refunded. Got: the loan settles with
    # CNY 1,205.77 still in ``credit_fen``, suspense 0 and a refund of it refused — money lost.
    s = _schedule(in_advance="hold_credit")
    events = [
        Repayment(dt.date(2026, 1, 20), Money.of("5000"), key="p1"),
        Waiver(dt.date(2026, 1, 25), "principal", Money.of("9000"), key="w1"),
    ]
    end = dt.date(2027, 3, 1)
    state = replay(s, events, as_of=end)
    assert state.status == "settled"
    cash_in = 500_000
    assert _lines_paid(state) + state.suspense_fen == cash_in, (
        state.credit_fen,
        state.suspense_fen,
    )
    left = cash_in - _lines_paid(state)
    refunded = replay(s, [*events, Refund(end, Money.from_minor(left), key="r1")], as_of=end)
    assert refunded.suspense_fen == 0


def test_payoff_quote_is_never_zero_on_a_loan_that_is_not_settled():
    # Same loan the day after the waiver: the credit (5,000) exceeds what is owed (3,061.93), the
    # quote is total 0 while the status is "active" — and no payment can be 0, so "paying
    # exactly the payoff quote settles the loan" cannot happen; any payment goes whole to
    # suspense. Expected: a loan whose credit covers the debt is settled (the rest in suspense).
    s = _schedule(in_advance="hold_credit")
    events = [
        Repayment(dt.date(2026, 1, 20), Money.of("5000"), key="p1"),
        Waiver(dt.date(2026, 1, 25), "principal", Money.of("9000"), key="w1"),
    ]
    quote = payoff_quote(s, events, on=dt.date(2026, 1, 26))
    assert quote.total.minor > 0 or quote.status == "settled", quote


def test_write_off_strands_the_credit_held_for_the_borrower():
    # hold_credit: 5,000 paid in advance and held; the loan is then written off. Expected: the
    # borrower's money is either applied to the debt before the write-off (written off 7,000)
    # or kept refundable in suspense — never counted as written off and held at once. Got:
    # written off CNY 12,000 (the whole principal) with CNY 5,000 still in ``credit_fen`` that
    # no refund can reach (Refund draws only on suspense).
    s = _schedule(in_advance="hold_credit")
    events = [
        Repayment(dt.date(2026, 1, 20), Money.of("5000"), key="p1"),
        WriteOff(dt.date(2026, 1, 25), key="wo"),
    ]
    state = replay(s, events, as_of=dt.date(2026, 2, 1))
    assert state.credit_fen == 0, state.credit_fen
    assert state.written_off.minor == 700_000 or state.suspense_fen == 500_000


# -- early repayment after a re-age: money booked as a fee nobody agreed -----------------------


def test_a_payment_in_advance_after_a_reschedule_never_becomes_an_unagreed_fee():
    # cash_loan (no prepayment fee), three instalments missed, rescheduled on 2026-04-20: the
    # arrears (417.04 of interest and penalty) stay owed, deferred to 2026-05-20. On 04-25 the
    # borrower pays the payoff quote less 1 fen. Expected (Civil Code art. 677; products.yaml:
    # "never pays interest or fees not yet earned"): everything but 1 fen is owed no more.
    # Got: the part above the principal (417.03) is booked as a *fee* on the prepayment line,
    # the arrears stay unpaid and the next payoff is 417.04 — the borrower pays them twice.
    s = _schedule(reage_policy="none")
    events = [Reschedule(dt.date(2026, 4, 20), 12, key="r")]
    on = dt.date(2026, 4, 25)
    quote = payoff_quote(s, events, on=on)
    paid = [*events, Repayment(on, quote.total - Money.of("0.01"), key="p")]
    state = replay(s, paid, as_of=on)
    assert sum(i.paid["fee"] for i in state.instalments) == 0  # no fee was ever charged
    assert payoff_quote(s, paid, on=on).total == Money.of("0.01")


# -- the payoff right after a reschedule equals the payoff right before it ---------------------


@pytest.mark.parametrize("on", [dt.date(2026, 4, 20), dt.date(2027, 3, 1)])
def test_a_reschedule_does_not_raise_the_payoff_of_a_loan_with_a_prepayment_fee(on):
    # Reschedule docs: "the payoff right after a reschedule equals the payoff right before it".
    # With an agreed prepayment fee (3 %, cap 24 %) and principal overdue, the reschedule moves
    # the overdue principal into the future and the payoff then charges the *prepayment* fee on
    # it. Got: 12,375.72 -> 12,461.07 on 2026-04-20, and 13,717.41 -> 14,069.60 after maturity
    # (2027-03-01), where no principal at all is being repaid early.
    s = _schedule(
        prepayment_fee_rate=Decimal("0.03"), charges_cap_rate=Decimal("0.24"), reage_policy="none"
    )
    base = [Repayment(dt.date(2026, 1, 20), Money.of("300"), key="p0")]
    before = payoff_quote(s, base, on=on).total
    after = payoff_quote(s, [*base, Reschedule(on, 24, key="r")], on=on).total
    assert after == before


# -- same-day orderings: the day's repayments jump ahead of the day's other events -------------


@pytest.mark.parametrize(
    "middle",
    [
        Waiver(dt.date(2026, 2, 20), "interest", Money.of("1.00"), key="m"),
        FeeCharge(dt.date(2026, 2, 20), Money.of("5"), 1, key="m"),
        Reschedule(dt.date(2026, 2, 20), 6, key="m"),
    ],
    ids=["waiver", "fee", "reschedule"],
)
def test_paying_the_quote_after_a_same_day_payment_and_another_event_settles_the_loan(middle):
    # 100 paid on 2026-02-20, then the same day a waiver / fee / reschedule, then the borrower
    # pays exactly the payoff quote of that day (which counts the day's events). Expected
    # (payoff_quote docs: "Exactly this amount paid on ``on`` settles the loan"): settled,
    # nothing in suspense. Got: InvalidArgumentError — the fold merges the second repayment
    # into the first one's place, before the waiver/fee/reschedule, so the loan settles first
    # and the later event is refused as "settled"; through the door the payment is refused.
    s = _schedule(amount="1200", term=3, on=dt.date(2026, 1, 5), reage_policy="none")
    day = dt.date(2026, 2, 20)
    events = [Repayment(day, Money.of("100"), key="a"), middle]
    quote = payoff_quote(s, events, on=day)
    state = replay(s, [*events, Repayment(day, quote.total, key="z")], as_of=day)
    assert (state.status, state.suspense_fen) == ("settled", 0)


# -- hardship plans at month ends ---------------------------------------------------------------


@pytest.mark.parametrize("on", [dt.date(2026, 1, 31), dt.date(2026, 1, 30)])
def test_hardship_arrears_fall_due_with_the_first_resumed_instalment(on):
    # HardshipPlan docs: "Arrears are kept owed as for a Reschedule and fall due with the first
    # resumed instalment". A plan from 2026-01-31 (1 month): the reduced line is 2026-02-28 and
    # the resumption is built from that date, so it falls due on the 28th (03-28, 04-28 ...),
    # while the arrears are deferred to 2026-03-31 (anchored on the 31st). Expected: the
    # deferred arrears' date is the first resumed instalment's due date.
    s = _schedule(on=dt.date(2025, 10, 31), reage_policy="none")
    state = replay(s, [HardshipPlan(on, 1, key="h")], as_of=on)
    deferred = {i.deferred_to for i in state.instalments if i.deferred_to is not None}
    plan_end = max(i.due_on for i in state.instalments if i.due_on <= dt.date(2026, 2, 28))
    resumed = min(i.due_on for i in state.instalments if i.due_on > plan_end)
    assert deferred == {resumed}, (deferred, resumed)


# -- crashes on bad input (anything but a fengkong error) ---------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rate", Decimal("NaN")),
        ("share", Decimal("sNaN")),
        ("rate", 0.05),  # a float in a money path
        ("share", 0.5),
    ],
)
def test_a_hardship_plan_with_a_nan_or_float_rate_is_refused_naming_the_field(field, value):
    # _check_plan compares ``Decimal(0) <= rate``: NaN raises decimal.InvalidOperation, a
    # float passes the check and then crashes in plan_lines with TypeError (Decimal * float).
    # Expected: InvalidArgumentError naming the field, like every other bad plan value (the
    # service's grant_hardship_plan takes these values from Python callers unchecked).
    s = _schedule(amount="1200", term=3, on=dt.date(2026, 1, 5), reage_policy="none")
    plan = HardshipPlan(dt.date(2026, 2, 1), 1, key="h", **{field: value})
    with pytest.raises(FengkongError) as caught:
        replay(s, [plan], as_of=dt.date(2026, 3, 1))
    assert isinstance(caught.value, InvalidArgumentError) and caught.value.field == field


def test_a_waiver_of_an_unknown_component_is_refused_naming_the_field():
    # Waiver(component="foo") crashes the fold with KeyError('foo') (line.unpaid looks the name
    # up in the line's dict); through the service's one door (post_event) the caller gets a
    # KeyError, not a 4xx-able error. Expected: InvalidArgumentError naming ``component``.
    s = _schedule(amount="1200", term=3, on=dt.date(2026, 1, 5))
    with pytest.raises(InvalidArgumentError) as caught:
        replay(
            s,
            [Waiver(dt.date(2026, 2, 1), "foo", Money.of("1"), key="w")],
            as_of=dt.date(2026, 2, 2),
        )
    assert caught.value.field == "component"


def test_a_prepayment_with_an_unknown_mode_is_refused():
    # Prepayment(mode="bogus") is silently taken as reduce_instalment (``mode or ...`` and an
    # ``== "reduce_term"`` test). Expected: refused naming ``mode`` — a typo of reduce_term
    # must not quietly give the borrower the other contract change.
    s = _schedule(amount="1200", term=3, on=dt.date(2026, 1, 5))
    bogus = Prepayment(dt.date(2026, 1, 20), key="pp", amount=Money.of("100"), mode="reduce_trem")
    with pytest.raises(InvalidArgumentError) as caught:
        replay(s, [bogus], as_of=dt.date(2026, 1, 21))
    assert caught.value.field == "mode"


def test_a_bounced_qualifying_payment_can_still_be_reversed_after_the_re_age():
    # Three qualifying payments (Mar-May, FFIEC policy) and a hardship plan granted on
    # 2026-05-20. The May payment bounces and is reversed on 2026-05-25. Ledger docs: "a
    # reversal counts from its own date" — the plan was lawfully granted on 05-20 on the
    # payments standing then. Got: the reversal is refused (InvalidArgumentError on ``on``:
    # "3 consecutive monthly payments ... before a re-age") because the reversal is applied
    # retroactively to the re-age check, so the ledger cannot record a bounced payment at all
    # and keeps showing money that never arrived.
    s = _schedule()
    events = [
        Repayment(dt.date(2026, m, 10), Money.from_minor(106_619), key=f"p{m}") for m in (3, 4, 5)
    ]
    events.append(HardshipPlan(dt.date(2026, 5, 20), 3, key="h"))
    state = replay(
        s, [*events, Reversal(dt.date(2026, 5, 25), "p5", key="rv")], as_of=dt.date(2026, 5, 25)
    )
    assert state.paid_total.minor == 2 * 106_619
