"""Legal caps: China before/after 2020-08-20, licensed lenders, 砍头息, US tolerance, UK HCSTC."""

import datetime as dt
from decimal import Decimal

import pytest

from fengkong.errors import InvalidArgumentError
from fengkong.money import Money
from fengkong.servicing.caps import check_contract, lpr_on, rule_set_for
from fengkong.servicing.products import load_products
from fengkong.servicing.schedule import LoanTerms, build_schedule

CATALOGUE = load_products()


def schedule(rate, day, product="cash_loan", principal="10000", term=12, **update):
    p = CATALOGUE[product].model_copy(update=update) if update else CATALOGUE[product]
    return build_schedule(LoanTerms(p, Money.of(principal), Decimal(rate), term, day))


def ids(breaches):
    return [b.rule_id for b in breaches]


def test_lpr_table_and_the_four_times_lpr_cap():
    assert lpr_on(dt.date(2020, 8, 20)) == Decimal("0.0385")
    assert lpr_on(dt.date(2026, 1, 1)) == Decimal("0.0300")
    with pytest.raises(InvalidArgumentError):
        lpr_on(dt.date(2010, 1, 1))
    # 2026: cap = 4 x 3.00 % = 12 %; a 12 % loan with no penalty complies, 12.5 % does not.
    assert (
        check_contract(
            schedule("0.12", dt.date(2026, 1, 1), penalty_rate_multiplier=Decimal(0)),
            jurisdiction="cn",
            lender_type="private",
        )
        == ()
    )
    breaches = check_contract(
        schedule("0.125", dt.date(2026, 1, 1), penalty_rate_multiplier=Decimal(0)),
        jurisdiction="cn",
        lender_type="private",
    )
    assert ids(breaches) == ["cn2020-4x-lpr"]
    assert breaches[0].limit == Decimal("0.1200") and breaches[0].actual == Decimal("0.1250")
    assert "2020 amendment" in breaches[0].source


def test_contracts_before_2020_08_20_use_the_24_36_rule():
    day = dt.date(2019, 6, 1)
    assert rule_set_for("cn", "private", day).id == "cn-private-2015"
    assert ids(
        check_contract(
            schedule("0.30", day, penalty_rate_multiplier=Decimal(0)),
            jurisdiction="cn",
            lender_type="private",
        )
    ) == ["cn2015-unenforceable-above-24"]
    severities = {
        b.rule_id: b.severity
        for b in check_contract(
            schedule("0.40", day, penalty_rate_multiplier=Decimal(0)),
            jurisdiction="cn",
            lender_type="private",
        )
    }
    assert severities == {
        "cn2015-void-above-36": "void",
        "cn2015-unenforceable-above-24": "unenforceable",
    }


def test_penalty_interest_counts_against_the_cap():
    breaches = check_contract(
        schedule("0.10", dt.date(2026, 1, 1)), jurisdiction="cn", lender_type="private"
    )
    assert ids(breaches) == ["cn2020-penalty-within-4x-lpr"]  # 10 % x 1.5 = 15 % > 12 %
    assert breaches[0].actual == Decimal("0.1500")


def test_upfront_deduction_is_caught_and_priced_in():
    cut = schedule(
        "0.10",
        dt.date(2026, 1, 1),
        upfront_fee_rate=Decimal("0.05"),
        upfront_fee_deducted=True,
        penalty_rate_multiplier=Decimal(0),
    )
    breaches = {
        b.rule_id: b for b in check_contract(cut, jurisdiction="cn", lender_type="licensed")
    }
    assert set(breaches) == {"cn-no-upfront-deduction"}
    assert breaches["cn-no-upfront-deduction"].actual == Decimal(50_000)  # 500 yuan in fen
    assert breaches["cn-no-upfront-deduction"].source == "Civil Code art. 670"
    bigger = schedule(
        "0.20",
        dt.date(2026, 1, 1),
        upfront_fee_rate=Decimal("0.05"),
        upfront_fee_deducted=True,
        penalty_rate_multiplier=Decimal(0),
    )
    assert "cn-licensed-24-all-in" in ids(
        check_contract(bigger, jurisdiction="cn", lender_type="licensed")
    )  # 20 % nominal, ~30 % true


def test_us_disclosure_tolerance():
    s = schedule("0.0969", dt.date(2026, 1, 10))
    assert (
        check_contract(s, jurisdiction="us", lender_type="bank", disclosed_apr=Decimal("0.0975"))
        == ()
    )
    assert ids(
        check_contract(s, jurisdiction="us", lender_type="bank", disclosed_apr=Decimal("0.0990"))
    ) == ["us-apr-tolerance-regular"]
    assert check_contract(s, jurisdiction="us", lender_type="bank") == ()


def test_uk_high_cost_short_term_credit_caps():
    payday = CATALOGUE["payday"].model_copy(update={"late_fee_fen": 2000, "day_count": "ACT/365"})
    s = build_schedule(
        LoanTerms(payday, Money.of("100", "GBP"), Decimal("3.5"), 1, dt.date(2026, 1, 1))
    )
    rules = ids(check_contract(s, jurisdiction="uk", lender_type="hcstc"))
    assert rules == ["uk-hcstc-daily-0.8pct", "uk-hcstc-default-fee-15"]


def test_unknown_jurisdiction_names_what_exists():
    with pytest.raises(InvalidArgumentError, match="jurisdiction/lender_type"):
        check_contract(schedule("0.1", dt.date(2026, 1, 1)), jurisdiction="fr", lender_type="bank")
