"""Notifications, the mail outbox, e-mail settings and confirmation, final reports.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("event_key", sa.String(length=120), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("url", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("user_id", "event_key", name="uq_notifications_user_event"),
    )
    op.create_index(
        "ix_notifications_user_read", "notifications", ["user_id", "read_at"]
    )
    op.create_index(
        op.f("ix_notifications_created_at"), "notifications", ["created_at"]
    )
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_mail_outbox_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
    )
    op.create_index("ix_mail_outbox_due", "mail_outbox", ["status", "next_attempt_at"])
    op.create_index(op.f("ix_mail_outbox_user_id"), "mail_outbox", ["user_id"])
    # Plain ADD COLUMN (no batch copy): SQLite adds a nullable or defaulted
    # column in place, and copying ``users`` would trip the foreign keys that
    # point at it.
    op.add_column("users", sa.Column("email_confirmed_at", sa.DateTime(), nullable=True))
    op.add_column("users", sa.Column("email_kinds", sa.JSON(), nullable=True))
    op.add_column(
        "project_updates",
        sa.Column("final", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_mail_outbox_user_id"), table_name="mail_outbox")
    op.drop_index("ix_mail_outbox_due", table_name="mail_outbox")
    op.drop_table("mail_outbox")
    op.drop_index(op.f("ix_notifications_created_at"), table_name="notifications")
    op.drop_index("ix_notifications_user_read", table_name="notifications")
    op.drop_table("notifications")
    # Plain DROP COLUMN (SQLite has it since 3.35): a batch alter would copy
    # and drop ``users``, which SQLite refuses while any row refers to a user.
    op.drop_column("project_updates", "final")
    op.drop_column("users", "email_kinds")
    op.drop_column("users", "email_confirmed_at")
