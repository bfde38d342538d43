"""The ledger fold: allocation, idempotency, reversals, penalties, prepayment, re-age, write-off."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fengkong.errors import InvalidArgumentError
from fengkong.money import Money
from fengkong.servicing.ledger import (
    COMPONENTS,
    FeeCharge,
    Prepayment,
    Recovery,
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

D = dt.date
CATALOGUE = load_products()


def cash_loan(principal="12000", rate="0.12", term=12, **update):
    product = CATALOGUE["cash_loan"].model_copy(update=update) if update else CATALOGUE["cash_loan"]
    return build_schedule(
        LoanTerms(product, Money.of(principal), Decimal(rate), term, D(2026, 1, 10))
    )


def paid_in_full(state):
    return sum(i.paid[c] for i in state.instalments for c in COMPONENTS)


def test_an_on_time_payer_settles_with_nothing_extra():
    s = cash_loan()
    events = [Repayment(i.due_on, i.total, key=f"p{i.number}") for i in s.instalments]
    state = replay(s, events, as_of=D(2027, 6, 1))
    assert state.status == "settled" and state.dpd == 0 and state.bucket == "M0"
    assert state.paid_total == s.total_due
    assert state.charged("penalty") == Money.zero()


def test_a_missed_instalment_accrues_penalty_and_dpd():
    s = cash_loan(late_fee_fen=5000, grace_days=3)
    first = s.instalments[0]
    state = replay(s, [], as_of=first.due_on + dt.timedelta(days=10))
    assert state.dpd == 10 and state.status == "overdue" and state.bucket == "M1"
    daily = (Decimal(first.principal.minor) * Decimal("0.12") * Decimal("1.5") / 365).quantize(
        Decimal(1)
    )
    assert state.charged("penalty").minor == 10 * int(daily)
    assert state.charged("fee").minor == 5000  # one late fee, charged after the 3 grace days
    assert state.overdue.minor == first.total.minor + 5000 + 10 * int(daily)


def test_payments_go_to_the_oldest_instalment_first_and_cure():
    s = cash_loan()
    late = s.instalments[1].due_on + dt.timedelta(days=2)
    owed = replay(s, [], as_of=late - dt.timedelta(days=1)).overdue
    state = replay(s, [Repayment(late, owed, key="cure")], as_of=late)
    assert state.dpd == 0 and state.status == "active"
    assert all(i.unpaid == 0 for i in state.instalments[:2])


def test_the_npa_order_pays_principal_first():
    s = cash_loan()
    as_of = s.instalments[0].due_on + dt.timedelta(days=95)
    state = replay(s, [Repayment(as_of, Money.of("500"), key="p")], as_of=as_of)
    first = state.instalments[0]
    assert state.npa and first.paid["principal"] == 50_000 and first.paid["penalty"] == 0


def test_the_same_event_twice_is_posted_once_and_a_reused_key_is_refused():
    s = cash_loan()
    pay = Repayment(s.instalments[0].due_on, s.instalments[0].total, key="k1")
    assert replay(s, [pay, pay], as_of=D(2026, 3, 1)) == replay(s, [pay], as_of=D(2026, 3, 1))
    with pytest.raises(InvalidArgumentError, match="key"):
        replay(s, [pay, Repayment(pay.on, Money.of("1"), key="k1")], as_of=D(2026, 3, 1))


def test_a_reversal_undoes_its_payment_and_unknown_ones_are_refused():
    s = cash_loan()
    pay = Repayment(s.instalments[0].due_on, s.instalments[0].total, key="k1")
    undone = replay(
        s, [pay, Reversal(D(2026, 2, 20), reverses="k1", key="r1")], as_of=D(2026, 3, 1)
    )
    assert undone.instalments == replay(s, [], as_of=D(2026, 3, 1)).instalments
    with pytest.raises(InvalidArgumentError, match="reverses"):
        replay(s, [Reversal(D(2026, 2, 20), reverses="nope", key="r2")], as_of=D(2026, 3, 1))


def test_bad_payments_are_refused():
    s = cash_loan()
    # issue 23: above the payoff, or on a settled loan, the money goes to suspense (it used to be
    # refused by the fold, and lost by end of day); the service refuses the settled case upfront
    over = replay(s, [Repayment(D(2026, 2, 1), Money.of("20000"), key="x")], as_of=D(2026, 3, 1))
    assert over.status == "settled" and over.suspense == Money.of("20000") - over.paid_total
    with pytest.raises(InvalidArgumentError, match="amount"):
        replay(s, [Repayment(D(2026, 2, 1), Money.of("-5"), key="x")], as_of=D(2026, 3, 1))
    payoff = Prepayment(D(2026, 2, 1), key="all")
    late = replay(
        s, [payoff, Repayment(D(2026, 3, 1), Money.of("1"), key="late")], as_of=D(2026, 4, 1)
    )
    assert late.suspense == Money.of("1") and late.unapplied == (("late", 100),)
    with pytest.raises(InvalidArgumentError, match="on or after disbursement"):
        replay(s, [Repayment(D(2025, 1, 1), Money.of("1"), key="early")], as_of=D(2026, 4, 1))


def test_full_prepayment_cancels_unearned_interest():
    s = cash_loan()
    state = replay(s, [Prepayment(D(2026, 4, 25), key="all")], as_of=D(2026, 5, 1))
    assert state.status == "settled"
    assert state.paid_total < s.total_due
    assert state.charged("interest") < s.total_interest


@pytest.mark.parametrize("mode", ["reduce_instalment", "reduce_term"])
def test_partial_prepayment_reamortises(mode):
    s = cash_loan()
    on = s.instalments[2].due_on
    events = [Repayment(i.due_on, i.total, key=f"p{i.number}") for i in s.instalments[:3]]
    events.append(
        Prepayment(on + dt.timedelta(days=1), key="part", amount=Money.of("3000"), mode=mode)
    )
    state = replay(s, events, as_of=on + dt.timedelta(days=2))
    future = [i for i in state.instalments if i.due_on > on + dt.timedelta(days=1)]
    assert sum(i.due["principal"] for i in state.instalments) == s.total_principal.minor
    if mode == "reduce_term":
        assert len(future) < 9
    else:
        assert (
            len(future) == 9
            and future[0].due["principal"] + future[0].due["interest"]
            < s.instalments[3].total.minor
        )


def test_reschedule_re_amortises_principal_and_keeps_arrears_owed():
    """Was ``test_reschedule_capitalises_arrears``: a reschedule no longer turns everything
    unpaid (interest not yet earned and penalties included) into principal (Civil Code art.
    677, issue 23 part 6). Only the principal is re-amortised; interest fallen due, the current
    period's interest earned to the day and penalties stay owed, due with the first new
    instalment, so the payoff is the same right before and right after. ``reage_policy: none``:
    this loan has made no payment, which the default FFIEC limits refuse (test_forbearance)."""
    s = cash_loan(reage_policy="none")
    on = s.instalments[2].due_on + dt.timedelta(days=40)
    before = replay(s, [], as_of=on - dt.timedelta(days=1))
    state = replay(s, [Reschedule(on, term=24, key="reage")], as_of=on)
    assert state.status == "rescheduled" and state.dpd == 0
    new = [i for i in state.instalments if i.due_on > on]
    assert len(new) == 24
    capital = sum(i.due["principal"] for i in new)
    assert capital == sum(i.due["principal"] for i in before.instalments) == s.total_principal.minor
    assert (
        payoff_quote(s, [Reschedule(on, term=24, key="reage")], on=on).total
        == payoff_quote(s, [], on=on).total
    )
    kept = [i for i in state.instalments if i.due_on <= on]
    penalty = sum(i.due["penalty"] - i.paid["penalty"] for i in kept)
    assert penalty > 0 and all(i.due_date == new[0].due_on for i in kept if i.unpaid)
    assert state.capitalised == ()


def test_write_off_and_recovery():
    s = cash_loan()
    on = s.instalments[0].due_on + dt.timedelta(days=200)
    state = replay(
        s,
        [WriteOff(on, key="wo"), Recovery(on + dt.timedelta(days=30), Money.of("1000"), key="rec")],
        as_of=on + dt.timedelta(days=31),
    )
    assert state.status == "written_off" and state.written_off == s.total_principal
    assert state.recovered == Money.of("1000") and state.outstanding_principal == Money.zero()
    with pytest.raises(InvalidArgumentError, match="written-off"):
        replay(s, [Recovery(on, Money.of("1"), key="r")], as_of=on)


def test_fees_and_waivers():
    s = cash_loan()
    state = replay(
        s,
        [
            FeeCharge(D(2026, 2, 1), Money.of("20"), instalment=1, key="f"),
            Waiver(D(2026, 2, 2), "fee", Money.of("5"), key="w"),
        ],
        as_of=D(2026, 2, 3),
    )
    assert state.charged("fee") == Money.of("15")
    with pytest.raises(InvalidArgumentError, match="instalment"):
        replay(
            s,
            [FeeCharge(D(2026, 2, 1), Money.of("20"), instalment=99, key="f")],
            as_of=D(2026, 2, 3),
        )


payments = st.lists(
    st.tuples(st.integers(0, 500), st.integers(1, 300_000)),  # (days after disbursement, fen)
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(payments)
def test_allocation_conserves_cash_and_replay_equals_incremental(raw):
    s = cash_loan(late_fee_fen=2000)
    events = []
    for n, (days, fen) in enumerate(sorted(raw)):
        on = D(2026, 1, 10) + dt.timedelta(days=days)
        trial = [*events, Repayment(on, Money.from_minor(fen), key=f"k{n}")]
        try:
            state = replay(s, trial, as_of=on)
        except InvalidArgumentError:
            continue
        events = trial
        assert paid_in_full(state) == state.paid_total.minor  # every fen lands somewhere
    end = D(2027, 6, 1)
    final = replay(s, events, as_of=end)
    # issue 23: above the payoff or after settlement, the money is held in suspense, never lost
    assert paid_in_full(final) + final.suspense_fen == sum(e.amount.minor for e in events)
    midpoint = D(2026, 6, 1)
    assert replay(s, events, as_of=midpoint) == replay(
        s, [e for e in events if e.on <= midpoint], as_of=midpoint
    )


def test_a_product_can_carry_its_own_waterfall():
    principal_first = tuple(
        f"{w}.{c}"
        for w in ("past_due", "due", "in_advance")
        for c in ("principal", "interest", "fee", "penalty")
    )
    s = cash_loan(allocation=principal_first)
    late = s.instalments[0].due_on + dt.timedelta(days=20)
    state = replay(s, [Repayment(late, Money.of("100"), key="p")], as_of=late)
    first = state.instalments[0]
    assert first.paid["principal"] == 10_000 and first.paid["penalty"] == 0
    with pytest.raises(ValueError, match="each of 12 pairs once"):
        CATALOGUE["cash_loan"].model_validate(
            {**CATALOGUE["cash_loan"].model_dump(), "allocation": ["due.principal"]}
        )


# -- early repayment by the actual period (Civil Code art. 677), worked by hand -----------------
# The loan: 12,000 at 12 % a year over 12 months from 2026-01-10 (cash_loan, 30/360). The first
# period 2026-01-10 -> 02-10 (31 days) carries 12,000 x 1 % = 120.00 interest; the level
# instalment is 12,000 x 0.0888487887 = 1,066.19 (946.19 principal in the first).


def test_1000_paid_on_day_2_repays_principal_not_future_interest():
    s = cash_loan()
    state = replay(s, [Repayment(D(2026, 1, 12), Money.of("1000"), key="p")], as_of=D(2026, 1, 12))
    # Before: the in-advance waterfall put 794.23 (all 12 periods' interest) first. Now: interest
    # earned to day 2 is 120.00 x 2 / 31 = 7.74 (12,000 fen x 2 // 31 = 774), the other 992.26
    # repays principal, kept as a paid line due 2026-01-12.
    paid_line = state.instalments[0]
    assert paid_line.due_on == D(2026, 1, 12)
    assert paid_line.paid == {"penalty": 0, "fee": 0, "interest": 774, "principal": 99_226}
    assert paid_line.due == paid_line.paid
    # The future is re-amortised on 11,007.74 from 01-12: first due still 02-10, 30/360 days
    # 01-12 -> 02-10 = 28, interest 11,007.74 x 1 % x 28 / 30 = 102.7389 -> 102.74.
    nxt = state.instalments[1]
    assert nxt.due_on == D(2026, 2, 10) and nxt.due["interest"] == 10_274
    assert sum(i.due["principal"] for i in state.instalments) == 1_200_000
    assert sum(i.paid["interest"] for i in state.instalments) == 774
    assert state.outstanding_principal == Money.of("11007.74")
    assert len(state.instalments) == 13  # the paid line + 12 re-amortised periods


def test_payoff_on_day_3_charges_three_days_of_interest():
    s = cash_loan()
    part = Repayment(D(2026, 1, 12), Money.of("1000"), key="p")
    # After the 1,000: 11,007.74 principal + 102.74 x 1 / 29 days (01-12 -> 02-10) = 3.54.
    # Before the fix the borrower had paid 12,794.23 for three days.
    quote = payoff_quote(s, [part], on=D(2026, 1, 13))
    assert quote.total == Money.of("11011.28") and quote.interest == Money.of("3.54")
    state = replay(
        s, [part, Repayment(D(2026, 1, 13), quote.total, key="off")], as_of=D(2026, 2, 1)
    )
    assert state.status == "settled" and state.paid_total == Money.of("12011.28")
    assert sum(i.paid["interest"] for i in state.instalments) == 1_128  # 7.74 + 3.54
    # Paid off on day 3 with nothing before: 120.00 x 3 / 31 = 11.61 (12,000 x 3 // 31 = 1,161).
    alone = payoff_quote(s, [], on=D(2026, 1, 13))
    assert alone.total == Money.of("12011.61")
    full = replay(s, [Prepayment(D(2026, 1, 13), key="all")], as_of=D(2026, 1, 13))
    assert full.status == "settled" and full.paid_total == Money.of("12011.61")


def test_several_payments_a_day_act_as_one():
    s = cash_loan()
    quote = payoff_quote(s, [], on=D(2026, 1, 13))  # 12,011.61, as above
    events = [
        Repayment(D(2026, 1, 13), Money.of("100"), key="a"),
        Repayment(D(2026, 1, 13), quote.total - Money.of("100"), key="b"),
    ]
    # 100 + 11,911.61 on one day is 12,011.61 that day: the payoff. (Before, the 100 bought
    # future interest, the 11,911.61 was then below the new payoff: active with 75.93 owed.)
    state = replay(s, events, as_of=D(2026, 3, 1))
    assert state.status == "settled" and state.paid_total == Money.of("12011.61")
    assert state.applied_keys == ("a", "b")
    assert payoff_quote(s, events[:1], on=D(2026, 1, 13)).total == quote.total - Money.of("100")


def test_the_payoff_quote_of_an_overdue_loan():
    s = cash_loan()
    quote = payoff_quote(s, [], on=D(2026, 2, 15))
    # Instalment 1 (1,066.19 = 120.00 + 946.19) fell due 02-10 unpaid. Penalty interest on
    # 946.19 at 12 % x 1.5 / 365 a day = 0.4666 -> 0.47, for the ends of day 02-11..02-14 (4
    # days; not yet 02-15's): 1.88. Period 2 (02-10 -> 03-10, 28 days) carries
    # (12,000 - 946.19) x 1 % = 110.5381 -> 110.54, earned 5 days: 11,054 x 5 // 28 = 19.73.
    assert quote.principal == Money.of("12000")
    assert quote.interest == Money.of("139.73")  # 120.00 + 19.73
    assert quote.penalty == Money.of("1.88") and quote.fee == Money.zero()
    assert quote.total == Money.of("12141.61")
    paid = replay(s, [Repayment(quote.on, quote.total, key="off")], as_of=quote.on)
    assert paid.status == "settled"
    with pytest.raises(InvalidArgumentError, match="on"):
        payoff_quote(s, [], on=D(2026, 1, 9))


def test_a_product_may_hold_payments_in_advance_as_a_credit():
    s = cash_loan(in_advance="hold_credit")
    state = replay(s, [Repayment(D(2026, 1, 12), Money.of("1000"), key="p")], as_of=D(2026, 2, 9))
    assert state.credit == Money.of("1000") and state.charged("interest") == Money.of("0")
    assert all(i.paid[c] == 0 for i in state.instalments for c in COMPONENTS)
    # On 02-10 the credit pays instalment 1 (1,066.19): interest 120.00, then 880.00 principal;
    # 66.19 is left, overdue from the next day.
    state = replay(s, [Repayment(D(2026, 1, 12), Money.of("1000"), key="p")], as_of=D(2026, 2, 11))
    first = state.instalments[0]
    assert state.credit == Money.zero() and first.paid["interest"] == 12_000
    assert first.paid["principal"] == 88_000 and state.dpd == 1
    quote = payoff_quote(
        s, [Repayment(D(2026, 1, 12), Money.of("1000"), key="p")], on=D(2026, 1, 13)
    )
    assert quote.credit == Money.of("1000") and quote.total == Money.of("11011.61")


def test_an_agreed_prepayment_fee_stays_within_the_cap():
    with pytest.raises(ValueError, match="charges_cap_rate"):
        CATALOGUE["cash_loan"].model_validate(
            {**CATALOGUE["cash_loan"].model_dump(), "prepayment_fee_rate": "0.02"}
        )
    s = cash_loan(prepayment_fee_rate=Decimal("0.02"), charges_cap_rate=Decimal("0.24"))
    # Paid off on 2026-02-09, 30 days in: the agreed 2 % (240.00) is cut so that fee + 12 %
    # interest stay within 24 % a year over the 30 days: (24 % - 12 %) x 30 / 365 = 0.98630 %
    # of 12,000 = 118.36. Interest: 120.00 x 30 / 31 = 116.12 (12,000 x 30 // 31 = 11,612).
    quote = payoff_quote(s, [], on=D(2026, 2, 9))
    assert quote.prepayment_fee == Money.of("118.36")
    assert quote.total == Money.of("12234.48")  # 12,000 + 116.12 + 118.36
    state = replay(s, [Prepayment(quote.on, key="all")], as_of=quote.on)
    assert state.status == "settled" and state.paid_total == quote.total
