"""a loan remembers the approval it was booked from: one approval books one loan

Revision ID: 0010
Revises: 0009

A plain column and a unique index (no table rebuild on SQLite: a rebuild would inline the
earlier check constraints and break the downgrade of 0007).
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("loans", sa.Column("decision_id", sa.String(64), nullable=True))
    op.create_index("ix_loans_decision_id", "loans", ["decision_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_loans_decision_id", table_name="loans")
    op.drop_column("loans", "decision_id")
