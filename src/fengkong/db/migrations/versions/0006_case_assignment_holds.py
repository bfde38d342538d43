"""manual case assignment: who assigned a case and until when the assignment holds

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("collection_cases") as batch:
        batch.add_column(sa.Column("assigned_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("assignment_held_until", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("collection_cases") as batch:
        batch.drop_column("assignment_held_until")
        batch.drop_column("assigned_by")
