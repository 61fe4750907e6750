from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from charitylink.core.timeutil import utcnow
from charitylink.extensions import Model


class MailStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting for its next try (``next_attempt_at``)
    SENT = "sent"
    FAILED = "failed"  # the last try failed: ``last_error`` says why


class OutboxMail(Model):
    """One e-mail to send, written in the transaction of the change it reports,
    so a rolled-back change sends nothing and a committed one loses nothing."""

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str | None] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[MailStatus] = mapped_column(String(12), default=MailStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
