"""The purge log and the requests from the person (docs/privacy.md).

Neither table ever holds erased data: the log names a need by its public code
and lists the kinds of data erased; a request names its household by the
household key (the keyed hash of the ID number, never the number itself)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from charitylink.core.i18n import N_, _
from charitylink.core.timeutil import today, utcnow
from charitylink.extensions import Model


class PurgeLog(Model):
    """One erasure of one need's private half (or of its household key).

    Kept in the database for the operators and written to the purge log file
    too (``PURGE_LOG_FILE``), which outlives a restore from an older backup:
    ``privacy purge --replay-log`` re-applies it."""

    __tablename__ = "privacy_purge_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    need_code: Mapped[str] = mapped_column(String(24), index=True)
    purged_at: Mapped[datetime] = mapped_column(default=utcnow)
    # "retention" (the nightly purge), "request" (a person's deletion request)
    # or "replay" (re-applied after a restore).
    cause: Mapped[str] = mapped_column(String(16))
    # Which kinds of data went: household, external_id, evidence, consent_forms,
    # guardian_names, household_key. Never the data.
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("privacy_requests.id"))


class RequestKind(enum.StrEnum):
    ACCESS = "access"
    COPY = "copy"
    CORRECT = "correct"
    ERASE = "erase"


REQUEST_KIND_LABELS = {
    RequestKind.ACCESS: N_("查阅"),
    RequestKind.COPY: N_("复制"),
    RequestKind.CORRECT: N_("更正"),
    RequestKind.ERASE: N_("删除"),
}


class RequestOutcome(enum.StrEnum):
    DONE = "done"
    PARTLY = "partly"
    REFUSED = "refused"
    NOTHING_HELD = "nothing_held"


REQUEST_OUTCOME_LABELS = {
    RequestOutcome.DONE: N_("已办理"),
    RequestOutcome.PARTLY: N_("部分办理"),
    RequestOutcome.REFUSED: N_("不予办理（依法说明理由）"),
    RequestOutcome.NOTHING_HELD: N_("未持有该家庭的信息"),
}


class PrivacyRequest(Model):
    """A household's request about its own data (查阅、复制、更正、删除)."""

    __tablename__ = "privacy_requests"
    __audit_type__ = "privacy_request"
    __table_args__ = (Index("ix_privacy_requests_open", "closed_at", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[RequestKind] = mapped_column(String(8))
    # HMAC of the ID number (needs.privacy.household_key); replaced by the
    # household's placeholder when its key is purged.
    household_key: Mapped[str] = mapped_column(String(64), index=True)
    # The county of the household's newest need (scoping); the moderator's own
    # prefix when nothing is held.
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    received_on: Mapped[date] = mapped_column(default=today)
    due_on: Mapped[date]
    # What the person asked, in the moderator's words (scanned: no personal data).
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    exported_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[RequestOutcome | None] = mapped_column(String(16))
    outcome_note: Mapped[str | None] = mapped_column(Text)

    @property
    def kind_label(self) -> str:
        return _(REQUEST_KIND_LABELS.get(RequestKind(self.kind), self.kind))

    @property
    def outcome_label(self) -> str:
        if not self.outcome:
            return ""
        return _(REQUEST_OUTCOME_LABELS.get(RequestOutcome(self.outcome), self.outcome))

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def overdue(self) -> bool:
        return self.closed_at is None and self.due_on < today()
