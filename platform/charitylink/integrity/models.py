from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from charitylink.core.timeutil import utcnow
from charitylink.extensions import Model


class SignalDismissal(Model):
    """A moderator judged a signal harmless. It stays hidden while its
    evidence is what the moderator saw (``evidence`` lists the items,
    ``fingerprint`` is their hash); a new item brings it back."""

    __tablename__ = "integrity_dismissals"
    __table_args__ = (Index("ix_integrity_dismissals_signal", "kind", "subject"),)
    __audit_type__ = "integrity_signal"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(120))
    fingerprint: Mapped[str] = mapped_column(String(64))
    evidence: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(Text)
    region_code: Mapped[str | None] = mapped_column(String(12))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    dismissed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def code(self) -> str:
        """The signal's id: what the audit row names."""
        return f"{self.kind}.{self.subject}"[:64]
