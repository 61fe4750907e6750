"""Several words at a million needs: each packed word's postings as bytes
(``search_packed.postings``: need id × 8 + fields, ascending, big-endian
int32) and the public columns of the same needs (``search_packed.attrs``:
the public region code as int32, category, need type, status, urgency as
one byte each), so a
search of several words reads a few hundred KB per word and intersects,
ranks and counts them in the application (docs/search.md, "Several words").

Filled here from the packed arrays (PostgreSQL, a pack present); a pack
written by older code afterwards leaves them empty and several words use
the GIN path until the next ``search pack``.

Revision ID: 0022_twoword
Revises: 0021_dash
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_twoword"
down_revision = "0021_dash"
branch_labels = None
depends_on = None

# The same statement as pg_backend._BYTES_SQL (a migration keeps its own copy).
FILL = """
    UPDATE search_packed AS p SET
        postings = (SELECT string_agg(int4send(u.i * 8 + u.f), ''::bytea ORDER BY u.i)
                    FROM unnest(p.ids, p.fields) AS u(i, f)),
        attrs = (SELECT string_agg(
                        int4send(coalesce(left(u.r::text, 6), '0')::integer)
                        || set_byte(set_byte(set_byte(set_byte(
                               '\\x00000000'::bytea, 0, u.c), 1, u.t), 2, u.s), 3, u.g),
                        ''::bytea ORDER BY u.i)
                 FROM unnest(p.ids, p.region, p.category, p.need_type, p.status,
                             p.urgency) AS u(i, r, c, t, s, g))
"""


def upgrade() -> None:
    with op.batch_alter_table("search_packed") as batch_op:
        batch_op.add_column(sa.Column("postings", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("attrs", sa.LargeBinary(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        # Read whole on every search of the word: stored uncompressed (sorted
        # ids barely compress, and reading needs no decompression).
        op.execute(
            "ALTER TABLE search_packed ALTER COLUMN postings SET STORAGE EXTERNAL,"
            " ALTER COLUMN attrs SET STORAGE EXTERNAL"
        )
        op.execute(FILL)


def downgrade() -> None:
    with op.batch_alter_table("search_packed") as batch_op:
        batch_op.drop_column("attrs")
        batch_op.drop_column("postings")
