from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from charitylink.core.timeutil import utcnow
from charitylink.extensions import Model


class Notification(Model):
    """One event told to one user.

    ``event_key`` names the event (``claim:12:due7``); with the user it is
    unique, so a job that runs again, or two nodes that run it at once, cannot
    tell anyone twice. The text is not stored: ``kind`` and ``params`` (public
    values only: codes, names of orgs and projects, region names, dates) are
    rendered in the reader's language when shown or mailed."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "event_key", name="uq_notifications_user_event"),
        Index("ix_notifications_user_read", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(40))
    event_key: Mapped[str] = mapped_column(String(120))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    url: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[datetime | None]
