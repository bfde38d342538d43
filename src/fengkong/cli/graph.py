"""``fengkong graph``: build the identifier graph of a synthetic (or real) book, rings, explain.

The graph engine (and Polars) are imported when a command runs: ``fengkong --help`` loads
no engine.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from fengkong.cli._console import Quiet, console, err_console, literal, progress_bar, user_errors
from fengkong.errors import InvalidArgumentError

if TYPE_CHECKING:
    import polars as pl

    from fengkong.graph import IdentifierGraph

app = typer.Typer(
    help="The applicant-identifier graph: components, features, fraud rings.", no_args_is_help=True
)

Book = Annotated[
    Path,
    typer.Argument(
        help="A book folder with person_identifiers/ and applications/ (fengkong synth)."
    ),
]
Cap = Annotated[
    int, typer.Option(help="Identifiers held by more applicants than this never join components.")
]
PersonCap = Annotated[
    int,
    typer.Option(
        help="Identifiers one applicant may hold: the first seen are kept, the rest reported."
    ),
]


def _read(book: Path, table: str) -> pl.DataFrame:
    import polars as pl  # noqa: PLC0415 (on demand)

    if not (book / table).is_dir():
        raise InvalidArgumentError(
            "book", expected=f"a folder holding {table}/ (written by fengkong synth)", got=str(book)
        )
    return pl.read_parquet(book / table / "*.parquet")


def _graph(book: Path, cap: int, person_cap: int, quiet: bool) -> IdentifierGraph:
    from fengkong.graph import GraphConfig, IdentifierGraph  # noqa: PLC0415 (the engine on demand)

    config = GraphConfig(cap=cap, person_cap=person_cap)
    with progress_bar("building the graph", 1, quiet=quiet) as advance:
        graph = IdentifierGraph.build(_read(book, "person_identifiers"), config)
        advance(1)
    if not quiet:
        for problem in graph.problems[:5]:
            err_console.print(Text.assemble(("note: ", "yellow"), literal(problem)))
        if len(graph.problems) > 5:
            err_console.print(
                Text.assemble(("note: ", "yellow"), f"... {len(graph.problems) - 5} more")
            )
    return graph


@app.command()
def build(
    book: Book,
    out: Annotated[Path, typer.Option(help="Parquet file for the per-applicant graph features.")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Feature date (default: the last application).")
    ] = None,
    cap: Cap = 50,
    person_cap: PersonCap = 500,
    quiet: Quiet = False,
) -> None:
    """Build the graph and write every applicant's graph features."""
    with user_errors():
        graph = _graph(book, cap, person_cap, quiet)
        applications = _read(book, "applications")
        when = dt.datetime.fromisoformat(as_of) if as_of else applications["applied_at"].max()
        features = graph.features(as_of=when, applications=applications)  # type: ignore[arg-type]
        out.parent.mkdir(parents=True, exist_ok=True)
        features.write_parquet(out)
    largest = int(features["component_size"].to_numpy().max(initial=0))
    capped = int(graph.keys["capped"].sum())
    console.print(
        f"{len(graph.persons):,} applicants, {graph.keys.height:,} identifiers ({capped:,} capped); "
        f"largest component {largest:,}; written {out}"
    )


@app.command()
def rings(
    book: Book,
    out: Annotated[
        Path | None, typer.Option(help="Parquet file for the ranked candidate rings.")
    ] = None,
    top: Annotated[int, typer.Option(help="Rings to print.")] = 10,
    cap: Cap = 50,
    person_cap: PersonCap = 500,
    quiet: Quiet = False,
) -> None:
    """Rank candidate fraud rings with their evidence."""
    from fengkong.graph import detect_rings  # noqa: PLC0415 (the engine on demand)
    from fengkong.synth.outcomes import observed_early_defaults  # noqa: PLC0415

    with user_errors():
        graph = _graph(book, cap, person_cap, quiet)
        applications = _read(book, "applications")
        early = None
        if (book / "oracle").is_dir():  # the synthetic book's outcomes stand in for known defaults
            early = observed_early_defaults(applications, _read(book, "oracle"))
        ranked, _ = detect_rings(graph, applications, early_default=early)
        if out is not None:
            ranked.write_parquet(out)
    table = Table(
        title=f"Candidate rings ({ranked['flagged'].sum():,} flagged of {ranked.height:,})"
    )
    for name in (
        "ring",
        "size",
        "score",
        "sharing",
        "burst",
        "early default",
        "flagged",
        "evidence",
    ):
        table.add_column(name)
    for r in ranked.head(top).iter_rows(named=True):
        table.add_row(
            str(r["ring_id"]),
            str(r["size"]),
            f"{r['score']:.2f}",
            f"{r['sharing']:.2f}",
            f"{r['burst']:.2f}",
            f"{r['early_default']:.2f}",
            "yes" if r["flagged"] else "no",
            "; ".join((r["evidence"] or [])[:3]),
        )
    console.print(table)


@app.command()
def explain(
    book: Book,
    person: Annotated[int, typer.Option(help="The applicant's person_id.")],
    hops: Annotated[int, typer.Option(help="Applicant steps to include.")] = 2,
    limit: Annotated[int, typer.Option(help="At most this many applicants.")] = 200,
    out: Annotated[Path | None, typer.Option(help="JSON file (default: print).")] = None,
    graphml: Annotated[
        Path | None, typer.Option(help="Also write the neighbourhood as GraphML.")
    ] = None,
    csv_dir: Annotated[
        Path | None, typer.Option("--csv", help="Also write the whole graph as Neo4j CSV here.")
    ] = None,
    cap: Cap = 50,
    person_cap: PersonCap = 500,
    quiet: Quiet = False,
) -> None:
    """An applicant's k-hop neighbourhood as JSON (for the UI), GraphML or CSV."""
    import polars as pl  # noqa: PLC0415 (on demand)

    from fengkong.graph import neighbourhood, write_csv, write_graphml  # noqa: PLC0415

    with user_errors():
        graph = _graph(book, cap, person_cap, quiet)
        view = neighbourhood(graph, person, hops=hops, limit=limit)
        text = json.dumps(view, indent=1, default=str)
        if out:
            out.write_text(text, "utf-8")
        if graphml:
            people = [int(n["id"].split(":")[1]) for n in view["nodes"] if n["kind"] == "applicant"]
            write_graphml(graph, graphml, persons=pl.Series(people).to_numpy())
        if csv_dir:
            write_csv(graph, csv_dir)
    if not out:
        console.print(text, markup=False, highlight=False)
    else:
        console.print(
            f"{sum(n['kind'] == 'applicant' for n in view['nodes'])} applicants, {len(view['edges'])} links; written {out}"
        )
