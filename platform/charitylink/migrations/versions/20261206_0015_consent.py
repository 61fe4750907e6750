"""Consent records take over from the bare flag; private exports and the
private-view alert.

Data: every need whose ``consent_share_contact`` is true gets a ``written``
``share_contact`` consent, recorded by the moderator who entered the need and
given on the day the need was created (the flag was ticked at entry). The
column stays (dropping it would copy the needs table on SQLite) but nothing
reads it any more.

Tables: ``private_exports`` (one-time download links of exports with private
data, the token kept hashed) and ``private_view_flags`` (accounts that viewed
more private halves in an hour than the alert allows).

Revision ID: 0015_consent
Revises: 0014_match
Create Date: 2026-12-06
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0015_consent"
down_revision = "0014_match"
branch_labels = None
depends_on = None


def copy_flags(bind: Any) -> None:
    """The flag becomes a written consent by the need's enterer, on the day
    the need was entered. One INSERT … SELECT: no row is read into Python.
    SQLite keeps timestamps as text: the date is its first ten characters."""
    postgres = bind.dialect.name == "postgresql"
    day = "CAST(created_at AS DATE)" if postgres else "substr(created_at, 1, 10)"
    bind.execute(
        sa.text(
            "INSERT INTO consents (need_id, scope, method, given_on, recorded_by_id,"
            f" recorded_at) SELECT id, 'share_contact', 'written', {day},"
            " entered_by_id, created_at FROM needs WHERE consent_share_contact = :yes"
        ).bindparams(yes=True)
    )


def upgrade() -> None:
    op.create_table(
        "private_exports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("fmt", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("stored_name", sa.String(length=64), nullable=True),
        sa.Column("filename", sa.String(length=128), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_private_exports_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_private_exports")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_private_exports_token_hash")),
    )
    op.create_index(
        op.f("ix_private_exports_user_id"), "private_exports", ["user_id"]
    )
    op.create_index(
        op.f("ix_private_exports_expires_at"), "private_exports", ["expires_at"]
    )
    op.create_table(
        "private_view_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_private_view_flags_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_private_view_flags")),
    )
    op.create_index(
        "ux_private_view_flags", "private_view_flags", ["user_id", "hour"], unique=True
    )
    op.create_index(
        op.f("ix_private_view_flags_created_at"), "private_view_flags", ["created_at"]
    )
    copy_flags(op.get_bind())

def downgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE needs SET consent_share_contact = :yes WHERE id IN (SELECT"
            " need_id FROM consents WHERE scope = 'share_contact' AND"
            " withdrawn_at IS NULL)"
        ).bindparams(yes=True)
    )
    op.drop_index("ux_private_view_flags", table_name="private_view_flags")
    op.drop_index(
        op.f("ix_private_view_flags_created_at"), table_name="private_view_flags"
    )
    op.drop_table("private_view_flags")
    op.drop_index(op.f("ix_private_exports_expires_at"), table_name="private_exports")
    op.drop_index(op.f("ix_private_exports_user_id"), table_name="private_exports")
    op.drop_table("private_exports")
