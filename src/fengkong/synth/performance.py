"""Month-by-month performance of every application as if it were booked.

Every application is simulated, declined ones included, so that the oracle table holds the
outcome each would have had (the counterfactual for reject inference and policy simulation);
booked loans keep their rows. Each month a borrower pays what is owed, pays part of it,
misses it (and usually cures the next month), prepays everything, or, from the month a hard
default starts, stops paying (with occasional part payments and cures). Defaults come from a
logistic model of the latent risk and the instalment-to-income ratio, with a Gaussian-copula
person factor so a person's loans default together, timed by a seasoning curve; planted
fraud rings default at the first payment. Payments go to the oldest instalment first; DPD at
each month end counts from the oldest unpaid due date.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from fengkong.money import div_round_half_even
from fengkong.synth._draw import F64, I64, B, Dates, add_months, month_end, sigmoid, weighted_index
from fengkong.synth.applications import Applications
from fengkong.synth.contracts import Contracts
from fengkong.synth.params import SynthParams
from fengkong.synth.population import People

__all__ = ["BUCKETS", "STATUSES", "Outcome", "bucket_codes", "simulate"]

STATUSES = ("current", "delinquent", "settled", "prepaid", "written_off")
BUCKETS = ("M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+")
_ACTIVE, _SETTLED, _PREPAID, _WRITTEN_OFF = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class Outcome:
    """Performance rows of booked applications and the oracle of all of them."""

    # performance rows (booked applications only)
    app: I64
    mob: I64
    snapshot: Dates
    scheduled: I64
    paid: I64
    paid_on: Dates  # NaT when nothing was paid
    prepaid: I64
    balance: I64
    overdue: I64
    dpd: I64
    status: I64  # index into STATUSES
    written_off: I64
    recovered: I64
    # oracle (every application)
    pd: F64
    default_mob: I64  # -1 when no hard default
    ever_30: B
    ever_90: B
    first_payment_default: B


def bucket_codes(dpd: I64) -> I64:
    """Bucket index (0 = M0 ... 7 = M7+) from days past due: M1 = 1-30, M2 = 31-60, ..."""
    return np.minimum((np.asarray(dpd) + 29) // 30, 7)


def _dense(contracts: Contracts, n: int, horizon: int) -> tuple[I64, I64, I64]:
    """Per instalment 1..horizon: due, principal and interest+fee, as (n, horizon+1) arrays."""
    due = np.zeros((n, horizon + 1), dtype=np.int64)
    principal = np.zeros((n, horizon + 1), dtype=np.int64)
    charges = np.zeros((n, horizon + 1), dtype=np.int64)
    keep = contracts.s_k <= horizon
    a, k = contracts.s_app[keep], contracts.s_k[keep]
    principal[a, k] = contracts.s_principal[keep]
    charges[a, k] = contracts.s_interest[keep] + contracts.s_fee[keep]
    due[a, k] = principal[a, k] + charges[a, k]
    return due, principal, charges


def _defaults(
    rng: np.random.Generator,
    params: SynthParams,
    people: People,
    apps: Applications,
    contracts: Contracts,
) -> tuple[F64, B, I64]:
    perf = params.performance
    n = len(apps.person)
    term = apps.term
    income = people.income_fen[apps.person]
    dti = contracts.total_due / np.maximum(term, 1) / np.maximum(income, 1)
    risk = people.risk[apps.person]
    pd = sigmoid(
        perf.default_logit + perf.default_risk_coef * risk + perf.default_debt_to_income_coef * dti
    )
    rho = perf.person_default_correlation
    person_factor = rng.standard_normal(len(people))[apps.person]
    latent = np.sqrt(rho) * person_factor + np.sqrt(1.0 - rho) * rng.standard_normal(n)
    default = ndtr(latent) < pd
    mob = weighted_index(rng, perf.default_mob_weights, n) + 1
    mob = 1 + (mob - 1) % np.maximum(term, 1)

    shock = perf.macro_shock
    if shock.start_month is not None:
        start = np.datetime64(shock.start_month, "M")
        candidate = 1 + (rng.random(n) * np.minimum(term, params.performance_months)).astype(
            np.int64
        )
        month = contracts.disbursed.astype("datetime64[M]") + candidate
        exposed = (month >= start) & (month < start + shock.months)
        extra = ~default & exposed & (rng.random(n) < pd * (shock.multiplier - 1.0))
        default |= extra
        mob = np.where(extra, candidate, mob)

    fraud = apps.is_fraud
    pd = np.where(fraud, params.fraud.first_payment_default_prob, pd)
    default = np.where(fraud, rng.random(n) < params.fraud.first_payment_default_prob, default)
    mob = np.where(fraud, 1, mob)
    return pd, default, np.where(default, mob, -1)


def simulate(
    rng: np.random.Generator,
    params: SynthParams,
    people: People,
    apps: Applications,
    contracts: Contracts,
) -> Outcome:
    """Simulate ``params.performance_months`` month ends for every application."""
    perf, horizon = params.performance, params.performance_months
    n = len(apps.person)
    term, principal_amt = apps.term, apps.amount_fen
    due, prin, charges = _dense(contracts, n, horizon)
    cum_due, cum_prin = np.cumsum(due, axis=1), np.cumsum(prin, axis=1)
    rows = np.arange(n)

    pd, default, default_mob = _defaults(rng, params, people, apps, contracts)
    risk = people.risk[apps.person]
    p_miss = np.clip(perf.miss_prob * np.exp(perf.miss_risk_coef * risk), 0.0, 0.5)

    cum_paid = np.zeros(n, dtype=np.int64)
    status = np.zeros(n, dtype=np.int64)
    cured = np.zeros(n, dtype=bool)
    written_left = np.zeros(n, dtype=np.int64)
    ever_30 = np.zeros(n, dtype=bool)
    ever_90 = np.zeros(n, dtype=bool)
    fpd = np.zeros(n, dtype=bool)
    out: dict[str, list[np.ndarray]] = {
        name: []
        for name in Outcome.__dataclass_fields__
        if name not in ("pd", "default_mob", "ever_30", "ever_90", "first_payment_default")
    }
    booked = contracts.approved
    ks = np.arange(1, horizon + 1)

    for m in range(1, horizon + 1):
        active = status == _ACTIVE
        dues_n = np.minimum(m, term)
        target = cum_due[rows, dues_n]
        owed = np.where(active, target - cum_paid, 0)
        u, frac = rng.random(n), rng.random(n)

        defaulting = active & default & (m >= default_mob) & ~cured
        cure = defaulting & (m > default_mob) & (u < perf.defaulter_cure_prob)
        d_part = (
            defaulting
            & ~cure
            & (u < perf.defaulter_cure_prob + perf.defaulter_partial_prob)
            & (owed > 1)
        )
        cured |= cure
        performing = active & ~(defaulting & ~cure)
        on_time_so_far = owed == due[:, min(m, horizon)]
        miss = performing & ~cure & on_time_so_far & (owed > 0) & (u < p_miss)
        part = performing & ~cure & ~miss & (owed > 1) & (u < p_miss + perf.partial_prob)
        prepay = (
            performing
            & ~cure
            & ~miss
            & ~part
            & (m < term)
            & (u < p_miss + perf.partial_prob + perf.prepay_prob)
        )
        full = performing & ~miss & ~part

        paid = np.where(full, owed, 0)
        paid += np.where(part, (owed * (0.3 + 0.6 * frac)).astype(np.int64), 0)
        one_instalment = due[rows, np.minimum(dues_n, horizon)]
        paid += np.where(
            d_part, np.minimum(one_instalment * (0.1 + 0.4 * frac), owed - 1).astype(np.int64), 0
        )
        remaining_principal = principal_amt - cum_prin[rows, dues_n]
        prepaid = np.where(prepay, remaining_principal, 0)
        cum_paid += paid

        recovering = (status == _WRITTEN_OFF) & (written_left > 0) & (u < perf.recovery_prob)
        recovered = np.where(
            recovering,
            np.minimum(
                div_round_half_even(written_left * int(perf.recovery_share * 10_000), 10_000),
                written_left,
            ),
            0,
        )
        written_left -= recovered

        paid_k = ((cum_due[:, 1:] <= cum_paid[:, None]) & (ks[None, :] <= dues_n[:, None])).sum(
            axis=1
        )
        unpaid = paid_k < dues_n
        overdue_now = active & unpaid
        oldest_due = add_months(contracts.disbursed, paid_k + 1, contracts.due_day)
        snapshot = month_end(contracts.disbursed, m)
        dpd = np.where(unpaid & (status != _SETTLED), (snapshot - oldest_due).astype(np.int64), 0)
        settled = active & ~overdue_now & (cum_paid >= contracts.total_due)
        write_off = overdue_now & (dpd >= perf.writeoff_dpd)

        nxt = np.minimum(paid_k + 1, horizon)
        towards_next = np.clip(
            cum_paid - cum_due[rows, paid_k] - charges[rows, nxt], 0, prin[rows, nxt]
        )
        balance = principal_amt - cum_prin[rows, paid_k] - np.where(paid_k < term, towards_next, 0)
        balance = np.where(prepay | settled | ~active, 0, balance)
        written = np.where(write_off, balance, 0)
        balance = np.where(write_off, 0, balance)
        written_left += written

        new_status = np.where(
            prepay, _PREPAID, np.where(settled, _SETTLED, np.where(write_off, _WRITTEN_OFF, status))
        )
        label = np.select(
            [new_status == _PREPAID, new_status == _SETTLED, new_status == _WRITTEN_OFF, dpd > 0],
            [
                STATUSES.index("prepaid"),
                STATUSES.index("settled"),
                STATUSES.index("written_off"),
                STATUSES.index("delinquent"),
            ],
            STATUSES.index("current"),
        )
        ever_30 |= active & (dpd >= 30)
        ever_90 |= active & (dpd >= 90)
        if m == 2:
            fpd = active & (paid_k == 0)

        this_due = add_months(contracts.disbursed, np.minimum(m, term), contracts.due_day)
        month_start = snapshot.astype("datetime64[M]").astype("datetime64[D]")
        offset = np.where(
            full & ~cure & on_time_so_far, -rng.integers(0, 4, n), rng.integers(1, 16, n)
        )
        base = np.where(m <= term, this_due, snapshot - 10)
        paid_on = np.clip(base + offset, month_start, snapshot)
        any_paid = (paid + prepaid + recovered) > 0
        paid_on = np.where(any_paid, paid_on, np.datetime64("NaT"))

        emit = booked & (active | (status == _WRITTEN_OFF))
        idx = np.flatnonzero(emit)
        for name, values in (
            ("app", idx),
            ("mob", np.full(len(idx), m, dtype=np.int64)),
            ("snapshot", snapshot[idx]),
            ("scheduled", due[idx, m]),
            ("paid", (paid + prepaid)[idx]),
            ("paid_on", paid_on[idx]),
            ("prepaid", prepaid[idx]),
            ("balance", balance[idx]),
            ("overdue", np.where(active & (dpd > 0), np.maximum(target - cum_paid, 0), 0)[idx]),
            ("dpd", np.where(active | (status == _WRITTEN_OFF), dpd, 0)[idx]),
            ("status", label[idx]),
            ("written_off", written[idx]),
            ("recovered", recovered[idx]),
        ):
            out[name].append(values)
        status = new_status

    return Outcome(
        **{name: np.concatenate(parts) for name, parts in out.items()},
        pd=pd,
        default_mob=default_mob,
        ever_30=ever_30,
        ever_90=ever_90,
        first_payment_default=fpd,
    )
