"""``fengkong synth``: generate the synthetic lending book as Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fengkong.cli._console import console, progress_bar, user_errors
from fengkong.errors import InvalidArgumentError


def synth(
    applications: Annotated[
        int, typer.Option("--applications", "-n", help="Number of applications.")
    ] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same book.")] = 0,
    out: Annotated[
        Path | None,
        typer.Option(help="Output directory (created; must be empty unless --overwrite)."),
    ] = None,
    params: Annotated[
        Path | None,
        typer.Option(help="YAML parameter file (partial files merge over the defaults)."),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace a non-empty output directory.")] = False,
    show_params: Annotated[
        bool, typer.Option("--show-params", help="Print the default parameter file and exit.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")
    ] = False,
) -> None:
    """Generate the synthetic lending book (persons, identifiers, applications, loans, performance)."""
    from fengkong.synth import (  # noqa: PLC0415 (the generator on demand)
        default_params_text,
        load_params,
        write_book,
    )

    if show_params:
        console.print(default_params_text(), markup=False, highlight=False, end="")
        return
    with user_errors():
        if out is None:
            raise InvalidArgumentError("--out", expected="an output directory", got=None)
        loaded = load_params(params)
        with progress_bar("synthesising applications", applications, quiet=quiet) as advance:
            counts = write_book(
                out,
                applications,
                seed=seed,
                params=loaded,
                overwrite=overwrite,
                progress=advance,
            )
    if not quiet:
        for table, rows in counts.items():
            console.print(f"{table:>22}  {rows:>12,}")
        console.print(f"written to {out}")
