"""Agency placement (委外): rules, commission schedules, recall, re-placement, performance.

The contracts are data (``collections/data/agencies.yaml``): which cases may be placed
(stage, collection score, debt size), each agency's regions, capacity and commission by days
past due at placement, recall after N days without payment, how many placements a case may
have. :func:`place_cases` recalls the day's stale placements and places eligible cases with
the agency that has room, covers the borrower's region and charges the least (a recalled
case never goes back to the same agency); :func:`agency_performance` reports, per agency,
cases placed, cash recovered, recovery rate, commission (exact, in fen, rounded half-even)
and recalls.

>>> import datetime as dt
>>> contracts = load_agencies()
>>> cases = pl.DataFrame({"case_id": ["a-1"], "borrower_id": ["a"], "stage": ["late"],
...                       "p_pay": [0.2], "overdue_fen": [300_000], "max_dpd": [120],
...                       "region": ["Guangdong"]})
>>> placed, recalled = place_cases(cases, empty_placements(), contracts, dt.date(2026, 3, 2))
>>> placed.select("case_id", "agency_id", "commission_rate").rows()
[('a-1', 'south_collect', '0.18')]
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fengkong.errors import ConfigError, Problem

__all__ = [
    "PLACEMENT_SCHEMA",
    "AgencyContracts",
    "agency_performance",
    "empty_placements",
    "load_agencies",
    "place_cases",
]

PLACEMENT_SCHEMA: dict[str, Any] = {
    "case_id": pl.String,
    "agency_id": pl.String,
    "placed_on": pl.Date,
    "placed_dpd": pl.Int64,
    "placed_overdue_fen": pl.Int64,
    "commission_rate": pl.String,  # a decimal as text: exact
    "recalled_on": pl.Date,
    "number": pl.Int64,  # 1 for the first placement of a case, 2 for the next
}


class _Band(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min_dpd: int
    rate: Decimal = Field(ge=0, le=1)


class Agency(BaseModel):
    """One agency's contract."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    regions: tuple[str, ...] = ()  # empty: anywhere
    capacity: int = Field(ge=0)
    commission: tuple[_Band, ...] = Field(min_length=1)

    def rate(self, dpd: int) -> Decimal | None:
        """The commission for a case placed at ``dpd`` days past due (None: not taken)."""
        bands = [b for b in self.commission if dpd >= b.min_dpd]
        return max(bands, key=lambda b: b.min_dpd).rate if bands else None


class _Placement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    stages: tuple[str, ...]
    max_p_pay: float = Field(ge=0, le=1)
    min_overdue_fen: int = Field(ge=0)
    recall_after_days: int = Field(gt=0)
    max_placements: int = Field(ge=1)


class AgencyContracts(BaseModel):
    """Placement rules and every agency's contract."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: Literal[1]
    placement: _Placement
    agencies: dict[str, Agency]


@cache
def _shipped() -> AgencyContracts:
    text = resources.files("fengkong.collections").joinpath("data/agencies.yaml").read_text("utf-8")
    return _parse(text, "agencies.yaml")


def _parse(text: str, file: str) -> AgencyContracts:
    try:
        return AgencyContracts.model_validate(yaml.safe_load(text))
    except ValidationError as exc:
        raise ConfigError(
            Problem(file, ".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()
        ) from None


def load_agencies(path: str | Path | None = None) -> AgencyContracts:
    """The shipped contracts, or a lender's own file (every problem listed)."""
    if path is None:
        return _shipped()
    p = Path(path)
    return _parse(p.read_text(encoding="utf-8"), p.name)


def empty_placements() -> pl.DataFrame:
    """No placements yet (``PLACEMENT_SCHEMA``)."""
    return pl.DataFrame(schema=PLACEMENT_SCHEMA)


def place_cases(
    cases: pl.DataFrame,
    placements: pl.DataFrame,
    contracts: AgencyContracts,
    as_of: dt.date,
    *,
    last_paid: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Recall stale placements and place eligible cases; returns ``(placements, recalled)``.

    ``cases``: ``case_id, stage, p_pay, overdue_fen, max_dpd, region``; ``placements``: all
    placements so far; ``last_paid``: ``case_id, paid_on`` of the latest payment per case.
    """
    rules = contracts.placement
    paid = (
        last_paid
        if last_paid is not None
        else pl.DataFrame(schema={"case_id": pl.String, "paid_on": pl.Date})
    )
    active = placements.filter(pl.col("recalled_on").is_null()).join(paid, on="case_id", how="left")
    since = pl.max_horizontal("placed_on", pl.col("paid_on").fill_null(pl.col("placed_on")))
    stale = active.filter((pl.lit(as_of) - since).dt.total_days() >= rules.recall_after_days)
    recalled = stale.select("case_id", "agency_id")
    updated = (
        placements.join(
            recalled.with_columns(pl.lit(True).alias("__stale")),
            on=["case_id", "agency_id"],
            how="left",
        )
        .with_columns(
            pl.when(pl.col("__stale").fill_null(False) & pl.col("recalled_on").is_null())
            .then(pl.lit(as_of))
            .otherwise(pl.col("recalled_on"))
            .alias("recalled_on")
        )
        .drop("__stale")
    )
    still = updated.filter(pl.col("recalled_on").is_null())
    load = dict(still.group_by("agency_id").len().iter_rows())
    history: dict[str, set[str]] = {}
    for case_id, agency_id in updated.select("case_id", "agency_id").iter_rows():
        history.setdefault(case_id, set()).add(agency_id)
    eligible = cases.filter(
        pl.col("stage").is_in(list(rules.stages))
        & (pl.col("p_pay") <= rules.max_p_pay)
        & (pl.col("overdue_fen") >= rules.min_overdue_fen)
        & ~pl.col("case_id").is_in(still["case_id"].implode())
    ).sort("overdue_fen", "case_id", descending=[True, False])
    rows = []
    for case in eligible.iter_rows(named=True):
        before = history.get(case["case_id"], set())
        if len(before) >= rules.max_placements:
            continue
        offers = []
        for agency_id, agency in contracts.agencies.items():
            rate = agency.rate(int(case["max_dpd"]))
            covers = not agency.regions or case.get("region") in agency.regions
            if rate is None or not covers or agency_id in before:
                continue
            if load.get(agency_id, 0) >= agency.capacity:
                continue
            offers.append((rate, len(agency.regions) == 0, agency_id))
        if not offers:
            continue
        rate, _, agency_id = min(offers)  # cheapest; a regional agency before a national one
        load[agency_id] = load.get(agency_id, 0) + 1
        rows.append(
            (
                case["case_id"],
                agency_id,
                as_of,
                int(case["max_dpd"]),
                int(case["overdue_fen"]),
                str(rate),
                None,
                len(before) + 1,
            )
        )
    new = pl.DataFrame(rows, schema=PLACEMENT_SCHEMA, orient="row")
    return pl.concat([updated, new]), recalled


def agency_performance(
    placements: pl.DataFrame, payments: pl.DataFrame, as_of: dt.date
) -> pl.DataFrame:
    """Per agency: placements, active, recalled, placed debt, cash recovered while placed,
    recovery rate, commission (fen, half-even per payment) and net recovery.

    ``payments``: ``case_id, paid_on, amount_fen``.
    """
    spans = placements.with_columns(pl.col("recalled_on").fill_null(as_of).alias("__until"))
    during = (
        spans.join(payments, on="case_id")
        .filter(
            (pl.col("paid_on") >= pl.col("placed_on")) & (pl.col("paid_on") <= pl.col("__until"))
        )
        .select("agency_id", "amount_fen", "commission_rate")
    )
    fees = [
        int((Decimal(a) * Decimal(r)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
        for a, r in during.select("amount_fen", "commission_rate").iter_rows()
    ]
    during = during.with_columns(pl.Series("commission_fen", fees, dtype=pl.Int64))
    cash = during.group_by("agency_id").agg(
        pl.col("amount_fen").sum().alias("recovered_fen"),
        pl.col("commission_fen").sum().alias("commission_fen"),
    )
    base = placements.group_by("agency_id").agg(
        pl.len().alias("placements"),
        pl.col("recalled_on").is_null().sum().alias("active"),
        pl.col("recalled_on").is_not_null().sum().alias("recalled"),
        pl.col("placed_overdue_fen").sum().alias("placed_fen"),
    )
    return (
        base.join(cash, on="agency_id", how="left")
        .with_columns(pl.col("recovered_fen").fill_null(0), pl.col("commission_fen").fill_null(0))
        .with_columns(
            (pl.col("recovered_fen") / pl.col("placed_fen")).alias("recovery_rate"),
            (pl.col("recovered_fen") - pl.col("commission_fen")).alias("net_recovered_fen"),
        )
        .sort("agency_id")
    )
