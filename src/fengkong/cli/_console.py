"""Console, logging and progress helpers shared by the CLI commands.

User text is data (house rule 15): both consoles print with Rich markup and emoji codes
off, so ``s in [x, y]``, a path with ``[abc]`` or a message holding ``[/]`` prints as it
is; styled output is built as :class:`rich.text.Text`, never by pasting text into markup.

Exit codes, the same in every command: 0 success; :data:`EXIT_PROBLEMS` (1) a ``check``
command found problems in the file (printed one per line, ``file:line: path: message``);
:data:`EXIT_ERROR` (2) a usage error (Typer/Click's own code) or an error that stopped the
command, printed as ``error: ...`` on stderr.

Imports stay light (Typer, Rich, the error tree): every command module imports this one, and
``fengkong --help`` must not load an engine. Option conventions shared by the commands live
here too: :data:`Quiet` and :func:`renamed_option` (see ``docs/cli.md``).
"""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Annotated, Any, Final, NoReturn

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
from rich.text import Text

from fengkong.errors import FengkongError, InvalidArgumentError, Problem

EXIT_PROBLEMS: Final = 1
"""A ``check`` command found problems in the file it checked."""
EXIT_ERROR: Final = 2
"""A usage error, or an error that stopped the command (Click uses 2 for usage errors)."""


Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bar and no notes on stderr.")
]
"""The ``--quiet`` flag every long-running command takes."""


def _visible(text: str) -> str:
    """Control characters other than newline and tab as escapes (``\\x1b``): a file's text
    cannot drive the terminal."""
    return "".join(
        c if c in "\n\t" or unicodedata.category(c) != "Cc" else f"\\x{ord(c):02x}" for c in text
    )


def literal(text: object, style: str = "") -> Text:
    """``text`` as Rich prints it verbatim (no markup, no emoji codes, controls escaped)."""
    return Text(_visible(str(text)), style=style)


class LiteralConsole(Console):
    """A Rich console that never interprets text: every string it renders (printed, or in a
    table cell or title) goes through :meth:`render_str`, which here turns markup and emoji
    codes off and escapes control characters, whatever the caller passes."""

    def render_str(self, text: str, **options: Any) -> Text:
        """``text`` as a literal :class:`~rich.text.Text` (``markup``/``emoji`` forced off)."""
        return super().render_str(_visible(text), **(options | {"markup": False, "emoji": False}))


console = LiteralConsole(markup=False, emoji=False)
err_console = LiteralConsole(stderr=True, markup=False, emoji=False)


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


class _MaskedLogs(logging.Filter):
    """:class:`~fengkong.services.access.PersonalDataFilter`, loaded with the first record
    (the masking policy's stack is not imported by a command that logs nothing)."""

    def __init__(self) -> None:
        super().__init__()
        self._filter: logging.Filter | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if self._filter is None:
            from fengkong.services.access import PersonalDataFilter  # noqa: PLC0415

            self._filter = PersonalDataFilter()
        return bool(self._filter.filter(record))


def configure_logging(level: str) -> None:
    """Send library logs to stderr through Rich, personal data masked; the only place the
    CLI's handlers are configured (the service's: ``masked_log_config``)."""
    handler = RichHandler(console=err_console, show_path=False)
    handler.addFilter(_MaskedLogs())
    logging.basicConfig(level=level, format="%(message)s", handlers=[handler], force=True)


@contextmanager
def progress_bar(description: str, total: int, *, quiet: bool) -> Iterator[Callable[[int], None]]:
    """A Rich progress bar (hidden with ``quiet``); yields ``advance(n)``."""
    progress = Progress(
        TextColumn("{task.description}", markup=False, style="bold"),
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
    """Print fengkong errors as one clear message, literally, and exit with
    :data:`EXIT_ERROR` (no traceback)."""
    try:
        yield
    except FengkongError as exc:
        err_console.print(
            Text.assemble(("error: ", "bold red"), literal(exc)), highlight=False, soft_wrap=True
        )
        raise typer.Exit(code=EXIT_ERROR) from None


def report_problems(problems: Iterable[Problem], *, what: str) -> NoReturn:
    """Print each problem on its own line on stdout (``file:line: path: message``), a count
    on stderr, and exit with :data:`EXIT_PROBLEMS`: the one outcome of a failed ``check``."""
    listed = list(problems)
    for problem in listed:
        console.print(literal(_one_line(str(problem))), highlight=False, soft_wrap=True)
    count = f"{len(listed)} problem{'s' if len(listed) != 1 else ''}"
    err_console.print(
        Text.assemble((f"{count} in ", "bold red"), literal(what, "bold red")),
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(code=EXIT_PROBLEMS)


def renamed_option(new: str | None, old: str | None, *, name: str, old_name: str) -> str | None:
    """The value of an option given under its name ``name`` or its deprecated, hidden old
    name ``old_name`` (which prints a warning on stderr); both at once is an error."""
    if old is None:
        return new
    if new is not None:
        raise InvalidArgumentError(
            name, expected=f"{name} alone ({old_name} is its deprecated old name)", got=old_name
        )
    err_console.print(
        Text.assemble(("warning: ", "yellow"), f"{old_name} is deprecated; use {name}"),
        highlight=False,
    )
    return old


def parse_date(value: str | None, field: str) -> dt.date:
    """A YYYY-MM-DD option as a date (today when omitted: the edge reads the clock, the core never does)."""
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidArgumentError(field, expected="a date as YYYY-MM-DD", got=value) from None


def parse_decimal(value: str, field: str) -> Decimal:
    """A decimal option exactly as written (never through float); NaN and infinities refused."""
    try:
        found = Decimal(value.strip())
    except ArithmeticError:
        found = None
    if found is None or not found.is_finite():
        raise InvalidArgumentError(field, expected="a finite decimal number", got=value)
    return found


def database_sessions() -> Any:
    """Sessions on the configured database (``FENGKONG_DATABASE_URL``), migrated to head."""
    from fengkong.db import make_engine, migrate, session_factory  # noqa: PLC0415 (DB on demand)
    from fengkong.settings import Settings  # noqa: PLC0415 (settings built at the edge)

    engine = make_engine(Settings())
    migrate(engine)
    return session_factory(engine)
