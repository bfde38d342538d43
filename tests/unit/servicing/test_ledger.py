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
    with pytest.raises(InvalidArgumentError, match="payoff"):
        replay(s, [Repayment(D(2026, 2, 1), Money.of("20000"), key="x")], as_of=D(2026, 3, 1))
    with pytest.raises(InvalidArgumentError, match="amount"):
        replay(s, [Repayment(D(2026, 2, 1), Money.of("-5"), key="x")], as_of=D(2026, 3, 1))
    payoff = Prepayment(D(2026, 2, 1), key="all")
    with pytest.raises(InvalidArgumentError, match="active loan"):
        replay(
            s, [payoff, Repayment(D(2026, 3, 1), Money.of("1"), key="late")], as_of=D(2026, 4, 1)
        )
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


def test_reschedule_capitalises_arrears():
    s = cash_loan()
    on = s.instalments[2].due_on + dt.timedelta(days=40)
    before = replay(s, [], as_of=on - dt.timedelta(days=1))
    state = replay(s, [Reschedule(on, term=24, key="reage")], as_of=on)
    assert state.status == "rescheduled" and state.dpd == 0
    new = [i for i in state.instalments if i.due_on > on]
    assert len(new) == 24
    assert sum(i.due["principal"] for i in new) == sum(i.unpaid for i in before.instalments)


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
            continue  # above the payoff or after settlement: refused, nothing posted
        events = trial
        assert paid_in_full(state) == state.paid_total.minor  # every fen lands somewhere
    end = D(2027, 6, 1)
    final = replay(s, events, as_of=end)
    assert paid_in_full(final) == sum(e.amount.minor for e in events)
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
