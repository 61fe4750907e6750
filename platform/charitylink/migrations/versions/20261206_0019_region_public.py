"""A county's needs with their public region: ix_needs_region_public
(region_code, public_region_code) replaces the index on region_code alone.

Approving, withdrawing or expiring a need re-decides which region its county
shows (needs/privacy.py). That used to count every public need of the county
and read every need of it for the ones showing the wrong region, so the cost
of an approval grew with the county. With this index the needs showing
another region are two short range reads, and the count stops at the
threshold.

Revision ID: 0019_region_public
Revises: 0018_offer_search
Create Date: 2026-12-06
"""

from alembic import op

revision = "0019_region_public"
down_revision = "0018_offer_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_needs_region_public", "needs", ["region_code", "public_region_code"]
    )
    op.drop_index("ix_needs_region_code", table_name="needs")


def downgrade() -> None:
    op.create_index("ix_needs_region_code", "needs", ["region_code"])
    op.drop_index("ix_needs_region_public", table_name="needs")
