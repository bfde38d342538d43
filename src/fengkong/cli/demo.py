"""``fengkong demo``: the whole lifecycle end to end, then the UI and API."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from fengkong.cli._console import console, err_console, user_errors

if TYPE_CHECKING:
    from fengkong.demo import DemoResult


def demo(
    applications: Annotated[
        int, typer.Option("--applications", "-n", help="Size of the demo book.")
    ] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    out: Annotated[Path, typer.Option(help="Working directory of the demo.")] = Path(
        "fengkong-demo"
    ),
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the UI and API afterwards.")
    ] = True,
    port: Annotated[int, typer.Option(help="Port of the UI and API.")] = 8000,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """The whole lifecycle end to end, then the UI and API on http://127.0.0.1:8000.

    Generates a synthetic book, builds variables and the relationship graph, fits the credit
    and collection models, publishes the demo policy and strategy (maker-checker), decides the
    live applications through the real decision path, books the loans, runs twelve months of
    end of day and collections and writes the portfolio report.
    """
    from fengkong.demo import STAGES, run_demo  # noqa: PLC0415 (heavy imports on demand)

    bars = Progress(
        TextColumn("[bold]{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet,
    )
    tasks: dict[str, TaskID] = {}

    def advance(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(stage, total=max(total, 1))
        bars.update(tasks[stage], completed=done, total=max(total, 1))

    with user_errors():
        with bars:
            result = run_demo(out, applications=applications, seed=seed, progress=advance)
        assert set(tasks) <= set(STAGES)
    f = result.figures
    counts = f["decisions"]
    console.print(
        f"{f['decided']:,} live applications decided through the real decision path "
        f"({', '.join(f'{k} {v:,}' for k, v in counts.items())}); {f['booked']:,} loans booked, "
        f"{f['repayments']:,} repayments; 12 months of end of day and collections to "
        f"{result.as_of}: {f['collections']['open_cases']:,} open cases."
    )
    console.print(f"Portfolio report: {f['report']}")
    console.print(f"Database: {result.database_url}; API keys (one per role): {out / 'keys.json'}")
    if not serve:
        return
    _serve(result, port)


def _serve(result: DemoResult, port: int) -> None:
    import uvicorn  # noqa: PLC0415 (only when serving)

    from fengkong.api import create_app  # noqa: PLC0415
    from fengkong.services.access import masked_log_config  # noqa: PLC0415
    from fengkong.settings import Settings  # noqa: PLC0415

    app = create_app(
        Settings(database_url=result.database_url, data_dir=result.folder),
        default_policy="demo_credit",
        online=result.online,
        clock=lambda: dt.datetime.combine(result.as_of, dt.time(10), tzinfo=dt.UTC),
    )
    console.print(
        f"Serving the UI on http://127.0.0.1:{port}/ui (log in with a key from "
        f"{result.folder / 'keys.json'}, readable by you only) and the API on "
        f"http://127.0.0.1:{port}/docs — Ctrl-C stops."
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning",
                log_config=masked_log_config())  # fmt: skip
