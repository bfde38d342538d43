"""Parameters of the synthetic lending book, validated with pydantic.

The defaults live in ``default_params.yaml`` beside this module (documented there and in
``docs/synthetic-book.md``). A user file may be partial: it is merged over the defaults, then
validated as a whole; unknown keys and out-of-range values come back together as one
:class:`~fengkong.errors.ConfigError`.

Examples
--------
>>> p = load_params()
>>> p.performance_months, round(sum(pr.share for pr in p.products.values()), 6)
(12, 1.0)
>>> load_params(overrides={"chunk_size": 0})
Traceback (most recent call last):
...
fengkong.errors.ConfigError: 1 problem:
  - <overrides>: chunk_size: Input should be greater than 0
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fengkong.errors import ConfigError, Problem

__all__ = ["SynthParams", "default_params_text", "load_params"]

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Prob = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
Shares = dict[str, Share]

Method = Literal[
    "equal_instalment", "equal_principal", "flat_fee", "single_payment", "interest_only"
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_shares(shares: dict[Any, float], what: str) -> None:
    if not shares:
        raise ValueError(f"{what}: expected at least one entry")
    total = sum(shares.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{what}: shares must add up to 1, got {total:.6g}")


class AgeParams(_Strict):
    mean: Annotated[float, Field(ge=18, le=80)]
    sd: PositiveFloat
    min: Annotated[int, Field(ge=18, le=100)]
    max: Annotated[int, Field(ge=18, le=100)]

    @model_validator(mode="after")
    def _ordered(self) -> AgeParams:
        if not self.min < self.max:
            raise ValueError(f"min must be below max, got min={self.min}, max={self.max}")
        return self


class Province(_Strict):
    share: Share
    cities: Annotated[list[str], Field(min_length=1)]


class PopulationParams(_Strict):
    applications_per_person: Annotated[float, Field(ge=1.0, le=20.0)]
    multi_lending_risk_elasticity: Annotated[float, Field(ge=0.0, le=2.0)]
    household_size_mean: Annotated[float, Field(ge=1.0, le=8.0)]
    age: AgeParams
    gender: Shares
    education: Shares
    employment: Shares
    housing: Shares
    monthly_income_median_yuan: PositiveFloat
    monthly_income_sigma: Annotated[float, Field(gt=0.0, le=3.0)]
    employers: Annotated[int, Field(ge=1)]
    employer_zipf: Annotated[float, Field(gt=1.0, le=4.0)]
    provinces: dict[str, Province]

    @model_validator(mode="after")
    def _shares(self) -> PopulationParams:
        for name in ("gender", "education", "employment", "housing"):
            _check_shares(getattr(self, name), name)
        _check_shares({k: v.share for k, v in self.provinces.items()}, "provinces")
        return self


class IdentifierParams(_Strict):
    carrier_ips: Annotated[int, Field(ge=1)]
    carrier_ip_share: Share
    office_ip_share: Share
    extra_device_prob: Prob
    extra_card_prob: Prob
    emergency_contacts: Annotated[int, Field(ge=0, le=5)]
    emergency_contact_family_share: Share
    family_device_share: Share = 0.0
    family_landline_share: Share = 0.0
    couple_card_share: Share = 0.0
    second_hand_phone_share: Share = 0.0

    @model_validator(mode="after")
    def _ip_shares(self) -> IdentifierParams:
        if self.carrier_ip_share + self.office_ip_share > 1.0:
            raise ValueError("carrier_ip_share + office_ip_share must not exceed 1")
        return self


class InstitutionParams(_Strict):
    count: Annotated[int, Field(ge=1, le=10_000)]
    channels: Shares

    @field_validator("channels")
    @classmethod
    def _channels(cls, v: dict[str, float]) -> dict[str, float]:
        _check_shares(v, "channels")
        return v


class ProductParams(_Strict):
    method: Method
    share: Share
    terms: dict[Annotated[int, Field(ge=1, le=360)], Share]
    amount_median_yuan: PositiveFloat
    amount_sigma: Annotated[float, Field(gt=0.0, le=3.0)]
    amount_min_yuan: PositiveFloat
    amount_max_yuan: PositiveFloat
    rate_min: Annotated[float, Field(ge=0.0, le=10.0)]
    rate_max: Annotated[float, Field(ge=0.0, le=10.0)]

    @model_validator(mode="after")
    def _consistent(self) -> ProductParams:
        _check_shares(self.terms, "terms")
        if self.amount_min_yuan > self.amount_max_yuan:
            raise ValueError("amount_min_yuan must not exceed amount_max_yuan")
        if self.rate_min > self.rate_max:
            raise ValueError("rate_min must not exceed rate_max")
        if self.method == "single_payment" and set(self.terms) != {1}:
            raise ValueError("single_payment products have one term: {1: 1.0}")
        return self


class BureauParams(_Strict):
    inquiries_3m_mean: Annotated[float, Field(ge=0.0, le=100.0)]
    inquiries_risk_elasticity: Annotated[float, Field(ge=0.0, le=3.0)]
    open_loans_mean: Annotated[float, Field(ge=0.0, le=100.0)]
    open_loans_risk_elasticity: Annotated[float, Field(ge=0.0, le=3.0)]
    past_delinquency_rate: Prob
    past_delinquency_risk_coef: Annotated[float, Field(ge=0.0, le=5.0)]


class RiskParams(_Strict):
    noise_sd: Annotated[float, Field(ge=0.0, le=5.0)]
    age_per_year_under_30: float
    log_income_coef: float
    education: dict[str, float]
    employment: dict[str, float]
    housing: dict[str, float]


class MacroShock(_Strict):
    start_month: Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] | None = None
    months: Annotated[int, Field(ge=1, le=120)] = 6
    multiplier: Annotated[float, Field(gt=0.0, le=20.0)] = 1.6


class PerformanceParams(_Strict):
    default_logit: Annotated[float, Field(ge=-20.0, le=10.0)]
    default_risk_coef: Annotated[float, Field(ge=0.0, le=10.0)]
    default_debt_to_income_coef: Annotated[float, Field(ge=0.0, le=10.0)]
    person_default_correlation: Annotated[float, Field(ge=0.0, lt=1.0)]
    default_mob_weights: Annotated[list[Annotated[float, Field(ge=0.0)]], Field(min_length=1)]
    miss_prob: Prob
    miss_risk_coef: Annotated[float, Field(ge=0.0, le=5.0)]
    partial_prob: Prob
    prepay_prob: Prob
    defaulter_partial_prob: Prob
    defaulter_cure_prob: Prob
    writeoff_dpd: Annotated[int, Field(ge=31, le=3650)]
    recovery_prob: Prob
    recovery_share: Annotated[float, Field(gt=0.0, le=1.0)]
    macro_shock: MacroShock

    @field_validator("default_mob_weights")
    @classmethod
    def _positive_total(cls, v: list[float]) -> list[float]:
        if sum(v) <= 0:
            raise ValueError("default_mob_weights must have a positive sum")
        return v


class FraudParams(_Strict):
    ring_application_share: Annotated[float, Field(ge=0.0, le=0.5)]
    ring_size_min: Annotated[int, Field(ge=2, le=10_000)]
    ring_size_max: Annotated[int, Field(ge=2, le=10_000)]
    burst_days: Annotated[int, Field(ge=1, le=365)]
    applications_per_member: Annotated[float, Field(ge=1.0, le=20.0)]
    first_payment_default_prob: Prob

    @model_validator(mode="after")
    def _sizes(self) -> FraudParams:
        if self.ring_size_min > self.ring_size_max:
            raise ValueError("ring_size_min must not exceed ring_size_max")
        return self


class BaselinePolicyParams(_Strict):
    max_inquiries_3m: Annotated[int, Field(ge=0)]
    decline_past_delinquency: bool
    max_instalment_to_income: Annotated[float, Field(gt=0.0, le=10.0)]
    score_cutoff: Annotated[float, Field(ge=0.0, le=1000.0)]
    exposure_noise_sd: Annotated[float, Field(ge=0.0, le=5.0)]


class ChannelParams(_Strict):
    stage_min_dpd: Annotated[int, Field(ge=1)]
    stage_max_dpd: Annotated[int, Field(ge=1)]
    contact: Prob
    right_party: Prob

    @model_validator(mode="after")
    def _stage(self) -> ChannelParams:
        if self.stage_min_dpd > self.stage_max_dpd:
            raise ValueError("stage_min_dpd must not exceed stage_max_dpd")
        return self


class CollectionParams(_Strict):
    channels: Annotated[dict[str, ChannelParams], Field(min_length=1)]
    promise_if_paying: Prob
    promise_if_not_paying: Prob


class SynthParams(_Strict):
    """Every parameter of the synthetic book; see ``default_params.yaml`` for meanings."""

    schema_version: Literal[1]
    currency: Literal["CNY"]
    start_date: dt.date
    origination_months: Annotated[int, Field(ge=1, le=120)]
    performance_months: Annotated[int, Field(ge=1, le=120)]
    chunk_size: Annotated[int, Field(gt=0, le=5_000_000)]
    population: PopulationParams
    identifiers: IdentifierParams
    institutions: InstitutionParams
    products: Annotated[dict[str, ProductParams], Field(min_length=1)]
    bureau: BureauParams
    risk: RiskParams
    performance: PerformanceParams
    fraud: FraudParams
    baseline_policy: BaselinePolicyParams
    collections: CollectionParams

    @field_validator("products")
    @classmethod
    def _product_shares(cls, v: dict[str, ProductParams]) -> dict[str, ProductParams]:
        _check_shares({k: p.share for k, p in v.items()}, "products")
        return v

    @model_validator(mode="after")
    def _cross_checks(self) -> SynthParams:
        pop = self.population
        for field in ("education", "employment", "housing"):
            missing = set(getattr(pop, field)) - set(getattr(self.risk, field))
            if missing:
                raise ValueError(f"risk.{field} has no effect for {sorted(missing)}")
        return self


def default_params_text() -> str:
    """The text of the shipped default parameter file."""
    return resources.files("fengkong.synth").joinpath("default_params.yaml").read_text("utf-8")


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _problems(exc: ValidationError, file: str) -> list[Problem]:
    problems = []
    for err in exc.errors():
        path = ".".join(str(part) for part in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        problems.append(Problem(file=file, path=path, message=message))
    return problems


def load_params(
    path: str | Path | None = None, *, overrides: dict[str, Any] | None = None
) -> SynthParams:
    """Load parameters: the defaults, then the file at ``path``, then ``overrides``.

    Raises :class:`~fengkong.errors.ConfigError` listing every problem (file, dotted path,
    message) when the file cannot be read, is not a mapping, or does not validate.
    """
    data: dict[str, Any] = yaml.safe_load(default_params_text())
    source = "<defaults>"
    if path is not None:
        source = str(path)
        try:
            loaded = yaml.safe_load(Path(path).read_text("utf-8"))
        except OSError as exc:
            raise ConfigError(
                [Problem(source, "", f"cannot read the file: {exc.strerror}")]
            ) from exc
        except yaml.YAMLError as exc:
            raise ConfigError([Problem(source, "", f"not valid YAML: {exc}")]) from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError([Problem(source, "", "expected a mapping of parameters at the top")])
        data = _merge(data, loaded or {})
    if overrides:
        source = "<overrides>" if path is None else source
        data = _merge(data, overrides)
    try:
        return SynthParams.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_problems(exc, source)) from None
