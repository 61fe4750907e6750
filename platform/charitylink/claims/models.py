from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from charitylink.core.i18n import N_, _
from charitylink.core.timeutil import utcnow
from charitylink.extensions import Model


class ClaimStatus(enum.StrEnum):
    RESERVED = "reserved"
    DELIVERED = "delivered"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    # A failed follow-up visit (回访): the household says the help did not
    # arrive in full. Resolved by a second moderator to confirmed or reversed.
    DISPUTED = "disputed"
    REVERSED = "reversed"


CLAIM_STATUS_LABELS = {
    ClaimStatus.RESERVED: N_("已认领待交付"),
    ClaimStatus.DELIVERED: N_("已交付待回访"),
    ClaimStatus.CONFIRMED: N_("已确认"),
    ClaimStatus.CANCELLED: N_("已取消"),
    ClaimStatus.EXPIRED: N_("已过期"),
    ClaimStatus.DISPUTED: N_("核实中"),
    ClaimStatus.REVERSED: N_("已撤销"),
}

ACTIVE_CLAIM_STATUSES = (
    ClaimStatus.RESERVED,
    ClaimStatus.DELIVERED,
    ClaimStatus.CONFIRMED,
    ClaimStatus.DISPUTED,
)


class DisputeOutcome(enum.StrEnum):
    CONFIRM = "confirm"
    PARTIAL = "partial"
    REVERSE = "reverse"


DISPUTE_OUTCOME_LABELS = {
    DisputeOutcome.CONFIRM: N_("确认交付"),
    DisputeOutcome.PARTIAL: N_("部分确认"),
    DisputeOutcome.REVERSE: N_("撤销交付"),
}


class ClaimKind(enum.StrEnum):
    """Cash reserves fund money; goods and services come from an offer
    (charitylink.offers) and count against the need by their value."""

    CASH = "cash"
    GOODS = "goods"
    SERVICE = "service"


CLAIM_KIND_LABELS = {
    ClaimKind.CASH: N_("资金"),
    ClaimKind.GOODS: N_("物资"),
    ClaimKind.SERVICE: N_("服务"),
}


class DeliveryMethod(enum.StrEnum):
    CASH = "cash"
    GOODS = "goods"
    SERVICE = "service"


DELIVERY_METHOD_LABELS = {
    DeliveryMethod.CASH: N_("资金转账"),
    DeliveryMethod.GOODS: N_("物资"),
    DeliveryMethod.SERVICE: N_("服务"),
}


class Claim(Model):
    """An org's claim (认领, the whole remaining amount) or pledge (认捐, part).

    ``amount_fen`` is what was reserved; once delivered, ``delivered_fen`` is what
    counts against the need and the rest went back to the fund."""

    __tablename__ = "claims"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint(
            "delivered_fen IS NULL OR (delivered_fen >= 0 AND delivered_fen <= amount_fen)",
            name="delivered_within_amount",
        ),
        # The reports read claims per need without touching the rows.
        Index(
            "ix_claims_report",
            "need_id",
            "status",
            "amount_fen",
            "delivered_fen",
            "org_id",
            "created_at",
            "delivered_on",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    # NULL for goods and service claims: they reserve no fund money.
    fund_id: Mapped[int | None] = mapped_column(ForeignKey("funds.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id"), index=True
    )
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[ClaimStatus] = mapped_column(
        String(16), default=ClaimStatus.RESERVED, index=True
    )
    due_on: Mapped[date] = mapped_column(index=True)
    delivered_fen: Mapped[int | None] = mapped_column(BigInteger)
    delivered_on: Mapped[date | None]
    method: Mapped[DeliveryMethod | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    evidence_path: Mapped[str | None] = mapped_column(String(128))
    evidence_name: Mapped[str | None] = mapped_column(String(128))
    evidence_mime: Mapped[str | None] = mapped_column(String(64))
    # SHA-256 of the stored evidence file: the same file on two claims is an
    # integrity signal (charitylink.integrity).
    evidence_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    delivered_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # The dispute (docs/disputes.md). On a partial confirmation
    # ``delivered_fen`` becomes the confirmed amount and ``reversed_fen`` holds
    # the rest, so every existing sum over delivered claims stays right.
    disputed_at: Mapped[datetime | None]
    disputed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    dispute_reason: Mapped[str | None] = mapped_column(Text)
    received_fen: Mapped[int | None] = mapped_column(BigInteger)
    dispute_due_on: Mapped[date | None] = mapped_column(index=True)
    response_note: Mapped[str | None] = mapped_column(Text)
    responded_at: Mapped[datetime | None]
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    response_evidence_path: Mapped[str | None] = mapped_column(String(128))
    response_evidence_name: Mapped[str | None] = mapped_column(String(128))
    response_evidence_mime: Mapped[str | None] = mapped_column(String(64))
    resolution: Mapped[DisputeOutcome | None] = mapped_column(String(16))
    resolution_reason: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reversed_fen: Mapped[int | None] = mapped_column(BigInteger)
    # Beyond cash (docs/offers.md): the kind, the offer matched, the units per
    # month; a schedule (结对关爱) has ``months`` instalments, of
    # ``monthly_amount_fen`` each for cash (amount = months × monthly amount).
    kind: Mapped[ClaimKind] = mapped_column(String(8), default=ClaimKind.CASH)
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offers.id"), index=True)
    quantity: Mapped[int | None]
    months: Mapped[int | None]
    monthly_amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    # Ending a pairing early releases what its remaining months held.
    ended_at: Mapped[datetime | None]
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    end_reason: Mapped[str | None] = mapped_column(Text)

    need = relationship("Need", lazy="joined")
    org = relationship("Organization", lazy="joined")
    fund = relationship("Fund", lazy="joined")
    offer = relationship("Offer", lazy="joined")

    @property
    def span_months(self) -> int | None:
        """The months a match or a pairing covers: a single-month match keeps
        ``months`` NULL (it is not a pairing) but spans one month."""
        if self.months is not None:
            return self.months
        return 1 if self.offer_id is not None else None

    @property
    def kind_label(self) -> str:
        return _(CLAIM_KIND_LABELS.get(ClaimKind(self.kind or "cash"), self.kind))

    @property
    def status_label(self) -> str:
        # In the request's language (the Chinese outside a request).
        return _(CLAIM_STATUS_LABELS.get(ClaimStatus(self.status), self.status))

    @property
    def effective_fen(self) -> int:
        """What this claim counts against its need (rule 1)."""
        if self.status == ClaimStatus.RESERVED:
            return self.amount_fen
        if self.status in (
            ClaimStatus.DELIVERED,
            ClaimStatus.CONFIRMED,
            ClaimStatus.DISPUTED,
        ):
            return self.delivered_fen or 0
        return 0

    @property
    def dispute(self) -> Claim | None:
        """The claim itself once disputed (the API nests the dispute's fields)."""
        return self if self.disputed_at is not None else None

    @property
    def reported_fen(self) -> int | None:
        """What the org reported as delivered, before any dispute lowered it."""
        if self.delivered_fen is None:
            return None
        if self.status == ClaimStatus.REVERSED:
            return self.delivered_fen
        return self.delivered_fen + (self.reversed_fen or 0)

    @property
    def resolution_label(self) -> str:
        if not self.resolution:
            return ""
        return _(DISPUTE_OUTCOME_LABELS.get(DisputeOutcome(self.resolution), ""))


class InstalmentStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    CONFIRMED = "confirmed"
    # Not delivered 10 days past its date: flagged, still deliverable late.
    MISSED = "missed"
    # Released when the pairing ended early or the claim was cancelled.
    CANCELLED = "cancelled"


INSTALMENT_STATUS_LABELS = {
    InstalmentStatus.PENDING: N_("待交付"),
    InstalmentStatus.DELIVERED: N_("已交付待回访"),
    InstalmentStatus.CONFIRMED: N_("已确认"),
    InstalmentStatus.MISSED: N_("逾期未交付"),
    InstalmentStatus.CANCELLED: N_("已取消"),
}


class ClaimInstalment(Model):
    """One month of a pairing (结对关爱): cash disbursed, or service units given."""

    __tablename__ = "claim_instalments"
    __audit_type__ = "instalment"
    __table_args__ = (
        Index("ux_claim_instalments_claim_n", "claim_id", "n", unique=True),
        Index("ix_claim_instalments_due", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    n: Mapped[int]
    due_on: Mapped[date]
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    quantity: Mapped[int | None]
    status: Mapped[InstalmentStatus] = mapped_column(
        String(12), default=InstalmentStatus.PENDING
    )
    delivered_fen: Mapped[int | None] = mapped_column(BigInteger)
    delivered_quantity: Mapped[int | None]
    delivered_on: Mapped[date | None]
    delivered_at: Mapped[datetime | None]
    delivered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    confirmed_at: Mapped[datetime | None]
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    missed_at: Mapped[datetime | None]

    @property
    def status_label(self) -> str:
        return _(
            INSTALMENT_STATUS_LABELS.get(InstalmentStatus(self.status), self.status)
        )


class ClaimSession(Model):
    """A session of a goods or service claim as delivered: the date, units,
    hours, volunteers and a note; 回访 confirms it."""

    __tablename__ = "claim_sessions"
    __audit_type__ = "session"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("minutes >= 0", name="minutes_not_negative"),
        CheckConstraint("volunteers >= 0", name="volunteers_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    instalment_id: Mapped[int | None] = mapped_column(
        ForeignKey("claim_instalments.id"), index=True
    )
    held_on: Mapped[date] = mapped_column(index=True)
    quantity: Mapped[int]
    # Hours are kept as whole minutes (the API speaks hours, to one decimal).
    minutes: Mapped[int] = mapped_column(default=0)
    volunteers: Mapped[int] = mapped_column(default=0)
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
