"""Complaints (举报): what anyone may report about a need, project, org, fund,
claim or the platform itself, and how moderators handle it.

The complainant's contact is private-half data: it is stored only encrypted
(``contact_ciphertext``, the need's cipher). The tracking code is never stored:
only its SHA-256 (``tracking_hash``), so a copy of the database does not let
anyone read another complainant's status page."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from charitylink.core.i18n import N_
from charitylink.core.timeutil import as_utc, utcnow
from charitylink.extensions import Model


class SubjectType(enum.StrEnum):
    NEED = "need"
    PROJECT = "project"
    ORG = "org"
    FUND = "fund"
    CLAIM = "claim"
    PLATFORM = "platform"


class ComplaintCategory(enum.StrEnum):
    MISUSE = "misuse"
    FALSE_INFO = "false_info"
    PRIVACY = "privacy"
    CONDUCT = "conduct"
    OTHER = "other"


class ComplaintStatus(enum.StrEnum):
    RECEIVED = "received"
    IN_REVIEW = "in_review"
    RESOLVED = "resolved"


class ComplaintOutcome(enum.StrEnum):
    UNFOUNDED = "unfounded"
    FOUNDED = "founded"


# What ``contact_ciphertext`` holds once the purge erased it: not a cipher
# token, so nothing tries to decrypt it, and the page can say why it is gone.
CONTACT_PURGED = "purged"

COMPLAINT_SUBJECT_LABELS = {
    SubjectType.NEED: N_("求助需求"),
    SubjectType.PROJECT: N_("帮扶项目"),
    SubjectType.ORG: N_("慈善组织"),
    SubjectType.FUND: N_("基金"),
    SubjectType.CLAIM: N_("认领"),
    SubjectType.PLATFORM: N_("平台本身"),
}
COMPLAINT_CATEGORY_LABELS = {
    ComplaintCategory.MISUSE: N_("善款被挪用或滥用"),
    ComplaintCategory.FALSE_INFO: N_("信息虚假"),
    ComplaintCategory.PRIVACY: N_("泄露个人隐私"),
    ComplaintCategory.CONDUCT: N_("工作人员行为不当"),
    ComplaintCategory.OTHER: N_("其他"),
}
COMPLAINT_STATUS_LABELS = {
    ComplaintStatus.RECEIVED: N_("已收到"),
    ComplaintStatus.IN_REVIEW: N_("核查中"),
    ComplaintStatus.RESOLVED: N_("已办结"),
}
COMPLAINT_OUTCOME_LABELS = {
    ComplaintOutcome.UNFOUNDED: N_("经核查不属实"),
    ComplaintOutcome.FOUNDED: N_("经核查属实"),
}


class Complaint(Model):
    __tablename__ = "complaints"
    __audit_type__ = "complaint"
    __table_args__ = (
        CheckConstraint(
            "status IN ('received', 'in_review', 'resolved')", name="status"
        ),
        CheckConstraint(
            "(status = 'resolved') = (outcome IS NOT NULL)",
            name="outcome_when_resolved",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 hex of the tracking code given to the complainant (never stored).
    tracking_hash: Mapped[str] = mapped_column(String(64), unique=True)
    subject_type: Mapped[SubjectType] = mapped_column(String(16), index=True)
    # The need's code, or the id of the project, org, fund or claim; "" for platform.
    subject_ref: Mapped[str] = mapped_column(String(40), default="")
    # The org the complaint is about (org, its fund, project or claim): founded
    # ones are counted on its public page. Not named org_id on purpose: the
    # audit trail would file the complaint under the org, whose staff read it.
    subject_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id"), index=True
    )
    # Routing: the subject's region (None: a platform complaint, admins only).
    region_code: Mapped[str | None] = mapped_column(String(12), index=True)
    category: Mapped[ComplaintCategory] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    # The kinds of personal data the privacy guard found in ``text`` (comma
    # separated; "" when clean): the text is shown to moderators only, flagged.
    text_findings: Mapped[str] = mapped_column(String(200), default="")
    # CONTACT_PURGED once `privacy purge` erased it (retention after resolution).
    contact_ciphertext: Mapped[str | None] = mapped_column(Text)
    # A complainant who was signed in is told of the outcome in the inbox.
    complainant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[ComplaintStatus] = mapped_column(
        String(16), default=ComplaintStatus.RECEIVED, index=True
    )
    outcome: Mapped[ComplaintOutcome | None] = mapped_column(String(16))
    moderator_note: Mapped[str | None] = mapped_column(Text)
    published_text: Mapped[str | None] = mapped_column(Text)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    accept_due_at: Mapped[datetime]
    resolve_due_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None] = mapped_column(index=True)

    @property
    def ref(self) -> str:
        """The reference moderators and notifications use (never the code)."""
        return f"JB-{self.id:06d}"

    def accept_overdue(self, now: datetime) -> bool:
        return self.status == ComplaintStatus.RECEIVED and now > as_utc(
            self.accept_due_at
        )

    def resolve_overdue(self, now: datetime) -> bool:
        return self.status != ComplaintStatus.RESOLVED and now > as_utc(
            self.resolve_due_at
        )
