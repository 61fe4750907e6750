"""Offers (供给): what an org can give besides cash, and their monthly capacity.

A match of an offer to a need is a claim of kind ``goods`` or ``service``
(charitylink.claims.models); the units it takes each month are counted in
``offer_months`` so the monthly capacity can be guarded by one conditional
UPDATE, the same discipline as a fund's balance."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from charitylink.core.i18n import N_, _
from charitylink.core.timeutil import utcnow
from charitylink.extensions import Model


class OfferKind(enum.StrEnum):
    GOODS = "goods"
    SERVICE = "service"
    VOLUNTEER = "volunteer"


OFFER_KIND_LABELS = {
    OfferKind.GOODS: N_("物资"),
    OfferKind.SERVICE: N_("服务"),
    OfferKind.VOLUNTEER: N_("志愿服务"),
}


class OfferStatus(enum.StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


OFFER_STATUS_LABELS = {
    OfferStatus.OPEN: N_("开放中"),
    OfferStatus.PAUSED: N_("已暂停"),
    OfferStatus.CLOSED: N_("已关闭"),
}

# The units an offer is counted in.
OFFER_UNITS = ("次", "小时", "件", "份")


class Offer(Model):
    __tablename__ = "offers"
    __audit_type__ = "offer"
    __table_args__ = (
        CheckConstraint("capacity_per_month > 0", name="capacity_positive"),
        CheckConstraint("unit_value_fen >= 0", name="unit_value_not_negative"),
        # The matching query: open offers of a region prefix, by kind.
        Index("ix_offers_match", "status", "region_prefix", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    kind: Mapped[OfferKind] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    # NeedType values the offer can serve.
    need_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The area served: a region code prefix (a province, city or county code).
    region_prefix: Mapped[str] = mapped_column(String(12))
    unit: Mapped[str] = mapped_column(String(8))
    capacity_per_month: Mapped[int]
    # An honest valuation of one unit, in fen: a match counts
    # quantity × months × unit value against the need.
    unit_value_fen: Mapped[int] = mapped_column(BigInteger)
    start_on: Mapped[date]
    end_on: Mapped[date | None]
    status: Mapped[OfferStatus] = mapped_column(
        String(12), default=OfferStatus.OPEN, index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None]

    org = relationship("Organization", lazy="joined")

    @property
    def kind_label(self) -> str:
        return _(OFFER_KIND_LABELS.get(OfferKind(self.kind), self.kind))

    @property
    def status_label(self) -> str:
        return _(OFFER_STATUS_LABELS.get(OfferStatus(self.status), self.status))


class OfferMonth(Model):
    """Units of an offer taken by matches in one calendar month (``month`` is
    its first day). A match adds to ``used`` only where the result stays
    within the offer's capacity; a cancelled or ended match gives units back."""

    __tablename__ = "offer_months"
    __table_args__ = (CheckConstraint("used >= 0", name="used_not_negative"),)

    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"), primary_key=True)
    month: Mapped[date] = mapped_column(primary_key=True)
    used: Mapped[int] = mapped_column(default=0)
