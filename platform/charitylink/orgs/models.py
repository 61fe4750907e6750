from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from charitylink.core.i18n import N_, _
from charitylink.core.timeutil import utcnow
from charitylink.extensions import Model


class OrgStatus(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class OrgType(enum.StrEnum):
    FOUNDATION = "foundation"
    SOCIAL_GROUP = "social_group"
    SOCIAL_SERVICE = "social_service"
    OTHER = "other"
    # 养老服务中心: publishes meals, home care and health-talk offers.
    CARE_CENTRE = "care_centre"


ORG_TYPE_LABELS = {
    OrgType.FOUNDATION: N_("基金会"),
    OrgType.SOCIAL_GROUP: N_("社会团体"),
    OrgType.SOCIAL_SERVICE: N_("社会服务机构"),
    OrgType.OTHER: N_("其他"),
    OrgType.CARE_CENTRE: N_("养老服务中心"),
}
ORG_STATUS_LABELS = {
    OrgStatus.PENDING: N_("待审核"),
    OrgStatus.VERIFIED: N_("已认证"),
    OrgStatus.REJECTED: N_("已驳回"),
    OrgStatus.SUSPENDED: N_("已暂停"),
}


class Organization(Model):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    org_type: Mapped[OrgType] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    contact_name: Mapped[str] = mapped_column(String(64), default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    website: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[OrgStatus] = mapped_column(
        String(16), default=OrgStatus.PENDING, index=True
    )
    status_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    verified_at: Mapped[datetime | None]

    __audit_type__ = "organization"

    @property
    def is_verified(self) -> bool:
        return self.status == OrgStatus.VERIFIED

    @property
    def type_label(self) -> str:
        # In the request's language (the Chinese outside a request).
        return _(ORG_TYPE_LABELS.get(OrgType(self.org_type), self.org_type))

    @property
    def status_label(self) -> str:
        # In the request's language (the Chinese outside a request).
        return _(ORG_STATUS_LABELS.get(OrgStatus(self.status), self.status))
