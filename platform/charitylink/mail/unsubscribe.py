"""One-click unsubscribe: a signed link per user and kind in every notification
mail (and in its ``List-Unsubscribe`` header), which stops that kind by e-mail.

The token carries only the user's id and the kind, signed with the app's
secret (itsdangerous): it cannot be forged or turned to another user or kind.
It does not expire, as a link in an old mail should still work; using it twice
changes nothing the second time."""

from __future__ import annotations

from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from charitylink.core import audit
from charitylink.core.i18n import _
from charitylink.errors import DomainError
from charitylink.extensions import db

SALT = "charitylink.mail.unsubscribe"


class BadUnsubscribeLink(DomainError):
    pass


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_token(user_id: int, kind: str) -> str:
    return str(_serializer().dumps([int(user_id), kind]))


def unsubscribe_url(user_id: int, kind: str) -> str:
    base = current_app.config.get("BASE_URL", "http://localhost:5000").rstrip("/")
    return f"{base}/unsubscribe/{make_token(user_id, kind)}"


def read_token(token: str) -> tuple[Any, str]:
    """(user, kind) named by a token; a forged, damaged or stale one (its user
    or kind no longer exists) is refused with a message a person understands."""
    from charitylink.accounts.models import User
    from charitylink.notifications.kinds import KINDS

    try:
        value = _serializer().loads(token)
        user_id, kind = int(value[0]), str(value[1])
    except (BadSignature, TypeError, ValueError, IndexError, KeyError):
        raise BadUnsubscribeLink(
            _("退订链接无效：链接不完整或已被改动。请使用邮件中的原始链接。")
        ) from None
    user = db.session.get(User, user_id)
    if user is None or kind not in KINDS:
        raise BadUnsubscribeLink(_("退订链接已失效：对应的账号或通知类型已不存在。"))
    return user, kind


def current_kinds(user: Any) -> list[str]:
    """The kinds the user receives by e-mail now (the defaults when unset)."""
    from charitylink.notifications.kinds import KINDS

    if user.email_kinds is not None:
        return [k for k in user.email_kinds if k in KINDS]
    return [k for k, spec in KINDS.items() if spec.email_default]


def unsubscribe(user: Any, kind: str) -> bool:
    """Stop ``kind`` by e-mail for ``user`` (in-app notifications stay).
    True when something changed (audited); False when it was already off."""
    kinds = current_kinds(user)
    if kind not in kinds:
        return False
    user.email_kinds = [k for k in kinds if k != kind]
    audit.record(user, "user.email_unsubscribe", user, reason=kind)
    db.session.flush()
    return True
