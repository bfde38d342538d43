"""Inputs of a collections day drawn from the synthetic lending book (demo, CLI, benchmark).

>>> import datetime as dt
>>> from fengkong.synth import generate
>>> book = generate(20_000, seed=1)
>>> day = book_day(book, book.performance["snapshot_on"].max())
>>> sorted(day)
['borrowers', 'loans', 'payments', 'scored']
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl

from fengkong.collections.score import CollectionScore, collection_dataset, fit_collection_score

__all__ = ["book_day", "synthetic_staff"]


def book_day(
    book: Any, as_of: dt.date, *, score: CollectionScore | None = None
) -> dict[str, pl.DataFrame]:
    """The loan snapshot, borrowers, payments and per-loan P(pay) for ``as_of`` (a month-end
    snapshot of the book). Without ``score``, one is fitted on the months before ``as_of``."""
    perf = book.performance.filter(pl.col("snapshot_on") == as_of)
    loans = perf.join(book.loans.select("loan_id", "person_id"), on="loan_id").select(
        "loan_id",
        pl.col("person_id").cast(pl.String).alias("borrower_id"),
        "dpd",
        "overdue_fen",
        pl.col("principal_balance_fen").alias("balance_fen"),
        "status",
    )
    data = collection_dataset(book.loans, book.performance, book.collection_responses)
    if score is None:
        score = fit_collection_score(data.filter(pl.col("snapshot_on") < as_of), n_estimators=150)
    today = data.filter(pl.col("snapshot_on") == as_of)
    scored = today.select("loan_id").with_columns(
        pl.Series("p_pay", score.predict(today) if today.height else [], dtype=pl.Float64)
    )
    borrowers = book.persons.select(
        pl.col("person_id").cast(pl.String).alias("borrower_id"),
        pl.lit("zh").alias("language"),
        pl.col("province").alias("region"),
        "city",
        pl.lit("Asia/Shanghai").alias("time_zone"),
    )
    payments = perf.filter(pl.col("paid_fen") > 0).select(
        pl.col("loan_id"), pl.col("paid_on"), pl.col("paid_fen").alias("amount_fen")
    )
    return {"loans": loans, "borrowers": borrowers, "payments": payments, "scored": scored}


def synthetic_staff(
    borrowers: pl.DataFrame,
    *,
    collectors: int,
    field_agents: int,
    calls_per_day: tuple[int, int] = (60, 120),
    visits_per_day: tuple[int, int] = (4, 8),
    seed: int = 0,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A roster: collectors serving stages, languages and regions; field agents per city."""
    rng = np.random.default_rng(seed)
    regions = borrowers["region"].value_counts(sort=True)["region"].to_list() or ["-"]
    cities = borrowers["city"].value_counts(sort=True)["city"].to_list() or ["-"]
    stage_sets = [["early"], ["early", "middle"], ["middle"], ["middle", "late"], ["late"]]
    serves = []
    for k in range(collectors):
        stages = stage_sets[k % len(stage_sets)]
        mine = [regions[(k + d) % len(regions)] for d in range(3)]
        langs = ["zh"] if rng.random() > 0.1 else ["zh", "en"]
        serves.append([f"{s}|{lang}|{r}" for s in stages for lang in langs for r in mine])
    collectors_frame = pl.DataFrame(
        {
            "agent_id": [f"collector-{k:04d}" for k in range(collectors)],
            "capacity": rng.integers(calls_per_day[0], calls_per_day[1] + 1, collectors),
            "serves": serves,
        },
        schema={"agent_id": pl.String, "capacity": pl.Int64, "serves": pl.List(pl.String)},
    )
    field_frame = pl.DataFrame(
        {
            "agent_id": [f"field-{k:04d}" for k in range(field_agents)],
            "capacity": rng.integers(visits_per_day[0], visits_per_day[1] + 1, field_agents),
            "serves": [[cities[k % len(cities)]] for k in range(field_agents)],
        },
        schema={"agent_id": pl.String, "capacity": pl.Int64, "serves": pl.List(pl.String)},
    )
    return collectors_frame, field_frame
