"""The moderators' needs list (/mod/needs, the review queue): needs of their
regions, paged, filtered and sorted through core/paging.py.

"Waiting for me" is what this moderator may approve: submitted needs they
neither entered nor edited last (four eyes). The deadline filters find the
published needs whose deadline is near or already past (the nightly expiry
has not run yet), the ones a moderator extends or withdraws.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from sqlalchemy import or_, select

from charitylink.accounts.models import User
from charitylink.core.i18n import _, _l
from charitylink.core.paging import ListParser, Page, Sort, paginate
from charitylink.core.permissions import in_scope, prefix_range, scope_prefix
from charitylink.core.timeutil import today
from charitylink.needs.models import Need, NeedStatus

SOON_DAYS = 7
DEADLINES = ("soon", "overdue")
MINE = ("entered", "waiting")
ORIGINS = ("imported", "entered")


def sorts() -> dict[str, Sort]:
    return {
        "attention": Sort(
            _l("待审核优先"),
            [Need.updated_at],
            bands=[Need.status == NeedStatus.SUBMITTED],
            reverse=True,
        ),
        "updated": Sort(_l("最近更新"), [Need.updated_at], reverse=True),
        "created": Sort(_l("录入时间"), [Need.created_at]),
        "deadline": Sort(_l("截止日期"), [Need.deadline_on]),
        "amount": Sort(_l("金额"), [Need.amount_fen]),
    }


def review_queue(user: User, args: Any) -> Page:
    """Needs in the moderator's regions (an admin: all), one page of them."""
    day = today()
    p = ListParser(args, sorts(), "attention")
    stmt = select(Need).where(in_scope(user, Need.region_code))
    status = p.choice("status", [s.value for s in NeedStatus], _("状态"))
    if status:
        stmt = stmt.where(Need.status == status)
    region = p.region("region", _("地区"))
    if region:
        stmt = stmt.where(prefix_range(Need.region_code, region))
    mine = p.choice("mine", MINE, _("范围"))
    if mine == "entered":
        stmt = stmt.where(Need.entered_by_id == user.id)
    elif mine == "waiting":
        stmt = stmt.where(
            Need.status == NeedStatus.SUBMITTED,
            Need.entered_by_id != user.id,
            or_(Need.last_edited_by_id.is_(None), Need.last_edited_by_id != user.id),
        )
    stmt = _deadline_filter(stmt, p, day)
    origin = p.choice("origin", ORIGINS, _("来源"))
    if origin == "imported":
        stmt = stmt.where(Need.external_id.is_not(None))
    elif origin == "entered":
        stmt = stmt.where(Need.external_id.is_(None))
    stmt = stmt.where(*p.date_range(Need.updated_at))
    # Counts kept until the next change to the needs (core/cache.py): the key
    # names the person's scope, their id (for "mine") and the filters.
    key = json.dumps(
        [user.id, scope_prefix(user), day.isoformat(), p.result.filters],
        sort_keys=True,
    )
    return paginate(stmt, p, Need.id, cache_key=f"needs-queue|{key}")


def _deadline_filter(stmt: Any, p: ListParser, day: date) -> Any:
    deadline = p.choice("deadline", DEADLINES, _("截止日期"))
    if deadline == "soon":
        stmt = stmt.where(
            Need.status == NeedStatus.PUBLISHED,
            Need.deadline_on >= day,
            Need.deadline_on <= day + timedelta(days=SOON_DAYS),
        )
    elif deadline == "overdue":
        stmt = stmt.where(
            Need.status.in_([NeedStatus.PUBLISHED, NeedStatus.FULLY_CLAIMED]),
            Need.deadline_on < day,
        )
    return stmt
