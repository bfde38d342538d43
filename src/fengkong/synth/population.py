"""Synthetic persons: households, demographics, income, employer and the latent risk."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fengkong.synth._draw import F64, I64, Dates, categorical, truncated_normal
from fengkong.synth.params import SynthParams

__all__ = ["People", "make_people"]

_EDU_INCOME = {
    "junior_high": -0.25,
    "high_school": -0.12,
    "college": 0.0,
    "bachelor": 0.18,
    "postgraduate": 0.4,
}
_JOB_INCOME = {
    "salaried": 0.0,
    "self_employed": 0.1,
    "gig_worker": -0.15,
    "student": -0.9,
    "unemployed": -0.7,
}


@dataclass(frozen=True, slots=True)
class People:
    """Column arrays of a block of persons (codes index into the label lists)."""

    household: I64  # local household index, -1 for people living alone outside a household
    birth_date: Dates
    gender: I64
    province: I64
    city: I64  # index into the flat city list
    education: I64
    employment: I64
    employer: I64  # global employer index, -1 when none
    income_fen: I64
    housing: I64
    risk: F64
    labels: dict[str, list[str]]

    def __len__(self) -> int:
        return len(self.risk)

    def take(self, idx: I64) -> People:
        """The persons at ``idx``, in that order."""
        return People(
            household=self.household[idx],
            birth_date=self.birth_date[idx],
            gender=self.gender[idx],
            province=self.province[idx],
            city=self.city[idx],
            education=self.education[idx],
            employment=self.employment[idx],
            employer=self.employer[idx],
            income_fen=self.income_fen[idx],
            housing=self.housing[idx],
            risk=self.risk[idx],
            labels=self.labels,
        )


def _households(rng: np.random.Generator, n: int, mean_size: float) -> I64:
    sizes = 1 + rng.poisson(max(mean_size - 1.0, 0.0), n)  # at most n households
    return np.repeat(np.arange(n, dtype=np.int64), sizes)[:n]


def make_people(
    rng: np.random.Generator, n: int, params: SynthParams, *, households: bool = True
) -> People:
    """Draw ``n`` persons; household members share a province and city.

    The latent risk adds the attribute effects of ``params.risk`` to idiosyncratic noise, so
    the attributes carry real but partial information about default.
    """
    pop, risk = params.population, params.risk
    household = (
        _households(rng, n, pop.household_size_mean) if households else np.arange(n, dtype=np.int64)
    )
    n_households = int(household[-1]) + 1 if n else 0

    provinces = list(pop.provinces)
    province_codes, _ = categorical(
        rng, {k: v.share for k, v in pop.provinces.items()}, n_households
    )
    city_labels: list[str] = []
    city_start = []
    for name in provinces:
        city_start.append(len(city_labels))
        city_labels.extend(pop.provinces[name].cities)
    city_count = np.array([len(pop.provinces[p].cities) for p in provinces])
    city_codes = np.array(city_start)[province_codes] + (
        rng.random(n_households) * city_count[province_codes]
    ).astype(np.int64)

    # A household's first member anchors the ages; partners are close in age.
    age = truncated_normal(rng, pop.age.mean, pop.age.sd, pop.age.min, pop.age.max + 0.999, n)
    age_days = (age * 365.25).astype(np.int64)
    reference = np.datetime64(params.start_date, "D")
    birth = reference - age_days + rng.integers(0, 365, n)

    gender, gender_labels = categorical(rng, pop.gender, n)
    education, edu_labels = categorical(rng, pop.education, n)
    employment, job_labels = categorical(rng, pop.employment, n)
    housing, housing_labels = categorical(rng, pop.housing, n)

    edu_income = np.array([_EDU_INCOME.get(k, 0.0) for k in edu_labels])[education]
    job_income = np.array([_JOB_INCOME.get(k, 0.0) for k in job_labels])[employment]
    log_income = np.log(pop.monthly_income_median_yuan) + edu_income + job_income
    income_yuan = np.exp(log_income + rng.normal(0.0, pop.monthly_income_sigma, n))
    income_fen = (np.round(income_yuan / 100.0) * 10_000).astype(np.int64).clip(min=50_000)

    employed = np.isin(employment, [job_labels.index(k) for k in ("salaried",) if k in job_labels])
    employer = np.full(n, -1, dtype=np.int64)
    zipf = rng.zipf(pop.employer_zipf, int(employed.sum())) - 1
    employer[employed] = zipf % pop.employers

    effect = (
        risk.age_per_year_under_30 * np.clip(30.0 - age, 0.0, None)
        + risk.log_income_coef * (np.log(income_yuan) - np.log(pop.monthly_income_median_yuan))
        + np.array([risk.education[k] for k in edu_labels])[education]
        + np.array([risk.employment[k] for k in job_labels])[employment]
        + np.array([risk.housing[k] for k in housing_labels])[housing]
    )
    latent = effect + rng.normal(0.0, risk.noise_sd, n)

    return People(
        household=household if households else np.full(n, -1, dtype=np.int64),
        birth_date=birth,
        gender=gender,
        province=province_codes[household],
        city=city_codes[household],
        education=education,
        employment=employment,
        employer=employer,
        income_fen=income_fen,
        housing=housing,
        risk=latent,
        labels={
            "gender": gender_labels,
            "province": provinces,
            "city": city_labels,
            "education": edu_labels,
            "employment": job_labels,
            "housing": housing_labels,
        },
    )
