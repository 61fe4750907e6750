"""Filters, sorts and paging of a search, parsed from request arguments."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from charitylink.core.i18n import _
from charitylink.needs.models import Category, NeedType, Urgency
from charitylink.search.documents import (
    PUBLIC_NEED_STATUSES,
    PUBLIC_PROJECT_STATUSES,
)

SORTS = ("relevance", "newest", "deadline", "amount", "amount_asc")
# Names the needs pages and API use for the same orders.
SORT_ALIASES = {"amount_desc": "amount", "target": "amount"}
MAX_PER_PAGE = 100
MAX_PAGE = 500
_REGION = re.compile(r"^\d{2,12}$")


@dataclass(frozen=True)
class Filters:
    """The search filters. Projects use region, need_type, status and the amount
    range (over the target amount); category and urgency apply to needs only."""

    region: str | None = None
    category: str | None = None
    need_type: str | None = None
    status: str | None = None
    min_amount: int | None = None  # fen
    max_amount: int | None = None  # fen
    urgency: str | None = None
    org_id: int | None = None  # projects only
    overdue: bool = False  # projects only: progress update overdue

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


@dataclass(frozen=True)
class Page:
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass
class Parsed:
    q: str = ""
    filters: Filters = field(default_factory=Filters)
    page: Page = field(default_factory=Page)
    errors: dict[str, str] = field(default_factory=dict)


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError
    number = int(str(value).strip())
    if number < 0:
        raise ValueError
    return number


def parse_args(args: Mapping[str, Any], object_type: str = "need") -> Parsed:  # noqa: C901 — one branch per search filter, shared by pages and API
    """Read ``q, region, category, need_type, status, min_amount, max_amount,
    urgency, sort, page, per_page`` (amounts in fen). Bad values are reported in
    ``errors`` (field → Chinese message) and ignored, never raised."""
    errors: dict[str, str] = {}

    def get(name: str) -> str | None:
        value = args.get(name)
        if value is None:
            return None
        value = str(value).strip()
        return value or None

    region = get("region")
    if region is not None and not _REGION.match(region):
        errors["region"] = _("地区应为 2 到 12 位数字的行政区划代码（前缀）。")
        region = None

    def choice(name: str, allowed: tuple[str, ...], message: str) -> str | None:
        value = get(name)
        if value is not None and value not in allowed:
            errors[name] = message
            return None
        return value

    statuses = (
        PUBLIC_NEED_STATUSES if object_type == "need" else PUBLIC_PROJECT_STATUSES
    )
    category = choice("category", tuple(Category), _("未知的困难类别。"))
    need_type = choice("need_type", tuple(NeedType), _("未知的需求类型。"))
    status = choice("status", statuses, _("未知或不公开的状态。"))
    urgency = choice("urgency", tuple(Urgency), _("未知的紧急程度。"))
    sort = get("sort")
    sort = SORT_ALIASES.get(sort or "", sort)
    if sort is not None and sort not in SORTS:
        errors["sort"] = _(
            "排序方式应为 relevance、newest、deadline、amount 或 amount_asc。"
        )
        sort = None

    amounts: dict[str, int | None] = {}
    for name in ("min_amount", "max_amount"):
        try:
            amounts[name] = _int(get(name))
        except ValueError:
            errors[name] = _("金额应为不小于 0 的整数（单位：分）。")
            amounts[name] = None
    lo, hi = amounts["min_amount"], amounts["max_amount"]
    if lo is not None and hi is not None and lo > hi:
        errors["max_amount"] = _("最高金额不能小于最低金额。")
        hi = None

    org_id = None
    try:
        org_id = _int(get("org_id") or get("org"))
    except ValueError:
        errors["org_id"] = _("机构编号应为数字。")

    page, per_page = 1, 20
    try:
        page = min(max(_int(get("page")) or 1, 1), MAX_PAGE)
    except ValueError:
        errors["page"] = _("页码应为正整数。")
    try:
        per_page = min(max(_int(get("per_page")) or 20, 1), MAX_PER_PAGE)
    except ValueError:
        errors["per_page"] = _("每页条数应为 1 到 100 的整数。")

    return Parsed(
        q=str(args.get("q") or ""),
        filters=Filters(
            region,
            category,
            need_type,
            status,
            lo,
            hi,
            urgency,
            org_id=org_id,
            overdue=str(get("overdue") or "") in ("1", "true"),
        ),
        page=Page(sort or "relevance", page, per_page),
        errors=errors,
    )


def region_facet_length(region: str | None) -> int:
    """Facets drill down: provinces, then cities, then counties."""
    if not region:
        return 2
    if len(region) < 4:
        return 4
    return 6
