"""Vintage (static pool) curves: cumulative share of each origination month gone 30+/60+/90+.

For each vintage (origination month) and segment, at each month on book (MOB) observed so
far, the share of the vintage's loans (``basis="count"``) or of its original principal
(``basis="balance"``, DOMAIN.md) that has *ever* reached the DPD threshold by that MOB. A
vintage is shown only up to the MOB its youngest snapshot reaches: no extrapolation.

Examples
--------
>>> import datetime as dt
>>> import polars as pl
>>> panel = pl.DataFrame({
...     "loan_id": [1, 1, 2, 2],
...     "vintage": [dt.date(2025, 1, 1)] * 4,
...     "mob": [1, 2, 1, 2],
...     "principal_fen": [100, 100, 300, 300],
...     "dpd": [0, 35, 0, 0],
... })
>>> vintage_curves(panel, thresholds=(30,)).select("mob", "ever_30_plus").rows()
[(1, 0.0), (2, 0.25)]
>>> vintage_curves(panel, thresholds=(30,), basis="count")["ever_30_plus"].to_list()
[0.0, 0.5]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import polars as pl

from fengkong.errors import InvalidArgumentError
from fengkong.portfolio._kernels import first_mob_at, sorted_runs
from fengkong.portfolio.panel import months_between

__all__ = ["vintage_curves"]


def _per_loan(panel: pl.DataFrame, keys: list[str], thresholds: Sequence[int]) -> pl.DataFrame:
    """Per loan: keys, principal, last MOB and the first MOB at each DPD threshold."""
    loan = panel["loan_id"].to_numpy()
    mob = panel["mob"].to_numpy().astype(np.int64)
    ok, bounds = (False, None) if panel["mob"].null_count() else sorted_runs(loan, mob)
    if not ok or bounds is None:
        return panel.group_by("loan_id", *keys).agg(
            pl.col("principal_fen").first(),
            pl.col("mob").max().alias("__last"),
            *(
                pl.col("mob").filter(pl.col("dpd") >= k).min().alias(f"__first_{k}")
                for k in thresholds
            ),
        )
    starts, ends = bounds[:-1], bounds[1:]  # each loan one run, MOB ascending within it
    firsts = first_mob_at(
        starts,
        ends,
        mob,
        panel["dpd"].fill_null(-1).to_numpy().astype(np.int64),
        np.asarray(thresholds, dtype=np.int64),
    )
    head = panel[starts].select("loan_id", *keys, "principal_fen")
    return head.with_columns(
        pl.Series("__last", mob[ends - 1]),
        *(
            pl.Series(f"__first_{k}", firsts[i]).replace(-1, None).cast(panel["mob"].dtype)
            for i, k in enumerate(thresholds)
        ),
    )


def vintage_curves(
    panel: pl.DataFrame,
    *,
    thresholds: Sequence[int] = (30, 60, 90),
    by: Sequence[str] = (),
    basis: Literal["balance", "count"] = "balance",
) -> pl.DataFrame:
    """Long table: vintage, segments, mob, loans, principal_fen, ``ever_{k}_plus`` shares."""
    if basis not in ("balance", "count"):
        raise InvalidArgumentError("basis", expected="balance or count", got=basis)
    if not thresholds:
        raise InvalidArgumentError(
            "thresholds", expected="at least one DPD threshold", got=thresholds
        )
    keys = ["vintage", *by]
    weight = pl.col("principal_fen") if basis == "balance" else pl.lit(1, pl.Int64)
    loans = _per_loan(panel, keys, thresholds)
    sizes = loans.group_by(keys).agg(
        pl.len().alias("loans"),
        pl.col("principal_fen").sum(),
        pl.col("__last").max().alias("__max_mob"),
        weight.sum().alias("__weight") if basis == "balance" else pl.len().alias("__weight"),
    )
    if "month" in panel.columns and panel.height:  # observed up to the latest snapshot month
        last = panel["month"].max()
        sizes = sizes.with_columns(
            pl.max_horizontal("__max_mob", months_between(pl.col("vintage"), pl.lit(last))).alias(
                "__max_mob"
            )
        )
    grid = sizes.with_columns(pl.int_ranges(1, pl.col("__max_mob") + 1).alias("mob")).explode("mob")
    grid = grid.with_columns(pl.col("mob").cast(pl.Int32))
    for k in thresholds:
        first = (
            loans.filter(pl.col(f"__first_{k}").is_not_null())
            .with_columns(weight.alias("__w"))
            .group_by(*keys, pl.col(f"__first_{k}").cast(pl.Int32).alias("mob"))
            .agg(pl.col("__w").sum().alias("__hit"))
        )
        grid = (
            grid.join(first, on=[*keys, "mob"], how="left")
            .sort([*keys, "mob"])
            .with_columns(
                (pl.col("__hit").fill_null(0).cum_sum().over(keys) / pl.col("__weight")).alias(
                    f"ever_{k}_plus"
                )
            )
            .drop("__hit")
        )
    return grid.drop("__max_mob", "__weight").sort([*keys, "mob"])
