"""Report rows per China day for the cuts with a period (reports/summary.py):
the scope sums per day of publication (facets D, C, B, M) and each household's
days with the day before them (facet F), so a period's distinct households
are a sum of a few hundred rows; indexes for a household's days and for the
cells of a region prefix; the fully claimed needs by region and publication
time (PostgreSQL); the assistance figures of a period per day
(report_period_assistance). Filled from the cell tables.

Revision ID: 0023_period
Revises: 0022_twoword
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_period"
down_revision = "0022_twoword"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_report_household_cells_household",
        "report_household_cells",
        ["household_key", "grain"],
    )
    op.create_index(
        "ix_report_household_cells_region",
        "report_household_cells",
        ["region", "grain", "span"],
    )
    op.create_index(
        "ix_report_assistance_cells_region",
        "report_assistance_cells",
        ["region", "grain", "span"],
    )
    op.create_index(
        "ix_report_assistance_cells_household",
        "report_assistance_cells",
        ["household_key", "grain"],
    )
    if op.get_bind().dialect.name == "postgresql":
        # The days to full claim of a period (figures._pg_speed): the fully
        # claimed needs of a region prefix by publication time, read from the
        # index alone.
        op.create_index(
            "ix_needs_full_claim",
            "needs",
            ["region_code", "published_at"],
            postgresql_include=["need_type", "fully_claimed_at"],
            postgresql_where=sa.text("fully_claimed_at IS NOT NULL"),
            if_not_exists=True,
        )
    op.create_table(
        "report_period_assistance",
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("part", sa.String(1), nullable=False),
        sa.Column("prev", sa.String(10), nullable=False),
        sa.Column("next", sa.String(10), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("depth", "code", "day", "kind", "part", "prev", "next"),
        sqlite_with_rowid=False,
    )
    # Correct at once: derived from the cell tables already there (the same
    # code as `reports rebuild`).
    from charitylink.reports.summary import derive_periods, fill_period_assistance

    derive_periods(op.get_bind())
    fill_period_assistance(op.get_bind())
    if op.get_bind().dialect.name == "postgresql":
        # Millions of new rows: the planner's statistics now, not at the
        # next autovacuum (a period's range read must use the key).
        op.execute("ANALYZE report_scope_sums")
        op.execute("ANALYZE report_period_assistance")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_needs_full_claim", "needs")
    op.drop_table("report_period_assistance")
    op.drop_index("ix_report_assistance_cells_household", "report_assistance_cells")
    op.execute("DELETE FROM report_scope_sums WHERE facet IN ('D', 'C', 'M', 'F')")
    op.drop_index("ix_report_assistance_cells_region", "report_assistance_cells")
    op.drop_index("ix_report_household_cells_region", "report_household_cells")
    op.drop_index("ix_report_household_cells_household", "report_household_cells")
