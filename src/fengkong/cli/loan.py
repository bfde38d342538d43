"""``fengkong loan``: quote a loan (schedule, true APR, cap breaches) and state what is owed.

The servicing core is imported when a command runs (``fengkong --help`` loads no engine);
:data:`METHOD_NAMES` spells the repayment methods for the help text without importing it
(a test holds it equal to :data:`fengkong.servicing.products.METHODS`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Final

import typer
from rich.table import Table
from rich.text import Text

from fengkong.cli._console import console, literal, parse_date, renamed_option, user_errors
from fengkong.errors import InvalidArgumentError

if TYPE_CHECKING:
    from fengkong.servicing.ledger import LoanState
    from fengkong.servicing.schedule import LoanTerms, Schedule
    from fengkong.servicing.statement import LegalStatement

METHOD_NAMES: Final = (
    "equal_instalment",
    "equal_principal",
    "interest_only",
    "single_payment",
    "flat_fee",
)
"""The repayment methods, as ``fengkong.servicing.products.METHODS`` names them."""

app = typer.Typer(help="Quote loans and answer what a borrower owes.", no_args_is_help=True)

Principal = Annotated[
    str, typer.Option(help="Principal in yuan (the amount the contract says is lent).")
]
Rate = Annotated[str, typer.Option(help="Nominal annual interest rate, e.g. 0.12.")]
Term = Annotated[int, typer.Option(help="Number of monthly instalments.")]
MethodOpt = Annotated[
    str,
    typer.Option(help=f"Repayment method: {', '.join(m.replace('_', '-') for m in METHOD_NAMES)}."),
]
ProductOpt = Annotated[str | None, typer.Option(help="A catalogue product instead of --method.")]
UpfrontFee = Annotated[str | None, typer.Option(help="Upfront fee in yuan.")]
Separate = Annotated[
    bool,
    typer.Option(
        "--fee-paid-separately", help="The upfront fee is paid, not deducted from the principal."
    ),
]
Jurisdiction = Annotated[str, typer.Option(help="Jurisdiction of the legal caps: cn, us, uk.")]
LenderType = Annotated[
    str, typer.Option(help="Lender type: private, licensed (cn); any (us); hcstc (uk).")
]
DisbursedOn = Annotated[
    str | None,
    typer.Option(
        "--disbursed-on", help="Contract and disbursement date, YYYY-MM-DD (default: today)."
    ),
]
OldDate = Annotated[
    str | None, typer.Option("--date", hidden=True, help="Deprecated: --disbursed-on.")
]
Fee = Annotated[
    str, typer.Option(help="Flat fee per instalment as a rate of the principal (flat-fee method).")
]
FiledOn = Annotated[
    str | None,
    typer.Option(
        "--filed-on",
        help="Date a suit is filed, YYYY-MM-DD (default the statement date): the LPR for the "
        "days after a rule change (2020-08-20).",
    ),
]


def _terms(
    principal: str,
    rate: str,
    term: int,
    method: str,
    product: str | None,
    upfront_fee: str | None,
    separate: bool,
    disbursed_on: str | None,
    fee: str,
) -> LoanTerms:
    from fengkong.money import Money, to_decimal  # noqa: PLC0415 (the core on demand)
    from fengkong.servicing.products import (  # noqa: PLC0415
        ad_hoc_product,
        get_product,
        load_products,
    )
    from fengkong.servicing.schedule import LoanTerms  # noqa: PLC0415

    if product:
        chosen = get_product(load_products(), product)
    else:
        chosen = ad_hoc_product(
            method, instalment_fee_rate=to_decimal(fee, field="--fee"), field="--method"
        )
    chosen = chosen.model_copy(update={"upfront_fee_deducted": not separate})
    fee_amount = Money.of(upfront_fee) if upfront_fee else None
    return LoanTerms(
        chosen,
        Money.of(principal),
        to_decimal(rate, field="--rate"),
        term,
        parse_date(disbursed_on, "--disbursed-on"),
        upfront_fee_amount=fee_amount,
    )


def _schedule_table(schedule: Schedule) -> Table:
    table = Table(
        title=f"Schedule: {schedule.terms.product.method.replace('_', ' ')}, {schedule.terms.principal} over {schedule.terms.term} months"
    )
    for name in ("#", "due", "principal", "interest", "fee", "total", "balance"):
        table.add_column(name, justify="right")
    for i in schedule.instalments:
        table.add_row(
            str(i.number),
            i.due_on.isoformat(),
            f"{i.principal.amount:,}",
            f"{i.interest.amount:,}",
            f"{i.fee.amount:,}",
            f"{i.total.amount:,}",
            f"{i.balance.amount:,}",
        )
    table.add_row(
        "",
        "total",
        f"{schedule.total_principal.amount:,}",
        f"{schedule.total_interest.amount:,}",
        f"{schedule.total_fees.amount:,}",
        f"{schedule.total_due.amount:,}",
        "",
        style="bold",
    )
    return table


@app.command()
def quote(
    principal: Principal,
    rate: Rate,
    term: Term,
    method: MethodOpt = "equal-instalment",
    product: ProductOpt = None,
    upfront_fee: UpfrontFee = None,
    fee_paid_separately: Separate = False,
    fee: Fee = "0",
    jurisdiction: Jurisdiction = "cn",
    lender_type: LenderType = "private",
    disbursed_on: DisbursedOn = None,
    old_date: OldDate = None,
) -> None:
    """Print the schedule, the true APR (simple and compound) and every legal-cap breach."""
    from fengkong.servicing.apr import apr, schedule_cash_flows  # noqa: PLC0415 (on demand)
    from fengkong.servicing.caps import check_contract  # noqa: PLC0415
    from fengkong.servicing.schedule import build_schedule  # noqa: PLC0415

    with user_errors():
        day = renamed_option(disbursed_on, old_date, name="--disbursed-on", old_name="--date")
        terms = _terms(
            principal, rate, term, method, product, upfront_fee, fee_paid_separately, day, fee
        )
        schedule = build_schedule(terms)
        result = apr(schedule_cash_flows(schedule))
        breaches = check_contract(schedule, jurisdiction=jurisdiction, lender_type=lender_type)
    console.print(_schedule_table(schedule))
    console.print(
        Text.assemble(
            f"Received by the borrower: {terms.net_disbursed}   "
            f"nominal rate: {terms.annual_rate * 100:.2f} %   true APR: ",
            (f"{result.annual * 100:.2f} %", "bold"),
            f" (simple, IRR x 12)   {result.effective * 100:.2f} % (compound)",
        )
    )
    if not breaches:
        console.print(
            literal(
                f"No breach of the {jurisdiction}/{lender_type} rules in force on "
                f"{terms.disbursed_on}.",
                "green",
            )
        )
        return
    table = Table(title="Legal-cap breaches", title_style="bold red")
    for name in ("rule", "severity", "limit", "contract", "what it says", "source"):
        table.add_column(name)
    for b in breaches:
        table.add_row(b.rule_id, b.severity, f"{b.limit}", f"{b.actual}", b.message, b.source)
    console.print(table)


@app.command()
def statement(
    principal: Principal,
    rate: Rate,
    term: Term,
    as_of: Annotated[str, typer.Option("--as-of", help="Date of the statement, YYYY-MM-DD.")],
    paid: Annotated[
        list[str] | None,
        typer.Option("--paid", help="A payment as YYYY-MM-DD=AMOUNT; repeat for more."),
    ] = None,
    method: MethodOpt = "equal-instalment",
    product: ProductOpt = None,
    upfront_fee: UpfrontFee = None,
    fee_paid_separately: Separate = False,
    fee: Fee = "0",
    jurisdiction: Jurisdiction = "cn",
    lender_type: LenderType = "private",
    disbursed_on: DisbursedOn = None,
    old_date: OldDate = None,
    filed_on: FiledOn = None,
) -> None:
    """What is owed under the contract, what is lawful under the caps, what was paid, what
    is owed and what is refundable, line by line."""
    from fengkong.money import Money  # noqa: PLC0415 (the core on demand)
    from fengkong.servicing.ledger import Repayment, replay  # noqa: PLC0415
    from fengkong.servicing.schedule import build_schedule  # noqa: PLC0415
    from fengkong.servicing.statement import legal_statement  # noqa: PLC0415

    with user_errors():
        day = renamed_option(disbursed_on, old_date, name="--disbursed-on", old_name="--date")
        terms = _terms(
            principal, rate, term, method, product, upfront_fee, fee_paid_separately, day, fee
        )
        events = []
        for n, item in enumerate(paid or []):
            day, sep, amount = item.partition("=")
            if not sep:
                raise InvalidArgumentError("--paid", expected="YYYY-MM-DD=AMOUNT", got=item)
            events.append(Repayment(parse_date(day, "--paid"), Money.of(amount), key=f"cli-{n}"))
        state = replay(build_schedule(terms), events, as_of=parse_date(as_of, "--as-of"))
        result = legal_statement(
            state,
            jurisdiction=jurisdiction,
            lender_type=lender_type,
            filed_on=parse_date(filed_on, "--filed-on") if filed_on else None,
        )
    print_statement(result, state)


def print_statement(result: LegalStatement, state: LoanState) -> None:
    """Print a legal statement as a table with its notes (shared by ``loan`` and ``servicing``)."""
    first = result.periods[0]
    table = Table(
        title=f"Statement at {result.as_of} ({result.rule_set}: all-in cap {first.enforceable * 100:.2f} %)"
    )
    for name in ("item", "under the contract", "lawful", "paid", "owed", "refundable"):
        table.add_column(name, justify="left" if name == "item" else "right")
    for line in result.lines:
        table.add_row(
            line.item,
            f"{line.contract.amount:,}",
            f"{line.lawful.amount:,}",
            f"{line.paid.amount:,}",
            f"{line.owed.amount:,}",
            f"{line.refundable.amount:,}",
            style="bold" if line.item == "total" else None,
        )
    console.print(table)
    console.print(
        f"Status: {state.status}, {state.dpd} days past due ({state.bucket}). "
        f"The contract claims {result.contract_owed}; lawfully owed {result.line('total').owed}."
    )
    for note in result.notes:
        console.print(f"- {note}")


__all__ = ["METHOD_NAMES", "FiledOn", "app", "print_statement"]
