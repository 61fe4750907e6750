"""Queueing events for the hooks that want them, in the change's transaction.

``emit`` is called by ``notifications.events`` (and anything else that records
a state change) after the guarded move and its audit row: the delivery rows
are part of the same transaction, so a rolled-back change sends nothing and a
committed one loses nothing, whatever happens to the app or the receiver.

The payload is the public half only: codes, public region, type, amounts,
statuses, org names. Never a household's name, ID number, phone, address or
notes, nor the monitoring platform's ``external_id`` (moderators read it
through the sync API)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select

from charitylink.core.timeutil import iso_utc, utcnow
from charitylink.extensions import db
from charitylink.webhooks.models import EVENTS, HookStatus, Webhook, WebhookDelivery

if TYPE_CHECKING:
    from charitylink.claims.models import Claim
    from charitylink.needs.models import Need


def dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)


def _subscribers(region_code: str, org_ids: set[int]) -> list[Webhook]:
    prefixes = [region_code[:n] for n in range(1, len(region_code) + 1)]
    scope = [Webhook.region_prefix.in_(prefixes)] if prefixes else []
    if org_ids:
        scope.append(Webhook.org_id.in_(sorted(org_ids)))
    if not scope:
        return []
    return list(
        db.session.scalars(
            select(Webhook)
            .where(
                or_(*scope),
                Webhook.status.in_((HookStatus.ACTIVE, HookStatus.PAUSED)),
                Webhook.deleted_at.is_(None),
            )
            .order_by(Webhook.id)
        )
    )


def emit(
    event: str,
    *,
    region_code: str,
    org_id: int | None,
    data: dict[str, Any],
    also_org_ids: Iterable[int] = (),
) -> str | None:
    """Queue ``event`` for every hook that covers it: moderators' hooks whose
    region prefix covers ``region_code`` (the need's true county), org hooks of
    ``org_id`` and of ``also_org_ids``. ``data`` is the public half only.
    Returns the event id (the receivers' dedupe key), or None if no hook wants
    it."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    org_ids = {i for i in [org_id, *also_org_ids] if i is not None}
    hooks = [h for h in _subscribers(region_code, org_ids) if event in h.events]
    if not hooks:
        return None
    event_id = f"evt_{uuid.uuid4().hex}"
    body = dumps(
        {
            "id": event_id,
            "event": event,
            "occurred_at": iso_utc(utcnow()),
            "data": data,
        }
    )
    for hook in hooks:
        db.session.add(
            WebhookDelivery(
                webhook_id=hook.id, event_id=event_id, event=event, body=body
            )
        )
    db.session.flush()
    return event_id


def need_data(need: Need) -> dict[str, Any]:
    return {
        "need": {
            "code": need.code,
            "region_code": need.public_region_code,
            "need_type": str(need.need_type),
            "category": str(need.category),
            "amount": need.amount_fen,
            "claimed_amount": need.claimed_fen,
            "delivered_amount": need.delivered_fen,
            "status": str(need.status),
        }
    }


def claim_data(claim: Claim) -> dict[str, Any]:
    return {
        "claim": {
            "id": claim.id,
            "status": str(claim.status),
            "org_id": claim.org_id,
            "org_name": claim.org.name,
            "amount": claim.amount_fen,
            "delivered_amount": claim.delivered_fen,
            "due_on": claim.due_on.isoformat() if claim.due_on else None,
        },
        **need_data(claim.need),
    }


def need_event(event: str, need: Need) -> None:
    """A need's event: its region's moderators' hooks, and the hooks of every
    org that claimed it."""
    from charitylink.claims.models import Claim

    org_ids = db.session.scalars(
        select(Claim.org_id).where(Claim.need_id == need.id).distinct()
    ).all()
    emit(
        event,
        region_code=need.region_code,
        org_id=None,
        data=need_data(need),
        also_org_ids=org_ids,
    )


def claim_event(event: str, claim: Claim) -> None:
    emit(
        event,
        region_code=claim.need.region_code,
        org_id=claim.org_id,
        data=claim_data(claim),
    )
