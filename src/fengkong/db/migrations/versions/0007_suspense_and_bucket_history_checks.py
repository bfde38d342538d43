"""suspense balance on loans; bucket history kept consistent by constraints

Adds ``loans.suspense_minor`` (money received above the payoff, not yet refunded; ≥ 0), a check
that event amounts are positive, and on ``bucket_history``: entered ≤ left, one row per loan and
entry day, at most one open row per loan. Rows written by the old end of day (a rerun for an
earlier date could leave rows that left before they entered, duplicates, several open rows) are
repaired first: duplicates of a loan and entry day keep the first row, a row leaving before it
entered leaves on its entry day, and every open row but the latest is closed on its entry day.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_REPAIR = (
    "DELETE FROM bucket_history WHERE id NOT IN "
    "(SELECT MIN(id) FROM bucket_history GROUP BY loan_id, entered_on)",
    "UPDATE bucket_history SET left_on = entered_on WHERE left_on < entered_on",
    "UPDATE bucket_history SET left_on = entered_on WHERE left_on IS NULL AND entered_on < "
    "(SELECT MAX(b.entered_on) FROM bucket_history b "
    "WHERE b.loan_id = bucket_history.loan_id AND b.left_on IS NULL)",
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # a column added in place: rebuilding ``loans`` would cascade-delete its children
        op.execute(
            "ALTER TABLE loans ADD COLUMN suspense_minor INTEGER NOT NULL DEFAULT 0 "
            "CONSTRAINT ck_loans_suspense_not_negative CHECK (suspense_minor >= 0)"
        )
    else:
        op.add_column(
            "loans",
            sa.Column("suspense_minor", sa.BigInteger(), nullable=False, server_default="0"),
        )
        op.create_check_constraint(
            op.f("ck_loans_suspense_not_negative"), "loans", "suspense_minor >= 0"
        )
    with op.batch_alter_table("loan_events") as batch:
        batch.create_check_constraint(
            op.f("ck_loan_events_amount_positive"), "amount_minor IS NULL OR amount_minor > 0"
        )
    for statement in _REPAIR:
        op.execute(statement)
    with op.batch_alter_table("bucket_history") as batch:
        batch.create_check_constraint(
            op.f("ck_bucket_history_entered_before_left"),
            "left_on IS NULL OR left_on >= entered_on",
        )
    op.create_index(
        "uq_bucket_history_loan_entered", "bucket_history", ["loan_id", "entered_on"], unique=True
    )
    op.create_index(
        "uq_bucket_history_one_open",
        "bucket_history",
        ["loan_id"],
        unique=True,
        sqlite_where=sa.text("left_on IS NULL"),
        postgresql_where=sa.text("left_on IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_bucket_history_one_open", table_name="bucket_history")
    op.drop_index("uq_bucket_history_loan_entered", table_name="bucket_history")
    with op.batch_alter_table("bucket_history") as batch:
        batch.drop_constraint(op.f("ck_bucket_history_entered_before_left"), type_="check")
    with op.batch_alter_table("loan_events") as batch:
        batch.drop_constraint(op.f("ck_loan_events_amount_positive"), type_="check")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE loans DROP COLUMN suspense_minor")
    else:
        op.drop_constraint(op.f("ck_loans_suspense_not_negative"), "loans", type_="check")
        op.drop_column("loans", "suspense_minor")
