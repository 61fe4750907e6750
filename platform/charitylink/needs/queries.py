"""Reading needs: the public library, the moderator queue, loading by code.

Filters arrive as query strings from people and programs; :func:`parse_filters`
turns them into clean values and a list of messages for the ones it ignored,
so a bad value never becomes an error page (rule 8).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, case, func, literal_column, or_, select

from charitylink.accounts.models import User
from charitylink.core import cache
from charitylink.core.i18n import _
from charitylink.core.money import InvalidAmount, parse_yuan, validate_fen
from charitylink.core.permissions import covers, is_moderator, prefix_range
from charitylink.errors import NotFound
from charitylink.extensions import db
from charitylink.needs import codes
from charitylink.needs.models import (
    PUBLIC_CONDITION,
    PUBLIC_STATUSES,
    Category,
    Need,
    NeedStatus,
    NeedType,
    Urgency,
)

SORTS = ("newest", "deadline", "amount_desc", "amount_asc")
# "relevance" only means something to the search engine (with ``q``); the
# database query treats it as "newest".
ACCEPTED_SORTS = (*SORTS, "relevance")
PER_PAGE = 20
MAX_PER_PAGE = 100
_REGION_PREFIX = re.compile(r"\d{2,6}")


@dataclass
class NeedFilters:
    q: str = ""
    region: str = ""
    category: str = ""
    need_type: str = ""
    status: str = ""
    urgency: str = ""
    min_amount: int | None = None  # fen
    max_amount: int | None = None  # fen
    sort: str = "newest"
    page: int = 1
    per_page: int = PER_PAGE
    ignored: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "q": self.q,
            "region": self.region,
            "category": self.category,
            "need_type": self.need_type,
            "status": self.status,
            "urgency": self.urgency,
            "min_amount": self.min_amount,
            "max_amount": self.max_amount,
        }


def _region_prefix(value: str) -> str:
    """``220100`` → ``2201`` (a prefecture covers its counties); prefixes pass."""
    if len(value) == 6:
        if value.endswith("0000"):
            return value[:2]
        if value.endswith("00"):
            return value[:4]
    return value


def parse_filters(  # noqa: C901, PLR0912, PLR0915 — one branch per filter of the public library, each with its own warning
    args: Mapping[str, Any],
    *,
    money: str = "yuan",
    statuses: tuple[NeedStatus, ...] = PUBLIC_STATUSES,
    max_per_page: int = MAX_PER_PAGE,
) -> NeedFilters:
    """Clean filter values from a query string; bad ones are dropped and noted.

    ``money="yuan"`` for pages (``min_amount=1000`` is ¥1,000), ``"fen"`` for the
    API (integers in fen). ``statuses`` are those a ``status`` filter may name.
    """
    f = NeedFilters()

    def get(key: str) -> str:
        value = args.get(key)
        return value.strip() if isinstance(value, str) else ""

    f.q = get("q")[:100]
    region = get("region")
    if region:
        if _REGION_PREFIX.fullmatch(region):
            f.region = _region_prefix(region)
        else:
            f.ignored.append(_("地区「%(v)s」无效，已忽略。", v=region[:20]))
    for key, enum_cls, label in (
        ("category", Category, _("家庭类别")),
        ("need_type", NeedType, _("需求类型")),
        ("urgency", Urgency, _("紧急程度")),
    ):
        value = get(key)
        if value and value in {m.value for m in enum_cls}:
            setattr(f, key, value)
        elif value:
            f.ignored.append(_("%(l)s「%(v)s」无效，已忽略。", l=label, v=value[:20]))
    status = get("status")
    if status and status in {s.value for s in statuses}:
        f.status = status
    elif status:
        f.ignored.append(_("状态「%(v)s」无效，已忽略。", v=status[:20]))
    for key, label in (("min_amount", _("最低金额")), ("max_amount", _("最高金额"))):
        value = get(key)
        if not value:
            continue
        try:
            if money == "yuan":
                fen = parse_yuan(value, allow_zero=True)
            else:
                if not re.fullmatch(r"\d{1,12}", value):
                    raise InvalidAmount(_("金额必须是以分为单位的整数"))
                fen = validate_fen(int(value), allow_zero=True)
        except InvalidAmount as exc:
            f.ignored.append(_("%(l)s：%(m)s，已忽略。", l=label, m=str(exc)))
            continue
        setattr(f, key, fen)
    sort = get("sort")
    if sort and sort in ACCEPTED_SORTS:
        f.sort = sort
    elif sort:
        f.ignored.append(_("排序方式「%(v)s」无效，已按最新排序。", v=sort[:20]))
    page = get("page")
    if page:
        if page.isdigit() and 1 <= int(page) <= 100000:
            f.page = int(page)
        else:
            f.ignored.append(_("页码「%(v)s」无效，已显示第 1 页。", v=page[:20]))
    per_page = get("per_page")
    if per_page:
        if per_page.isdigit() and 1 <= int(per_page) <= max_per_page:
            f.per_page = int(per_page)
        else:
            f.ignored.append(
                _("每页条数应为 1 到 %(n)s，已使用默认值。", n=max_per_page)
            )
    return f


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _col(name: str) -> Any:
    """``Need.<name>`` for a filter; on SQLite written ``+needs.<name>``.

    The unary plus keeps SQLite's planner off the one-column indexes (category,
    need type, region), which make it fetch and sort every matching need, and on
    ``ix_needs_public_browse``, which answers a page by walking one index and
    stopping after it (docs/needs.md, "Measured"; bench/load.py).
    PostgreSQL's planner chooses well by itself.
    """
    column = getattr(Need, name)
    if db.session.get_bind().dialect.name != "sqlite":
        return column
    return literal_column(f"+needs.{name}", column.type)


def _apply_filters(query: Select, filters: Mapping[str, Any]) -> Select:
    if filters.get("q"):
        pattern = f"%{_like_escape(filters['q'])}%"
        query = query.where(
            or_(
                Need.title.like(pattern, escape="\\"),
                Need.description.like(pattern, escape="\\"),
                Need.code == filters["q"],
            )
        )
    if filters.get("region"):
        # A code range, not LIKE (prefix_range); written ``+needs.…`` on SQLite
        # like every filter here (_col).
        query = query.where(prefix_range(_col("public_region_code"), filters["region"]))
    for key in ("category", "need_type", "urgency", "status"):
        if filters.get(key):
            query = query.where(_col(key) == filters[key])
    if filters.get("min_amount") is not None:
        query = query.where(_col("amount_fen") >= filters["min_amount"])
    if filters.get("max_amount") is not None:
        query = query.where(_col("amount_fen") <= filters["max_amount"])
    return query


def _order(query: Select, sort: str) -> Select:
    if sort == "deadline":
        # Needs without a deadline last, on both databases.
        return query.order_by(
            case((Need.deadline_on.is_(None), 1), else_=0),
            Need.deadline_on.asc(),
            Need.id.desc(),
        )
    if sort == "amount_desc":
        return query.order_by(Need.amount_fen.desc(), Need.id.desc())
    if sort == "amount_asc":
        return query.order_by(Need.amount_fen.asc(), Need.id.desc())
    return query.order_by(Need.published_at.desc(), Need.id.desc())


def public_needs(
    filters: Mapping[str, Any],
    sort: str = "newest",
    page: int = 1,
    per_page: int = PER_PAGE,
) -> tuple[list[Need], int]:
    """Public needs (PUBLIC_STATUSES only) matching ``filters``: (rows, total).

    ``filters`` keys: q, region (prefix over ``public_region_code``, never the
    true county), category, need_type, status, urgency, min_amount, max_amount
    (fen).
    """
    # PUBLIC_CONDITION, word for word the condition of ix_needs_public_browse.
    base = _apply_filters(select(Need).where(PUBLIC_CONDITION), filters)

    def count() -> int:
        query = select(func.count(Need.id)).where(PUBLIC_CONDITION)
        return db.session.scalar(_apply_filters(query, filters)) or 0

    # Counting reads every matching need: keep the figure
    # until the data changes (core/cache.py), for the next page and other sorts.
    key = json.dumps(
        {k: v for k, v in filters.items() if v not in (None, "")},
        sort_keys=True,
        default=str,
    )
    total = cache.get_or_set(f"needs.count|{key}", count)
    page = max(1, page)
    # Ids first (the sort carries an id and its key, read from the index), then
    # the 20 rows by primary key.
    ids = list(
        db.session.scalars(
            _order(base.with_only_columns(Need.id), sort)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    if not ids:
        return [], total
    by_id = {n.id: n for n in db.session.scalars(select(Need).where(Need.id.in_(ids)))}
    return [by_id[i] for i in ids if i in by_id], total


def get_public_or_404(code: str) -> Need:
    need = db.session.scalar(select(Need).where(Need.code == code))
    if need is None or not need.is_public:
        raise NotFound(_("需求不存在或未公开。"))
    return need


def get_for_moderator_or_404(code: str, user: User) -> Need:
    """A need the moderator covers; anything else is "not found" (no probing).

    A first-release code (``XQ-<county>-<seq>``, needs/codes.py) finds its need
    here too, for moderators only; the caller sees ``need.code != code`` and
    redirects or answers with the current code.
    """
    if codes.is_legacy(code):
        need = db.session.scalar(select(Need).where(Need.legacy_code == code))
    else:
        need = db.session.scalar(select(Need).where(Need.code == code))
    if need is None or not is_moderator(user) or not covers(user, need.region_code):
        raise NotFound(_("需求不存在或不在您负责的区划内。"))
    return need
