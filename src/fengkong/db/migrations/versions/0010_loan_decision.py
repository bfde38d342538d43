"""a loan remembers the approval it was booked from: one approval books one loan

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("loans") as batch:
        batch.add_column(sa.Column("decision_id", sa.String(64), nullable=True))
        batch.create_unique_constraint(op.f("uq_loans_decision_id"), ["decision_id"])


def downgrade() -> None:
    with op.batch_alter_table("loans") as batch:
        batch.drop_constraint(op.f("uq_loans_decision_id"), type_="unique")
        batch.drop_column("decision_id")
