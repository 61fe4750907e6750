"""Search storage: packed postings (one row per word, arrays), the stale set and
the label codes.

After the upgrade, existing postings keep answering from ``search_postings``;
``flask --app wsgi search pack`` (or ``search rebuild``) moves them into the
packed table and frees the space (docs/search.md, "Storage").

Revision ID: 0017_search_storage
Revises: 0016_summary
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0017_search_storage"
down_revision = "0016_summary"
branch_labels = None
depends_on = None


def _array(item: sa.types.TypeEngine) -> sa.types.TypeEngine:
    # Arrays on PostgreSQL; text on SQLite (unused there, like the tsvector).
    return sa.Text().with_variant(postgresql.ARRAY(item), "postgresql")


def upgrade() -> None:
    op.create_table(
        "search_packed",
        sa.Column("word", sa.Text(), nullable=False),
        sa.Column("ids", _array(sa.Integer()), nullable=False),
        sa.Column("fields", _array(sa.SmallInteger()), nullable=False),
        sa.Column("region", _array(sa.BigInteger()), nullable=False),
        sa.Column("category", _array(sa.SmallInteger()), nullable=False),
        sa.Column("need_type", _array(sa.SmallInteger()), nullable=False),
        sa.Column("status", _array(sa.SmallInteger()), nullable=False),
        sa.Column("urgency", _array(sa.SmallInteger()), nullable=False),
        sa.Column("amount", _array(sa.BigInteger()), nullable=False),
        sa.Column("published", _array(sa.BigInteger()), nullable=False),
        sa.Column("deadline", _array(sa.Integer()), nullable=False),
        sa.PrimaryKeyConstraint("word", name=op.f("pk_search_packed")),
    )
    op.create_table(
        "search_stale",
        sa.Column("object_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("object_id", name=op.f("pk_search_stale")),
    )
    op.create_table(
        "search_vocab",
        sa.Column("code", sa.SmallInteger(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_search_vocab")),
        sa.UniqueConstraint("value", name=op.f("uq_search_vocab_value")),
    )


def downgrade() -> None:
    # Packed postings are lost: run ``search rebuild`` after a downgrade.
    op.drop_table("search_vocab")
    op.drop_table("search_stale")
    op.drop_table("search_packed")
