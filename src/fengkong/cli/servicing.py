"""``fengkong servicing``: create the database, book the synthetic loans, run end of day.

The database layer, the servicing use cases and Polars are imported when a command runs:
``fengkong --help`` loads none of them. ``eod --date`` is the business date (the day whose
end is run); ``statement --as-of`` and ``payoff --as-of`` the point in time of the answer;
``repay``/``refund``/``hardship --on`` the day of the event.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from fengkong.cli._console import (
    Quiet,
    console,
    database_sessions,
    parse_date,
    parse_decimal,
    progress_bar,
    renamed_option,
    user_errors,
)
from fengkong.cli.loan import FiledOn, print_statement
from fengkong.errors import InvalidArgumentError
from fengkong.settings import Settings

if TYPE_CHECKING:
    import polars as pl
    from sqlalchemy.orm import Session, sessionmaker

app = typer.Typer(
    help="Servicing over the database (FENGKONG_DATABASE_URL; SQLite under FENGKONG_DATA_DIR by default).",
    no_args_is_help=True,
)


def _svc() -> Any:
    """The servicing use cases (``fengkong.services.servicing``), imported on demand."""
    from fengkong.services import servicing  # noqa: PLC0415 (the database on demand)

    return servicing


def _sessions() -> sessionmaker[Session]:
    sessions: sessionmaker[Session] = database_sessions()
    return sessions


@app.command()
def init() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    from fengkong.db import make_engine, migrate  # noqa: PLC0415 (the database on demand)

    with user_errors():
        settings = Settings()
        migrate(make_engine(settings))
    console.print(f"database ready: {settings.resolved_database_url()}")


@app.command()
def load(
    book: Annotated[Path, typer.Argument(help="A synthetic book written by `fengkong synth`.")],
    limit: Annotated[int | None, typer.Option(help="Book at most this many loans.")] = None,
    quiet: Quiet = False,
) -> None:
    """Book the synthetic book's loans into the servicing database."""
    import polars as pl  # noqa: PLC0415 (on demand)

    from fengkong.servicing import load_products  # noqa: PLC0415 (the core on demand)

    svc = _svc()
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
    quiet: Quiet = False,
) -> None:
    """Run end of day for a business date over the whole book (catching up missed days)."""
    svc = _svc()
    with user_errors():
        day = parse_date(date, "--date")
        sessions = _sessions()
        today = parse_date(None, "--date")  # the edge reads the clock: no end of day ahead of it
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
                today=today,
                progress=lambda stage: advance(1) if stage.startswith("end of day") else None,
            )
    if summary.already_done:
        console.print(f"end of day {day} was already done: nothing changed")
    elif not quiet:
        console.print(
            f"end of day {day}: {summary.loans:,} loans, {summary.payments:,} payments, {summary.bucket_changes:,} bucket changes"
        )


_CLI_FIELDS = {"on": "--on", "amount": "--amount-fen", "currency": "--currency", "key": "--key",
               "loan": "--loan"}  # fmt: skip


@app.command()
def repay(
    loan: Annotated[str, typer.Option("--loan", help="The loan's external id.")],
    on: Annotated[str, typer.Option("--on", help="Payment date, YYYY-MM-DD.")],
    amount_fen: Annotated[int, typer.Option("--amount-fen", help="Amount in fen (分).")],
    key: Annotated[str, typer.Option("--key", help="Idempotency key: the same again is a no-op.")],
    currency: Annotated[
        str | None, typer.Option(help="Must be the loan's currency (default: the loan's).")
    ] = None,
) -> None:
    """Post a repayment (the same door as the API; above the payoff, the excess to suspense)."""
    from fengkong.money import Money  # noqa: PLC0415 (on demand)

    svc = _svc()
    with user_errors():
        day = parse_date(on, "--on")
        today = parse_date(None, "--on")
        with _sessions().begin() as session:
            loan_id = svc.loan_id_for(session, loan, lock=True)
            amount = amount_fen if currency is None else Money.from_minor(amount_fen, currency)
            state = svc.post_repayment(
                session, loan_id, day, amount, key=key, business_date=today, names=_CLI_FIELDS
            )
    console.print(
        f"{loan}: {state.status}, DPD {state.dpd}, paid {state.paid_total}, suspense {state.suspense}",
        highlight=False,
    )


@app.command()
def refund(
    loan: Annotated[str, typer.Option("--loan", help="The loan's external id.")],
    on: Annotated[str, typer.Option("--on", help="Refund date, YYYY-MM-DD.")],
    amount_fen: Annotated[
        int, typer.Option("--amount-fen", help="Amount in fen, at most the suspense.")
    ],
    key: Annotated[str, typer.Option("--key", help="Idempotency key: the same again is a no-op.")],
) -> None:
    """Refund money held in suspense to the borrower (a refund event)."""
    svc = _svc()
    with user_errors():
        day = parse_date(on, "--on")
        today = parse_date(None, "--on")
        with _sessions().begin() as session:
            loan_id = svc.loan_id_for(session, loan, lock=True)
            state = svc.refund_suspense(
                session, loan_id, day, amount_fen, key=key, business_date=today, names=_CLI_FIELDS
            )
    console.print(f"{loan}: suspense {state.suspense}", highlight=False)


@app.command()
def hardship(
    loan: Annotated[str, typer.Option("--loan", help="The loan's external id.")],
    on: Annotated[str, typer.Option("--on", help="First reduced instalment's date, YYYY-MM-DD.")],
    months: Annotated[int, typer.Option("--months", help="Number of reduced instalments.")],
    key: Annotated[str, typer.Option("--key", help="Idempotency key: the same again is a no-op.")],
    rate: Annotated[
        str, typer.Option("--rate", help="Annual interest rate during the plan (0 freezes it).")
    ] = "0",
    share: Annotated[
        str, typer.Option("--share", help="Share of the level principal paid during the plan.")
    ] = "0.5",
    term: Annotated[
        int | None, typer.Option("--term", help="Months to re-amortise over after the plan.")
    ] = None,
) -> None:
    """Grant a hardship plan: reduced instalments, then resumption (within the re-age limits)."""
    from fengkong.money import Money  # noqa: PLC0415 (on demand)

    svc = _svc()
    with user_errors():
        day = parse_date(on, "--on")
        today = parse_date(None, "--on")
        names = {**_CLI_FIELDS, "months": "--months", "rate": "--rate", "share": "--share",
                 "term": "--term"}  # fmt: skip
        with _sessions().begin() as session:
            loan_id = svc.loan_id_for(session, loan, lock=True)
            state = svc.grant_hardship_plan(
                session,
                loan_id,
                day,
                months=months,
                rate=parse_decimal(rate, "--rate"),
                share=parse_decimal(share, "--share"),
                term=term,
                key=key,
                business_date=today,
                names=names,
            )
    table = Table(title=f"{escape(loan)}: {state.status}, DPD {state.dpd}")
    for column in ("#", "due on", "principal", "interest", "unpaid"):
        table.add_column(column, justify="right")
    currency = state.terms.principal.currency
    for line in state.instalments:
        table.add_row(
            str(line.number),
            str(line.due_date),
            str(Money.from_minor(line.due["principal"], currency)),
            str(Money.from_minor(line.due["interest"], currency)),
            str(Money.from_minor(line.unpaid, currency)),
        )
    console.print(table)


@app.command("import")
def import_(
    path: Annotated[
        Path, typer.Argument(help="CSV or Parquet: loan_id, paid_on, amount_fen, key[, currency].")
    ],
    quiet: Quiet = False,
) -> None:
    """Import repayments from a file: every row through the same door, or none at all."""
    svc = _svc()
    with user_errors():
        frame = _read_payments(path)
        today = parse_date(None, "--on")
        with (
            progress_bar(f"importing {frame.height:,} repayments", 1, quiet=quiet) as advance,
            _sessions().begin() as session,
        ):
            count = svc.import_repayments(session, frame, business_date=today)
            advance(1)
    console.print(f"imported {count:,} new repayments")


def _read_payments(path: Path) -> pl.DataFrame:
    import polars as pl  # noqa: PLC0415 (on demand)

    try:
        if path.suffix == ".parquet":
            return pl.read_parquet(path)
        return pl.read_csv(
            path,
            schema_overrides={
                "loan_id": pl.String,
                "amount_fen": pl.Int64,
                "key": pl.String,
                "currency": pl.String,
            },
            try_parse_dates=True,
        )
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InvalidArgumentError(
            "path", expected="a readable CSV or Parquet file of repayments", got=f"{path} ({exc})"
        ) from None


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
    filed_on: FiledOn = None,
) -> None:
    """The legal statement of a booked loan: the contract against the lawful amount."""
    svc = _svc()
    with user_errors():
        day = parse_date(as_of, "--as-of")
        with _sessions()() as session:
            loan_id = svc.loan_id_for(session, loan)
            result = svc.loan_statement(
                session,
                loan_id,
                day,
                jurisdiction=jurisdiction,
                lender_type=lender_type,
                filed_on=parse_date(filed_on, "--filed-on") if filed_on else None,
            )
            state = svc.loan_state(session, loan_id, day)
    print_statement(result, state)


@app.command()
def payoff(
    loan: Annotated[str, typer.Option("--loan", help="The loan's external id.")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Date of the payoff, YYYY-MM-DD.")
    ] = None,
    old_on: Annotated[
        str | None, typer.Option("--on", hidden=True, help="Deprecated: --as-of.")
    ] = None,
) -> None:
    """What settles a booked loan on a date: principal, interest to the date, charges due."""
    svc = _svc()
    with user_errors():
        when = renamed_option(as_of, old_on, name="--as-of", old_name="--on")
        if when is None:
            raise InvalidArgumentError("--as-of", expected="a date as YYYY-MM-DD", got=None)
        day = parse_date(when, "--as-of")
        with _sessions()() as session:
            quote = svc.loan_payoff(session, svc.loan_id_for(session, loan), day)
    table = Table(title=f"payoff of {escape(loan)} on {day} ({quote.status})")
    table.add_column("part")
    table.add_column("amount", justify="right")
    for part in ("principal", "interest", "penalty", "fee", "prepayment_fee"):
        table.add_row(part.replace("_", " "), str(getattr(quote, part)))
    table.add_row("less credit held", str(quote.credit))
    table.add_row("total", str(quote.total), style="bold")
    console.print(table)
