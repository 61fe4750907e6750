"""Lists of offers: the public list (open offers of verified orgs within their
dates), the org's own list, and what each offer has matched."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, cast, func, or_, select

from charitylink.claims.models import Claim
from charitylink.core.i18n import _, _l
from charitylink.core.paging import ListParser, Page, Sort, paginate
from charitylink.core.timeutil import today
from charitylink.extensions import db
from charitylink.needs.models import NeedType
from charitylink.offers.matching import month_of
from charitylink.offers.models import Offer, OfferKind, OfferMonth, OfferStatus
from charitylink.orgs.models import Organization, OrgStatus


@dataclass
class Filters:
    kind: str = ""
    need_type: str = ""
    region: str = ""
    q: str = ""
    org_id: int | None = None
    errors: dict[str, str] = field(default_factory=dict)


def parse_filters(args: Any) -> Filters:
    """Lenient (the page's): a bad value is ignored and named in ``errors``."""
    f = Filters()
    kind = (args.get("kind") or "").strip()
    if kind:
        if kind in {k.value for k in OfferKind}:
            f.kind = kind
        else:
            f.errors["kind"] = _("未知的供给类别，已忽略。")
    need_type = (args.get("need_type") or "").strip()
    if need_type:
        if need_type in {t.value for t in NeedType}:
            f.need_type = need_type
        else:
            f.errors["need_type"] = _("未知的需求类型，已忽略。")
    region = (args.get("region") or "").strip()
    if region:
        if region.isdigit() and 2 <= len(region) <= 12:
            f.region = region
        else:
            f.errors["region"] = _("地区代码应为2–12位数字，已忽略。")
    f.q = (args.get("q") or "").strip()[:100]
    org_raw = (args.get("org_id") or "").strip()
    if org_raw.isdigit() and len(org_raw) < 10:
        f.org_id = int(org_raw)
    return f


def _like(text: str) -> str:
    return (
        "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    )


def public_select(f: Filters) -> Any:
    """Open offers of verified orgs within their dates, filtered. An offer
    serving a province also serves every county in it, so a region filter
    keeps offers whose prefix is a prefix of it, or that lie within it."""
    day = today()
    stmt = (
        select(Offer)
        .join(Organization, Organization.id == Offer.org_id)
        .where(
            Offer.status == OfferStatus.OPEN,
            Organization.status == OrgStatus.VERIFIED,
            or_(Offer.end_on.is_(None), Offer.end_on >= day),
        )
    )
    if f.kind:
        stmt = stmt.where(Offer.kind == f.kind)
    if f.need_type:
        # need_types is a JSON list of plain words: its text contains the
        # quoted word exactly when the list does, on both databases.
        stmt = stmt.where(cast(Offer.need_types, String).like(f'%"{f.need_type}"%'))
    if f.region:
        prefixes = [f.region[:n] for n in (2, 4, 6, 9, 12) if n <= len(f.region)]
        stmt = stmt.where(
            or_(
                Offer.region_prefix.in_(prefixes),
                Offer.region_prefix.like(f.region + "%"),
            )
        )
    if f.org_id:
        stmt = stmt.where(Offer.org_id == f.org_id)
    if f.q:
        pattern = _like(f.q)
        stmt = stmt.where(
            or_(
                Offer.title.like(pattern, escape="\\"),
                Offer.description.like(pattern, escape="\\"),
                Organization.name.like(pattern, escape="\\"),
            )
        )
    return stmt


def public_page(f: Filters, page: int, per_page: int) -> tuple[list[Offer], int]:
    stmt = public_select(f)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(
        stmt.order_by(Offer.updated_at.desc(), Offer.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(rows), int(total)


def used_this_month(offer_ids: list[int]) -> dict[int, int]:
    if not offer_ids:
        return {}
    rows = db.session.execute(
        select(OfferMonth.offer_id, OfferMonth.used).where(
            OfferMonth.offer_id.in_(offer_ids), OfferMonth.month == month_of()
        )
    )
    return {oid: int(used) for oid, used in rows}


def sorts() -> dict[str, Sort]:
    return {
        "updated": Sort(_l("最近更新"), [Offer.updated_at], reverse=True),
        "title": Sort(_l("供给名称"), [Offer.title]),
        "capacity": Sort(
            _l("每月可提供数量"), [Offer.capacity_per_month], reverse=True
        ),
    }


def org_offers(org_id: int, args: Any) -> Page:
    """One org's offers, never another's."""
    p = ListParser(args, sorts(), "updated")
    stmt = select(Offer).where(Offer.org_id == org_id)
    status = p.choice("status", [s.value for s in OfferStatus], _("状态"))
    if status:
        stmt = stmt.where(Offer.status == status)
    kind = p.choice("kind", [k.value for k in OfferKind], _("类别"))
    if kind:
        stmt = stmt.where(Offer.kind == kind)
    return paginate(stmt, p, Offer.id)


def claims_of(offer_id: int, limit: int = 100) -> list[Claim]:
    """The claims made from this offer, newest first."""
    return list(
        db.session.scalars(
            select(Claim)
            .where(Claim.offer_id == offer_id)
            .order_by(Claim.id.desc())
            .limit(limit)
        )
    )
