"""Matching: a moderator's proposed matches, waiting for the offering org.

Revision ID: 0014_match
Revises: 0013_offers
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_match"
down_revision = "0013_offers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "match_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_match_proposals_offer_id_offers")
        ),
        sa.ForeignKeyConstraint(
            ["need_id"], ["needs.id"], name=op.f("fk_match_proposals_need_id_needs")
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"],
            ["users.id"],
            name=op.f("fk_match_proposals_proposed_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_match_proposals_decided_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_match_proposals_claim_id_claims")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_proposals")),
    )
    op.create_index(
        "ix_match_proposals_offer_status",
        "match_proposals",
        ["offer_id", "status"],
        unique=False,
    )
    op.create_index(
        op.f("ix_match_proposals_need_id"), "match_proposals", ["need_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_match_proposals_need_id"), table_name="match_proposals")
    op.drop_index("ix_match_proposals_offer_status", table_name="match_proposals")
    op.drop_table("match_proposals")
