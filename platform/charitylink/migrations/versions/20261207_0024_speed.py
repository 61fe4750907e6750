"""The days to full claim of a period from the summary tables: the duration
rows get the China month of publication (report_scope_durations.month), the
scope sums count them per month for every region and each province (facet
X), and on PostgreSQL the fully claimed needs are also indexed by publication
time alone (the days of the months a period cuts, in every region). Filled
from the needs.

Revision ID: 0024_speed
Revises: 0023_period
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0024_speed"
down_revision = "0023_period"
branch_labels = None
depends_on = None


def _durations(month: bool) -> None:
    keys = [
        "depth",
        "code",
        "need_type",
        "bucket",
        *(["month"] if month else []),
        "micros",
    ]
    op.create_table(
        "report_scope_durations",
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("need_type", sa.String(16), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        *([sa.Column("month", sa.String(7), nullable=False)] if month else []),
        sa.Column("micros", sa.BigInteger(), nullable=False),
        sa.Column("needs", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint(*keys),
        sqlite_with_rowid=False,
    )


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        # The needs published on a period's cut days in every region (a
        # region prefix reads ix_needs_full_claim, by region first).
        op.create_index(
            "ix_needs_full_claim_time",
            "needs",
            ["published_at"],
            postgresql_include=["region_code", "need_type", "fully_claimed_at"],
            postgresql_where=sa.text("fully_claimed_at IS NOT NULL"),
            if_not_exists=True,
        )
    op.drop_table("report_scope_durations")
    _durations(month=True)
    from charitylink.reports.summary import derive_speed

    derive_speed(op.get_bind())
    if postgresql:
        op.execute("ANALYZE report_scope_durations")
        op.execute("ANALYZE report_scope_sums")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_needs_full_claim_time", "needs")
    op.execute("DELETE FROM report_scope_sums WHERE facet = 'X'")
    op.rename_table("report_scope_durations", "report_scope_durations_by_month")
    if op.get_bind().dialect.name == "postgresql":
        # Its primary key keeps its name, which the table made next needs.
        op.execute(
            "ALTER TABLE report_scope_durations_by_month RENAME CONSTRAINT"
            " pk_report_scope_durations TO pk_report_scope_durations_by_month"
        )
    _durations(month=False)
    op.execute(
        "INSERT INTO report_scope_durations"
        " (depth, code, need_type, bucket, micros, needs)"
        " SELECT depth, code, need_type, bucket, micros, SUM(needs)"
        " FROM report_scope_durations_by_month"
        " GROUP BY depth, code, need_type, bucket, micros"
    )
    op.drop_table("report_scope_durations_by_month")
