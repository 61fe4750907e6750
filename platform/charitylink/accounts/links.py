"""Signed links sent by e-mail: password reset (``/reset/<token>``, one hour,
single use) and address confirmation (``/confirm/<token>``, seven days).

A link is a payload signed with the app's SECRET_KEY (itsdangerous) under a
salt of its own purpose, so a confirmation link can never be used as a reset
link. Nothing is stored: a reset link carries a digest of the account's
password hash, and a password set through it (or any other way) changes that
hash, so the link stops matching. Flush, never commit.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import current_app, has_request_context, render_template, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from charitylink.accounts.models import User
from charitylink.core.i18n import _
from charitylink.extensions import db
from charitylink.mail import outbox, render

RESET_SALT = "charitylink.accounts.password-reset"
CONFIRM_SALT = "charitylink.accounts.email-confirm"
RESET_MAX_AGE = 3600  # one hour
CONFIRM_MAX_AGE = 7 * 24 * 3600  # a week: a registration may sit in a mailbox


class LinkInvalid(Exception):
    """A link that cannot be used: ``expired`` tells the two cases apart."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired

    @property
    def message(self) -> str:
        if self.expired:
            return _("这个链接已过期。")
        return _("这个链接无效或已经用过。")


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _password_digest(user: User) -> str:
    # The hash itself never leaves the server: only a keyed digest of it is
    # in the link, enough to notice that the password changed since.
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, user.password_hash.encode(), hashlib.sha256).hexdigest()[:32]


def _load(token: object, salt: str, max_age: int) -> dict[str, Any]:
    if not isinstance(token, str) or not token or len(token) > 400:
        raise LinkInvalid()
    try:
        data = _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise LinkInvalid(expired=True) from exc
    except BadSignature as exc:
        raise LinkInvalid() from exc
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise LinkInvalid()
    return data


# ---------------------------------------------------------------- password reset


def reset_token(user: User) -> str:
    return str(
        _serializer(RESET_SALT).dumps({"u": user.id, "p": _password_digest(user)})
    )


def user_for_reset(token: object) -> User:
    """The account a reset link is for; LinkInvalid when it is forged, expired,
    already used (the password changed since) or the account is switched off."""
    data = _load(token, RESET_SALT, RESET_MAX_AGE)
    user = db.session.get(User, data["u"])
    if user is None or not user.active:
        raise LinkInvalid()
    if not hmac.compare_digest(str(data.get("p", "")), _password_digest(user)):
        raise LinkInvalid()
    return user


# ---------------------------------------------------------------- confirmation


def confirm_token(user: User) -> str:
    return str(_serializer(CONFIRM_SALT).dumps({"u": user.id, "e": user.email}))


def user_for_confirm(token: object) -> User:
    """The account a confirmation link is for; the address must still be the
    one the link was sent to."""
    data = _load(token, CONFIRM_SALT, CONFIRM_MAX_AGE)
    user = db.session.get(User, data["u"])
    if user is None or user.email != data.get("e"):
        raise LinkInvalid()
    return user


# ---------------------------------------------------------------- the mails


def absolute_url(endpoint: str, **values: Any) -> str:
    """An address to put in a mail: BASE_URL (the site's public address) and
    the path. Never the request's Host header: anyone can send one, and a
    reset link pointing at their host would hand them the token."""
    if has_request_context():
        path = url_for(endpoint, **values)
    else:
        # No request (a command): a throwaway one only to build the path.
        with current_app.test_request_context("/"):
            path = url_for(endpoint, **values)
    return render.absolute_url(path)


def render_mail(name: str, user: User, **context: Any) -> tuple[str, str, str]:
    """(subject, text, html) from templates/mail/accounts/<name>.{subject.txt,
    txt,html}, in the recipient's language (whatever the page's)."""
    with render.in_language(render.recipient_language(user)):
        text, html = render.render_bodies(f"mail/accounts/{name}", user=user, **context)
        subject = render_template(
            f"mail/accounts/{name}.subject.txt", user=user, **context
        )
    return subject.strip(), text, html


def reset_mail(user: User, by_admin: bool = False) -> tuple[str, str, str]:
    url = absolute_url("accounts.reset", token=reset_token(user))
    return render_mail(
        "reset",
        user=user,
        url=url,
        by_admin=by_admin,
        forgot_url=absolute_url("accounts.forgot"),
    )


def send_reset(user: User, by_admin: bool = False) -> None:
    subject, text, html = reset_mail(user, by_admin)
    outbox.enqueue(user.email, subject, text, html, user_id=user.id)


def send_confirmation(user: User) -> None:
    url = absolute_url("accounts.confirm", token=confirm_token(user))
    subject, text, html = render_mail(
        "confirm", user=user, url=url, days=CONFIRM_MAX_AGE // 86400
    )
    outbox.enqueue(user.email, subject, text, html, user_id=user.id)
