"""Accounts: users, login, API tokens. Flush, never commit."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.engine import CursorResult

from charitylink.accounts.models import ApiToken, Role, User
from charitylink.accounts.passwords import (
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from charitylink.core import audit
from charitylink.core.i18n import _
from charitylink.core.timeutil import as_utc, utcnow
from charitylink.errors import Conflict, NotAllowed, ValidationFailed
from charitylink.extensions import db

# A mailbox, then a domain of letters, digits and hyphens with a TLD of letters
# (the API document states the same pattern).
EMAIL_PATTERN = r"^[^@\s]{1,64}@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}$"
EMAIL_RE = re.compile(EMAIL_PATTERN)
# Verified once at import so a login for an unknown account costs the same time as
# a wrong password (no user enumeration by timing).
_DUMMY_HASH = hash_password("timing-equaliser-not-a-password")


def normalize_email(email: str | None) -> str:
    return (email or "").strip().lower()


def validate_email(email: str | None) -> str:
    email = normalize_email(email)
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise ValidationFailed(_("邮箱格式不正确。"), {"email": _("邮箱格式不正确。")})
    return email


def validate_new_password(
    password: str | None,
    field: str = "password",
    user_inputs: Iterable[str | None] = (),
) -> str:
    """The password policy (``passwords.password_problem``); ``user_inputs`` are
    the account's own e-mail, name and org name, which make a password weak."""
    if not isinstance(password, str):
        raise ValidationFailed(_("请填写密码。"), {field: _("请填写密码。")})
    problem = password_problem(password, user_inputs)
    if problem:
        raise ValidationFailed(problem, {field: problem})
    return password


def _own_words(email: str, name: str | None, org_id: int | None) -> list[str | None]:
    """What an account's password must not be built from: its e-mail, its
    name and its org's name."""
    org_name = None
    if org_id is not None:
        from charitylink.orgs.models import Organization

        org_name = db.session.scalar(
            select(Organization.name).where(Organization.id == org_id)
        )
    return [email, name, org_name]


def get_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def create_user(
    email: str | None,
    password: str | None,
    role: Role | str,
    *,
    name: str | None = "",
    org_id: int | None = None,
    region_prefix: str | None = None,
    actor: User | None = None,
) -> User:
    """Create an account; refuses a taken e-mail, a weak password, a bad scope."""
    email = validate_email(email)
    password = validate_new_password(
        password, user_inputs=_own_words(email, name, org_id)
    )
    role = Role(role)
    if get_by_email(email) is not None:
        raise Conflict(_("该邮箱已注册。"), {"email": _("该邮箱已注册。")})
    if role in (Role.ORG_ADMIN, Role.ORG_MEMBER) and org_id is None:
        raise ValidationFailed(_("机构用户必须属于一个机构。"))
    if role == Role.MODERATOR:
        # One rule for every way a moderator is made (admin page, CLI, seed).
        region_prefix = validate_region_prefix(region_prefix)
    user = User(
        email=email,
        name=(name or "").strip()[:64],
        password_hash=hash_password(password),
        role=role,
        org_id=org_id if role in (Role.ORG_ADMIN, Role.ORG_MEMBER) else None,
        region_prefix=region_prefix if role == Role.MODERATOR else None,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user.create", user, None, role, org_id=user.org_id)
    return user


def authenticate(email: object, password: object) -> User | None:
    """The user if the credentials match an active account, else None.

    Same work and same answer for an unknown account and a wrong password."""
    user = get_by_email(email) if isinstance(email, str) else None
    if user is None or not isinstance(password, str):
        verify_password(_DUMMY_HASH, "x" if not isinstance(password, str) else password)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def load_session_user(session_id: str) -> User | None:
    """Flask-Login's loader: ``"<id>:<session_version>"``; an old version is refused."""
    try:
        user_id, version = (int(part) for part in session_id.split(":", 1))
    except (ValueError, AttributeError):
        return None
    user = db.session.get(User, user_id)
    if user is None or user.session_version != version or not user.active:
        return None
    return user


def end_all_sessions(user: User) -> None:
    """Invalidate every session cookie and API token of the user."""
    user.session_version += 1
    db.session.flush()


def change_password(user: User, current: str | None, new: str | None) -> None:
    if not verify_password(user.password_hash, current or ""):
        raise ValidationFailed(
            _("当前密码不正确。"), {"current_password": _("当前密码不正确。")}
        )
    new = validate_new_password(
        new, "new_password", _own_words(user.email, user.name, user.org_id)
    )
    user.password_hash = hash_password(new)
    end_all_sessions(user)
    audit.record(user, "user.password_change", user)


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(user: User, name: str | None = "") -> tuple[str, ApiToken]:
    """A new bearer token; the raw value is returned once and never stored."""
    raw = "cl_" + secrets.token_urlsafe(32)
    ttl = timedelta(hours=current_app.config["TOKEN_TTL_HOURS"])
    token = ApiToken(
        user_id=user.id,
        token_hash=_token_hash(raw),
        name=(name or "")[:64],
        session_version=user.session_version,
        expires_at=utcnow() + ttl,
    )
    db.session.add(token)
    db.session.flush()
    audit.record(user, "token.issue", token)
    return raw, token


def user_for_token(raw: str) -> User | None:
    if not raw or len(raw) > 200:
        return None
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _token_hash(raw))
    )
    if token is None or token.revoked_at is not None:
        return None
    if as_utc(token.expires_at) <= utcnow():
        return None
    user = token.user
    if not user.active or user.session_version != token.session_version:
        return None
    return user


def revoke_token(user: User, token: ApiToken) -> None:
    if token.user_id != user.id:
        raise NotAllowed(_("只能撤销自己的令牌。"))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(user, "token.revoke", token)
        db.session.flush()


def list_tokens(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.id.desc())
        )
    )


def count_users() -> int:
    return db.session.scalar(select(func.count()).select_from(User)) or 0


def validate_region_prefix(prefix: object) -> str:
    """A moderator's scope: 2, 4 or 6 digits that begin at least one known region."""
    from charitylink.regions import services as regions

    text = prefix.strip() if isinstance(prefix, str) else ""
    if not text:
        message = _("审核员必须指定负责的行政区划代码前缀，例如 22 或 2201。")
        raise ValidationFailed(message, {"region_prefix": message})
    if not text.isdigit() or len(text) not in (2, 4, 6):
        message = _("区划代码前缀应为 2、4 或 6 位数字，例如 22 或 2201。")
        raise ValidationFailed(message, {"region_prefix": message})
    if not any(code.startswith(text) for code, _name in regions.choices()):
        message = _("没有以 %(p)s 开头的行政区划。", p=text)
        raise ValidationFailed(message, {"region_prefix": message})
    return text


def check_moderator(
    *,
    email: str | None,
    password: str | None,
    name: str | None,
    region_prefix: object,
) -> None:
    """:func:`create_moderator`'s field checks in one round: every bad field
    (e-mail, taken e-mail, name, password policy, region prefix) named in one
    ValidationFailed (a Conflict when the taken e-mail is the only problem).
    Writes nothing."""
    fields: dict[str, str] = {}
    clean_email = normalize_email(email)
    for check in (
        lambda: validate_email(email),
        lambda: validate_new_password(password, user_inputs=[clean_email, name]),
        lambda: validate_region_prefix(region_prefix),
    ):
        try:
            check()
        except ValidationFailed as exc:
            for key, message in exc.fields.items():
                fields.setdefault(key, message)
    if not (name or "").strip():
        fields["name"] = _("请填写姓名。")
    elif len(name or "") > 64:
        fields["name"] = _("姓名不能超过 64 个字。")
    taken = "email" not in fields and get_by_email(clean_email) is not None
    if fields:
        if taken:
            fields["email"] = _("该邮箱已注册。")
        raise ValidationFailed(_("账号信息有误，请检查标出的项目。"), fields)
    if taken:
        raise Conflict(_("该邮箱已注册。"), {"email": _("该邮箱已注册。")})


def create_moderator(
    actor: User,
    *,
    email: str | None,
    password: str | None,
    name: str | None,
    region_prefix: object,
) -> User:
    """Admin only: a civil-affairs moderator scoped to a region code prefix."""
    if actor.role != Role.ADMIN:
        raise NotAllowed(_("只有平台管理员可以创建审核员。"))
    check_moderator(
        email=email, password=password, name=name, region_prefix=region_prefix
    )
    prefix = validate_region_prefix(region_prefix)
    return create_user(
        email, password, Role.MODERATOR, name=name, region_prefix=prefix, actor=actor
    )


def set_active(user: User, active: bool, *rules: ColumnElement[bool]) -> bool:
    """Switch the account on or off only if it is not so already (and ``rules``
    hold): a guarded UPDATE, so two admins acting at once do it, and audit it,
    once. The object is refreshed. True if the row changed."""
    result = cast(
        CursorResult[Any],
        db.session.execute(
            update(User)
            .where(User.id == user.id, User.active == (not active), *rules)
            .values(active=active)
            .execution_options(synchronize_session=False)
        ),
    )
    moved = result.rowcount
    db.session.refresh(user)
    return moved == 1


def deactivate_user(user: User, actor: User) -> None:
    """Admin only: the account can no longer log in; its sessions and tokens end."""
    if actor.role != Role.ADMIN:
        raise NotAllowed(_("只有平台管理员可以停用账号。"))
    if user.id == actor.id:
        raise NotAllowed(_("不能停用自己的账号。"))
    if not user.active or not set_active(user, False):
        raise Conflict(_("该账号已经停用。"))
    end_all_sessions(user)
    audit.record(actor, "user.deactivate", user, "active", "inactive")


def reactivate_user(user: User, actor: User) -> None:
    if actor.role != Role.ADMIN:
        raise NotAllowed(_("只有平台管理员可以启用账号。"))
    if user.active or not set_active(user, True):
        raise Conflict(_("该账号已是启用状态。"))
    audit.record(actor, "user.reactivate", user, "inactive", "active")
    db.session.flush()


# ---------------------------------------------------------------- reset and confirm


def request_password_reset(email: object) -> None:
    """Someone asked for a reset link for ``email``: a mail goes to an active
    account of that address, nothing happens otherwise. The caller answers the
    same either way; the mail is rendered either way too (the same work), only
    the outbox row is left out."""
    from charitylink.accounts import links

    user = get_by_email(email) if isinstance(email, str) else None
    if user is None or not user.active:
        stand_in = User(
            id=0, email="nobody@example.invalid", name="", password_hash=_DUMMY_HASH
        )
        links.reset_mail(stand_in)
        return
    links.send_reset(user)


def check_reset_password(user: User, new: str | None) -> None:
    """:func:`reset_password`'s check of the new password alone."""
    validate_new_password(
        new, "new_password", _own_words(user.email, user.name, user.org_id)
    )


def reset_password(user: User, new: str | None) -> None:
    """Set the password from a reset link (the caller has checked the link):
    every session and API token of the account ends, and the link with them
    (it was bound to the old password hash). The UPDATE is guarded by that
    hash, so two submits of one link set the password once."""
    check_reset_password(user, new)
    assert new is not None
    old_hash = user.password_hash
    result = cast(
        CursorResult[Any],
        db.session.execute(
            update(User)
            .where(User.id == user.id, User.password_hash == old_hash)
            .values(
                password_hash=hash_password(new),
                session_version=User.session_version + 1,
            )
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        raise Conflict(_("这个链接无效或已经用过。"))
    db.session.refresh(user)
    audit.record(user, "user.password_reset", user)
    db.session.flush()


def send_reset_link(user: User, actor: User) -> None:
    """Admin only: mail the account a reset link (the admin never sees it)."""
    from charitylink.accounts import links

    if actor.role != Role.ADMIN:
        raise NotAllowed(_("只有平台管理员可以发送重设密码链接。"))
    if not user.active:
        raise Conflict(_("该账号已停用，请先启用再发送重设密码链接。"))
    links.send_reset(user, by_admin=True)
    audit.record(actor, "user.reset_link_sent", user, org_id=user.org_id)
    db.session.flush()


def send_confirmation(user: User) -> None:
    """Mail the account a link confirming its address (unless it is already)."""
    from charitylink.accounts import links

    if user.email_confirmed_at is None:
        links.send_confirmation(user)


def confirm_email(user: User) -> bool:
    """Mark the address confirmed; False if it already was (nothing written)."""
    result = cast(
        CursorResult[Any],
        db.session.execute(
            update(User)
            .where(User.id == user.id, User.email_confirmed_at.is_(None))
            .values(email_confirmed_at=utcnow())
            .execution_options(synchronize_session=False)
        ),
    )
    db.session.refresh(user)
    if result.rowcount != 1:
        return False
    audit.record(user, "user.email_confirm", user, org_id=user.org_id)
    db.session.flush()
    return True
