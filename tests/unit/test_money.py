from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fengkong.errors import InvalidArgumentError
from fengkong.money import Money, div_round_half_even, from_fen, to_decimal, to_fen


def test_of_rounds_half_even_by_default_and_honours_an_explicit_mode():
    assert Money.of("0.125").amount == Decimal("0.12")
    assert Money.of("0.135").amount == Decimal("0.14")
    assert Money.of("0.125", rounding=ROUND_HALF_UP).amount == Decimal("0.13")


def test_floats_are_refused_with_a_clear_error():
    with pytest.raises(InvalidArgumentError, match="never a float"):
        Money.of(0.1)
    with pytest.raises(InvalidArgumentError):
        to_decimal(True)


def test_plain_constructor_refuses_sub_fen_amounts():
    with pytest.raises(InvalidArgumentError, match=r"exact to 0\.01"):
        Money(Decimal("1.001"))


def test_currency_rules():
    assert Money.of("1234", "JPY").minor == 1234
    with pytest.raises(InvalidArgumentError, match="currency"):
        Money.of("1", "XXX")
    with pytest.raises(InvalidArgumentError, match="same currency"):
        Money.of("1") + Money.of("1", "USD")


def test_fen_round_trip_and_arithmetic():
    assert to_fen("6000.505") == 600050
    assert from_fen(600050) == Decimal("6000.50")
    total = Money.of("10.10") + Money.of("0.20") - Money.of("0.05")
    assert total == Money.of("10.25")
    assert Money.of("100").multiply("0.0333") == Money.of("3.33")
    assert str(Money.of("1234567.5")) == "CNY 1,234,567.50"


@given(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12).filter(
        lambda w: sum(w) > 0
    ),
)
def test_allocate_conserves_every_fen(units, weights):
    parts = Money.from_minor(units).allocate(weights)
    assert sum(p.minor for p in parts) == units
    assert all(
        abs(p.minor - units * w / sum(weights)) < 1 + 1e-9 * abs(units)
        for p, w in zip(parts, weights, strict=True)
    )


@given(
    st.integers(min_value=-(10**15), max_value=10**15), st.integers(min_value=1, max_value=10**6)
)
def test_div_round_half_even_matches_decimal(numerator, denominator):
    expected = int(
        (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    )
    assert div_round_half_even(numerator, denominator) == expected
    assert div_round_half_even(np.array([numerator]), denominator)[0] == expected


def test_div_round_half_even_refuses_non_positive_array_denominators():
    with pytest.raises(InvalidArgumentError):
        div_round_half_even(np.array([1]), np.array([0]))
