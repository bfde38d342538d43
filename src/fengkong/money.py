"""Exact money: ``Decimal`` in the core, integer minor units (fen) at rest, never float.

One constructor, :meth:`Money.of`, turns user input into money with an explicit rounding mode
(HALF_EVEN, banker's rounding, by default). Arithmetic between amounts is exact; anything that
can create fractions of a fen (multiplying by a rate, splitting) rounds through the same mode,
and :meth:`Money.allocate` splits an amount so that the parts always add up to the whole.

Vectorised engines keep money as integer fen in NumPy/Polars columns; :func:`div_round_half_even`
is their one rounding primitive, and it works on Python ints and NumPy integer arrays alike.

Examples
--------
>>> from fengkong.money import Money
>>> price = Money.of("10000")
>>> price.multiply("0.0075")
Money(amount=Decimal('75.00'), currency='CNY')
>>> [str(part) for part in Money.of("100").allocate([1, 1, 1])]
['CNY 33.34', 'CNY 33.33', 'CNY 33.33']
>>> Money.of("12.345").fen
1234
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from fengkong.errors import InvalidArgumentError

__all__ = [
    "CURRENCY_EXPONENTS",
    "DEFAULT_ROUNDING",
    "Money",
    "div_round_half_even",
    "from_fen",
    "mul_div_round_half_even",
    "to_decimal",
    "to_fen",
]

DEFAULT_ROUNDING = ROUND_HALF_EVEN

#: Minor-unit exponents (ISO 4217) of the currencies fengkong knows.
CURRENCY_EXPONENTS: dict[str, int] = {
    "CNY": 2,
    "HKD": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "JPY": 0,
}

Number = Decimal | int | str


def to_decimal(value: Any, *, field: str = "amount") -> Decimal:
    """Convert ``value`` to ``Decimal``, refusing floats and booleans.

    >>> to_decimal("1.10")
    Decimal('1.10')
    >>> to_decimal(1.1)
    Traceback (most recent call last):
    ...
    fengkong.errors.InvalidArgumentError: amount: expected a Decimal, int or numeric string (never a float), got 1.1
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int) and not isinstance(value, bool):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip().replace(",", "").replace("_", ""))
        except InvalidOperation:
            raise InvalidArgumentError(
                field, expected="a Decimal, int or numeric string (never a float)", got=value
            ) from None
    else:
        raise InvalidArgumentError(
            field, expected="a Decimal, int or numeric string (never a float)", got=value
        )
    if not result.is_finite():
        raise InvalidArgumentError(field, expected="a finite number", got=value)
    return result


def _exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise InvalidArgumentError(
            "currency", expected=f"one of {sorted(CURRENCY_EXPONENTS)}", got=currency
        ) from None


_QUANTA: dict[str, Decimal] = {}


def _quantum(currency: str) -> Decimal:
    found = _QUANTA.get(currency)
    if found is None:
        found = _QUANTA[currency] = Decimal(1).scaleb(-_exponent(currency))
    return found


def _exact(amount: Decimal, currency: str) -> Money:
    """Money from an amount already exact to the minor unit and normalised (the sum or
    difference of two such amounts, a whole number of minor units scaled): no checks."""
    money = object.__new__(Money)
    object.__setattr__(money, "amount", amount)
    object.__setattr__(money, "currency", currency)
    return money


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one currency, always at the currency's minor unit.

    Build it with :meth:`Money.of` (rounds with an explicit mode) or :meth:`Money.from_minor`;
    the plain constructor only accepts an amount that is already exact to the minor unit.
    """

    amount: Decimal
    currency: str = "CNY"

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise InvalidArgumentError("amount", expected="a Decimal", got=self.amount)
        quantum = _quantum(self.currency)
        exact = self.amount.quantize(quantum)
        if self.amount != exact:
            raise InvalidArgumentError(
                "amount",
                expected=f"an amount exact to {quantum} {self.currency} (use Money.of to round)",
                got=self.amount,
            )
        # Normalise the exponent so that equal amounts print alike.
        object.__setattr__(self, "amount", exact)

    @classmethod
    def of(cls, value: Any, currency: str = "CNY", *, rounding: str = DEFAULT_ROUNDING) -> Money:
        """Round ``value`` to the currency's minor unit with ``rounding`` (HALF_EVEN by default).

        >>> Money.of("0.125")
        Money(amount=Decimal('0.12'), currency='CNY')
        >>> from decimal import ROUND_HALF_UP
        >>> Money.of("0.125", rounding=ROUND_HALF_UP)
        Money(amount=Decimal('0.13'), currency='CNY')
        """
        return cls(to_decimal(value).quantize(_quantum(currency), rounding=rounding), currency)

    @classmethod
    def from_minor(cls, units: int, currency: str = "CNY") -> Money:
        """Money from integer minor units (fen for CNY).

        >>> Money.from_minor(123456)
        Money(amount=Decimal('1234.56'), currency='CNY')
        """
        if not isinstance(units, int | np.integer) or isinstance(units, bool):
            raise InvalidArgumentError(
                "units", expected="an integer number of minor units", got=units
            )
        exponent = _exponent(currency)
        if cls is not Money:
            return cls(Decimal(int(units)).scaleb(-exponent), currency)
        return _exact(Decimal(int(units)).scaleb(-exponent).quantize(_quantum(currency)), currency)

    @classmethod
    def zero(cls, currency: str = "CNY") -> Money:
        """The zero amount in ``currency``."""
        return cls.from_minor(0, currency)

    @property
    def minor(self) -> int:
        """The amount in integer minor units."""
        return int(self.amount.scaleb(_exponent(self.currency)))

    @property
    def fen(self) -> int:
        """Alias of :attr:`minor` for CNY users."""
        return self.minor

    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"expected Money, got {type(other).__name__}")
        if other.currency != self.currency:
            raise InvalidArgumentError(
                "currency", expected=f"{self.currency} (same currency)", got=other.currency
            )
        return other

    def __add__(self, other: Money) -> Money:
        return _exact(self.amount + self._same(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return _exact(self.amount - self._same(other).amount, self.currency)

    def __neg__(self) -> Money:
        return _exact(-self.amount, self.currency)

    def __abs__(self) -> Money:
        return _exact(abs(self.amount), self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other).amount

    def __bool__(self) -> bool:
        return bool(self.amount)

    def multiply(self, factor: Number, *, rounding: str = DEFAULT_ROUNDING) -> Money:
        """Multiply by an exact factor (a rate, a count) and round to the minor unit."""
        product = self.amount * to_decimal(factor, field="factor")
        return Money(product.quantize(_quantum(self.currency), rounding=rounding), self.currency)

    def allocate(self, weights: Sequence[Number]) -> tuple[Money, ...]:
        """Split into parts proportional to ``weights`` that add up exactly to this amount.

        Each part gets the floor of its share in minor units; the leftover units go one by one
        to the parts with the largest remainders (ties: the earlier part).

        >>> [p.fen for p in Money.from_minor(1000).allocate([1, 2])]
        [333, 667]
        """
        ws = [to_decimal(w, field="weights") for w in weights]
        if not ws or any(w < 0 for w in ws) or sum(ws) == 0:
            raise InvalidArgumentError(
                "weights", expected="non-negative numbers with a positive sum", got=list(weights)
            )
        total = sum(ws)
        units = self.minor
        sign = -1 if units < 0 else 1
        units = abs(units)
        shares = [Decimal(units) * w / total for w in ws]
        floors = [int(s) for s in shares]
        leftover = units - sum(floors)
        order = sorted(range(len(ws)), key=lambda i: (-(shares[i] - floors[i]), i))
        for i in order[:leftover]:
            floors[i] += 1
        return tuple(Money.from_minor(sign * f, self.currency) for f in floors)

    def __str__(self) -> str:
        return f"{self.currency} {self.amount:,}"


def to_fen(value: Any, *, rounding: str = DEFAULT_ROUNDING) -> int:
    """Yuan (Decimal, int or string; never float) to integer fen, rounding HALF_EVEN.

    >>> to_fen("6000")
    600000
    """
    return Money.of(value, "CNY", rounding=rounding).fen


def from_fen(fen: int) -> Decimal:
    """Integer fen to yuan as ``Decimal``.

    >>> from_fen(600050)
    Decimal('6000.50')
    """
    return Money.from_minor(fen, "CNY").amount


IntArray = npt.NDArray[np.int64]


@overload
def div_round_half_even(numerator: int, denominator: int) -> int: ...
@overload
def div_round_half_even(numerator: IntArray, denominator: int | IntArray) -> IntArray: ...
def div_round_half_even(numerator: Any, denominator: Any) -> Any:
    """Integer division rounded half to even, for ints or NumPy integer arrays.

    The vectorised engines' one rounding primitive for money kept in fen: ``interest =
    div_round_half_even(balance_fen * rate_bp, 12 * 10_000)`` is exact, with no float.

    >>> div_round_half_even(5, 2), div_round_half_even(7, 2), div_round_half_even(-5, 2)
    (2, 4, -2)
    >>> import numpy as np
    >>> div_round_half_even(np.array([1, 3, 5, 6]), 4).tolist()
    [0, 1, 1, 2]
    """
    if isinstance(numerator, int) and isinstance(denominator, int):
        if denominator == 0:
            raise ZeroDivisionError("div_round_half_even: denominator is zero")
        q, r = divmod(numerator, denominator)
        twice = 2 * r
        if denominator < 0:
            twice, denominator = -twice, -denominator
        if twice > denominator or (twice == denominator and q % 2 == 1):
            q += 1
        return q
    num = np.asarray(numerator, dtype=np.int64)
    den = np.asarray(denominator, dtype=np.int64)
    if np.any(den <= 0):
        raise InvalidArgumentError(
            "denominator", expected="positive integers", got="a non-positive value"
        )
    quotient, remainder = np.divmod(num, den)
    doubled = 2 * remainder
    bump = (doubled > den) | ((doubled == den) & (quotient % 2 == 1))
    return quotient + bump.astype(np.int64)


_INT64_SAFE = 9_000_000_000_000_000_000


def mul_div_round_half_even(
    a: IntArray, b: IntArray, c: IntArray, denominator: IntArray | int
) -> IntArray:
    """``round_half_even(a * b * c / denominator)`` element-wise, exact.

    Uses int64 when the product cannot overflow, else exact Python integers.

    >>> import numpy as np
    >>> mul_div_round_half_even(np.array([10**9]), np.array([10**7]), np.array([1_500_000]), 365 * 10**12).tolist()
    [41095890]
    """
    bound = (
        int(np.abs(a).max(initial=0))
        * int(np.abs(b).max(initial=0))
        * int(np.abs(c).max(initial=0))
    )
    if bound < _INT64_SAFE:
        return div_round_half_even(np.asarray(a, dtype=np.int64) * b * c, denominator)
    num = np.asarray(a).astype(object) * np.asarray(b).astype(object) * np.asarray(c).astype(object)
    den = np.broadcast_to(np.asarray(denominator), num.shape).astype(object)
    q, r = num // den, num % den
    bump = (2 * r > den) | ((2 * r == den) & (q % 2 == 1))
    return np.asarray(q + bump, dtype=np.int64)
