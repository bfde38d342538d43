"""``fengkong policy``: check a policy file and run it over a frame of applications."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from fengkong.cli._console import console, progress_bar, user_errors
from fengkong.errors import InvalidArgumentError
from fengkong.policy import load_policy

app = typer.Typer(
    help="Decision policies: check and run (the engine is in progress).", no_args_is_help=True
)

PolicyArg = Annotated[Path, typer.Argument(help="A policy file (YAML).")]


@app.command("check")
def check(policy: PolicyArg) -> None:
    """Report every problem of a policy file (file:line: path: message), or that it is fine."""
    with user_errors():
        loaded = load_policy(policy)
        console.print(
            f"ok: {loaded.name} v{loaded.version}: {len(loaded.inputs)} inputs, "
            f"{len(loaded.rules)} rules, {len(loaded.tables)} tables, sha256 {loaded.sha256[:12]}"
        )


@app.command("run")
def run(
    policy: PolicyArg,
    data: Annotated[Path, typer.Option("--input", help="Applications (Parquet or CSV).")],
    out: Annotated[Path, typer.Option("--out", help="Parquet file of row-level decisions.")],
    keep: Annotated[
        list[str] | None, typer.Option("--keep", help="Columns to copy (repeat).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Decide every application with the batch backend; print the decision mix."""
    from fengkong.cli.model import read_table  # noqa: PLC0415 (one reader for data files)

    with user_errors():
        loaded = load_policy(policy)
        frame = read_table(data)
        unknown = [c for c in keep or [] if c not in frame.columns]
        if unknown:
            raise InvalidArgumentError("--keep", expected="columns of the input", got=unknown)
        with progress_bar("deciding", 1, quiet=quiet) as advance:
            decided = loaded.decide_frame(frame)
            advance(1)
        result = pl.concat([frame.select(keep or []), decided], how="horizontal")
        result.write_parquet(out)
        mix = decided["decision"].value_counts(sort=True)
        shares = ", ".join(f"{d} {n / max(result.height, 1):.1%}" for d, n in mix.iter_rows())
        console.print(f"{result.height:,} decisions ({shares}) -> {out}")
