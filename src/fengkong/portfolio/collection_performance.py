"""Collections performance: the contact funnel and what each channel recovers, at what cost.

From contact attempts (the book's ``collection_responses``: loan, month on book, channel,
contacted, right party, promised, paid) and the monthly performance snapshots:

* :func:`contact_funnel`: attempts, contact, right-party-contact (RPC), promise and promise-
  kept rates per channel (or any grouping, e.g. agency);
* :func:`recovery_by_channel`: the cash each channel brought in and its cost. The cash paid in
  the month after an attempt (``paid_fen`` + ``recovered_fen`` of the next snapshot) is
  credited to that loan-month's attempts that reached the borrower (all its attempts when none
  did), split in whole fen that add up exactly. Costs come from a per-channel table (data,
  ``portfolio/data/collection_costs.yaml`` by default): a price per attempt plus a commission
  on recoveries (agencies).

>>> import polars as pl
>>> responses = pl.DataFrame({"loan_id": [1, 1, 2], "mob": [3, 3, 3],
...     "channel": ["sms", "call", "call"], "contacted": [True, True, False],
...     "right_party": [False, True, False], "promised": [False, True, False],
...     "paid": [True, True, False]})
>>> contact_funnel(responses).select("channel", "attempts", "rpc_rate", "promise_kept_rate").rows()
[('call', 2, 0.5, 1.0), ('sms', 1, 0.0, None)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from fengkong.errors import ConfigError, InvalidArgumentError, Problem
from fengkong.money import div_round_half_even
from fengkong.portfolio._data import read_data_file
from fengkong.portfolio.panel import require_columns

__all__ = ["ChannelCost", "contact_funnel", "load_collection_costs", "recovery_by_channel"]

_RESPONSES = ("loan_id", "mob", "channel", "contacted", "right_party", "promised", "paid")


def contact_funnel(responses: pl.DataFrame, *, by: Sequence[str] = ("channel",)) -> pl.DataFrame:
    """Attempts and the contact → right party → promise → kept funnel per group."""
    require_columns(responses, [*_RESPONSES, *by], "responses")
    kept = pl.col("promised") & pl.col("paid")
    return (
        responses.group_by(list(by))
        .agg(
            pl.len().alias("attempts"),
            pl.col("contacted").sum().alias("contacted"),
            pl.col("right_party").sum().alias("right_party"),
            pl.col("promised").sum().alias("promised"),
            kept.sum().alias("kept"),
        )
        .with_columns(
            (pl.col("contacted") / pl.col("attempts")).alias("contact_rate"),
            (pl.col("right_party") / pl.col("attempts")).alias("rpc_rate"),
            pl.when(pl.col("right_party") > 0)
            .then(pl.col("promised") / pl.col("right_party"))
            .alias("promise_rate"),
            pl.when(pl.col("promised") > 0)
            .then(pl.col("kept") / pl.col("promised"))
            .alias("promise_kept_rate"),
        )
        .sort(list(by))
    )


ChannelCost = tuple[int, int]  # (per_attempt_fen, commission_bp)


def load_collection_costs(path: str | Path | None = None) -> dict[str, ChannelCost]:
    """Per-channel costs (fen per attempt, commission in bp) from YAML; every problem at once."""
    data, name = read_data_file(path, "collection_costs.yaml")
    problems = []
    if not data.get("source"):
        problems.append(Problem(name, "source", "say where the costs come from"))
    out: dict[str, ChannelCost] = {}
    for channel, cost in (data.get("channels") or {}).items():
        where = f"channels.{channel}"
        if not isinstance(cost, dict) or set(cost) != {"per_attempt_fen", "commission_bp"}:
            problems.append(Problem(name, where, "expected per_attempt_fen and commission_bp"))
            continue
        a, c = cost["per_attempt_fen"], cost["commission_bp"]
        if not (isinstance(a, int) and a >= 0 and isinstance(c, int) and 0 <= c <= 10_000):
            problems.append(
                Problem(name, where, f"expected whole fen >= 0 and 0..10000 bp, got {a!r}, {c!r}")
            )
            continue
        out[str(channel)] = (a, c)
    if problems:
        raise ConfigError(problems)
    return out


def recovery_by_channel(
    responses: pl.DataFrame,
    performance: pl.DataFrame,
    *,
    costs: Mapping[str, ChannelCost] | None = None,
    by: Sequence[str] = ("channel",),
) -> pl.DataFrame:
    """Cash recovered after each channel's attempts, its cost and the cost per yuan recovered.

    Columns: groups, attempts, recovered_fen, cost_fen, cost_per_unit_recovered. ``by`` must
    include ``channel`` (costs are per channel).
    """
    require_columns(responses, [*_RESPONSES, *by], "responses")
    require_columns(performance, ["loan_id", "mob", "paid_fen", "recovered_fen"], "performance")
    if "channel" not in by:
        raise InvalidArgumentError("by", expected="a grouping that includes channel", got=by)
    costs = load_collection_costs() if costs is None else costs
    unknown = sorted(set(responses["channel"].unique().to_list()) - set(costs))
    if unknown:
        raise InvalidArgumentError("costs", expected="a cost for every channel", got=unknown)
    cash = performance.select(
        "loan_id",
        (pl.col("mob") - 1).alias("mob"),
        (pl.col("paid_fen") + pl.col("recovered_fen")).alias("cash_fen"),
    )
    att = (
        responses.with_row_index("__row")
        .join(cash, on=["loan_id", "mob"], how="left")
        .with_columns(pl.col("cash_fen").fill_null(0))
        .with_columns(
            pl.col("right_party").any().over("loan_id", "mob").alias("__any_rpc"),
        )
        .with_columns(
            (pl.col("right_party") | ~pl.col("__any_rpc")).alias("__credited"),
        )
        .with_columns(
            pl.col("__credited").sum().over("loan_id", "mob").alias("__k"),
            pl.col("__credited").cast(pl.Int64).cum_sum().over("loan_id", "mob").alias("__rank"),
        )
        .with_columns(
            pl.when(pl.col("__credited"))
            .then(
                pl.col("cash_fen") // pl.col("__k")
                + (pl.col("__rank") <= pl.col("cash_fen") % pl.col("__k")).cast(pl.Int64)
            )
            .otherwise(0)
            .alias("recovered_fen")
        )
    )
    table = att.group_by(list(by)).agg(pl.len().alias("attempts"), pl.col("recovered_fen").sum())
    per_attempt = [costs[c][0] for c in table["channel"].to_list()]
    commission = [
        div_round_half_even(int(r) * costs[c][1], 10_000)
        for c, r in zip(table["channel"].to_list(), table["recovered_fen"].to_list(), strict=True)
    ]
    return (
        table.with_columns(
            (
                pl.col("attempts") * pl.Series(per_attempt, dtype=pl.Int64)
                + pl.Series(commission, dtype=pl.Int64)
            ).alias("cost_fen")
        )
        .with_columns(
            pl.when(pl.col("recovered_fen") > 0)
            .then(pl.col("cost_fen") / pl.col("recovered_fen"))
            .alias("cost_per_unit_recovered")
        )
        .sort(list(by))
    )
