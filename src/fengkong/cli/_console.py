"""Console, logging and progress helpers shared by the CLI commands."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from fengkong.errors import FengkongError, InvalidArgumentError

console = Console()
err_console = Console(stderr=True)


def configure_logging(level: str) -> None:
    """Send library logs to stderr through Rich; the only place handlers are configured."""
    logging.basicConfig(
        level=level,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False)],
        force=True,
    )


@contextmanager
def progress_bar(description: str, total: int, *, quiet: bool) -> Iterator[Callable[[int], None]]:
    """A Rich progress bar (hidden with ``quiet``); yields ``advance(n)``."""
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=quiet,
        transient=False,
    )
    with progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)


@contextmanager
def user_errors() -> Iterator[None]:
    """Print fengkong errors as one clear message and exit with status 2 (no traceback)."""
    try:
        yield
    except FengkongError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
        raise typer.Exit(code=2) from None


def parse_date(value: str | None, field: str) -> dt.date:
    """A YYYY-MM-DD option as a date (today when omitted: the edge reads the clock, the core never does)."""
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidArgumentError(field, expected="a date as YYYY-MM-DD", got=value) from None


def database_sessions() -> Any:
    """Sessions on the configured database (``FENGKONG_DATABASE_URL``), migrated to head."""
    from fengkong.db import make_engine, migrate, session_factory  # noqa: PLC0415 (DB on demand)
    from fengkong.settings import Settings  # noqa: PLC0415 (settings built at the edge)

    engine = make_engine(Settings())
    migrate(engine)
    return session_factory(engine)
