"""Report rows per China day for the cuts with a period (reports/summary.py):
the scope sums per day of publication (facets D, C, M) and each household's
days with the day before them (facet F), so a period's distinct households
are a sum of a few hundred rows; indexes for a household's days and for the
cells of a region prefix. Filled from the cell tables.

Revision ID: 0022_period
Revises: 0021_dash
Create Date: 2026-12-07
"""

from alembic import op

revision = "0022_period"
down_revision = "0021_dash"
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
    # Correct at once: derived from the cell tables already there (the same
    # code as `reports rebuild`).
    from charitylink.reports.summary import derive_periods

    derive_periods(op.get_bind())


def downgrade() -> None:
    op.execute("DELETE FROM report_scope_sums WHERE facet IN ('D', 'C', 'M', 'F')")
    op.drop_index("ix_report_assistance_cells_region", "report_assistance_cells")
    op.drop_index("ix_report_household_cells_region", "report_household_cells")
    op.drop_index("ix_report_household_cells_household", "report_household_cells")
