"""Registering, listing and removing hooks; every change audited.

Who may register: a moderator (the hook covers the needs of the moderator's
region prefix) and an org admin (the hook covers the org's claims and the
needs it claimed). A hook is its owner's alone: anyone else asking for it is
told it does not exist (404)."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import Select, select, update

from charitylink.accounts.models import User
from charitylink.core import audit
from charitylink.core.i18n import _
from charitylink.core.permissions import Role
from charitylink.core.timeutil import utcnow
from charitylink.errors import InvalidTransition, NotAllowed, NotFound, ValidationFailed
from charitylink.extensions import db
from charitylink.webhooks.models import (
    EVENTS,
    DeliveryStatus,
    HookStatus,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
)
from charitylink.webhooks.urls import UrlRefused, check_url

MAX_HOOKS_PER_OWNER = 10
URL_MAX = 500


def may_register(user: User | None) -> bool:
    if user is None or not user.active:
        return False
    if user.role == Role.MODERATOR:
        return bool(user.region_prefix)
    return user.role == Role.ORG_ADMIN and user.org_id is not None


def _cipher() -> Any:
    from charitylink.needs.privacy import cipher

    return cipher()


def hook_secret(hook: Webhook) -> str:
    return str(_cipher().decrypt(hook.secret_ciphertext))


def clean(url: Any, events: Any) -> tuple[str, list[str]]:
    """The URL and the events, or a 422 naming each bad field."""
    problems: dict[str, str] = {}
    clean_url = ""
    if not isinstance(url, str) or not url.strip():
        problems["url"] = _("请填写接收地址。")
    elif len(url.strip()) > URL_MAX:
        problems["url"] = _("地址不能超过 %(n)s 个字符。", n=URL_MAX)
    else:
        try:
            clean_url = check_url(url)
        except UrlRefused as exc:
            problems["url"] = str(exc)
    chosen: list[str] = []
    if not isinstance(events, list) or not events:
        problems["events"] = _("请至少选择一种事件。")
    else:
        unknown = [e for e in events if e not in EVENTS]
        if unknown:
            problems["events"] = _(
                "未知的事件：%(e)s。", e=", ".join(map(str, unknown))
            )
        chosen = [e for e in EVENTS if e in events]
    if problems:
        raise ValidationFailed(_("提交的数据有误，请检查标出的字段。"), problems)
    return clean_url, chosen


def create(user: User, url: Any, events: Any) -> tuple[Webhook, str]:
    """A new hook and its secret (shown to the owner this once)."""
    if not may_register(user):
        raise NotAllowed(_("只有审核员和机构管理员可以登记 Webhook。"))
    clean_url, chosen = clean(url, events)
    if len(own(user)) >= MAX_HOOKS_PER_OWNER:
        raise ValidationFailed(
            _("每个账号最多登记 %(n)s 个 Webhook。", n=MAX_HOOKS_PER_OWNER)
        )
    secret = "whsec_" + secrets.token_urlsafe(32)
    hook = Webhook(
        owner_id=user.id,
        region_prefix=user.region_prefix if user.role == Role.MODERATOR else None,
        org_id=user.org_id if user.role == Role.ORG_ADMIN else None,
        url=clean_url,
        events=chosen,
        secret_ciphertext=_cipher().encrypt(secret),
        status=HookStatus.ACTIVE,
    )
    db.session.add(hook)
    db.session.flush()
    audit.record(user, "webhook.create", hook, None, HookStatus.ACTIVE)
    return hook, secret


def own(user: User) -> list[Webhook]:
    return list(
        db.session.scalars(
            select(Webhook)
            .where(Webhook.owner_id == user.id, Webhook.deleted_at.is_(None))
            .order_by(Webhook.id)
        )
    )


def get_own(user: User, hook_id: int) -> Webhook:
    hook = db.session.get(Webhook, hook_id)
    if hook is None or hook.owner_id != user.id or hook.deleted_at is not None:
        raise NotFound(_("Webhook 不存在。"))
    return hook


def delete(user: User, hook_id: int) -> Webhook:
    """Removed for good: nothing more is queued or sent (its log stays)."""
    hook = get_own(user, hook_id)
    old = hook.status
    hook.deleted_at = utcnow()
    hook.status = HookStatus.DISABLED
    db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.webhook_id == hook.id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        .values(status=DeliveryStatus.ABANDONED, finished_at=utcnow())
    )
    audit.record(user, "webhook.delete", hook, old, None)
    return hook


def pause(user: User, hook_id: int) -> Webhook:
    hook = get_own(user, hook_id)
    if hook.status != HookStatus.ACTIVE:
        raise InvalidTransition(_("只能暂停正在使用的 Webhook。"))
    hook.status = HookStatus.PAUSED
    audit.record(user, "webhook.pause", hook, HookStatus.ACTIVE, HookStatus.PAUSED)
    return hook


def resume(user: User, hook_id: int) -> Webhook:
    """Active again: what queued meanwhile goes out in order; a disabled hook
    starts its day of retries afresh."""
    hook = get_own(user, hook_id)
    if hook.status == HookStatus.ACTIVE:
        raise InvalidTransition(_("该 Webhook 已在使用中。"))
    old = hook.status
    hook.status = HookStatus.ACTIVE
    hook.consecutive_failures = 0
    hook.disabled_at = None
    hook.disabled_reason = None
    db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.webhook_id == hook.id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        .values(first_attempt_at=None, next_attempt_at=utcnow())
    )
    audit.record(user, "webhook.resume", hook, old, HookStatus.ACTIVE)
    return hook


def attempts_query(hook: Webhook) -> Select[WebhookAttempt, WebhookDelivery]:
    """The delivery log, newest first: each try with its delivery."""
    return (
        select(WebhookAttempt, WebhookDelivery)
        .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
        .where(WebhookAttempt.webhook_id == hook.id)
        .order_by(WebhookAttempt.id.desc())
    )


def pending_count(hook: Webhook) -> int:
    from sqlalchemy import func

    return int(
        db.session.scalar(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(
                WebhookDelivery.webhook_id == hook.id,
                WebhookDelivery.status == DeliveryStatus.PENDING,
            )
        )
        or 0
    )
