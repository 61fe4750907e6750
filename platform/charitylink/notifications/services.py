"""Creating notifications: one row per recipient and event, in the caller's
transaction, with one INSERT statement whatever the number of recipients."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from charitylink.accounts.models import User
from charitylink.core.i18n import _
from charitylink.core.permissions import Role
from charitylink.core.timeutil import utcnow
from charitylink.errors import NotFound, ValidationFailed
from charitylink.extensions import db
from charitylink.notifications.kinds import KINDS
from charitylink.notifications.models import Notification


def region_moderators(
    region_code: str | None, *, exclude: int | None = None
) -> list[User]:
    """Active moderators whose region covers ``region_code`` (their prefix is a
    prefix of the code), one query."""
    if not region_code:
        return []
    prefixes = [region_code[:n] for n in range(1, len(region_code) + 1)]
    query = select(User).where(
        User.role == Role.MODERATOR,
        User.active.is_(True),
        User.region_prefix.in_(prefixes),
    )
    if exclude is not None:
        query = query.where(User.id != exclude)
    return list(db.session.scalars(query))


def org_users(org_id: int | None, *, admins_only: bool = False) -> list[User]:
    """Active staff of an org (or only its admins)."""
    if org_id is None:
        return []
    roles = [Role.ORG_ADMIN] if admins_only else [Role.ORG_ADMIN, Role.ORG_MEMBER]
    return list(
        db.session.scalars(
            select(User).where(
                User.org_id == org_id, User.role.in_(roles), User.active.is_(True)
            )
        )
    )


def _json_safe(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in params.items()}


def notify(
    kind: str,
    recipients: Iterable[User],
    *,
    event: str,
    params: dict[str, Any] | None = None,
    url: str = "",
) -> list[int]:
    """Tell each recipient of ``kind`` about ``event`` (e.g. ``claim:12``).

    A recipient already told of this kind and event is skipped (a unique key,
    so a job run twice or on two nodes at once tells nobody twice). Returns the
    ids of the users newly told; those who asked for this kind by e-mail also
    get a mail in the outbox, in the same transaction. ``params`` must hold
    public values only: it is shown to the recipient and mailed."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    users = {u.id: u for u in recipients if u is not None and u.active}
    if not users:
        return []
    now = utcnow()
    values = _json_safe(params or {})
    rows = [
        {
            "user_id": uid,
            "kind": kind,
            "event_key": f"{kind}:{event}"[:120],
            "params": values,
            "url": url,
            "created_at": now,
        }
        for uid in users
    ]
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(Notification)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["user_id", "event_key"])
        .returning(Notification.user_id)
    )
    told = [row[0] for row in db.session.execute(statement)]
    from charitylink.mail.outbox import queue_notifications

    queue_notifications([users[uid] for uid in told], kind, values, url)
    return told


# --------------------------------------------------------------------------
# Reading one's own notifications (pages and API share these)
# --------------------------------------------------------------------------


def unread_count(user: User) -> int:
    return (
        db.session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == user.id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def own(user: User, *, unread_only: bool = False) -> Select[Any]:
    """The user's notifications, newest first."""
    query = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return query.order_by(Notification.created_at.desc(), Notification.id.desc())


def get_own(user: User, notification_id: Any) -> Notification:
    """One of the user's notifications; another's (or none) is NotFound, the
    same answer, so ids tell nobody whose they are."""
    row = None
    if isinstance(notification_id, int) and not isinstance(notification_id, bool):
        row = db.session.get(Notification, notification_id)
    if row is None or row.user_id != user.id:
        raise NotFound(_("通知不存在。"))
    return row


def mark_read(user: User, notification_id: Any) -> Notification:
    row = get_own(user, notification_id)
    if row.read_at is None:
        row.read_at = utcnow()
        db.session.flush()
    return row


def mark_all_read(user: User) -> int:
    """Marks every unread notification of the user read; returns how many."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.expire_all()
    return int(getattr(result, "rowcount", 0) or 0)


def email_kinds(user: User) -> list[str]:
    """The kinds this user gets by e-mail (their choice, or each kind's default)."""
    return [kind for kind in KINDS if user.wants_email(kind)]


def set_email_kinds(user: User, kinds: Any) -> list[str]:
    """Which kinds also go by e-mail (in-app always). Unknown kinds are refused
    with their names; the change is audited."""
    if not isinstance(kinds, list | tuple) or not all(
        isinstance(k, str) for k in kinds
    ):
        message = _("请给出通知类型的列表。")
        raise ValidationFailed(message, {"email": message})
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        message = _("未知的通知类型：%(kinds)s。", kinds="、".join(unknown[:10]))
        raise ValidationFailed(message, {"email": message})
    chosen = [kind for kind in KINDS if kind in set(kinds)]
    before = email_kinds(user)
    user.email_kinds = chosen
    if chosen != before:
        from charitylink.core import audit

        added = [k for k in chosen if k not in before]
        removed = [k for k in before if k not in chosen]
        reason = ";".join(
            part
            for part in (
                "+" + ",".join(added) if added else "",
                "-" + ",".join(removed) if removed else "",
            )
            if part
        )
        audit.record(user, "user.notification_settings", user, reason=reason[:500])
    db.session.flush()
    return chosen
