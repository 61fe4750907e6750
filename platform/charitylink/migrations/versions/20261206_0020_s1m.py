"""Search at a million needs: per-word counts (search_cells), the packed
postings of needs changed since the pack (search_gone), need ids by amount
per word, and an index of public needs by amount.

After the upgrade searches answer as before; ``flask --app wsgi search pack``
fills the new columns and tables (docs/search.md, "A million needs").

Revision ID: 0020_s1m
Revises: 0019_region_public
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0020_s1m"
down_revision = "0019_region_public"
branch_labels = None
depends_on = None

PUBLIC = "status IN ('published', 'fully_claimed', 'delivered', 'confirmed')"


def _array(item: sa.types.TypeEngine) -> sa.types.TypeEngine:
    # Arrays on PostgreSQL; text on SQLite (unused there, like the tsvector).
    return sa.Text().with_variant(postgresql.ARRAY(item), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("search_packed") as batch_op:
        batch_op.add_column(sa.Column("by_amount", _array(sa.Integer()), nullable=True))
    op.create_table(
        "search_cells",
        sa.Column("word", sa.Text(), nullable=False),
        sa.Column("region", _array(sa.Integer()), nullable=False),
        sa.Column("category", _array(sa.SmallInteger()), nullable=False),
        sa.Column("need_type", _array(sa.SmallInteger()), nullable=False),
        sa.Column("status", _array(sa.SmallInteger()), nullable=False),
        sa.Column("n", _array(sa.Integer()), nullable=False),
        sa.PrimaryKeyConstraint("word", name=op.f("pk_search_cells")),
    )
    op.create_table(
        "search_gone",
        sa.Column("word", sa.Text(), nullable=False),
        sa.Column("object_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("region", sa.String(length=12), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("need_type", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("word", "object_id", name=op.f("pk_search_gone")),
    )
    with op.batch_alter_table("needs") as batch_op:
        batch_op.create_index(
            "ix_needs_public_amount",
            ["amount_fen", "id"],
            unique=False,
            postgresql_include=["public_region_code", "need_type", "category", "urgency"],
            sqlite_where=sa.text(PUBLIC),
            postgresql_where=sa.text(PUBLIC),
        )


def downgrade() -> None:
    with op.batch_alter_table("needs") as batch_op:
        batch_op.drop_index(
            "ix_needs_public_amount",
            sqlite_where=sa.text(PUBLIC),
            postgresql_where=sa.text(PUBLIC),
        )
    op.drop_table("search_gone")
    op.drop_table("search_cells")
    with op.batch_alter_table("search_packed") as batch_op:
        batch_op.drop_column("by_amount")
