"""Schemas of the synthetic book's tables: one source for casting, tests and docs.

``docs/data-model.md`` is generated from :data:`TABLES` (``python -m fengkong.synth.schemas``)
and a test keeps the two in step. Money columns end in ``_fen`` (integer minor units, CNY).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

__all__ = ["TABLES", "Column", "Table", "markdown"]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    dtype: pl.DataType
    description: str


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]

    @property
    def schema(self) -> pl.Schema:
        """The Polars schema every frame of this table has."""
        return pl.Schema({c.name: c.dtype for c in self.columns})


C = Column
_DATE, _DT, _STR, _I64, _I32, _I16, _F64, _BOOL = (
    pl.Date(),
    pl.Datetime("us"),
    pl.String(),
    pl.Int64(),
    pl.Int32(),
    pl.Int16(),
    pl.Float64(),
    pl.Boolean(),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "persons",
            "One row per synthetic person (applicants, including fraud-ring members).",
            (
                C("person_id", _I64, "Unique person key."),
                C("household_id", _I64, "Household key; members share an address and a home IP."),
                C("birth_date", _DATE, "Date of birth."),
                C("gender", _STR, "female | male."),
                C("province", _STR, "Province of residence."),
                C("city", _STR, "City of residence."),
                C("education", _STR, "Highest education level."),
                C(
                    "employment_type",
                    _STR,
                    "salaried | self_employed | gig_worker | student | unemployed.",
                ),
                C("employer_id", _I64, "Employer key (null when not employed by one)."),
                C("monthly_income_fen", _I64, "Declared monthly income, fen."),
                C("housing", _STR, "rent | family | mortgage | owned."),
                C(
                    "latent_risk",
                    _F64,
                    "Hidden risk factor (standardised); ground truth, not a feature.",
                ),
            ),
        ),
        Table(
            "person_identifiers",
            "Person-identifier links, the input of the relationship graph.",
            (
                C("person_id", _I64, "Person key."),
                C(
                    "id_type",
                    _STR,
                    "mobile | id_number | device | ip | address | employer | bank_card | emergency_phone.",
                ),
                C("id_value", _STR, "Normalised identifier value (id numbers are hashed)."),
                C("first_seen", _DT, "When this person was first seen with this identifier."),
            ),
        ),
        Table(
            "applications",
            "Credit applications across the consortium's institutions.",
            (
                C("application_id", _I64, "Unique application key."),
                C("person_id", _I64, "Applicant."),
                C("applied_at", _DT, "Application timestamp."),
                C("institution_id", _I32, "Lender that received the application."),
                C("channel", _STR, "app | h5 | partner_api | offline."),
                C("product", _STR, "Product name (see parameters)."),
                C("requested_amount_fen", _I64, "Requested principal, fen."),
                C("requested_term", _I16, "Requested number of monthly instalments."),
                C("device_id", _STR, "Device the application came from."),
                C("ip", _STR, "IP address the application came from."),
                C("age", _I16, "Age in whole years at application."),
                C(
                    "bureau_inquiries_3m",
                    _I16,
                    "External credit inquiries in the previous 3 months.",
                ),
                C("bureau_open_loans", _I16, "Open loans elsewhere at application."),
                C("bureau_past_delinquency", _BOOL, "Any past delinquency on the bureau file."),
                C(
                    "baseline_score",
                    _I16,
                    "Score of the built-in baseline policy (600 = average risk, 50 PDO).",
                ),
                C("baseline_decision", _STR, "approve | decline."),
                C("baseline_reason", _STR, "Decline reason code (null when approved)."),
            ),
        ),
        Table(
            "loans",
            "Loans booked for approved applications, with their contract terms.",
            (
                C("loan_id", _I64, "Unique loan key."),
                C("application_id", _I64, "Application the loan was booked from."),
                C("person_id", _I64, "Borrower."),
                C("institution_id", _I32, "Lender."),
                C("product", _STR, "Product name."),
                C(
                    "method",
                    _STR,
                    "equal_instalment | equal_principal | flat_fee | single_payment | interest_only.",
                ),
                C("principal_fen", _I64, "Principal disbursed, fen."),
                C("term", _I16, "Number of monthly instalments."),
                C(
                    "rate_bp",
                    _I32,
                    "Nominal annual rate (basis points), or for flat_fee the fee per month on the original principal (basis points).",
                ),
                C("disbursed_on", _DATE, "Disbursement date."),
                C(
                    "first_due_on",
                    _DATE,
                    "First instalment due date (same day next month, day capped at 28).",
                ),
                C("total_due_fen", _I64, "Sum of all scheduled instalments, fen."),
            ),
        ),
        Table(
            "schedules",
            "Contractual repayment schedule of every loan, one row per instalment.",
            (
                C("loan_id", _I64, "Loan key."),
                C("instalment", _I16, "Instalment number, 1-based."),
                C("due_on", _DATE, "Due date."),
                C(
                    "principal_fen",
                    _I64,
                    "Principal part, fen; the parts sum to the loan's principal.",
                ),
                C(
                    "interest_fen",
                    _I64,
                    "Interest part, fen (balance x annual rate / 12, HALF_EVEN).",
                ),
                C("fee_fen", _I64, "Fee part, fen (flat-fee products)."),
                C("due_fen", _I64, "Instalment total, fen."),
            ),
        ),
        Table(
            "performance",
            "Month-end snapshots of every loan for each month on book until it closes.",
            (
                C("loan_id", _I64, "Loan key."),
                C("mob", _I16, "Month on book, 1-based."),
                C("snapshot_on", _DATE, "Month-end date of the snapshot."),
                C("scheduled_fen", _I64, "Instalment that fell due this month (0 after the last)."),
                C(
                    "paid_fen",
                    _I64,
                    "Cash paid this month towards the schedule, prepayment included.",
                ),
                C("paid_on", _DATE, "Date of this month's payment (null when none)."),
                C("prepaid_fen", _I64, "Principal repaid ahead of schedule this month."),
                C(
                    "principal_balance_fen",
                    _I64,
                    "Outstanding principal after this month's payments.",
                ),
                C(
                    "overdue_fen",
                    _I64,
                    "Amount past due at the snapshot (0 while nothing is past its due date).",
                ),
                C("dpd", _I32, "Days past due at the snapshot: from the oldest unpaid due date."),
                C("bucket", _STR, "M0 (current), M1 (1-30) ... M6 (151-180), M7+ (181+)."),
                C("status", _STR, "current | delinquent | settled | prepaid | written_off."),
                C("written_off_fen", _I64, "Principal written off this month."),
                C("recovered_fen", _I64, "Cash recovered this month after write-off."),
            ),
        ),
        Table(
            "oracle",
            "Ground truth for every application, declined ones included: the outcome it would have had.",
            (
                C("application_id", _I64, "Application key."),
                C(
                    "pd",
                    _F64,
                    "Probability of hard default within the term (the generator's truth).",
                ),
                C(
                    "default_mob",
                    _I16,
                    "Month of the first instalment a defaulter stops paying (null if none).",
                ),
                C(
                    "ever_30dpd",
                    _BOOL,
                    "Would reach 30+ DPD within the performance window if booked.",
                ),
                C(
                    "ever_90dpd",
                    _BOOL,
                    "Would reach 90+ DPD within the performance window if booked (the 'bad' flag).",
                ),
                C(
                    "first_payment_default",
                    _BOOL,
                    "Would miss the first instalment and never cure it within 30 days.",
                ),
                C("is_fraud", _BOOL, "Application comes from a planted fraud ring."),
            ),
        ),
        Table(
            "rings",
            "Planted fraud rings: which persons belong and which identifiers they share.",
            (
                C("ring_id", _I64, "Ring key."),
                C("person_id", _I64, "Member."),
                C("shared_types", _STR, "Identifier types the ring shares, comma separated."),
            ),
        ),
        Table(
            "collection_responses",
            "Per overdue month and channel: contact made, right party, promise, payment.",
            (
                C("loan_id", _I64, "Loan key."),
                C("mob", _I16, "Month on book when the contact happened."),
                C("contact_on", _DATE, "Date of the contact attempt."),
                C("dpd", _I32, "Days past due at the attempt."),
                C("channel", _STR, "sms | robocall | call | field_visit | agency."),
                C("contacted", _BOOL, "The attempt reached someone (delivered, for SMS)."),
                C("right_party", _BOOL, "The borrower was reached."),
                C("promised", _BOOL, "A promise to pay was made."),
                C("paid", _BOOL, "The borrower paid something in the following month."),
            ),
        ),
    )
}


def markdown() -> str:
    """The tables as Markdown (the body of ``docs/data-model.md``)."""
    lines = [
        "# Data model: the synthetic lending book",
        "",
        "Generated from `fengkong.synth.schemas.TABLES` by `python -m fengkong.synth.schemas`;",
        "a test keeps this page in step with the code. Each table is a folder of Parquet files",
        "(`<table>/part-00000.parquet`, one per chunk) under the `--out` directory, beside",
        "`params.yaml` (the parameters used) and `manifest.json` (seed, sizes, row counts).",
        "Money is integer fen (`*_fen`, CNY); dates are calendar dates, timestamps microseconds.",
        "",
    ]
    for table in TABLES.values():
        lines += [
            f"## {table.name}",
            "",
            table.description,
            "",
            "| column | type | meaning |",
            "|---|---|---|",
        ]
        lines += [f"| `{c.name}` | {c.dtype} | {c.description} |" for c in table.columns]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(markdown(), end="")
