"""``fengkong collections``: run a day of collections over a synthetic book.

The collections engine and Polars are imported when a command runs: ``fengkong --help``
loads no engine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from fengkong.cli._console import (
    Quiet,
    console,
    parse_date,
    progress_bar,
    renamed_option,
    user_errors,
)
from fengkong.errors import InvalidArgumentError
from fengkong.settings import Settings

AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="The book's month-end snapshot, YYYY-MM-DD (default: the busiest)."
    ),
]
OldDate = Annotated[str | None, typer.Option("--date", hidden=True, help="Deprecated: --as-of.")]

app = typer.Typer(
    help="Collections: cases, strategies, guardrails, allocation.", no_args_is_help=True
)


@app.command("run")
def run(
    book: Annotated[Path, typer.Argument(help="A synthetic book folder (fengkong synth).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the day's work lists.")],
    snapshot: AsOf = None,
    old_date: OldDate = None,
    strategy: Annotated[
        Path | None, typer.Option(help="A strategy file (default: the shipped one).")
    ] = None,
    jurisdiction: Annotated[str, typer.Option(help="Contact-rule profile: cn or us.")] = "cn",
    collectors: Annotated[int, typer.Option(help="Collectors in the synthetic roster.")] = 40,
    field_agents: Annotated[int, typer.Option(help="Field agents in the synthetic roster.")] = 10,
    greedy: Annotated[bool, typer.Option(help="Allocate greedily instead of exactly.")] = False,
    quiet: Quiet = False,
) -> None:
    """Open/close cases, score, plan actions, check every contact, allocate; write work lists."""
    import polars as pl  # noqa: PLC0415 (heavy imports on demand)

    from fengkong.collections import load_contact_rules  # noqa: PLC0415
    from fengkong.collections.cases import update_cases  # noqa: PLC0415
    from fengkong.collections.daily import run_day  # noqa: PLC0415
    from fengkong.collections.promises import PROMISE_SCHEMA  # noqa: PLC0415
    from fengkong.collections.score import case_p_pay  # noqa: PLC0415
    from fengkong.collections.strategy import load_strategy  # noqa: PLC0415
    from fengkong.collections.synthetic import book_day, synthetic_staff  # noqa: PLC0415
    from fengkong.synth import read_book  # noqa: PLC0415

    with user_errors():
        settings = Settings()
        plan = load_strategy(strategy, limits=settings.expression_limits())
        profile = load_contact_rules().profile(jurisdiction)
        with progress_bar("collections day", 4, quiet=quiet) as advance:
            data = read_book(book)
            chosen = renamed_option(snapshot, old_date, name="--as-of", old_name="--date")
            as_of = _day(data, chosen)
            advance(1)
            day = book_day(data, as_of)
            advance(1)
            minimum = settings.collections_min_case_fen
            cases, _ = update_cases(None, day["loans"], as_of, min_case_fen=minimum)
            team, field = synthetic_staff(
                day["borrowers"], collectors=collectors, field_agents=field_agents
            )
            result = run_day(
                as_of=as_of,
                loans=day["loans"],
                cases=None,
                promises=pl.DataFrame(schema=PROMISE_SCHEMA),
                payments=pl.DataFrame(
                    schema={"case_id": pl.String, "paid_on": pl.Date, "amount_fen": pl.Int64}
                ),
                p_pay=case_p_pay(cases, day["loans"], day["scored"]),
                strategy=plan,
                collectors=team,
                field_agents=field,
                profile=profile,
                borrowers=day["borrowers"],
                exact=not greedy,
                min_case_fen=minimum,
            )
            advance(1)
            out.mkdir(parents=True, exist_ok=True)
            result.cases.write_parquet(out / "cases.parquet")
            result.events.write_parquet(out / "events.parquet")
            result.actions.write_parquet(out / "actions.parquet")
            result.placements.write_parquet(out / "placements.parquet")
            for name, alloc in (("calls", result.calls), ("visits", result.visits)):
                alloc.assignments.write_parquet(out / f"{name}.parquet")
                alloc.unserved.write_parquet(out / f"{name}_unserved.parquet")
            summary: dict[str, Any] = {"date": as_of.isoformat(), **result.summary(),
                       "calls_solver": result.calls.solver, "calls_gap": result.calls.gap}  # fmt: skip
            (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
            advance(1)
        console.print(
            f"{as_of}: {summary['open_cases']:,} open cases, {summary['actions_planned']:,} actions "
            f"({summary['actions_blocked']:,} blocked by the guardrails), {summary['calls_assigned']:,} calls "
            f"and {summary['visits_assigned']:,} visits assigned, expected recovery "
            f"{summary['expected_recovery_fen'] / 100:,.2f} -> {out}"
        )


@app.command("score")
def score(
    book: Annotated[Path, typer.Argument(help="A synthetic book folder (fengkong synth).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the model (LightGBM + sidecar).")],
    cutoff: Annotated[
        str | None, typer.Option(help="Train before this date, validate from it (YYYY-MM-DD).")
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Fit the collection score (P(pay within 30 days)) and report AUC/KS out of time."""
    from fengkong.collections.score import collection_dataset, fit_collection_score  # noqa: PLC0415
    from fengkong.synth import read_book  # noqa: PLC0415

    with user_errors():
        with progress_bar("collection score", 2, quiet=quiet) as advance:
            data = read_book(book)
            rows = collection_dataset(data.loans, data.performance, data.collection_responses)
            advance(1)
            fitted = fit_collection_score(
                rows, cutoff=parse_date(cutoff, "--cutoff") if cutoff else None
            )
            out.mkdir(parents=True, exist_ok=True)
            fitted.model.save(out / "collection_score")
            advance(1)
        console.print(
            f"{fitted.train_rows:,} loan-months before {fitted.cutoff}, {fitted.test_rows:,} from it: "
            f"train AUC {fitted.train_auc:.3f}; out of time AUC {fitted.test_auc:.3f}, KS "
            f"{fitted.test_ks:.3f} (pay rate {fitted.pay_rate:.1%}) -> {out}"
        )


@app.command("simulate")
def simulate(
    book: Annotated[Path, typer.Argument(help="A synthetic book folder (fengkong synth).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for report.html and the tables.")],
    strategy: Annotated[
        Path | None, typer.Option(help="The champion strategy (default: the shipped one).")
    ] = None,
    vs: Annotated[Path | None, typer.Option("--vs", help="A challenger strategy file.")] = None,
    months: Annotated[int, typer.Option(help="Months to simulate.")] = 6,
    snapshot: AsOf = None,
    old_date: OldDate = None,
    seed: Annotated[int, typer.Option(help="Seed of the draws (shared by both strategies).")] = 0,
    quiet: Quiet = False,
) -> None:
    """Simulate strategies on the book's delinquent cases: recovery, roll rates, cost."""
    import polars as pl  # noqa: PLC0415 (heavy imports on demand)

    from fengkong.collections.cases import update_cases  # noqa: PLC0415
    from fengkong.collections.score import case_p_pay  # noqa: PLC0415
    from fengkong.collections.simulate import comparison_report, simulate_strategy  # noqa: PLC0415
    from fengkong.collections.strategy import load_strategy  # noqa: PLC0415
    from fengkong.collections.synthetic import book_day  # noqa: PLC0415
    from fengkong.synth import read_book  # noqa: PLC0415

    with user_errors():
        settings = Settings()
        limits = settings.expression_limits()
        strategies = {
            (strategy.stem if strategy else "default"): load_strategy(strategy, limits=limits)
        }
        if vs is not None:
            name = vs.stem if vs.stem not in strategies else f"{vs.stem} (vs)"
            strategies[name] = load_strategy(vs, limits=limits)
        with progress_bar("simulating", 1 + len(strategies), quiet=quiet) as advance:
            data = read_book(book)
            chosen = renamed_option(snapshot, old_date, name="--as-of", old_name="--date")
            as_of = _day(data, chosen)
            day = book_day(data, as_of)
            minimum = settings.collections_min_case_fen
            cases, _ = update_cases(None, day["loans"], as_of, min_case_fen=minimum)
            start = (
                cases.filter(pl.col("status") == "open")
                .join(case_p_pay(cases, day["loans"], day["scored"]), on="case_id", how="left")
                .with_columns(pl.col("p_pay").fill_null(0.5))
            )
            advance(1)
            results = {}
            for name, s in strategies.items():
                results[name] = simulate_strategy(s, start, months=months, seed=seed)
                advance(1)
            path = comparison_report(results, out, title=f"Collections simulation from {as_of}")
        for name, r in results.items():
            for row in r.totals.iter_rows(named=True):
                console.print(
                    f"{name} / {row['arm']}: {row['cases']:,} cases, recovery {row['recovery_rate']:.1%}, "
                    f"cost {row['cost_per_yuan']:.3f} per yuan recovered"
                )
        console.print(f"report -> {path}")


def _day(data: Any, date: str | None) -> Any:
    """The requested month-end snapshot, or the one with the most loans past due."""
    import polars as pl  # noqa: PLC0415 (on demand)

    snapshots = data.performance["snapshot_on"].unique().sort()
    if date is None:
        counts = data.performance.filter(pl.col("dpd") > 0).group_by("snapshot_on").len()
        return counts.sort("len", "snapshot_on")["snapshot_on"][-1]
    as_of = parse_date(date, "--as-of")
    if as_of not in snapshots.to_list():
        raise InvalidArgumentError(
            "--as-of",
            expected=f"a snapshot date ({snapshots[0]}..{snapshots[-1]}, month ends)",
            got=as_of,
        )
    return as_of
