"""Loan products as data: repayment method, day count, grace, rounding, fees and penalties.

A product is the lender's rule set; a contract (:class:`~fengkong.servicing.schedule.LoanTerms`)
applies it to one principal, rate, term and date. The shipped catalogue is
``servicing/data/products.yaml``; lenders keep their own and load it with :func:`load_products`.

>>> catalogue = load_products()
>>> catalogue["cash_loan"].method, catalogue["cash_loan"].day_count
('equal_instalment', '30/360')
>>> get_product(catalogue, "mortgage")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
fengkong.errors.InvalidArgumentError: product: expected one of [...], got 'mortgage'
"""

from __future__ import annotations

from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fengkong.errors import ConfigError, InvalidArgumentError, Problem
from fengkong.servicing.daycount import DayCount

__all__ = [
    "ALLOCATION_PAIRS",
    "IN_ADVANCE",
    "METHODS",
    "InAdvance",
    "Method",
    "Product",
    "ad_hoc_product",
    "get_product",
    "load_products",
]

Method = Literal[
    "equal_instalment", "equal_principal", "interest_only", "single_payment", "flat_fee"
]
METHODS: tuple[str, ...] = (
    "equal_instalment",
    "equal_principal",
    "interest_only",
    "single_payment",
    "flat_fee",
)

Rate = Annotated[Decimal, Field(ge=0, le=10)]
#: What a payment above what is due now does (early repayment, Civil Code art. 677: interest
#: for the actual period unless agreed otherwise): ``reduce_principal`` repays principal now
#: and re-amortises the future on the lower balance; ``hold_credit`` keeps the money for the
#: borrower and pays it at the next due date. Neither ever pays interest or fees not yet earned.
InAdvance = Literal["reduce_principal", "hold_credit"]
IN_ADVANCE: tuple[str, ...] = ("reduce_principal", "hold_credit")
#: The payment waterfall's slots: when a charge fell due x what it is.
ALLOCATION_PAIRS: tuple[str, ...] = tuple(
    f"{when}.{component}"
    for when in ("past_due", "due", "in_advance")
    for component in ("penalty", "fee", "interest", "principal")
)


class Product(BaseModel):
    """One loan product. Rates are annual fractions (``0.18`` = 18 % a year) unless named per period."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    method: Method
    day_count: DayCount = "30/360"
    min_term: Annotated[int, Field(ge=1, le=480)] = 1
    max_term: Annotated[int, Field(ge=1, le=480)] = 480
    principal_grace_periods: Annotated[int, Field(ge=0, le=120)] = 0
    instalment_multiple_fen: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    instalment_fee_rate: Annotated[Decimal, Field(ge=0, le=1)] = Decimal(0)
    upfront_fee_rate: Annotated[Decimal, Field(ge=0, le=1)] = Decimal(0)
    upfront_fee_deducted: bool = False
    late_fee_fen: Annotated[int, Field(ge=0)] = 0
    penalty_rate_multiplier: Annotated[Decimal, Field(ge=0, le=10)] = Decimal("1.5")
    grace_days: Annotated[int, Field(ge=0, le=365)] = 0
    allocation: tuple[str, ...] | None = None
    npa_allocation: tuple[str, ...] | None = None
    npa_dpd: Annotated[int, Field(ge=1, le=3650)] = 90
    in_advance: InAdvance = "reduce_principal"
    #: A reschedule capitalises unpaid penalties only when the product says so (they are
    #: otherwise kept owed, bearing no interest; the legal statement caps all charges anyway).
    capitalise_penalties: bool = False
    #: A re-age (reschedule or hardship plan) capitalises the interest and fees fallen due and
    #: unpaid (and the current period's interest earned to the day) only when the product says
    #: so; otherwise they stay owed, bearing no interest, due with the first full instalment.
    #: Interest not yet earned is never capitalised (Civil Code art. 677).
    capitalise_arrears: bool = False
    #: The re-ageing limits (``servicing/data/forbearance.yaml``): ``ffiec_2000`` or ``none``.
    reage_policy: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,40}$")] = "ffiec_2000"
    prepayment_fee_rate: Annotated[Decimal, Field(ge=0, le=Decimal("0.1"))] = Decimal(0)
    charges_cap_rate: Annotated[Decimal, Field(gt=0, le=10)] | None = None
    description: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Product:
        if self.min_term > self.max_term:
            raise ValueError("min_term must not exceed max_term")
        if self.method == "single_payment" and self.max_term != 1:
            raise ValueError("single_payment products have max_term 1")
        if self.principal_grace_periods and self.method in ("single_payment", "interest_only"):
            raise ValueError(f"principal_grace_periods does not apply to {self.method}")
        for name in ("allocation", "npa_allocation"):
            order = getattr(self, name)
            if order is not None and sorted(order) != sorted(ALLOCATION_PAIRS):
                raise ValueError(
                    f"{name} must list each of {len(ALLOCATION_PAIRS)} pairs once "
                    f"({', '.join(ALLOCATION_PAIRS)}), got {list(order)}"
                )
        for name in (
            "instalment_fee_rate",
            "upfront_fee_rate",
            "penalty_rate_multiplier",
            "prepayment_fee_rate",
            "charges_cap_rate",
        ):
            value: Decimal | None = getattr(self, name)
            if value is not None and value != value.quantize(Decimal("0.000001")):
                raise ValueError(f"{name} takes at most 6 decimal places, got {value}")
        # imported here: forbearance imports schedule, which imports this module
        from fengkong.servicing.forbearance import reage_policy  # noqa: PLC0415

        reage_policy(self.reage_policy)  # an unknown policy is refused, naming the field
        if self.prepayment_fee_rate and self.charges_cap_rate is None:
            raise ValueError(
                "prepayment_fee_rate needs charges_cap_rate (the all-in annual cap the agreed "
                "fee must stay within, e.g. 4 x the one-year LPR at formation), got none"
            )
        return self

    def check_term(self, term: int) -> None:
        """Raise :class:`InvalidArgumentError` unless ``term`` is allowed by this product."""
        if (
            isinstance(term, bool)
            or not isinstance(term, int)
            or not self.min_term <= term <= self.max_term
        ):
            raise InvalidArgumentError(
                "term",
                expected=f"an integer from {self.min_term} to {self.max_term} for {self.name}",
                got=term,
            )
        if term <= self.principal_grace_periods:
            raise InvalidArgumentError(
                "term",
                expected=f"more than the {self.principal_grace_periods} grace periods",
                got=term,
            )


def load_products(path: str | Path | None = None) -> dict[str, Product]:
    """Load a product catalogue (YAML mapping ``name -> fields``); every problem at once."""
    source = str(path) if path else "servicing/data/products.yaml"
    try:
        text = (
            Path(path).read_text("utf-8")
            if path
            else resources.files("fengkong.servicing")
            .joinpath("data/products.yaml")
            .read_text("utf-8")
        )
        data = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError([Problem(source, "", f"cannot read the catalogue: {exc}")]) from exc
    if not isinstance(data, dict) or not isinstance(data.get("products"), dict):
        raise ConfigError([Problem(source, "products", "expected a mapping of products")])
    products, problems = {}, []
    for name, fields in data["products"].items():
        try:
            products[name] = Product.model_validate({"name": name, **(fields or {})})
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in ("products", name, *err["loc"]))
                msg = (
                    "unknown key"
                    if err["type"] == "extra_forbidden"
                    else err["msg"].removeprefix("Value error, ")
                )
                problems.append(Problem(source, loc, msg))
    if problems:
        raise ConfigError(problems)
    return products


def get_product(catalogue: dict[str, Product], name: str) -> Product:
    """The product called ``name``, or a clear error naming the known ones."""
    try:
        return catalogue[name]
    except KeyError:
        raise InvalidArgumentError(
            "product", expected=f"one of {sorted(catalogue)}", got=name
        ) from None


def ad_hoc_product(
    method: str, *, instalment_fee_rate: Decimal = Decimal(0), field: str = "method"
) -> Product:
    """A product for a one-off quote: just a repayment method (``equal-instalment`` or
    ``equal_instalment``) and an optional monthly fee rate — what the loan calculator and
    ``fengkong loan quote`` use when no catalogue product is named.

    >>> ad_hoc_product("equal-instalment").method
    'equal_instalment'
    """
    name = method.replace("-", "_")
    if name not in METHODS:
        raise InvalidArgumentError(
            field, expected=f"one of {[m.replace('_', '-') for m in METHODS]}", got=method
        )
    return Product(
        name=method,
        method=name,
        max_term=1 if name == "single_payment" else 480,
        instalment_fee_rate=instalment_fee_rate,
    )
