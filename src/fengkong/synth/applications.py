"""Applications across the consortium, from regular persons and from planted fraud rings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fengkong.synth._draw import F64, I64, B, categorical, weighted_index
from fengkong.synth.params import SynthParams
from fengkong.synth.population import People, make_people

__all__ = ["Applications", "Rings", "plan_applications"]

RING_SHARED_TYPES = ("device", "bank_card", "emergency_phone", "mobile")
_SECONDS_PER_DAY = 86_400


@dataclass(frozen=True, slots=True)
class Rings:
    """Planted rings of a chunk: ring index per person (-1 outside rings) and shared types."""

    of_person: I64
    member_rank: I64  # rank of the person inside its ring (0-based), -1 outside rings
    shared: list[tuple[str, ...]]  # per ring


@dataclass(frozen=True, slots=True)
class Applications:
    """Column arrays of a chunk's applications, sorted by time."""

    person: I64  # local person index
    applied_at: np.ndarray  # datetime64[s]
    institution: I64
    channel: I64
    product: I64
    amount_fen: I64
    term: I64
    inquiries_3m: I64
    open_loans: I64
    past_delinquency: B
    is_fraud: B
    channel_labels: list[str]
    product_labels: list[str]


def _counts_for(rng: np.random.Generator, risk: F64, params: SynthParams) -> I64:
    pop = params.population
    lift = np.exp(pop.multi_lending_risk_elasticity * risk)
    lam = (pop.applications_per_person - 1.0) * lift / lift.mean()
    return np.asarray(1 + rng.poisson(lam), dtype=np.int64)


def _regular_people(
    rng: np.random.Generator, n_apps: int, params: SynthParams
) -> tuple[People, I64]:
    """Persons and their application counts, adding up to exactly ``n_apps``."""
    guess = int(n_apps / params.population.applications_per_person * 1.25) + 16
    while True:
        people = make_people(rng, guess, params)
        counts = _counts_for(rng, people.risk, params)
        cum = np.cumsum(counts)
        if cum[-1] >= n_apps:
            last = int(np.searchsorted(cum, n_apps))
            counts = counts[: last + 1].copy()
            counts[-1] -= int(cum[last]) - n_apps
            return people.take(np.arange(last + 1)), counts
        guess *= 2


def _rings(rng: np.random.Generator, target_apps: int, params: SynthParams) -> tuple[I64, I64, I64]:
    """Ring sizes, ring index per member and application count per member."""
    fraud = params.fraud
    sizes: list[int] = []
    member_counts: list[I64] = []
    total = 0
    while total < target_apps:
        size = int(rng.integers(fraud.ring_size_min, fraud.ring_size_max + 1))
        counts = (1 + rng.poisson(fraud.applications_per_member - 1.0, size)).astype(np.int64)
        sizes.append(size)
        member_counts.append(counts)
        total += int(counts.sum())
    if not sizes:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    size_arr = np.array(sizes, dtype=np.int64)
    return size_arr, np.repeat(np.arange(len(sizes)), size_arr), np.concatenate(member_counts)


def plan_applications(
    rng: np.random.Generator, n_apps: int, params: SynthParams
) -> tuple[People, Applications, Rings]:
    """Draw the persons and the ``n_apps`` applications of one chunk."""
    fraud, window_start = params.fraud, np.datetime64(params.start_date, "s")
    window_end = (np.datetime64(params.start_date, "M") + params.origination_months).astype(
        "datetime64[s]"
    )
    window = int((window_end - window_start) / np.timedelta64(1, "s"))

    ring_target = round(n_apps * fraud.ring_application_share)
    ring_sizes, ring_of_member, ring_counts = _rings(rng, ring_target, params)
    if ring_counts.sum() > n_apps // 2:  # a tiny book cannot hold a ring: keep it honest
        ring_sizes, ring_of_member, ring_counts = (np.zeros(0, dtype=np.int64),) * 3
    n_regular = n_apps - int(ring_counts.sum())
    regular, counts = _regular_people(rng, n_regular, params)
    members = make_people(rng, len(ring_of_member), params, households=False)
    # Fraudsters present average-looking files: their latent risk is not what drives their default.
    people = _concat(regular, members)
    n_people = len(people)

    person = np.repeat(np.arange(n_people, dtype=np.int64), np.concatenate([counts, ring_counts]))
    n = len(person)
    is_fraud = person >= len(regular)

    # Regular applications: first one uniform over the window, later ones follow in bursts.
    first = rng.integers(0, window, len(regular))
    offsets = np.zeros(n_regular, dtype=np.int64)
    gaps = rng.exponential(20 * _SECONDS_PER_DAY, n_regular).astype(np.int64)
    starts = np.cumsum(counts) - counts
    is_first = np.zeros(n_regular, dtype=bool)
    is_first[starts] = True
    gaps[is_first] = 0
    cum_gaps = np.cumsum(gaps)
    offsets = cum_gaps - np.repeat(cum_gaps[starts], counts)
    t = np.repeat(first, counts) + offsets
    t = np.where(t >= window, np.repeat(first, counts) - (t - window) % max(window, 1), t)
    t_regular = np.clip(t, 0, window - 1)

    # Ring applications: each ring applies within a short burst.
    burst = fraud.burst_days * _SECONDS_PER_DAY
    ring_start = rng.integers(0, max(window - burst, 1), len(ring_sizes))
    ring_of_app = np.repeat(ring_of_member, ring_counts)
    t_ring = (
        ring_start[ring_of_app] + rng.integers(0, burst, len(ring_of_app))
        if len(ring_of_app)
        else np.zeros(0, dtype=np.int64)
    )
    seconds = np.concatenate([t_regular, np.clip(t_ring, 0, window - 1)])

    inst_weights = 1.0 / np.arange(1, params.institutions.count + 1) ** 0.8
    institution = weighted_index(rng, inst_weights, n)
    if len(ring_sizes):  # a ring targets a few institutions
        ring_inst = weighted_index(rng, inst_weights, len(ring_sizes) * 3).reshape(-1, 3)
        pick = ring_inst[ring_of_app, rng.integers(0, 3, len(ring_of_app))]
        institution[is_fraud] = pick
    channel, channel_labels = categorical(rng, params.institutions.channels, n)

    products = params.products
    product, product_labels = categorical(rng, {k: v.share for k, v in products.items()}, n)
    amount_fen = np.zeros(n, dtype=np.int64)
    term = np.zeros(n, dtype=np.int64)
    income_ratio = people.income_fen[person] / (params.population.monthly_income_median_yuan * 100)
    for code, name in enumerate(product_labels):
        spec = products[name]
        mask = product == code
        k = int(mask.sum())
        if not k:
            continue
        median = (
            spec.amount_median_yuan * income_ratio[mask] ** 0.3 * np.where(is_fraud[mask], 1.8, 1.0)
        )
        amount = median * np.exp(rng.normal(0.0, spec.amount_sigma, k))
        amount = np.clip(amount, spec.amount_min_yuan, spec.amount_max_yuan)
        amount_fen[mask] = (np.round(amount / 100.0) * 10_000).astype(np.int64).clip(min=10_000)
        term_codes, term_labels = categorical(rng, {str(t): s for t, s in spec.terms.items()}, k)
        term[mask] = np.array([int(x) for x in term_labels])[term_codes]

    bureau = params.bureau
    risk = people.risk[person]
    inquiries = rng.poisson(
        bureau.inquiries_3m_mean
        * np.exp(bureau.inquiries_risk_elasticity * risk)
        / np.exp(0.5 * bureau.inquiries_risk_elasticity**2)
    )
    open_loans = rng.poisson(
        bureau.open_loans_mean
        * np.exp(bureau.open_loans_risk_elasticity * risk)
        / np.exp(0.5 * bureau.open_loans_risk_elasticity**2)
    )
    base = (
        np.log(bureau.past_delinquency_rate / (1 - bureau.past_delinquency_rate))
        if 0 < bureau.past_delinquency_rate < 1
        else -30.0
    )
    past = rng.random(n) < 1.0 / (
        1.0 + np.exp(-(base + bureau.past_delinquency_risk_coef * (risk - 0.5)))
    )
    # Thin, clean files: fraud rings use fresh identities.
    inquiries[is_fraud] = rng.poisson(0.8, int(is_fraud.sum()))
    open_loans[is_fraud] = rng.poisson(0.4, int(is_fraud.sum()))
    past[is_fraud] = False

    order = np.argsort(seconds, kind="stable")
    applied_at = window_start + seconds.astype("timedelta64[s]")
    apps = Applications(
        person=person[order],
        applied_at=applied_at[order],
        institution=institution[order],
        channel=channel[order],
        product=product[order],
        amount_fen=amount_fen[order],
        term=term[order],
        inquiries_3m=inquiries[order].astype(np.int64),
        open_loans=open_loans[order].astype(np.int64),
        past_delinquency=past[order],
        is_fraud=is_fraud[order],
        channel_labels=channel_labels,
        product_labels=product_labels,
    )
    of_person = np.full(n_people, -1, dtype=np.int64)
    of_person[len(regular) :] = ring_of_member
    rank = np.full(n_people, -1, dtype=np.int64)
    if len(ring_sizes):
        ring_first = np.cumsum(ring_sizes) - ring_sizes
        rank[len(regular) :] = np.arange(len(ring_of_member)) - ring_first[ring_of_member]
    shared = []
    for _ in range(len(ring_sizes)):
        extra = rng.choice(
            np.arange(1, len(RING_SHARED_TYPES)), size=int(rng.integers(1, 3)), replace=False
        )
        shared.append(tuple(RING_SHARED_TYPES[i] for i in sorted([0, *extra.tolist()])))
    return people, apps, Rings(of_person=of_person, member_rank=rank, shared=shared)


def _concat(a: People, b: People) -> People:
    if len(b) == 0:
        return a
    shift = int(a.household.max()) + 1 if len(a) else 0
    return People(
        household=np.concatenate(
            [a.household, np.where(b.household >= 0, b.household + shift, -1)]
        ),
        birth_date=np.concatenate([a.birth_date, b.birth_date]),
        gender=np.concatenate([a.gender, b.gender]),
        province=np.concatenate([a.province, b.province]),
        city=np.concatenate([a.city, b.city]),
        education=np.concatenate([a.education, b.education]),
        employment=np.concatenate([a.employment, b.employment]),
        employer=np.concatenate([a.employer, b.employer]),
        income_fen=np.concatenate([a.income_fen, b.income_fen]),
        housing=np.concatenate([a.housing, b.housing]),
        risk=np.concatenate([a.risk, b.risk]),
        labels=a.labels,
    )
