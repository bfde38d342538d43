"""stop states stored (debtor requests), third-party and attorney contacts, recording evidence,
the case's jurisdiction, agency placements kept across days, settlement offers

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "debtor_contacts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("borrower_id", sa.String(64), nullable=False, index=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("relation", sa.String(32), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("added_by", sa.String(64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('third_party', 'attorney')", name=op.f("ck_debtor_contacts_role")
        ),
    )
    op.create_table(
        "debtor_requests",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("borrower_id", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("loan_id", sa.String(64), nullable=True),
        sa.Column("channels", sa.JSON(), nullable=True),
        sa.Column("disputed_fen", sa.BigInteger(), nullable=True),
        sa.Column("verification", sa.String(16), nullable=True),
        sa.Column(
            "attorney_contact_id", sa.Integer(), sa.ForeignKey("debtor_contacts.id"), nullable=True
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_by", sa.String(64), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_by", sa.String(64), nullable=True),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('dispute', 'cease_contact', 'hardship', 'legal_hold', 'deceased', "
            "'bankruptcy', 'represented')",
            name=op.f("ck_debtor_requests_kind"),
        ),
        sa.CheckConstraint(
            "lifted_at IS NULL OR lifted_at >= effective_from",
            name=op.f("ck_debtor_requests_lifted_after"),
        ),
    )
    op.create_table(
        "agency_placements",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(64), nullable=False, index=True),
        sa.Column("agency_id", sa.String(64), nullable=False, index=True),
        sa.Column("placed_on", sa.Date(), nullable=False),
        sa.Column("placed_dpd", sa.Integer(), nullable=False),
        sa.Column("placed_overdue_fen", sa.BigInteger(), nullable=False),
        sa.Column("commission_rate", sa.String(16), nullable=False),
        sa.Column("recalled_on", sa.Date(), nullable=True),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.UniqueConstraint("case_id", "number", name=op.f("uq_agency_placements_case_id")),
    )
    op.create_table(
        "settlement_offers",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(64), nullable=False, index=True),
        sa.Column("balance_fen", sa.BigInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("approved_by", sa.String(64), nullable=False),
        sa.Column("approver_role", sa.String(16), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("accepted_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "amount_fen > 0 AND amount_fen <= balance_fen", name=op.f("ck_settlement_offers_amount")
        ),
        sa.CheckConstraint(
            "status IN ('open', 'accepted', 'withdrawn')", name=op.f("ck_settlement_offers_status")
        ),
    )
    with op.batch_alter_table("contact_log") as batch:
        batch.add_column(sa.Column("debts", sa.JSON(), nullable=True))
    with op.batch_alter_table("contact_outcomes") as batch:
        batch.add_column(sa.Column("recorded_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("recording_id", sa.String(128), nullable=True))
    with op.batch_alter_table("collection_cases") as batch:
        batch.add_column(
            sa.Column("jurisdiction", sa.String(8), nullable=False, server_default="cn")
        )


def downgrade() -> None:
    with op.batch_alter_table("collection_cases") as batch:
        batch.drop_column("jurisdiction")
    with op.batch_alter_table("contact_outcomes") as batch:
        batch.drop_column("recording_id")
        batch.drop_column("recorded_by")
    with op.batch_alter_table("contact_log") as batch:
        batch.drop_column("debts")
    op.drop_table("settlement_offers")
    op.drop_table("agency_placements")
    op.drop_table("debtor_requests")
    op.drop_table("debtor_contacts")
