"""Contract terms for every application: baseline score, price, schedule and decision.

Schedules are computed in integer fen: interest is ``balance x annual rate / 12`` rounded half
to even per month (:func:`fengkong.money.div_round_half_even`); the equal-instalment amount
is the principal times an annuity factor derived exactly in ``Decimal`` for each (rate, term)
pair, rounded to the fen; the last instalment absorbs every residue, so principal parts
always add up to the principal. The servicing engine owns the full product rules (day counts,
odd first periods, fees); this is the book's simplified monthly schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

import numpy as np

from fengkong.money import div_round_half_even
from fengkong.synth._draw import I64, B, Dates, add_months
from fengkong.synth.applications import Applications
from fengkong.synth.params import SynthParams
from fengkong.synth.population import People

__all__ = ["Contracts", "annuity_factor_scaled", "make_contracts"]

METHODS = ("equal_instalment", "equal_principal", "flat_fee", "single_payment", "interest_only")
_FACTOR_SCALE = 10**10
PDO = 50.0
REASONS = ("R01_INQUIRIES", "R02_PAST_DELINQUENCY", "R03_AFFORDABILITY", "R04_SCORE")


@dataclass(frozen=True, slots=True)
class Contracts:
    """Terms and schedules of every application of a chunk (as if booked)."""

    method: I64  # index into METHODS
    rate_bp: I64
    score: I64
    approved: B
    reason: I64  # index into REASONS, -1 when approved
    disbursed: Dates
    due_day: I64
    # Long schedule: one entry per (application, instalment).
    s_app: I64
    s_k: I64
    s_principal: I64
    s_interest: I64
    s_fee: I64
    total_due: I64


def annuity_factor_scaled(rate_bp: int, term: int) -> int:
    """``r / (1 - (1 + r)^-n)`` with ``r = rate_bp / 120000``, times 1e10, HALF_EVEN.

    >>> annuity_factor_scaled(1200, 12)  # 12 % a year over 12 months
    888487887
    >>> annuity_factor_scaled(0, 4)
    2500000000
    """
    with localcontext() as ctx:
        ctx.prec = 40
        if rate_bp == 0:
            factor = Decimal(1) / term
        else:
            r = Decimal(rate_bp) / Decimal(120_000)
            factor = r / (1 - (1 + r) ** -term)
        return int((factor * _FACTOR_SCALE).to_integral_value())


def _instalment(principal: I64, rate_bp: I64, term: I64) -> I64:
    out = np.zeros(len(principal), dtype=np.int64)
    pairs = np.stack([rate_bp, term], axis=1)
    unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
    factors = np.array([annuity_factor_scaled(int(r), int(n)) for r, n in unique], dtype=np.int64)
    if len(principal):
        out = div_round_half_even(principal * factors[inverse.ravel()], _FACTOR_SCALE)
    return out


def _schedule(
    method: I64, principal: I64, term: I64, rate_bp: I64
) -> tuple[I64, I64, I64, I64, I64, I64]:
    """Instalments of every contract, long format: (app, k, principal, interest, fee, total)."""
    n = len(principal)
    annuity = method == METHODS.index("equal_instalment")
    flat = method == METHODS.index("flat_fee")
    bullet = (method == METHODS.index("interest_only")) | (
        method == METHODS.index("single_payment")
    )
    level = (method == METHODS.index("equal_principal")) | flat
    emi = np.zeros(n, dtype=np.int64)
    emi[annuity] = _instalment(principal[annuity], rate_bp[annuity], term[annuity])
    base = principal // np.maximum(term, 1)
    fee = np.where(flat, div_round_half_even(principal * rate_bp, 10_000), 0)
    balance = principal.copy()
    parts: list[tuple[I64, ...]] = []
    for k in range(1, int(term.max(initial=0)) + 1):
        idx = np.flatnonzero(term >= k)
        bal = balance[idx]
        last = term[idx] == k
        interest = np.where(flat[idx], 0, div_round_half_even(bal * rate_bp[idx], 120_000))
        regular = np.where(
            annuity[idx], np.minimum(emi[idx] - interest, bal), np.where(level[idx], base[idx], 0)
        )
        regular = np.where(bullet[idx], 0, regular)
        paid = np.where(last, bal, np.clip(regular, 0, bal))
        balance[idx] = bal - paid
        parts.append((idx, np.full(len(idx), k, dtype=np.int64), paid, interest, fee[idx]))
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty, empty, np.zeros(n, dtype=np.int64)
    app, k_arr, p_arr, i_arr, f_arr = (np.concatenate(col) for col in zip(*parts, strict=True))
    order = np.lexsort((k_arr, app))
    app, k_arr, p_arr, i_arr, f_arr = (
        app[order],
        k_arr[order],
        p_arr[order],
        i_arr[order],
        f_arr[order],
    )
    total = np.zeros(n, dtype=np.int64)
    np.add.at(total, app, p_arr + i_arr + f_arr)
    return app, k_arr, p_arr, i_arr, f_arr, total


def make_contracts(
    rng: np.random.Generator, params: SynthParams, people: People, apps: Applications
) -> Contracts:
    """Score, price, schedule and decide every application of a chunk."""
    policy = params.baseline_policy
    n = len(apps.person)
    risk = people.risk[apps.person]
    z_hat = risk + rng.normal(0.0, policy.exposure_noise_sd, n)
    score = np.round(600.0 - PDO / np.log(2.0) * z_hat).astype(np.int64)

    method = np.zeros(n, dtype=np.int64)
    rate_bp = np.zeros(n, dtype=np.int64)
    frac = np.clip((700.0 - score) / max(700.0 - policy.score_cutoff, 1.0), 0.0, 1.0)
    for code, name in enumerate(apps.product_labels):
        spec = params.products[name]
        mask = apps.product == code
        method[mask] = METHODS.index(spec.method)
        rate = spec.rate_min + frac[mask] * (spec.rate_max - spec.rate_min)
        step = 1 if spec.method == "flat_fee" else 10
        rate_bp[mask] = (np.round(rate * 10_000 / step) * step).astype(np.int64)

    s_app, s_k, s_p, s_i, s_f, total = _schedule(method, apps.amount_fen, apps.term, rate_bp)
    first_due = np.zeros(n, dtype=np.int64)
    first = s_k == 1
    first_due[s_app[first]] = (s_p + s_i + s_f)[first]

    income = people.income_fen[apps.person]
    reason = np.full(n, -1, dtype=np.int64)
    rules = [
        apps.inquiries_3m > policy.max_inquiries_3m,
        apps.past_delinquency & policy.decline_past_delinquency,
        first_due > policy.max_instalment_to_income * income,
        score < policy.score_cutoff,
    ]
    for code, hit in reversed(list(enumerate(rules))):  # first hit wins
        reason[hit] = code

    disbursed = apps.applied_at.astype("datetime64[D]")
    day = (disbursed - disbursed.astype("datetime64[M]").astype("datetime64[D]")).astype(
        np.int64
    ) + 1
    return Contracts(
        method=method,
        rate_bp=rate_bp,
        score=score,
        approved=reason < 0,
        reason=reason,
        disbursed=disbursed,
        due_day=np.minimum(day, 28),
        s_app=s_app,
        s_k=s_k,
        s_principal=s_p,
        s_interest=s_i,
        s_fee=s_f,
        total_due=total,
    )


def due_dates(contracts: Contracts, app: I64, k: I64) -> Dates:
    """Due date of instalment ``k`` of application ``app``."""
    return add_months(contracts.disbursed[app], k, contracts.due_day[app])
