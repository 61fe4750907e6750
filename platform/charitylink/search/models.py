from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from charitylink.core.timeutil import utcnow
from charitylink.extensions import db


class SearchOutbox(db.Model):
    """A searchable object changed: written in the same transaction as the change,
    deleted by the indexer only after the index committed (at-least-once)."""

    __tablename__ = "search_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    object_type: Mapped[str] = mapped_column(String(16))  # "need" | "project"
    object_id: Mapped[int] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def enqueue(object_type: str, object_id: int) -> None:
    """Mark an object for (re)indexing; call inside the changing transaction."""
    from charitylink.extensions import db as _db

    _db.session.add(SearchOutbox(object_type=object_type, object_id=object_id))
