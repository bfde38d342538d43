"""Known outcomes the synthetic book lets a lender see (as opposed to the full oracle)."""

from __future__ import annotations

import polars as pl

__all__ = ["observed_early_defaults"]


def observed_early_defaults(applications: pl.DataFrame, oracle: pl.DataFrame) -> pl.DataFrame:
    """Per person with a booked loan: whether any of their loans defaulted at the first payment.

    Only approved applications count: a lender never observes how declined ones would have
    performed. Columns ``person_id`` and ``bad`` (the input of ring detection's early-default part).

    >>> from fengkong.synth import generate
    >>> book = generate(2_000, seed=1)
    >>> observed_early_defaults(book.applications, book.oracle).columns
    ['person_id', 'bad']
    """
    return (
        oracle.join(
            applications.select("application_id", "person_id", "baseline_decision"),
            on="application_id",
        )
        .filter(pl.col("baseline_decision") == "approve")
        .group_by("person_id")
        .agg(pl.col("first_payment_default").any().alias("bad"))
        .sort("person_id")
    )
