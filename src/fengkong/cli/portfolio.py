"""``fengkong portfolio``: the monthly portfolio report of a book (the engine imported on demand)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from fengkong.cli._console import Quiet, console, progress_bar, user_errors
from fengkong.errors import InvalidArgumentError

app = typer.Typer(
    help="Portfolio analytics: vintages, roll rates, strata, monitoring, collections.",
    no_args_is_help=True,
)


def _month(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(f"{value}-01")
    except ValueError:
        raise InvalidArgumentError("--month", expected="a month as YYYY-MM", got=value) from None


@app.command("report")
def report(
    book: Annotated[Path, typer.Argument(help="A synthetic book folder (fengkong synth).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for report.html, tables/, figures/.")],
    month: Annotated[
        str | None, typer.Option(help="Reporting month YYYY-MM (default: last).")
    ] = None,
    roll_window: Annotated[int, typer.Option(help="Months of transitions in the roll rates.")] = 6,
    maturity: Annotated[int, typer.Option(help="Months before an outcome counts as matured.")] = 6,
    alerts: Annotated[Path | None, typer.Option(help="Alert thresholds (YAML).")] = None,
    costs: Annotated[Path | None, typer.Option(help="Collection costs per channel (YAML).")] = None,
    quiet: Quiet = False,
) -> None:
    """Vintages, roll rates, stratification, monitoring, collections and alerts: HTML + tables."""
    from fengkong.portfolio import (  # noqa: PLC0415 (the engine on demand)
        book_applications_view,
        book_loan_attributes,
        load_alert_rules,
        load_collection_costs,
        portfolio_report,
    )
    from fengkong.synth import read_book  # noqa: PLC0415

    with user_errors():
        if roll_window < 1 or maturity < 0:
            raise InvalidArgumentError(
                "--roll-window/--maturity", expected="positive months", got=(roll_window, maturity)
            )
        rules = load_alert_rules(alerts)
        channel_costs = load_collection_costs(costs)
        with progress_bar("portfolio report", 3, quiet=quiet) as advance:
            loaded = read_book(book)
            advance(1)
            as_of = loaded.performance["snapshot_on"].max()
            if not isinstance(as_of, dt.date):
                raise InvalidArgumentError(
                    "book", expected="a book with performance snapshots", got=str(book)
                )
            view = book_applications_view(
                loaded.applications, loaded.oracle, as_of=as_of, maturity_months=maturity
            )
            advance(1)
            result = portfolio_report(
                loaded.loans,
                loaded.performance,
                out,
                month=_month(month),
                applications=view,
                responses=loaded.collection_responses,
                attributes=book_loan_attributes(loaded.loans, loaded.applications, loaded.persons),
                roll_window=roll_window,
                alert_rules=rules,
                costs=channel_costs,
            )
            advance(1)
        n_alerts = result.tables["alerts"].height
        console.print(
            f"report written to {result.html} ({len(result.tables)} tables, "
            f"{n_alerts} alert{'s' if n_alerts != 1 else ''})"
        )
