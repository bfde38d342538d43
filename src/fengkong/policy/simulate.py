"""Simulation: run a policy (and a challenger) over historical applications and compare.

For each policy: approval rate; expected bad rate on approvals (mean probability of bad from
the policy's first scorecard, through its points-to-odds scaling, or its first LightGBM
model); observed bad rate on approvals whose outcome is known (``known`` marks booked
loans); on the synthetic book, where every application has a counterfactual outcome, the
oracle bad rate on everything approved. Against a challenger: the swap-in / swap-out matrix
(champion decision × challenger decision, with counts and bad rates) and every figure by
segment. :func:`simulation_report` writes the HTML report and the Parquet of row-level
decisions.

>>> import tempfile
>>> from fengkong.policy import load_policy
>>> from fengkong.policy.examples import reference_applications, write_reference_policy
>>> with tempfile.TemporaryDirectory() as d:
...     p = load_policy(write_reference_policy(d))
>>> sim = simulate(p, reference_applications(2_000, seed=1))
>>> sim.summary.select("policy", "applications").row(0)
('credit v1', 2000)
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from fengkong._html import html_page, html_table
from fengkong.errors import InvalidArgumentError
from fengkong.policy.nodes import ModelNode, ScorecardNode
from fengkong.policy.policy import Policy

__all__ = ["Simulation", "simulate", "simulation_report"]


@dataclass(frozen=True, slots=True)
class Simulation:
    """Figures of a simulation (Polars frames) and the row-level decisions."""

    summary: pl.DataFrame
    swap: pl.DataFrame | None
    segments: pl.DataFrame | None
    rows: pl.DataFrame


def _expected_bad(policy: Policy, decided: pl.DataFrame) -> pl.Series | None:
    for node in policy.nodes:
        if isinstance(node, ScorecardNode):
            score = decided[node.provides[0]].to_numpy()
            return pl.Series(np.asarray(node.model.probability(score), dtype=np.float64))
        if isinstance(node, ModelNode):
            return decided[node.provides[0]]
    return None


def _figures(frame: pl.DataFrame, prefix: str, by: list[str]) -> pl.DataFrame:
    approved = pl.col(f"{prefix}_decision") == "approve"
    aggs = [
        pl.len().alias("applications"),
        approved.mean().alias("approval_rate"),
    ]
    if f"{prefix}_pd" in frame.columns:
        aggs.append(pl.col(f"{prefix}_pd").filter(approved).mean().alias("expected_bad_rate"))
    if "__known_bad" in frame.columns:
        aggs.append(pl.col("__known_bad").filter(approved).mean().alias("observed_bad_rate"))
        aggs.append((approved & pl.col("__known_bad").is_not_null()).sum().alias("observed_n"))
    if "__oracle_bad" in frame.columns:
        aggs.append(pl.col("__oracle_bad").filter(approved).mean().alias("oracle_bad_rate"))
    if by:
        return frame.group_by(by, maintain_order=True).agg(aggs).sort(by)
    return frame.select(aggs)


def simulate(
    policy: Policy,
    frame: pl.DataFrame,
    *,
    challenger: Policy | None = None,
    outcome: str | None = None,
    known: str | None = None,
    oracle: bool = False,
    segment: str | None = None,
    keep: tuple[str, ...] = (),
) -> Simulation:
    """Decide ``frame`` with ``policy`` (and ``challenger``) and compare the results.

    ``outcome`` is a 0/1 bad column; ``known`` a boolean column that says where it was
    observed (default: wherever it is not null); ``oracle=True`` says the outcome exists for
    every application (the synthetic book's counterfactuals) and adds the oracle bad rate.
    ``segment`` names a column to break every figure down by.
    """
    for name, col in (("outcome", outcome), ("known", known), ("segment", segment)):
        if col is not None and col not in frame.columns:
            raise InvalidArgumentError(
                name, expected=f"a column of the input {frame.columns[:20]}", got=col
            )
    policies = {"a": policy, **({"b": challenger} if challenger is not None else {})}
    collected = [frame[k] for k in keep]
    for prefix, p in policies.items():
        decided = p.decide_frame(frame)
        columns = [
            decided["decision"].alias(f"{prefix}_decision"),
            decided["reasons"].alias(f"{prefix}_reasons"),
        ]
        pd_ = _expected_bad(p, decided)
        if pd_ is not None:
            columns.append(pd_.alias(f"{prefix}_pd"))
        columns += [decided[n].alias(f"{prefix}_{n}") for n, _ in p.outputs]
        if "arm" in decided.columns:
            columns.append(decided["arm"].alias(f"{prefix}_arm"))
        collected += columns
    rows = pl.DataFrame(collected)
    work = rows
    if outcome is not None:
        bad = frame[outcome].cast(pl.Float64)
        seen = frame[known].cast(pl.Boolean) if known else bad.is_not_null()
        work = work.with_columns(
            pl.when(seen).then(bad).otherwise(None).alias("__known_bad"),
            *([bad.alias("__oracle_bad")] if oracle else []),
        )
    if segment is not None:
        work = work.with_columns(frame[segment].alias("__segment"))
    names = {"a": f"{policy.name} v{policy.version}"}
    if challenger is not None:
        names["b"] = f"{challenger.name} v{challenger.version}"
    summary = pl.concat(
        [
            _figures(work, prefix, []).select(pl.lit(label).alias("policy"), pl.all())
            for prefix, label in names.items()
        ],
        how="diagonal",
    )
    segments = None
    if segment is not None:
        segments = pl.concat(
            [
                _figures(work, prefix, ["__segment"])
                .rename({"__segment": segment})
                .select(pl.lit(label).alias("policy"), pl.all())
                for prefix, label in names.items()
            ],
            how="diagonal",
        )
    swap = None
    if challenger is not None:
        aggs = [pl.len().alias("applications")]
        if "__known_bad" in work.columns:
            aggs.append(pl.col("__known_bad").mean().alias("observed_bad_rate"))
        if "__oracle_bad" in work.columns:
            aggs.append(pl.col("__oracle_bad").mean().alias("oracle_bad_rate"))
        swap = (
            work.group_by("a_decision", "b_decision")
            .agg(aggs)
            .with_columns(
                pl.when((pl.col("a_decision") == "approve") & (pl.col("b_decision") != "approve"))
                .then(pl.lit("swap-out"))
                .when((pl.col("a_decision") != "approve") & (pl.col("b_decision") == "approve"))
                .then(pl.lit("swap-in"))
                .otherwise(pl.lit("same"))
                .alias("swap")
            )
            .sort("a_decision", "b_decision")
            .rename({"a_decision": f"{names['a']}", "b_decision": f"{names['b']}"})
        )
    return Simulation(summary, swap, segments, rows)


def simulation_report(
    sim: Simulation, folder: str | Path, *, title: str = "Policy simulation"
) -> Path:
    """Write ``report.html`` (tables and an offline Plotly chart) and ``decisions.parquet``."""
    import plotly.graph_objects as go  # noqa: PLC0415 (plotting only when reporting)

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    sim.rows.write_parquet(out / "decisions.parquet")
    parts = [f"<h1>{html.escape(title)}</h1>", "<h2>Summary</h2>", html_table(sim.summary)]
    if sim.swap is not None:
        parts += ["<h2>Swap-in / swap-out</h2>", html_table(sim.swap)]
    figure_source = sim.segments if sim.segments is not None else sim.summary
    x_col = figure_source.columns[1] if sim.segments is not None else "policy"
    fig = go.Figure()
    for label in figure_source["policy"].unique(maintain_order=True):
        part = figure_source.filter(pl.col("policy") == label)
        fig.add_bar(
            name=f"{label}: approval rate",
            x=[str(v) for v in part[x_col]],
            y=part["approval_rate"].to_list(),
        )
        for rate in ("expected_bad_rate", "observed_bad_rate", "oracle_bad_rate"):
            if rate in part.columns:
                fig.add_scatter(
                    name=f"{label}: {rate.replace('_', ' ')}",
                    x=[str(v) for v in part[x_col]],
                    y=part[rate].to_list(),
                    mode="markers+lines",
                    yaxis="y2",
                )
    fig.update_layout(
        yaxis={"title": "approval rate", "tickformat": ".0%"},
        yaxis2={"title": "bad rate", "overlaying": "y", "side": "right", "tickformat": ".1%"},
        barmode="group",
        height=420,
    )
    parts += [
        "<h2>Approval and bad rates</h2>",
        fig.to_html(full_html=False, include_plotlyjs=True),
    ]
    if sim.segments is not None:
        parts += ["<h2>By segment</h2>", html_table(sim.segments)]
    page = html_page(title, parts)
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
