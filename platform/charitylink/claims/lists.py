"""The claims work lists: the org's claims and the moderators' claims of their
regions (deliveries waiting for the follow-up visit, claims near or past their
due date), paged, filtered and sorted through core/paging.py.

The status filter takes any ClaimStatus value, so a status added to the model
(a dispute's, say) is a filter here without touching this file.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, case, func, select

from charitylink.accounts.models import User
from charitylink.claims.models import CLAIM_STATUS_LABELS, Claim, ClaimStatus
from charitylink.core.i18n import _, _l
from charitylink.core.paging import ListParser, Page, Sort, paginate
from charitylink.core.permissions import in_scope, prefix_range
from charitylink.core.timeutil import today
from charitylink.extensions import db
from charitylink.needs.models import Need

# The horizon of "due soon", the same week as the work-area counts.
SOON_DAYS = 7
DUE_FILTERS = ("overdue", "soon")


def _attention(day: date, org: bool) -> list[Any]:
    """What needs doing first. A moderator: deliveries to confirm, overdue
    claims, other open claims. An org: its overdue claims, its other open ones,
    then those waiting for the moderators' visit. Then the closed ones."""
    reserved = Claim.status == ClaimStatus.RESERVED
    delivered = Claim.status == ClaimStatus.DELIVERED
    overdue = reserved & (Claim.due_on < day)
    upcoming = reserved & (Claim.due_on >= day)
    if org:
        return [overdue, upcoming, delivered]
    return [delivered, overdue, upcoming]


def sorts(day: date, org: bool = False) -> dict[str, Sort]:
    return {
        "attention": Sort(_l("待办优先"), [Claim.due_on], bands=_attention(day, org)),
        "due": Sort(_l("交付期限"), [Claim.due_on]),
        "created": Sort(_l("认领时间"), [Claim.created_at], reverse=True),
        "delivered": Sort(_l("交付时间"), [Claim.delivered_at], reverse=True),
        "amount": Sort(_l("金额"), [Claim.amount_fen]),
    }


def status_values() -> list[str]:
    return [s.value for s in ClaimStatus]


def status_choices() -> list[tuple[str, str]]:
    return [
        (s.value, _(CLAIM_STATUS_LABELS.get(s, s.value)))
        for s in ClaimStatus  # a status without a label yet shows its code
    ]


def _common_filters(stmt: Select[Any], p: ListParser, day: date) -> Select[Any]:
    status = p.choice("status", status_values(), _("状态"))
    if status:
        stmt = stmt.where(Claim.status == status)
    due = p.choice("due", DUE_FILTERS, _("期限"))
    if due == "overdue":
        stmt = stmt.where(Claim.status == ClaimStatus.RESERVED, Claim.due_on < day)
    elif due == "soon":
        stmt = stmt.where(
            Claim.status == ClaimStatus.RESERVED,
            Claim.due_on >= day,
            Claim.due_on <= day + timedelta(days=SOON_DAYS),
        )
    return stmt.where(*p.date_range(Claim.created_at))


def org_claims(org_id: int, user: User, args: Any) -> Page:
    """One org's claims; never another org's (the WHERE is the org's id)."""
    day = today()
    p = ListParser(args, sorts(day, org=True), "attention")
    stmt = select(Claim).where(Claim.org_id == org_id)
    stmt = _common_filters(stmt, p, day)
    mine = p.choice("mine", ("entered",), _("范围"))
    if mine == "entered":
        stmt = stmt.where(Claim.created_by_id == user.id)
    return paginate(stmt, p, Claim.id)


def mod_claims(user: User, args: Any) -> Page:
    """Claims on needs in the moderator's regions (an admin: all)."""
    day = today()
    p = ListParser(args, sorts(day), "attention")
    stmt = (
        select(Claim)
        .join(Need, Need.id == Claim.need_id)
        .where(in_scope(user, Need.region_code))
    )
    stmt = _common_filters(stmt, p, day)
    region = p.region("region", _("地区"))
    if region:
        stmt = stmt.where(prefix_range(Need.region_code, region))
    mine = p.choice("mine", ("entered", "waiting"), _("范围"))
    if mine == "entered":
        # Claims on the needs this moderator entered: the households they know.
        stmt = stmt.where(Need.entered_by_id == user.id)
    elif mine == "waiting":
        stmt = stmt.where(Claim.status == ClaimStatus.DELIVERED)
    return paginate(stmt, p, Claim.id)


def summary(page: Page) -> dict[str, int]:
    """Count and sums over every claim the filters match, not only the page."""
    rows = page.stmt.order_by(None).subquery()
    # A disputed delivery is still paid out until a second moderator decides.
    done = (ClaimStatus.DELIVERED, ClaimStatus.CONFIRMED, ClaimStatus.DISPUTED)
    reserved = func.sum(
        case((rows.c.status == ClaimStatus.RESERVED, rows.c.amount_fen))
    )
    delivered = func.sum(case((rows.c.status.in_(done), rows.c.delivered_fen)))
    count, reserved_fen, delivered_fen = db.session.execute(
        select(
            func.count(), func.coalesce(reserved, 0), func.coalesce(delivered, 0)
        ).select_from(rows)
    ).one()
    return {
        "count": int(count),
        "reserved_fen": int(reserved_fen),
        "delivered_fen": int(delivered_fen),
    }
