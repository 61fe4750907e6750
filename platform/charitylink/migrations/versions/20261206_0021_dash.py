"""Scope rows for the reports (reports/summary.py): the cells added up per
region level over all time, one membership row per scope and household for
exact household counts, each household's assistance entries per scope, and
the days to full claim per scope; filled from the cell tables (the days: from
the needs).

Revision ID: 0021_dash
Revises: 0020_s1m
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_dash"
down_revision = "0020_s1m"
branch_labels = None
depends_on = None

KEYS = ("basis", "depth", "facet", "code", "item")


def _keys() -> list[sa.Column]:
    return [
        sa.Column("basis", sa.String(1), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("facet", sa.String(1), nullable=False),
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("item", sa.String(64), nullable=False),
    ]


def _n(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")


def upgrade() -> None:
    op.create_table(
        "report_scope_members",
        *_keys(),
        sa.Column("household_key", sa.String(64), nullable=False),
        _n("needs"),
        _n("reached"),
        _n("delivered"),
        sa.PrimaryKeyConstraint(*KEYS, "household_key"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "report_scope_assistance",
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("household_key", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("monthly", sa.BigInteger(), nullable=False),
        _n("entries"),
        sa.PrimaryKeyConstraint("depth", "code", "household_key", "kind", "monthly"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "report_scope_durations",
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("need_type", sa.String(16), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("micros", sa.BigInteger(), nullable=False),
        _n("needs"),
        sa.PrimaryKeyConstraint("depth", "code", "need_type", "bucket", "micros"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "report_scope_sums",
        *_keys(),
        *(
            _n(m)
            for m in (
                "needs",
                "fully_claimed",
                "requested",
                "claimed",
                "delivered",
                "confirmed",
                "households",
                "reached",
            )
        ),
        sa.PrimaryKeyConstraint(*KEYS),
        sqlite_with_rowid=False,
    )
    # Correct at once: derived from the cell tables already there (the same
    # code as `reports rebuild` after it has refilled the cells).
    from charitylink.reports.summary import derive_scopes

    derive_scopes(op.get_bind(), periods=False, durations=False)


def downgrade() -> None:
    op.drop_table("report_scope_sums")
    op.drop_table("report_scope_assistance")
    op.drop_table("report_scope_durations")
    op.drop_table("report_scope_members")
