"""Matching suggestions (供需对接): for a need, the offers that fit; for an
offer, the needs that fit.

An offer fits a need when it is open and within its dates, its org is
verified, its ``need_types`` contain the need's type, its ``region_prefix``
is a prefix of the need's region code, and it has units left this month
(``capacity_per_month`` − ``OfferMonth.used`` of the month's first day).

Order, best first (the same for pages and the API):
1. the closer region: a county's offer before a city's, a city's before a
   province's (a longer prefix means the help is nearer);
2. offers whose remaining units this month, at their valuation, cover the
   need's remaining amount, before those that cover only part of it;
3. more remaining capacity this month;
4. the older offer (its id), so the order is stable.

A need's region code has at most five prefixes (2, 4, 6, 9, 12 digits), so
the offers are read with ``region_prefix IN (…)`` on the index that starts
with status and region prefix: the query never walks the whole offer table.

Which region code: moderators match on the need's true county; org staff on
its public region (coarsened to the city where few needs share a county), so
which offers fit never tells an org more about where a household lives than
the public page does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import String, and_, case, cast, func, or_, select

from charitylink.accounts.models import User
from charitylink.core.permissions import covers, is_moderator, prefix_range
from charitylink.core.timeutil import today
from charitylink.extensions import db
from charitylink.needs.models import Need, NeedStatus
from charitylink.offers.models import Offer, OfferMonth, OfferStatus
from charitylink.orgs.models import Organization, OrgStatus

LIMIT = 20
_PREFIX_LENGTHS = (2, 4, 6, 9, 12)


def month_of(day: date | None = None) -> date:
    """The first day of ``day``'s month (today's, in China, by default)."""
    day = day or today()
    return day.replace(day=1)


def used_units(offer_id: int, month: date | None = None) -> int:
    used = db.session.scalar(
        select(OfferMonth.used).where(
            OfferMonth.offer_id == offer_id, OfferMonth.month == month_of(month)
        )
    )
    return int(used or 0)


def remaining_capacity(offer: Offer, month: date | None = None) -> int:
    """Units of ``offer`` not yet taken by matches in ``month`` (this month by
    default); never below zero."""
    return max(0, offer.capacity_per_month - used_units(offer.id, month))


@dataclass
class OfferMatch:
    offer: Offer
    remaining: int  # units left this month

    @property
    def remaining_value_fen(self) -> int:
        return self.remaining * self.offer.unit_value_fen


@dataclass
class NeedMatch:
    need: Need
    remaining_fen: int


def short_code(code: str) -> str:
    """A region code without the zero pairs that pad a city or province to six
    digits (220100 → 2201, 220000 → 22): the form offers' prefixes take."""
    code = code.strip()
    while len(code) > 2 and len(code) <= 6 and code.endswith("00"):
        code = code[:-2]
    return code


def _prefixes(code: str) -> list[str]:
    code = short_code(code)
    return [code[:n] for n in _PREFIX_LENGTHS if n <= len(code)]


def region_for(user: User | None, need: Need) -> str:
    """The region code the suggestions for ``user`` are computed on."""
    if is_moderator(user) and covers(user, need.region_code):
        return need.region_code
    return need.public_region_code


def is_matchable(need: Need) -> bool:
    return need.status == NeedStatus.PUBLISHED and need.remaining_fen > 0


def offers_for_need(
    need: Need, region_code: str, *, limit: int = LIMIT, day: date | None = None
) -> list[OfferMatch]:
    """Open offers that fit ``need`` in ``region_code``, best first."""
    day = day or today()
    month = month_of(day)
    left = Offer.capacity_per_month - func.coalesce(OfferMonth.used, 0)
    remaining_fen = max(need.remaining_fen, 0)
    covers_all = case((left * Offer.unit_value_fen >= remaining_fen, 0), else_=1)
    stmt = (
        select(Offer, left)
        .join(Organization, Organization.id == Offer.org_id)
        .outerjoin(
            OfferMonth, and_(OfferMonth.offer_id == Offer.id, OfferMonth.month == month)
        )
        .where(
            Offer.status == OfferStatus.OPEN,
            Offer.region_prefix.in_(_prefixes(region_code)),
            # need_types is a JSON list of plain words: its text holds the
            # quoted word exactly when the list does, on both databases.
            cast(Offer.need_types, String).like(f'%"{need.need_type}"%'),
            Organization.status == OrgStatus.VERIFIED,
            Offer.start_on <= day,
            or_(Offer.end_on.is_(None), Offer.end_on >= day),
            left > 0,
        )
        .order_by(
            func.length(Offer.region_prefix).desc(),
            covers_all,
            left.desc(),
            Offer.id,
        )
        .limit(limit)
    )
    return [OfferMatch(offer, int(units)) for offer, units in db.session.execute(stmt)]


def needs_for_offer(
    offer: Offer, *, true_region: bool, limit: int = LIMIT, day: date | None = None
) -> list[NeedMatch]:
    """Published needs with an amount left that ``offer`` could serve: the most
    urgent deadline first, then the oldest. ``true_region``: match on the
    county (moderators) rather than the public region (the offering org)."""
    day = day or today()
    column = Need.region_code if true_region else Need.public_region_code
    stmt = (
        select(Need)
        .where(
            Need.status == NeedStatus.PUBLISHED,
            Need.need_type.in_(list(offer.need_types or [])),
            prefix_range(column, short_code(offer.region_prefix)),
            Need.amount_fen > Need.claimed_fen,
            or_(Need.deadline_on.is_(None), Need.deadline_on >= day),
        )
        .order_by(
            Need.deadline_on.is_(None), Need.deadline_on, Need.published_at, Need.id
        )
        .limit(limit)
    )
    return [NeedMatch(n, n.remaining_fen) for n in db.session.scalars(stmt)]


def can_see_need_matches(user: User | None, need: Need) -> bool:
    """Org staff of a verified org, and the moderators of the need's region."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if is_moderator(user):
        return covers(user, need.region_code)
    org_id = getattr(user, "org_id", None)
    if org_id is None:
        return False
    org = db.session.get(Organization, org_id)
    return org is not None and org.is_verified


def can_see_offer_matches(user: User | None, offer: Offer) -> bool:
    """The offering org's staff and the moderators of the org's region."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if is_moderator(user):
        return covers(user, offer.org.region_code)
    return getattr(user, "org_id", None) == offer.org_id and offer.org.is_verified
