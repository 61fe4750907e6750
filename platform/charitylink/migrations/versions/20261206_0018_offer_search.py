"""Offer search: offers become a document kind of the search index. No new
table: this queues every open offer in the search outbox, so an existing
Whoosh index picks them up at the next drain (the worker, or the drain after a
request in development). On PostgreSQL run ``flask --app wsgi search rebuild``
(or ``search worker --once``) once after the upgrade (docs/offers.md).

Revision ID: 0018_offer_search
Revises: 0017_search_storage
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_offer_search"
down_revision = "0017_search_storage"
branch_labels = None
depends_on = None


def queue_offers(conn: sa.engine.Connection) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO search_outbox (object_type, object_id, created_at) "
            "SELECT 'offer', id, CURRENT_TIMESTAMP FROM offers WHERE status = 'open'"
        )
    )


def upgrade() -> None:
    queue_offers(op.get_bind())


def downgrade() -> None:
    op.execute("DELETE FROM search_outbox WHERE object_type = 'offer'")
