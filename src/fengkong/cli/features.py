"""``fengkong features``: list, check and build risk variables; assess their quality.

The variable engines (and Polars) are imported when a command runs: ``fengkong --help``
loads no engine. The shipped specs are listed for the help text from the package's data
folder, found without importing :mod:`fengkong.features`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from fengkong.cli._console import Quiet, console, progress_bar, report_problems, user_errors
from fengkong.errors import ConfigError, InvalidArgumentError

if TYPE_CHECKING:
    import polars as pl

    from fengkong.features import VariableSpec

app = typer.Typer(
    help="Risk variables: declarative specs, point-in-time batch builds, quality.",
    no_args_is_help=True,
)


def _shipped_spec_names() -> list[str]:
    """The names of the specs shipped in ``fengkong/features/data`` (as ``builtin_specs``),
    read without importing the features package."""
    found = importlib.util.find_spec("fengkong.features")
    folders = found.submodule_search_locations if found is not None else None
    return sorted(p.stem for f in folders or [] for p in Path(f, "data").glob("*.yaml"))


def _spec_source(spec: str) -> str | Path:
    """A shipped spec's name as it is, anything else as a file path."""
    from fengkong.features.spec import builtin_specs  # noqa: PLC0415 (the engine on demand)

    return spec if spec in builtin_specs() else Path(spec)


SpecArg = Annotated[
    str,
    typer.Argument(help=f"A spec file, or a shipped spec: {', '.join(_shipped_spec_names())}."),
]


def read_events(folder: Path, spec: VariableSpec, sources: set[str]) -> dict[str, pl.LazyFrame]:
    """Each source's table from ``folder/<table>/*.parquet`` or ``folder/<table>.parquet``."""
    import polars as pl  # noqa: PLC0415 (on demand)

    frames = {}
    for name in sorted(sources):
        table = spec.sources[name].table
        if (folder / table).is_dir():
            frames[name] = pl.scan_parquet(folder / table / "*.parquet")
        elif (folder / f"{table}.parquet").is_file():
            frames[name] = pl.scan_parquet(folder / f"{table}.parquet")
        else:
            raise InvalidArgumentError(
                "events", expected=f"{table}/ or {table}.parquet for source {name}", got=str(folder)
            )
    return frames


@app.command("list")
def list_variables(
    spec: SpecArg,
    match: Annotated[str | None, typer.Option(help="Only names containing this text.")] = None,
) -> None:
    """Print every variable a spec expands to: name, window, and what it means."""
    from fengkong.features import load_spec  # noqa: PLC0415 (the engine on demand)
    from fengkong.features.spec import Aggregate  # noqa: PLC0415

    with user_errors():
        loaded = load_spec(spec)
    table = Table(title=f"{loaded.name}: {len(loaded.variables)} variables")
    for column in ("name", "window", "description"):
        table.add_column(column, overflow="fold")
    for var in loaded.variables:
        if match and match not in var.name:
            continue
        window = var.window if isinstance(var, Aggregate) else "-"
        table.add_row(var.name, window, var.description)
    console.print(table)


@app.command()
def check(spec: SpecArg) -> None:
    """Report every problem of a spec, one per line (file:line: path: message), exit 1; or
    that it is fine."""
    from fengkong.features import check_spec, load_spec  # noqa: PLC0415 (the engine on demand)

    source = _spec_source(spec)
    with user_errors():
        try:
            problems = check_spec(source)
        except ConfigError as exc:  # unreadable, or not YAML: problems of the file too
            problems = list(exc.problems)
        if problems:
            report_problems(problems, what=spec)
        loaded = load_spec(source)
    console.print(Text.assemble(("ok", "green"), f": {len(loaded.variables)} variables"))


@app.command()
def build(
    spec: Annotated[str, typer.Option("--spec", help="Spec file or shipped spec name.")],
    events: Annotated[Path, typer.Option("--events", help="Folder holding the sources' tables.")],
    out: Annotated[Path, typer.Option("--out", help="Parquet file to write.")],
    target: Annotated[str, typer.Option(help="Source whose rows are scored.")] = "app",
    quiet: Quiet = False,
) -> None:
    """Compute every variable, point in time, for every row of the target source."""
    from fengkong.features import load_spec, write_variables  # noqa: PLC0415 (on demand)

    with user_errors():
        loaded = load_spec(_spec_source(spec))
        sources = {a.source for a in loaded.aggregates} | {target}
        frames = read_events(events, loaded, sources)
        streams = len(loaded.streams())
        with progress_bar("building variables", streams + 1, quiet=quiet) as advance:
            rows = write_variables(loaded, frames, out, target=target, progress=advance)
    if not quiet:
        console.print(f"wrote {rows:,} rows x {len(loaded.variables)} variables to {out}")


@app.command()
def quality(
    variables: Annotated[Path, typer.Argument(help="Parquet file written by features build.")],
    book: Annotated[Path, typer.Option(help="Book folder with applications/ and oracle/.")],
    out: Annotated[Path | None, typer.Option(help="Write the quality table here (CSV).")] = None,
    label: Annotated[str, typer.Option(help="Oracle column used as the bad flag.")] = "ever_90dpd",
    min_iv: Annotated[float, typer.Option(help="Selection: least IV.")] = 0.02,
    max_psi: Annotated[float, typer.Option(help="Selection: largest PSI between months.")] = 0.25,
    top: Annotated[int, typer.Option(help="Rows to print.")] = 20,
    quiet: Quiet = False,
) -> None:
    """Coverage, missing rate, IV against the label and PSI between application months."""
    import polars as pl  # noqa: PLC0415 (on demand)

    from fengkong.features.quality import select_variables, variable_quality  # noqa: PLC0415

    with user_errors():
        if not variables.is_file():
            raise InvalidArgumentError("variables", expected="a Parquet file", got=str(variables))
        frame = pl.read_parquet(variables)
        key = frame.columns[0]
        try:
            apps = pl.read_parquet(book / "applications" / "*.parquet", columns=[key, "applied_at"])
            oracle = pl.read_parquet(book / "oracle" / "*.parquet", columns=[key, label])
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise InvalidArgumentError(
                "book", expected=f"applications/ and oracle/ with {key} and {label}", got=str(exc)
            ) from None
        joined = frame.join(oracle, on=key, how="left").join(
            apps.select(key, pl.col("applied_at").dt.strftime("%Y-%m").alias("__month")), on=key
        )
        names = [c for c in frame.columns if c != key]
        with progress_bar("variable quality", 1, quiet=quiet) as advance:
            table = variable_quality(joined, names, label=label, period="__month")
            advance(1)
    if out is not None:
        table.write_csv(out)
    chosen = select_variables(table, min_iv=min_iv, max_psi=max_psi)
    shown = Table(title=f"variable quality ({len(names)} variables, {len(chosen)} selected)")
    for column in ("variable", "coverage", "iv", "psi_max"):
        shown.add_column(column)
    for row in table.sort("iv", descending=True, nulls_last=True).head(top).iter_rows(named=True):
        shown.add_row(
            row["variable"],
            *(
                f"{row[c]:.3f}" if row[c] is not None else "-"
                for c in ("coverage", "iv", "psi_max")
            ),
        )
    console.print(shown)


__all__ = ["app"]


@app.command()
def reseed(
    spec: Annotated[str, typer.Option("--spec", help="Spec file or shipped spec name.")],
    book: Annotated[
        Path, typer.Option("--book", help="A book folder (fengkong synth layout) of history.")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the state to this file (JSON lines).")
    ] = None,
    redis_url: Annotated[
        str | None,
        typer.Option(help="Write the state to Redis (default: FENGKONG_REDIS_URL)."),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Rebuild a spec's online state from history, for a new version of the spec.

    The state is tied to the spec's content hash: in Redis it goes under the new version's own
    prefix (``fk:vars:<name>:<hash>``, cleared first), so workers still running the old
    version keep serving from theirs until they are restarted with the new spec.
    """
    from fengkong.features import load_spec  # noqa: PLC0415 (the engine on demand)
    from fengkong.services.online import seed_from_book  # noqa: PLC0415 (replay on demand)
    from fengkong.settings import Settings  # noqa: PLC0415

    with user_errors():
        loaded = load_spec(_spec_source(spec))
        url = redis_url or Settings().redis_url
        if out is None and url is None:
            raise InvalidArgumentError(
                "--out", expected="a file, or --redis-url / FENGKONG_REDIS_URL", got=None
            )
        with progress_bar("replaying history", 1, quiet=quiet) as advance:
            engine = seed_from_book(book, specs=[spec]).engine(spec)
            advance(1)
        store = engine.store
        keys = len(list(store.items()))  # type: ignore[attr-defined]
        if out is not None:
            store.save(out)  # type: ignore[attr-defined]
            console.print(f"wrote {keys:,} keys of spec {loaded.sha256[:16]} to {out}")
        if url is not None:
            import redis  # noqa: PLC0415 (only with Redis)

            from fengkong.services.feature_store import (  # noqa: PLC0415
                RedisStateStore,
                state_prefix,
            )

            target = RedisStateStore(redis.Redis.from_url(url), prefix=state_prefix(loaded))
            target.clear()
            target.bind(loaded.sha256)
            written = target.seed(store)  # type: ignore[arg-type]
            console.print(f"wrote {written:,} keys to Redis under {target.prefix}")
