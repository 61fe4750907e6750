"""Complaints (举报): the public's reports and their handling.

Revision ID: 0005_complaints
Revises: 0004
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_complaints"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tracking_hash", sa.String(length=64), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_ref", sa.String(length=40), nullable=False),
        sa.Column("subject_org_id", sa.Integer(), nullable=True),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_findings", sa.String(length=200), nullable=False),
        sa.Column("contact_ciphertext", sa.Text(), nullable=True),
        sa.Column("complainant_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("moderator_note", sa.Text(), nullable=True),
        sa.Column("published_text", sa.Text(), nullable=True),
        sa.Column("accepted_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("accept_due_at", sa.DateTime(), nullable=False),
        sa.Column("resolve_due_at", sa.DateTime(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_org_id"],
            ["organizations.id"],
            name=op.f("fk_complaints_subject_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["complainant_id"],
            ["users.id"],
            name=op.f("fk_complaints_complainant_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["accepted_by_id"],
            ["users.id"],
            name=op.f("fk_complaints_accepted_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"],
            ["users.id"],
            name=op.f("fk_complaints_resolved_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint("tracking_hash", name=op.f("uq_complaints_tracking_hash")),
        sa.CheckConstraint(
            "status IN ('received', 'in_review', 'resolved')",
            name=op.f("ck_complaints_status"),
        ),
        sa.CheckConstraint(
            "(status = 'resolved') = (outcome IS NOT NULL)",
            name=op.f("ck_complaints_outcome_when_resolved"),
        ),
    )
    for column in (
        "subject_type",
        "subject_org_id",
        "region_code",
        "status",
        "created_at",
        "resolved_at",
    ):
        op.create_index(op.f(f"ix_complaints_{column}"), "complaints", [column])


def downgrade() -> None:
    for column in (
        "subject_type",
        "subject_org_id",
        "region_code",
        "status",
        "created_at",
        "resolved_at",
    ):
        op.drop_index(op.f(f"ix_complaints_{column}"), table_name="complaints")
    op.drop_table("complaints")
