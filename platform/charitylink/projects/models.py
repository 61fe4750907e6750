from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text, and_, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from charitylink.core.i18n import N_, _
from charitylink.core.timeutil import CHINA, to_china, today, utcnow
from charitylink.extensions import Model


class ProjectStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PUBLISHED = "published"
    REJECTED = "rejected"
    CLOSED = "closed"


# Statuses the public sees (list, detail page, API).
PUBLIC_PROJECT_STATUSES = ("published", "closed")

# The Charity Law asks for a progress report at least every 3 months: the
# next one is due 90 China calendar days after the last (or after publication),
# and the project is overdue from that day on. The org is reminded on day 80;
# on day 120 the moderators of its region are told too (notifications/reminders.py).
PROGRESS_INTERVAL = timedelta(days=90)
REMIND_AFTER = timedelta(days=80)
ESCALATE_AFTER = timedelta(days=120)

PROJECT_STATUS_LABELS = {
    ProjectStatus.DRAFT: N_("草稿"),
    ProjectStatus.SUBMITTED: N_("待审核"),
    ProjectStatus.PUBLISHED: N_("进行中"),
    ProjectStatus.REJECTED: N_("已驳回"),
    ProjectStatus.CLOSED: N_("已结束"),
}


class Project(Model):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    filing_number: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    need_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    region_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    target_fen: Mapped[int] = mapped_column(BigInteger)
    start_on: Mapped[date | None]
    end_on: Mapped[date | None]
    status: Mapped[ProjectStatus] = mapped_column(
        String(16), default=ProjectStatus.DRAFT, index=True
    )
    status_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    closed_at: Mapped[datetime | None]
    last_progress_at: Mapped[datetime | None]

    org = relationship("Organization", lazy="joined")
    fund = relationship("Fund", lazy="joined")

    @property
    def status_label(self) -> str:
        # In the request's language (the Chinese outside a request).
        return _(PROJECT_STATUS_LABELS.get(ProjectStatus(self.status), self.status))

    @property
    def is_public(self) -> bool:
        return self.status in PUBLIC_PROJECT_STATUSES

    @property
    def last_disclosed_on(self) -> date | None:
        """The China calendar day of the last progress update (of publication
        if there is none yet): the day the cadence counts from."""
        last = self.last_progress_at or self.published_at
        return None if last is None else to_china(last).date()

    @property
    def update_due_on(self) -> date | None:
        """The day the next progress update is due (published projects only):
        the one rule of the cadence; ``overdue_clause`` is its SQL form."""
        if self.status != ProjectStatus.PUBLISHED:
            return None
        last = self.last_disclosed_on
        return None if last is None else last + PROGRESS_INTERVAL

    def progress_overdue(self, day: date | None = None) -> bool:
        due = self.update_due_on
        return due is not None and (day or today()) >= due

    @classmethod
    def disclosed_before(cls, day: date) -> Any:
        """SQL: the last update (or publication) fell on a China day before ``day``."""
        start = datetime.combine(day, time(0), tzinfo=CHINA).astimezone(UTC)
        # Timestamps are stored without a zone, in UTC (as orgs/queries.py).
        return func.coalesce(cls.last_progress_at, cls.published_at) < start.replace(
            tzinfo=None
        )

    @classmethod
    def overdue_clause(cls, day: date | None = None) -> Any:
        """SQL form of ``progress_overdue``: published, and the last update's
        day + 90 is ``day`` or earlier (last day <= day - 90)."""
        cutoff = (day or today()) - PROGRESS_INTERVAL + timedelta(days=1)
        return and_(cls.status == ProjectStatus.PUBLISHED, cls.disclosed_before(cutoff))


class ProjectUpdate(Model):
    """A dated progress update (the Charity Law asks for one every 3 months)."""

    __tablename__ = "project_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The closing report: the last update, with the project's final figures.
    final: Mapped[bool] = mapped_column(default=False)
