from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from charitylink.core.timeutil import utcnow
from charitylink.extensions import Model

# The events a hook may subscribe to (their names look like audit codes but
# are the webhooks' own vocabulary, published to receivers).
NEED_PUBLISHED = "need.published"
NEED_FULLY_CLAIMED = "need.fully_claimed"
NEED_WITHDRAWN = "need.withdrawn"
CLAIM_CREATED = "claim.created"
CLAIM_DELIVERED = "claim.delivered"
CLAIM_CONFIRMED = "claim.confirmed"
CLAIM_DISPUTED = "claim.disputed"
EVENTS = (
    NEED_PUBLISHED,
    NEED_FULLY_CLAIMED,
    NEED_WITHDRAWN,
    CLAIM_CREATED,
    CLAIM_DELIVERED,
    CLAIM_CONFIRMED,
    CLAIM_DISPUTED,
)


class HookStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"  # by its owner: events queue up, nothing is sent
    DISABLED = "disabled"  # by the worker after a day of failures; nothing queues


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    ABANDONED = "abandoned"


class Webhook(Model):
    """A partner system's endpoint. A moderator's hook covers the needs of its
    region prefix; an org admin's hook covers its org's claims and the needs
    the org claimed. The secret is stored encrypted (it must be read back to
    sign) and shown to the owner once."""

    __tablename__ = "webhooks"
    __audit_type__ = "webhook"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    region_prefix: Mapped[str | None] = mapped_column(String(12), index=True)
    org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id"), index=True
    )
    url: Mapped[str] = mapped_column(String(500))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret_ciphertext: Mapped[str] = mapped_column(Text)
    status: Mapped[HookStatus] = mapped_column(String(12), default=HookStatus.ACTIVE)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]


class WebhookDelivery(Model):
    """One event for one hook: the outbox row, written in the transaction of the
    change it reports. ``body`` is the exact JSON sent, so every retry (and a
    re-send after a worker died mid-send) carries the same bytes and event id."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # The worker's question: each hook's oldest pending delivery.
        Index("ix_webhook_deliveries_pending", "status", "webhook_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id"), index=True)
    event_id: Mapped[str] = mapped_column(String(40), index=True)
    event: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        String(12), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set by the first try; the hook gives up a day after it.
    first_attempt_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class WebhookAttempt(Model):
    """The delivery log: one row per POST tried (never the body)."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_hook", "webhook_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id"))
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"))
    attempt: Mapped[int]
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None]
    duration_ms: Mapped[int]
    error: Mapped[str | None] = mapped_column(String(500))
    ok: Mapped[bool] = mapped_column(default=False)
