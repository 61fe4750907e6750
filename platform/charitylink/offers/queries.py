"""Lists of offers: the public list (open offers of verified orgs within their
dates), the org's own list, and what each offer has matched.

Free text on the public list goes through the search engine the needs use
(jieba words, Whoosh or PostgreSQL full-text search, docs/search.md): the
engine names the matching offers with a score, the database applies the
public conditions and the filters, best match first."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, cast, false, func, or_, select

from charitylink.claims.models import Claim
from charitylink.core.i18n import _, _l
from charitylink.core.paging import ListParser, Page, Sort, paginate
from charitylink.core.timeutil import today
from charitylink.extensions import db
from charitylink.needs.models import NeedType
from charitylink.offers.matching import month_of
from charitylink.offers.models import Offer, OfferKind, OfferMonth, OfferStatus
from charitylink.orgs.models import Organization, OrgStatus
from charitylink.search.analysis import query_tokens
from charitylink.search.backend import IndexUnavailable, get_backend
from charitylink.search.documents import OFFER

log = logging.getLogger(__name__)


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
    return stmt


def _text_like(stmt: Any, words: list[str]) -> Any:
    """Every word in the title, the description or the org's name (the
    engine's stand-in when its index is unavailable)."""
    for word in words:
        pattern = _like(word)
        stmt = stmt.where(
            or_(
                Offer.title.like(pattern, escape="\\"),
                Offer.description.like(pattern, escape="\\"),
                Organization.name.like(pattern, escape="\\"),
            )
        )
    return stmt


def text_scores(q: str) -> dict[int, float] | None:
    """Offer id → score for every indexed offer having all of ``q``'s words;
    None when the engine cannot answer (the caller falls back to LIKE)."""
    tokens = query_tokens(q)
    if not tokens:
        return None
    try:
        return dict(get_backend().match(db.session(), OFFER, tokens))
    except IndexUnavailable as exc:
        log.warning("offers: search index unavailable, using LIKE: %s", exc)
        return None


def public_page(f: Filters, page: int, per_page: int) -> tuple[list[Offer], int]:
    stmt = public_select(f)
    order = (Offer.updated_at.desc(), Offer.id.desc())
    scores = text_scores(f.q) if f.q else None
    if f.q and scores is None:
        # No searchable word in q (punctuation only), or no engine: LIKE.
        words = query_tokens(f.q) or [f.q]
        stmt = _text_like(stmt, words)
    if scores is None:
        total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = db.session.scalars(
            stmt.order_by(*order).limit(per_page).offset((page - 1) * per_page)
        ).all()
        return list(rows), int(total or 0)
    # Ranked: the engine's matches that are on the public list and pass the
    # filters, best match first, then the list's own order (a stable sort).
    ids = list(
        db.session.scalars(
            stmt.where(Offer.id.in_(list(scores)) if scores else false())
            .with_only_columns(Offer.id)
            .order_by(*order)
        )
    )
    ids.sort(key=lambda i: -scores.get(i, 0.0))
    wanted = ids[(page - 1) * per_page : page * per_page]
    found = {
        o.id: o for o in db.session.scalars(select(Offer).where(Offer.id.in_(wanted)))
    }
    return [found[i] for i in wanted if i in found], len(ids)


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
