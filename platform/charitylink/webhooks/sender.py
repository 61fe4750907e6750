"""Delivering the webhook outbox: ``flask --app wsgi webhooks send`` (one pass)
and ``webhooks worker`` (a loop) call :func:`send_due`.

Order: a hook's deliveries go out one at a time, oldest first. Only the
oldest pending delivery of each hook (its *head*) is ever claimed, so the next
event waits until the previous one succeeded or was abandoned.

Claiming: a pass takes the due heads in one short transaction that counts the
attempt and moves ``next_attempt_at`` past a lease, then commits, then POSTs.
A second worker finds them not due (on PostgreSQL it also skips rows still
locked by the claim, ``FOR UPDATE SKIP LOCKED``; SQLite lets one writer through
at a time). A worker killed between the POST and recording it loses nothing:
the lease runs out and the same body, with the same event id, is sent again.
Receivers dedupe on ``id``.

Failures: any answer but 2xx, a timeout or a refused connection. The next try
waits 1, 2, 4 … minutes (at most an hour); a delivery still failing a day
after its first try is abandoned and its hook disabled, and the hook's owner is
told (notification ``webhook_disabled``)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import requests
from flask import current_app
from sqlalchemy import func, select, update

from charitylink.core import audit
from charitylink.extensions import db
from charitylink.webhooks.models import (
    DeliveryStatus,
    HookStatus,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
)
from charitylink.webhooks.urls import UrlRefused, check_url

log = logging.getLogger(__name__)

BATCH = 20
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
ERROR_MAX = 500
SIGNATURE_HEADER = "X-CharityLink-Signature"


@dataclass
class SendResult:
    sent: int = 0
    retrying: int = 0
    abandoned: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.retrying + self.abandoned


def _naive(moment: datetime | None) -> datetime:
    # The columns hold UTC without a zone.
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _config(name: str, default: float) -> float:
    return float(current_app.config.get(name, default))


def lease() -> timedelta:
    # Longer than one POST can take (connect + read timeouts), so a delivery
    # being sent is never sent by a second worker at the same time.
    return timedelta(seconds=_config("WEBHOOK_LEASE_SECONDS", 120))


def give_up_after() -> timedelta:
    return timedelta(hours=_config("WEBHOOK_GIVE_UP_HOURS", 24))


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed try: 1, 2, 4 … minutes, ≤ 1 h."""
    wait = BACKOFF_FIRST * (2 ** max(0, min(attempts - 1, 20)))
    return min(wait, BACKOFF_MAX)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: ``t=<unix>,v1=<hex HMAC-SHA256 of "t.body">``."""
    mac = hmac.new(
        secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256
    )
    return f"t={timestamp},v1={mac.hexdigest()}"


def claim_due(now: datetime | None = None, limit: int = BATCH) -> list[int]:
    """Take the due heads (one per active hook) and commit the claim."""
    at = _naive(now)
    heads = (
        select(func.min(WebhookDelivery.id))
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING,
            Webhook.status == HookStatus.ACTIVE,
            Webhook.deleted_at.is_(None),
        )
        .group_by(WebhookDelivery.webhook_id)
    )
    due = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.id.in_(heads), WebhookDelivery.next_attempt_at <= at)
        .order_by(WebhookDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(due))
        # Again here: still pending and due when the UPDATE reaches the row.
        .where(WebhookDelivery.status == DeliveryStatus.PENDING)
        .where(WebhookDelivery.next_attempt_at <= at)
        .values(
            attempts=WebhookDelivery.attempts + 1,
            next_attempt_at=at + lease(),
            first_attempt_at=func.coalesce(WebhookDelivery.first_attempt_at, at),
        )
        .returning(WebhookDelivery.id)
        .execution_options(synchronize_session=False)
    )
    ids = sorted(row[0] for row in claimed)
    db.session.commit()
    return ids


@dataclass
class Outcome:
    status_code: int | None
    duration_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(hook: Webhook, delivery: WebhookDelivery) -> Outcome:
    """POST the delivery's body, signed; never follows a redirect."""
    from charitylink.webhooks.services import hook_secret

    started = time.monotonic()
    body = delivery.body.encode()
    # The wall clock, whatever ``now`` a test passes: receivers compare it
    # with theirs (the replay window).
    timestamp = int(time.time())
    try:
        check_url(hook.url)
        timeout = _config("WEBHOOK_TIMEOUT", 10)
        answer = requests.post(
            hook.url,
            data=body,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "CharityLink-Webhooks/1",
                SIGNATURE_HEADER: sign(hook_secret(hook), timestamp, body),
                "X-CharityLink-Event": delivery.event,
                "X-CharityLink-Event-Id": delivery.event_id,
            },
            timeout=(timeout, timeout),
            allow_redirects=False,
        )
        answer.close()
        error = None if answer.ok and answer.status_code < 300 else answer.reason
        outcome = Outcome(answer.status_code, 0, error)
    except UrlRefused as exc:
        outcome = Outcome(None, 0, f"UrlRefused: {exc}")
    except requests.RequestException as exc:
        outcome = Outcome(None, 0, f"{type(exc).__name__}: {exc}")
    outcome.duration_ms = int((time.monotonic() - started) * 1000)
    if outcome.error:
        outcome.error = outcome.error[:ERROR_MAX]
    return outcome


def record(delivery_id: int, outcome: Outcome, now: datetime) -> str:
    """Record one try in its own transaction; sent, retrying or abandoned."""
    at = _naive(now)
    # Read again under a lock: the owner may have deleted the hook meanwhile.
    delivery = db.session.get(
        WebhookDelivery, delivery_id, with_for_update=True, populate_existing=True
    )
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        db.session.rollback()
        return "gone"
    hook = db.session.get(Webhook, delivery.webhook_id)
    assert hook is not None
    db.session.add(
        WebhookAttempt(
            webhook_id=hook.id,
            delivery_id=delivery.id,
            attempt=delivery.attempts,
            at=at,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            error=outcome.error,
            ok=outcome.ok,
        )
    )
    if outcome.ok:
        delivery.status = DeliveryStatus.SENT
        delivery.finished_at = at
        hook.consecutive_failures = 0
        result = "sent"
    else:
        hook.consecutive_failures += 1
        first = delivery.first_attempt_at or at
        if at - first >= give_up_after():
            delivery.status = DeliveryStatus.ABANDONED
            delivery.finished_at = at
            _disable(hook, at)
            result = "abandoned"
        else:
            delivery.next_attempt_at = at + backoff(delivery.attempts)
            result = "retrying"
    db.session.commit()
    return result


def _disable(hook: Webhook, at: datetime) -> None:
    from charitylink.accounts.models import User
    from charitylink.notifications.services import notify

    if hook.status == HookStatus.DISABLED:
        return
    hook.status = HookStatus.DISABLED
    hook.disabled_at = at
    hook.disabled_reason = "failing for a day"
    audit.record(None, "webhook.disable", hook, HookStatus.ACTIVE, HookStatus.DISABLED)
    owner = db.session.get(User, hook.owner_id)
    notify(
        "webhook_disabled",
        [owner] if owner is not None and owner.active else [],
        event=f"webhook:{hook.id}:{int(at.replace(tzinfo=UTC).timestamp())}",
        params={"hook": hook.id, "host": urlsplit(hook.url).hostname or ""},
        url=f"/account/webhooks/{hook.id}",
    )


def send_due(now: datetime | None = None, max_rounds: int = 50) -> SendResult:
    """Send what is due, one head per hook per round, until nothing is due
    (or ``max_rounds``: a cron pass ends even while events keep coming)."""
    result = SendResult()
    for _round in range(max_rounds):
        at = _naive(now)
        ids = claim_due(at)
        if not ids:
            break
        for delivery_id in ids:
            delivery = db.session.get(WebhookDelivery, delivery_id)
            if delivery is None:
                continue
            hook = db.session.get(Webhook, delivery.webhook_id)
            assert hook is not None
            outcome = post(hook, delivery)
            done = record(delivery_id, outcome, at if now is not None else _naive(None))
            if done == "sent":
                result.sent += 1
            elif done == "retrying":
                result.retrying += 1
            elif done == "abandoned":
                result.abandoned += 1
    return result
