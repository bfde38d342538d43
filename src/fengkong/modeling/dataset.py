"""Modeling data sets drawn from the synthetic lending book.

:func:`application_dataset` joins each application to what a lender knows at application time
(the application, the bureau fields and the applicant's declared profile) and to its outcome.
The book's oracle knows the outcome of *every* application, declined ones included, which is
what lets reject inference be measured: a lender only ever sees the outcome of approved ones.
"""

from __future__ import annotations

import polars as pl

from fengkong.synth import SyntheticBook

__all__ = ["APPLICATION_FEATURES", "application_dataset"]

APPLICATION_FEATURES = (
    "age",
    "monthly_income_fen",
    "requested_amount_fen",
    "requested_term",
    "bureau_inquiries_3m",
    "bureau_open_loans",
    "bureau_past_delinquency",
    "channel",
    "product",
    "education",
    "employment_type",
    "housing",
)


def application_dataset(book: SyntheticBook, *, target: str = "ever_90dpd") -> pl.DataFrame:
    """One row per application: ``application_id``, ``applied_at``, features, ``accepted``, ``bad``.

    ``bad`` is the oracle's outcome (1 = bad) for every application; a realistic model may use
    it only where ``accepted`` is true. ``target`` is an oracle column (``ever_90dpd``,
    ``ever_30dpd`` or ``first_payment_default``).

    >>> from fengkong.synth import generate
    >>> data = application_dataset(generate(3_000, seed=2))
    >>> data.columns[:3], data["accepted"].dtype, sorted(data["bad"].unique().to_list())
    (['application_id', 'applied_at', 'age'], Boolean, [0, 1])
    """
    persons = book.persons.select(
        "person_id", "monthly_income_fen", "education", "employment_type", "housing"
    )
    return (
        book.applications.join(persons, on="person_id", how="left")
        .join(book.oracle.select("application_id", target), on="application_id", how="left")
        .select(
            "application_id",
            "applied_at",
            *APPLICATION_FEATURES,
            (pl.col("baseline_decision") == "approve").alias("accepted"),
            pl.col(target).cast(pl.Int8).alias("bad"),
        )
        .with_columns(pl.col("bureau_past_delinquency").cast(pl.Int8))
        .sort("application_id")
    )
