"""Consent records: what a household agreed to share, how, when and until when.

They replace the bare ``needs.consent_share_contact`` flag. A consent is active
while ``withdrawn_at`` is NULL; the contact release checks for an active
``share_contact`` consent at the moment of each release."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from charitylink.core.i18n import N_
from charitylink.core.timeutil import utcnow
from charitylink.extensions import Model


class ConsentScope(enum.StrEnum):
    SHARE_CONTACT = "share_contact"
    PUBLISH_STORY = "publish_story"
    PHOTOS = "photos"


CONSENT_SCOPE_LABELS = {
    ConsentScope.SHARE_CONTACT: N_("向认领机构提供联系方式"),
    ConsentScope.PUBLISH_STORY: N_("公开讲述家庭故事"),
    ConsentScope.PHOTOS: N_("使用照片"),
}


class ConsentMethod(enum.StrEnum):
    WRITTEN = "written"
    ORAL_WITNESSED = "oral_witnessed"
    # A guardian's consent: required where it concerns a child under 14.
    GUARDIAN = "guardian"


CONSENT_METHOD_LABELS = {
    ConsentMethod.WRITTEN: N_("书面同意"),
    ConsentMethod.ORAL_WITNESSED: N_("口头同意（有见证）"),
    ConsentMethod.GUARDIAN: N_("监护人同意"),
}


class Consent(Model):
    __tablename__ = "consents"
    __audit_type__ = "consent"
    __table_args__ = (Index("ix_consents_need_scope", "need_id", "scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"))
    scope: Mapped[ConsentScope] = mapped_column(String(16))
    method: Mapped[ConsentMethod] = mapped_column(String(16))
    given_on: Mapped[date]
    # Private like the household: encrypted with the private half's key.
    guardian_name_ciphertext: Mapped[str | None] = mapped_column(Text)
    # The scanned signed form, stored encrypted in the upload folder.
    form_path: Mapped[str | None] = mapped_column(String(128))
    form_name: Mapped[str | None] = mapped_column(String(128))
    form_mime: Mapped[str | None] = mapped_column(String(64))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


class PrivateExport(Model):
    """A moderator's export with private data, waiting to be downloaded once.

    Only the SHA-256 of the download token is kept: the link itself is shown
    once, to the exporter. The file lives encrypted in the upload folder until
    it is downloaded or expires; ``used_at`` is set by the one download."""

    __tablename__ = "private_exports"
    __audit_type__ = "private_export"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    fmt: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text)
    stored_name: Mapped[str | None] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(128))
    rows: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]


class PrivateViewFlag(Model):
    """An account that viewed more private halves in an hour than
    ``PRIVATE_VIEW_ALERT``: one row per account and clock hour (UTC)."""

    __tablename__ = "private_view_flags"
    __table_args__ = (Index("ux_private_view_flags", "user_id", "hour", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    hour: Mapped[datetime]
    views: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
