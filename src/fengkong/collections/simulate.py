"""Simulate a collection strategy over months before it goes live, champion against challenger.

Each month every open case gets its plan from the strategy (the decision engine, arms
included); the chance it pays that month is its collection score, raised by every action that
reaches the borrower (``1 − (1 − p) × Π(1 − contact × right party × lift)``, rates from the
response model — data), shrinking each month it stays unpaid. A paying case cures (its overdue
amount is recovered); an agency-placed case is recovered at the agency's monthly rate, less
commission; a case reaching the write-off DPD is written off. Costs per attempt and agency
commission come from ``portfolio/data/collection_costs.yaml``. Draws use one seeded random
stream per case and month, so two strategies simulated on the same cases face the same luck
(common random numbers): differences are the strategies'.

>>> import polars as pl
>>> from fengkong.collections.strategy import load_strategy
>>> cases = pl.DataFrame({"case_id": [f"c{k}" for k in range(400)], "stage": ["early"] * 400,
...                       "p_pay": [0.3] * 400, "overdue_fen": [50_000] * 400,
...                       "balance_fen": [400_000] * 400, "max_dpd": [10] * 400})
>>> sim = simulate_strategy(load_strategy(), cases, months=3, seed=1)
>>> sim.monthly.columns[:4]
['arm', 'month', 'open_cases', 'cured']
"""

from __future__ import annotations

import html
import zlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml

from fengkong._html import html_page, html_table
from fengkong.collections.cases import Stages
from fengkong.collections.strategy import Strategy, parse_plan
from fengkong.errors import InvalidArgumentError

__all__ = ["StrategySimulation", "comparison_report", "response_model", "simulate_strategy"]


@cache
def response_model() -> dict[str, Any]:
    """The shipped response model (``collections/data/response.yaml``)."""
    text = resources.files("fengkong.collections").joinpath("data/response.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


@cache
def _costs() -> dict[str, Any]:
    text = resources.files("fengkong.portfolio").joinpath("data/collection_costs.yaml")
    data: dict[str, Any] = yaml.safe_load(text.read_text("utf-8"))["channels"]
    return data


@dataclass(frozen=True, slots=True)
class StrategySimulation:
    """Month-by-month figures per arm and the totals."""

    monthly: (
        pl.DataFrame
    )  # arm, month, open_cases, cured, written_off, recovered/cost/billed_fen, roll_rate
    totals: (
        pl.DataFrame
    )  # arm, cases, overdue_fen, recovered_fen, cost_fen, recovery_rate, cost_per_yuan
    # recovery_rate: recovered / (starting overdue + instalments falling due while unpaid)

    def recovery_curve(self) -> pl.DataFrame:
        """Cumulative recovered amount over the starting overdue amount, by arm and month."""
        start = self.totals.select("arm", "overdue_fen")
        return (
            self.monthly.sort("arm", "month")
            .with_columns(pl.col("recovered_fen").cum_sum().over("arm").alias("__cum"))
            .join(start, on="arm")
            .select(
                "arm", "month", (pl.col("__cum") / pl.col("overdue_fen")).alias("recovered_share")
            )
        )


def _uniform(case_ids: list[str], month: int, seed: int) -> np.ndarray:
    """One reproducible draw per case and month (common random numbers across strategies)."""
    keys = np.array(
        [zlib.crc32(f"{seed}:{month}:{c}".encode()) for c in case_ids], dtype=np.float64
    )
    return keys / 2**32


def simulate_strategy(
    strategy: Strategy,
    cases: pl.DataFrame,
    *,
    months: int = 6,
    seed: int = 0,
    stages: Stages | None = None,
) -> StrategySimulation:
    """Run ``strategy`` on ``cases`` (``case_id, stage, p_pay, overdue_fen, balance_fen,
    max_dpd``, optionally ``stopped``: a stop state in force) for ``months`` months; figures
    per arm (``all`` without arms). A stopped case gets no contact and no placement."""
    if months < 1:
        raise InvalidArgumentError("months", expected="at least 1", got=months)
    model = response_model()
    channels, costs = model["channels"], _costs()
    decay, write_off = float(model["monthly_decay"]), int(model["write_off_dpd"])
    agency_rate = float(model["agency"]["monthly_recovery"])
    commission = costs["agency"]["commission_bp"] / 10_000
    stages = stages or Stages()
    stopped = (
        set(cases.filter(pl.col("stopped").fill_null(False))["case_id"].to_list())
        if "stopped" in cases.columns
        else set()
    )
    state = cases.select(
        "case_id", "p_pay", "overdue_fen", "balance_fen", pl.col("max_dpd").alias("dpd")
    ).with_columns(
        (pl.col("overdue_fen") // (pl.col("dpd") // 30 + 1)).clip(1).alias("instalment"),
        pl.lit("open").alias("status"),
        pl.lit(False).alias("placed"),
    )
    start = state.select("case_id", "overdue_fen")
    arm_of: dict[str, str] = {}
    rows = []
    for month in range(1, months + 1):
        live = state.filter(pl.col("status") == "open")
        if live.height == 0:
            break
        frame = live.with_columns(stages.expr(pl.col("dpd")).alias("stage")).with_columns(
            pl.when(pl.col("placed"))
            .then(pl.lit("agency"))
            .otherwise(pl.col("stage"))
            .alias("stage"),
            pl.col("dpd").alias("max_dpd"),
        )
        decided = strategy.policy.decide_frame(frame)
        arms = decided["arm"].to_list() if "arm" in decided.columns else ["all"] * live.height
        for c, a in zip(live["case_id"].to_list(), arms, strict=True):
            arm_of.setdefault(c, a)
        plans = {p: parse_plan(p) for p in decided["plan"].unique().to_list()}
        miss = np.ones(live.height)
        cost = np.zeros(live.height)
        placed_now = live["placed"].to_numpy().copy()
        ids = live["case_id"].to_list()
        for i, plan in enumerate(decided["plan"].to_list()):
            if ids[i] in stopped:  # a stop state: no contact, no placement
                continue
            for action, _ in plans[plan]:
                if action == "agency":
                    placed_now[i] = True
                elif action in channels:
                    ch = channels[action]
                    miss[i] *= 1 - ch["contact"] * ch["right_party"] * ch["lift"]
                    cost[i] += costs.get(action, {}).get("per_attempt_fen", 0)
        p = live["p_pay"].to_numpy()
        p_month = np.where(placed_now, agency_rate, 1 - (1 - p) * miss)
        draw = _uniform(live["case_id"].to_list(), month, seed)
        pays = draw < p_month
        overdue = live["overdue_fen"].to_numpy()
        recovered = np.where(pays, overdue, 0)
        fee = np.where(pays & placed_now, np.rint(overdue * commission), 0)
        dpd = live["dpd"].to_numpy()
        next_dpd = np.where(pays, 0, dpd + 30)
        written = ~pays & (next_dpd >= write_off)
        status = np.where(pays, "cured", np.where(written, "written_off", "open"))
        rolled = ~pays & (next_dpd // 30 > dpd // 30)
        updated = live.with_columns(
            pl.Series("dpd", next_dpd),
            pl.Series("status", status),
            pl.Series("placed", placed_now),
            pl.Series("p_pay", np.where(pays, p, p * decay)),
            pl.Series("overdue_fen", np.where(pays, 0, overdue + live["instalment"].to_numpy())),
        )
        state = pl.concat([state.filter(pl.col("status") != "open"), updated])
        month_frame = pl.DataFrame(
            {
                "arm": [arm_of[c] for c in live["case_id"].to_list()],
                "cured": pays,
                "written_off": written,
                "recovered_fen": recovered.astype(np.int64),
                "cost_fen": (cost + fee).astype(np.int64),
                "billed_fen": np.where(pays, 0, live["instalment"].to_numpy()).astype(np.int64),
                "rolled": rolled,
            }
        )
        rows.append(
            month_frame.group_by("arm")
            .agg(
                pl.len().alias("open_cases"),
                pl.col("cured").sum(),
                pl.col("written_off").sum(),
                pl.col("recovered_fen").sum(),
                pl.col("cost_fen").sum(),
                pl.col("billed_fen").sum(),
                pl.col("rolled").mean().alias("roll_rate"),
            )
            .with_columns(pl.lit(month).alias("month"))
        )
    monthly = (
        pl.concat(rows)
        .select(
            "arm",
            "month",
            "open_cases",
            "cured",
            "written_off",
            "recovered_fen",
            "cost_fen",
            "billed_fen",
            "roll_rate",
        )
        .sort("arm", "month")
    )
    starting = (
        start.with_columns(pl.col("case_id").replace_strict(arm_of, default="all").alias("arm"))
        .group_by("arm")
        .agg(pl.len().alias("cases"), pl.col("overdue_fen").sum())
    )
    totals = (
        monthly.group_by("arm")
        .agg(pl.col("recovered_fen").sum(), pl.col("cost_fen").sum(), pl.col("billed_fen").sum())
        .join(starting, on="arm")
        .with_columns(
            (pl.col("recovered_fen") / (pl.col("overdue_fen") + pl.col("billed_fen"))).alias(
                "recovery_rate"
            ),
            (pl.col("cost_fen") / pl.col("recovered_fen").clip(1)).alias("cost_per_yuan"),
        )
        .select(
            "arm",
            "cases",
            "overdue_fen",
            "recovered_fen",
            "cost_fen",
            "recovery_rate",
            "cost_per_yuan",
        )
        .sort("arm")
    )
    return StrategySimulation(monthly, totals)


def comparison_report(
    results: dict[str, StrategySimulation],
    folder: str | Path,
    *,
    title: str = "Strategy simulation",
) -> Path:
    """Write ``report.html`` (totals, recovery curves, roll rates, cost per yuan recovered, per
    strategy and arm; offline Plotly) and ``monthly.parquet`` / ``totals.parquet``."""
    import plotly.graph_objects as go  # noqa: PLC0415 (plotting only when reporting)

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    label = pl.col("strategy") + pl.lit(" / ") + pl.col("arm")
    monthly = pl.concat(
        [r.monthly.with_columns(pl.lit(name).alias("strategy")) for name, r in results.items()]
    )
    totals = pl.concat(
        [r.totals.with_columns(pl.lit(name).alias("strategy")) for name, r in results.items()]
    ).select("strategy", pl.all().exclude("strategy"))
    curves = pl.concat(
        [
            r.recovery_curve().with_columns(pl.lit(name).alias("strategy"))
            for name, r in results.items()
        ]
    )
    monthly.write_parquet(out / "monthly.parquet")
    totals.write_parquet(out / "totals.parquet")
    parts = [f"<h1>{html.escape(title)}</h1>", "<h2>Totals</h2>", html_table(totals)]
    for name, frame, column, fmt in (
        (
            "Recovery curve (cumulative recovered / starting overdue)",
            curves,
            "recovered_share",
            ".0%",
        ),
        ("Roll rate (share of open cases moving to the next bucket)", monthly, "roll_rate", ".0%"),
    ):
        fig = go.Figure()
        for key, part in frame.with_columns(label.alias("__label")).group_by(
            "__label", maintain_order=True
        ):
            fig.add_scatter(
                name=str(key[0]),
                x=part["month"].to_list(),
                y=part[column].to_list(),
                mode="lines+markers",
            )
        fig.update_layout(xaxis={"title": "month"}, yaxis={"tickformat": fmt}, height=380)
        parts += [
            f"<h2>{html.escape(name)}</h2>",
            fig.to_html(full_html=False, include_plotlyjs=len(parts) < 4),
        ]
    parts += ["<h2>By month</h2>", html_table(monthly.sort("strategy", "arm", "month"))]
    path = out / "report.html"
    path.write_text(html_page(title, parts), encoding="utf-8")
    return path
