"""``fengkong demo``: generate the default book and show its portfolio summary."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from fengkong.cli._console import console, progress_bar, user_errors
from fengkong.portfolio import pool_summary
from fengkong.synth import load_params, read_book, write_book


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _kyuan(fen: int) -> str:
    return f"{fen // 100_000:,}"  # thousands of yuan, display only; the data stays in integer fen


def summary_table(summary: pl.DataFrame, month: dt.date) -> Table:
    """The pool summary as a Rich table."""
    table = Table(
        title=f"Portfolio (DPD shares of open balance) at {month:%Y-%m} month end (balances in thousands of CNY)"
    )
    for name in ("product", "loans", "lent", "open", "1+", "30+", "90+", "w/off"):
        table.add_column(name, justify="left" if name == "product" else "right")
    for row in summary.iter_rows(named=True):
        style = "bold" if row["product"] == "Total" else None
        table.add_row(
            row["product"],
            f"{row['loans']:,}",
            _kyuan(row["disbursed_fen"]),
            _kyuan(row["outstanding_fen"]),
            _pct(row["dpd_1_plus"]),
            _pct(row["dpd_30_plus"]),
            _pct(row["dpd_90_plus"]),
            _kyuan(row["written_off_fen"] or 0),
            style=style,
        )
    return table


def demo(
    applications: Annotated[
        int, typer.Option("--applications", "-n", help="Size of the demo book.")
    ] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    out: Annotated[Path, typer.Option(help="Working directory of the demo.")] = Path(
        "fengkong-demo"
    ),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Run the demo: generate the default synthetic book and print a portfolio summary."""
    with user_errors():
        params = load_params()
        book_dir = out / "book"
        with progress_bar("synthesising applications", applications, quiet=quiet) as advance:
            write_book(
                book_dir,
                applications,
                seed=seed,
                params=params,
                overwrite=True,
                progress=advance,
            )
        book = read_book(book_dir)
    first = params.start_date.replace(day=1)
    month = (pl.Series([first]).dt.offset_by(f"{params.origination_months}mo"))[0]
    summary = pool_summary(book.loans, book.performance, month)
    decided = book.applications["baseline_decision"].value_counts()
    approved = decided.filter(pl.col("baseline_decision") == "approve")["count"].sum()
    console.print(
        f"{book.applications.height:,} applications from {book.persons.height:,} persons at "
        f"{book.applications['institution_id'].n_unique()} institutions; baseline policy approved "
        f"{approved:,} ({approved / book.applications.height:.1%}); {book.rings['ring_id'].n_unique()} planted fraud rings."
    )
    console.print(summary_table(summary, month))
    console.print(f"Book written to {book_dir} (Parquet; schemas in docs/data-model.md).")
