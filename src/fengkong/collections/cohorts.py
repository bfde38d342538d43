"""Champion/challenger comparison on live results: recovery, roll rate, cost per yuan.

Every case carries its arm from its first plan (the strategy's hash of the case id, so it
never changes). :func:`cohort_report` compares the arms over a period from what actually
happened: cases, the actions taken (only those the guardrails allowed), their cost (per
attempt by channel, ``portfolio/data/collection_costs.yaml``), cash recovered, recovery rate
against the overdue amount when the case entered, the share of cases that rolled to a later
stage, and the cost per yuan recovered.

>>> import datetime as dt
>>> actions = pl.DataFrame({"case_id": ["a", "b"], "arm": ["champion", "challenger"],
...                         "action": ["sms", "call"], "allowed": [True, True]})
>>> cases = pl.DataFrame({"case_id": ["a", "b"], "overdue_fen": [10_000, 10_000]})
>>> events = pl.DataFrame({"case_id": ["b"], "event": ["stage"], "from_stage": ["early"],
...                        "to_stage": ["middle"]})
>>> pays = pl.DataFrame({"case_id": ["a"], "amount_fen": [10_000]})
>>> cohort_report(actions, cases, events, pays).select("arm", "recovery_rate", "roll_rate").rows()
[('challenger', 0.0, 1.0), ('champion', 1.0, 0.0)]
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import polars as pl
import yaml

__all__ = ["cohort_report"]

_ORDER = {"early": 0, "middle": 1, "late": 2, "agency": 3, "legal": 4, "recovery": 5}


@cache
def _per_attempt() -> dict[str, int]:
    text = resources.files("fengkong.portfolio").joinpath("data/collection_costs.yaml")
    channels: dict[str, Any] = yaml.safe_load(text.read_text("utf-8"))["channels"]
    return {k: int(v["per_attempt_fen"]) for k, v in channels.items()}


def cohort_report(
    actions: pl.DataFrame, cases: pl.DataFrame, events: pl.DataFrame, payments: pl.DataFrame
) -> pl.DataFrame:
    """Per arm: cases, attempts, cost, recovered, recovery rate, roll rate, cost per yuan.

    ``actions``: the period's planned actions (``case_id, arm, action, allowed``);
    ``cases``: ``case_id, overdue_fen`` when each case entered; ``events``: the period's case
    events (``case_id, event, from_stage, to_stage``); ``payments``: ``case_id, amount_fen``.
    """
    costs = _per_attempt()
    arms = actions.group_by("case_id").agg(pl.col("arm").first())
    done = actions.filter(pl.col("allowed")).with_columns(
        pl.col("action").replace_strict(costs, default=0, return_dtype=pl.Int64).alias("cost_fen")
    )
    spend = done.group_by("case_id").agg(pl.len().alias("attempts"), pl.col("cost_fen").sum())
    rank = dict(_ORDER)
    rolled = (
        events.filter(pl.col("event") == "stage")
        .filter(
            pl.col("to_stage").replace_strict(rank, default=-1, return_dtype=pl.Int64)
            > pl.col("from_stage").replace_strict(rank, default=-1, return_dtype=pl.Int64)
        )
        .select("case_id")
        .unique()
        .with_columns(pl.lit(True).alias("rolled"))
    )
    cash = payments.group_by("case_id").agg(pl.col("amount_fen").sum().alias("recovered_fen"))
    per_case = (
        arms.join(cases.select("case_id", "overdue_fen"), on="case_id", how="left")
        .join(spend, on="case_id", how="left")
        .join(cash, on="case_id", how="left")
        .join(rolled, on="case_id", how="left")
        .with_columns(
            pl.col("attempts").fill_null(0),
            pl.col("cost_fen").fill_null(0),
            pl.col("recovered_fen").fill_null(0),
            pl.col("rolled").fill_null(False),
        )
    )
    return (
        per_case.group_by("arm")
        .agg(
            pl.len().alias("cases"),
            pl.col("attempts").sum(),
            pl.col("cost_fen").sum(),
            pl.col("overdue_fen").sum(),
            pl.col("recovered_fen").sum(),
            pl.col("rolled").mean().alias("roll_rate"),
        )
        .with_columns(
            (pl.col("recovered_fen") / pl.col("overdue_fen")).alias("recovery_rate"),
            (pl.col("cost_fen") / pl.col("recovered_fen").clip(1)).alias("cost_per_yuan"),
        )
        .sort("arm")
    )
