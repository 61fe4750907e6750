"""Live cases: when an expired need was re-opened by extending its deadline.

Revision ID: 0005_livecases
Revises: 0006_disputes
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_livecases"
down_revision = "0006_disputes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("needs", sa.Column("reopened_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("needs", "reopened_at")
