"""Collections responses: per overdue month and channel, contact, right party, promise, payment.

A channel is tried while the days past due at the attempt fall inside its stage
(``stage_min_dpd``..``stage_max_dpd``). Whether the borrower pays is the truth from the
performance simulation (a payment in the following month); riskier borrowers are harder to
reach, and right-party contacts who will pay promise more often than those who will not,
which is what a collection score learns from.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from fengkong.synth.params import SynthParams

__all__ = ["make_responses"]


def make_responses(
    rng: np.random.Generator, params: SynthParams, performance: pl.DataFrame, risk: pl.DataFrame
) -> pl.DataFrame:
    """Responses for a chunk; ``performance`` has loan rows, ``risk`` maps loan_id to latent risk."""
    horizon = params.performance_months
    perf = performance.select(
        "loan_id", "mob", "snapshot_on", "dpd", "status", "paid_fen", "recovered_fen"
    )
    nxt = perf.select(
        "loan_id",
        (pl.col("mob") - 1).alias("mob"),
        (pl.col("paid_fen") + pl.col("recovered_fen") > 0).alias("paid"),
    )
    overdue = (
        perf.filter(
            (pl.col("dpd") > 0) & (pl.col("mob") < horizon) & (pl.col("status") == "delinquent")
        )
        .join(nxt, on=["loan_id", "mob"], how="left")
        .join(risk, on="loan_id", how="left")
        .with_columns(pl.col("paid").fill_null(False))
    )
    n = overdue.height
    days_back = rng.integers(0, 21, n)
    dpd_snap = overdue["dpd"].to_numpy()
    back = np.minimum(days_back, dpd_snap - 1)
    dpd_at = dpd_snap - back
    contact_on = overdue["snapshot_on"].to_numpy() - back.astype("timedelta64[D]")
    pays = overdue["paid"].to_numpy()
    reach = np.clip(1.0 - 0.12 * overdue["latent_risk"].to_numpy(), 0.3, 1.2)

    cp = params.collections
    frames = []
    for channel, spec in cp.channels.items():
        eligible = (dpd_at >= spec.stage_min_dpd) & (dpd_at <= spec.stage_max_dpd)
        idx = np.flatnonzero(eligible)
        k = len(idx)
        contacted = rng.random(k) < np.clip(spec.contact * reach[idx], 0.0, 1.0)
        right_party = contacted & (rng.random(k) < spec.right_party)
        promise_p = np.where(pays[idx], cp.promise_if_paying, cp.promise_if_not_paying)
        promised = right_party & (rng.random(k) < promise_p)
        frames.append(
            pl.DataFrame(
                {
                    "loan_id": overdue["loan_id"].to_numpy()[idx],
                    "mob": overdue["mob"].to_numpy()[idx],
                    "contact_on": contact_on[idx],
                    "dpd": dpd_at[idx],
                    "channel": [channel] * k,
                    "contacted": contacted,
                    "right_party": right_party,
                    "promised": promised,
                    "paid": pays[idx],
                }
            )
        )
    return pl.concat(frames).sort("loan_id", "mob", "channel")
