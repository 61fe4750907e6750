"""Who saw what: every sight of a household's private data, read back from the
audit rows, and the alert for an account that looks at too many households.

The paths that show private data and the audit rows they write:

| path | action | object |
|---|---|---|
| the moderator's page (reveal, edit, the signed form) | ``need.private_view`` | the need |
| the API (``GET /needs/{code}/private``) | ``need.private_view``, reason :data:`API_REASON` | the need |
| an export with private data | ``need.private_export`` (one per need) | the need |
| the contact released to an org | ``claim.contact_view`` | the claim |

Nothing here reads the private half itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, String, and_, cast, func, or_, select
from sqlalchemy.exc import IntegrityError

from charitylink.accounts.models import User
from charitylink.claims.models import Claim
from charitylink.core import audit
from charitylink.core.i18n import N_
from charitylink.core.permissions import in_scope, require_moderator
from charitylink.core.timeutil import utcnow
from charitylink.extensions import db
from charitylink.needs.models import Need
from charitylink.privacy.models import PrivateViewFlag

PAGE_REASON = "经页面查看"
API_REASON = "经 API 查看"
FORM_REASON = "查看同意书扫描件"
NEED_ACTIONS = ("need.private_view", "need.private_export")
CONTACT_ACTION = "claim.contact_view"

PATH_LABELS = {
    "page": N_("页面"),
    "api": N_("API"),
    "export": N_("导出"),
    "contact": N_("向机构提供联系方式"),
}


def path_of(event: audit.AuditEvent) -> str:
    if event.action == CONTACT_ACTION:
        return "contact"
    if event.action == "need.private_export":
        return "export"
    return "api" if event.reason == API_REASON else "page"


def household_sightings(need: Need, moderator: User) -> Select[Any]:
    """Every audited sight of the private data of ``need``'s household (all its
    needs the moderator covers), newest first, with the viewer's account: a
    query for ``db.paginate``."""
    require_moderator(moderator, need.region_code)
    needs = select(Need.code).where(
        Need.household_key == need.household_key,
        in_scope(moderator, Need.region_code),
    )
    claims = select(cast(Claim.id, String)).where(
        Claim.need_id.in_(
            select(Need.id).where(
                Need.household_key == need.household_key,
                in_scope(moderator, Need.region_code),
            )
        )
    )
    return (
        select(audit.AuditEvent)
        .where(
            or_(
                and_(
                    audit.AuditEvent.object_type == "need",
                    audit.AuditEvent.action.in_(NEED_ACTIONS),
                    audit.AuditEvent.object_id.in_(needs),
                ),
                and_(
                    audit.AuditEvent.object_type == "claim",
                    audit.AuditEvent.action == CONTACT_ACTION,
                    audit.AuditEvent.object_id.in_(claims),
                ),
            )
        )
        .order_by(audit.AuditEvent.created_at.desc(), audit.AuditEvent.id.desc())
    )


def accounts_of(events: list[audit.AuditEvent]) -> dict[int, User]:
    ids = {e.actor_id for e in events if e.actor_id is not None}
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


def claim_needs(events: list[audit.AuditEvent]) -> dict[str, str]:
    """Claim id → need code, for the contact rows."""
    ids = [int(e.object_id) for e in events if e.object_type == "claim"]
    if not ids:
        return {}
    return {
        str(cid): code
        for cid, code in db.session.execute(
            select(Claim.id, Need.code)
            .join(Need, Need.id == Claim.need_id)
            .where(Claim.id.in_(ids))
        )
    }


# --------------------------------------------------------------------------
# The alert
# --------------------------------------------------------------------------


def _clock_hour(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0)


def private_views_in_hour(user: User, now: datetime | None = None) -> int:
    """Distinct private halves (needs, and claims for contacts) ``user`` saw
    in the hour up to ``now``."""
    now = now or utcnow()
    return (
        db.session.scalar(
            select(func.count(func.distinct(audit.AuditEvent.object_id))).where(
                audit.AuditEvent.actor_id == user.id,
                audit.AuditEvent.action.in_((*NEED_ACTIONS, CONTACT_ACTION)),
                audit.AuditEvent.created_at > now - timedelta(hours=1),
            )
        )
        or 0
    )


def note_private_view(user: User) -> PrivateViewFlag | None:
    """Called after each audited sight of private data: over
    ``PRIVATE_VIEW_ALERT`` distinct households in an hour flags the account
    to the admins, once per account and clock hour. Returns the new flag."""
    limit = int(current_app.config.get("PRIVATE_VIEW_ALERT", 50))
    now = utcnow()
    views = private_views_in_hour(user, now)
    if views <= limit:
        return None
    hour = _clock_hour(now)
    if db.session.scalar(
        select(PrivateViewFlag.id).where(
            PrivateViewFlag.user_id == user.id, PrivateViewFlag.hour == hour
        )
    ):
        return None
    flag = PrivateViewFlag(user_id=user.id, hour=hour, views=views, created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(flag)
            db.session.flush()
    except IntegrityError:  # the same account's other request flagged it
        return None
    audit.record(
        None,
        "privacy.view_alert",
        user,
        reason=f"一小时内查看 {views} 户隐私信息（提示线 {limit}）",
    )
    from charitylink.notifications import events

    events.private_views_flagged(user, views, hour.strftime("%Y%m%d%H"))
    db.session.flush()
    return flag


def flags() -> Select[Any]:
    """Flagged accounts, newest first (the admins' list)."""
    return select(PrivateViewFlag).order_by(
        PrivateViewFlag.created_at.desc(), PrivateViewFlag.id.desc()
    )
