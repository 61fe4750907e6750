"""Summary tables for the reports (reports/summary.py), filled from the rows.

Revision ID: 0016_summary
Revises: 0015_consent
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_summary"
down_revision = "0015_consent"
branch_labels = None
depends_on = None


def _key(name: str, length: int) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=False)


def _n(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")


def upgrade() -> None:
    op.create_table(
        "report_need_cells",
        _key("grain", 1),
        _key("span", 10),
        _key("month", 7),
        _key("region", 12),
        _key("public_region", 12),
        _key("category", 16),
        _key("need_type", 16),
        _key("status", 16),
        _n("needs"),
        _n("requested"),
        _n("claimed"),
        _n("delivered"),
        _n("confirmed"),
        sa.PrimaryKeyConstraint(
            "grain",
            "span",
            "month",
            "region",
            "public_region",
            "category",
            "need_type",
            "status",
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "report_household_cells",
        _key("grain", 1),
        _key("span", 10),
        _key("month", 7),
        _key("region", 12),
        _key("public_region", 12),
        _key("need_type", 16),
        _key("household_key", 64),
        _n("needs"),
        _n("reached"),
        _n("delivered"),
        _n("assisted"),
        sa.PrimaryKeyConstraint(
            "grain",
            "span",
            "month",
            "region",
            "public_region",
            "need_type",
            "household_key",
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "report_assistance_cells",
        _key("grain", 1),
        _key("span", 10),
        _key("region", 12),
        _key("household_key", 64),
        _key("kind", 64),
        sa.Column("monthly", sa.BigInteger(), nullable=False),
        _n("entries"),
        sa.PrimaryKeyConstraint(
            "grain", "span", "region", "household_key", "kind", "monthly"
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "report_claim_cells",
        _key("grain", 1),
        _key("span", 10),
        _key("region", 12),
        sa.Column("org_id", sa.Integer(), nullable=False),
        _key("status", 16),
        _n("claims"),
        _n("amount"),
        _n("delivered"),
        sa.PrimaryKeyConstraint("grain", "span", "region", "org_id", "status"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "report_delivery_cells",
        _key("grain", 1),
        _key("span", 10),
        _key("region", 12),
        _key("household_key", 64),
        _n("deliveries"),
        _n("delivered"),
        sa.PrimaryKeyConstraint("grain", "span", "region", "household_key"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "report_org_households",
        sa.Column("org_id", sa.Integer(), nullable=False),
        _key("household_key", 64),
        _n("claims"),
        sa.PrimaryKeyConstraint("org_id", "household_key"),
        sqlite_with_rowid=False,
    )
    # An upgraded database is correct at once: the tables are filled from the
    # needs and claims already there (the same code as `reports rebuild`).
    from charitylink.reports.summary import rebuild_on

    rebuild_on(op.get_bind(), scopes=False)


def downgrade() -> None:
    for name in (
        "report_org_households",
        "report_delivery_cells",
        "report_claim_cells",
        "report_assistance_cells",
        "report_household_cells",
        "report_need_cells",
    ):
        op.drop_table(name)
