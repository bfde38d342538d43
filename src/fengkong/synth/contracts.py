"""Contract terms for every application: baseline score, price, schedule and decision.

Schedules come from the servicing engine (:func:`fengkong.servicing.batch.schedules`, integer
fen, 30/360, exactly equal to the per-loan ``Decimal`` engine): the book's contracts are the
ones fengkong itself would service. Due dates fall on the disbursement day of each following
month, capped at the 28th, so a loan disbursed late in a month has a short first period.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from fengkong.servicing.batch import schedules
from fengkong.servicing.products import METHODS
from fengkong.synth._draw import I64, B, Dates, add_months
from fengkong.synth.applications import Applications
from fengkong.synth.params import SynthParams
from fengkong.synth.population import People

__all__ = ["METHODS", "Contracts", "make_contracts"]

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


def _schedule(
    method: I64, principal: I64, term: I64, rate_bp: I64, disbursed: Dates, due_day: I64
) -> tuple[I64, ...]:
    """Every contract's instalments, long format: (app, k, principal, interest, fee), plus totals."""
    flat = method == METHODS.index("flat_fee")
    first_due = add_months(disbursed, 1, due_day)
    rows = schedules(
        pl.DataFrame(
            {
                "loan_id": np.arange(len(principal)),
                "method": pl.Series(METHODS)[method],
                "day_count": "30/360",
                "principal_fen": principal,
                "rate_ppm": np.where(flat, 0, rate_bp * 100),
                "term": term,
                "disbursed_on": disbursed,
                "first_due_on": first_due,
                "fee_ppm": np.where(flat, rate_bp * 100, 0),
            }
        )
    )
    app = rows["loan_id"].to_numpy()
    parts = [rows[c].to_numpy() for c in ("instalment", "principal_fen", "interest_fen", "fee_fen")]
    total = np.zeros(len(principal), dtype=np.int64)
    np.add.at(total, app, rows["due_fen"].to_numpy())
    return (app, *parts, total)


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

    disbursed = apps.applied_at.astype("datetime64[D]")
    day = (disbursed - disbursed.astype("datetime64[M]").astype("datetime64[D]")).astype(
        np.int64
    ) + 1
    due_day = np.minimum(day, 28)
    s_app, s_k, s_p, s_i, s_f, total = _schedule(
        method, apps.amount_fen, apps.term, rate_bp, disbursed, due_day
    )
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

    return Contracts(
        method=method,
        rate_bp=rate_bp,
        score=score,
        approved=reason < 0,
        reason=reason,
        disbursed=disbursed,
        due_day=due_day,
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
