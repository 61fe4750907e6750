"""Offers: the index behind "needs that fit an offer" (offers/matching.py).

Without it a province-wide offer read every need of the province to find the
few of its types with an amount left; with it the database reads only the
needs of those types in the range of public region codes, the amounts in the
index.

Revision ID: 0013_offers
Revises: 0012_purge
Create Date: 2026-12-06
"""

from alembic import op

revision = "0013_offers"
down_revision = "0012_purge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_needs_offer_match",
        "needs",
        [
            "status",
            "need_type",
            "public_region_code",
            "deadline_on",
            "amount_fen",
            "claimed_fen",
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_needs_offer_match", table_name="needs")
