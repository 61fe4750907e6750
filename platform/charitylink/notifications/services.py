"""Creating notifications: one row per recipient and event, in the caller's
transaction, with one INSERT statement whatever the number of recipients."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from charitylink.accounts.models import User
from charitylink.core.permissions import Role
from charitylink.core.timeutil import utcnow
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
