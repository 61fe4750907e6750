"""Work lists: indexes for the moderators' needs queue, its counts and its sorts.

Revision ID: 0005_worklists
Revises: 0007_livecases
Create Date: 2026-12-06
"""

from alembic import op

revision = "0008_worklists"
down_revision = "0007_livecases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_needs_worklist",
        "needs",
        ["status", "region_code", "deadline_on", "updated_at"],
        unique=False,
    )
    op.create_index(
        "ix_needs_deadline_region",
        "needs",
        ["deadline_on", "region_code"],
        unique=False,
    )
    op.create_index(
        "ix_needs_updated_region",
        "needs",
        ["updated_at", "region_code", "status"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_needs_updated_region", table_name="needs")
    op.drop_index("ix_needs_deadline_region", table_name="needs")
    op.drop_index("ix_needs_worklist", table_name="needs")
