"""Integrity: evidence file content hash, dismissed integrity signals.

Revision ID: 0005_integrity
Revises: 0008_worklists
Create Date: 2026-12-06

Evidence stored before this revision gets its hash from
``flask integrity hash-evidence`` (the files live outside the database).
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_integrity"
down_revision = "0008_worklists"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "claims", sa.Column("evidence_sha256", sa.String(length=64), nullable=True)
    )
    op.create_index(op.f("ix_claims_evidence_sha256"), "claims", ["evidence_sha256"])
    op.create_table(
        "integrity_dismissals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=120), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("dismissed_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_integrity_dismissals_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["dismissed_by_id"],
            ["users.id"],
            name=op.f("fk_integrity_dismissals_dismissed_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrity_dismissals")),
    )
    op.create_index(
        "ix_integrity_dismissals_signal", "integrity_dismissals", ["kind", "subject"]
    )


def downgrade() -> None:
    op.drop_index("ix_integrity_dismissals_signal", table_name="integrity_dismissals")
    op.drop_table("integrity_dismissals")
    op.drop_index(op.f("ix_claims_evidence_sha256"), table_name="claims")
    op.drop_column("claims", "evidence_sha256")
