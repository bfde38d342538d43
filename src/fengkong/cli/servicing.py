"""``fengkong servicing``: create the database, book the synthetic loans, run end of day."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from sqlalchemy.orm import Session, sessionmaker

from fengkong.cli._console import console, database_sessions, parse_date, progress_bar, user_errors
from fengkong.cli.loan import print_statement
from fengkong.db import make_engine, migrate
from fengkong.errors import InvalidArgumentError
from fengkong.services import servicing as svc
from fengkong.servicing import load_products
from fengkong.settings import Settings

app = typer.Typer(
    help="Servicing over the database (FENGKONG_DATABASE_URL; SQLite under FENGKONG_DATA_DIR by default).",
    no_args_is_help=True,
)


def _sessions() -> sessionmaker[Session]:
    sessions: sessionmaker[Session] = database_sessions()
    return sessions


@app.command()
def init() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    with user_errors():
        settings = Settings()
        migrate(make_engine(settings))
    console.print(f"database ready: {settings.resolved_database_url()}")


@app.command()
def load(
    book: Annotated[Path, typer.Argument(help="A synthetic book written by `fengkong synth`.")],
    limit: Annotated[int | None, typer.Option(help="Book at most this many loans.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Book the synthetic book's loans into the servicing database."""
    with user_errors():
        if not (book / "loans").is_dir():
            raise InvalidArgumentError(
                "book", expected="a folder written by `fengkong synth`", got=str(book)
            )
        loans = pl.read_parquet(book / "loans" / "*.parquet")
        if limit is not None:
            loans = loans.head(limit)
        catalogue = load_products()
        sessions = _sessions()
        with (
            progress_bar("booking loans", loans.height, quiet=quiet) as advance,
            sessions.begin() as session,
        ):
            for row in loans.iter_rows(named=True):
                terms = svc.synthetic_loan_terms(row, catalogue)
                svc.book_loan(
                    session,
                    terms,
                    external_id=f"synth-{row['loan_id']}",
                    borrower_id=f"P{row['person_id']}",
                )
                advance(1)
    if not quiet:
        console.print(f"booked {loans.height:,} loans")


@app.command()
def eod(
    date: Annotated[str, typer.Option("--date", help="Business date, YYYY-MM-DD.")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Run end of day for a business date over the whole book (catching up missed days)."""
    with user_errors():
        day = parse_date(date, "--date")
        sessions = _sessions()
        with sessions() as session:
            first = svc.first_pending_day(session)
        days = max((day - first).days + 1, 1) if first else 1
        with (
            progress_bar(f"end of day to {day}", days, quiet=quiet) as advance,
            sessions.begin() as session,
        ):
            summary = svc.run_end_of_day(
                session,
                day,
                progress=lambda stage: advance(1) if stage.startswith("end of day") else None,
            )
    if summary.already_done:
        console.print(f"end of day {day} was already done: nothing changed")
    elif not quiet:
        console.print(
            f"end of day {day}: {summary.loans:,} loans, {summary.payments:,} payments, {summary.bucket_changes:,} bucket changes"
        )


@app.command()
def statement(
    loan: Annotated[str, typer.Option("--loan", help="The loan's external id.")],
    as_of: Annotated[str, typer.Option("--as-of", help="Date of the statement, YYYY-MM-DD.")],
    jurisdiction: Annotated[
        str, typer.Option(help="Jurisdiction of the legal caps: cn, us, uk.")
    ] = "cn",
    lender_type: Annotated[
        str, typer.Option(help="Lender type: private, licensed (cn); any (us); hcstc (uk).")
    ] = "private",
) -> None:
    """The legal statement of a booked loan: owed under the contract against enforceable."""
    with user_errors():
        day = parse_date(as_of, "--as-of")
        with _sessions()() as session:
            loan_id = svc.loan_id_for(session, loan)
            result = svc.loan_statement(
                session, loan_id, day, jurisdiction=jurisdiction, lender_type=lender_type
            )
            state = svc.loan_state(session, loan_id, day)
    print_statement(result, state)
