"""Retention and purge, requests from the person: ``needs.purged_at``, the purge
log (need codes and kinds of data erased, never the data) and the requests.

Revision ID: 0012_purge
Revises: 0011_beyond_cash
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_purge"
down_revision = "0011_beyond_cash"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("needs", sa.Column("purged_at", sa.DateTime(), nullable=True))
    op.create_table(
        "privacy_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("household_key", sa.String(length=64), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("exported_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_privacy_requests_created_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_id"],
            ["users.id"],
            name=op.f("fk_privacy_requests_closed_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_requests")),
    )
    op.create_index(
        "ix_privacy_requests_open", "privacy_requests", ["closed_at", "due_on"]
    )
    op.create_index(
        op.f("ix_privacy_requests_household_key"),
        "privacy_requests",
        ["household_key"],
    )
    op.create_index(
        op.f("ix_privacy_requests_region_code"), "privacy_requests", ["region_code"]
    )
    op.create_table(
        "privacy_purge_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("need_code", sa.String(length=24), nullable=False),
        sa.Column("purged_at", sa.DateTime(), nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["privacy_requests.id"],
            name=op.f("fk_privacy_purge_log_request_id_privacy_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_purge_log")),
    )
    op.create_index(
        op.f("ix_privacy_purge_log_need_code"), "privacy_purge_log", ["need_code"]
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_privacy_purge_log_need_code"), table_name="privacy_purge_log"
    )
    op.drop_table("privacy_purge_log")
    op.drop_index(
        op.f("ix_privacy_requests_region_code"), table_name="privacy_requests"
    )
    op.drop_index(
        op.f("ix_privacy_requests_household_key"), table_name="privacy_requests"
    )
    op.drop_index("ix_privacy_requests_open", table_name="privacy_requests")
    op.drop_table("privacy_requests")
    with op.batch_alter_table("needs") as batch:
        batch.drop_column("purged_at")
