"""The audit trail (rule 7): one append-only row per state change, in the same
transaction as the change. Rows are never updated or deleted (database triggers
refuse it, see the migration)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import has_request_context, request
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from charitylink.core.timeutil import utcnow
from charitylink.extensions import Model, db

if TYPE_CHECKING:
    from charitylink.accounts.models import User


class AuditEvent(Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor_label: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32), index=True)
    object_id: Mapped[str] = mapped_column(String(64), index=True)
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    # Region of the object (needs, orgs): moderators read the events of their region.
    region_code: Mapped[str | None] = mapped_column(String(12), index=True)
    org_id: Mapped[int | None] = mapped_column(index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


def _object_key(obj: Any) -> tuple[str, str]:
    object_type = getattr(obj, "__audit_type__", None) or obj.__tablename__.rstrip("s")
    object_id = getattr(obj, "code", None) or getattr(obj, "id", None)
    return object_type, str(object_id)


def _status(value: Any) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


def record(
    actor: User | None,
    action: str,
    obj: Any,
    from_status: Any = None,
    to_status: Any = None,
    reason: str | None = None,
    *,
    region_code: str | None = None,
    org_id: int | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction (flushed with the change).

    ``reason`` must never carry private household data: callers pass moderator
    reasons and fixed descriptions only.
    """
    if obj is not None and getattr(obj, "id", None) is None:
        db.session.flush()  # the object needs its id before we can name it
    object_type, object_id = _object_key(obj) if obj is not None else ("system", "-")
    if region_code is None:
        region_code = getattr(obj, "region_code", None)
    if org_id is None:
        org_id = getattr(obj, "org_id", None)
        if org_id is None and object_type == "organization":
            org_id = getattr(obj, "id", None)
    event = AuditEvent(
        actor_id=getattr(actor, "id", None),
        actor_label=getattr(actor, "email", None) or "system",
        action=action,
        object_type=object_type,
        object_id=object_id,
        from_status=_status(from_status),
        to_status=_status(to_status),
        reason=reason,
        region_code=region_code,
        org_id=org_id,
        ip=request.remote_addr if has_request_context() else None,
        created_at=utcnow(),
    )
    db.session.add(event)
    return event
