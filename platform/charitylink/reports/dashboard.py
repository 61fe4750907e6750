"""The moderator dashboard: figures for one region prefix and period, as tables
(the page, the charts and the exports all read these)."""

from __future__ import annotations

from datetime import date
from typing import Any

from charitylink.core.i18n import _
from charitylink.needs.models import (
    ASSISTANCE_LABELS,
    CATEGORY_LABELS,
    NEED_STATUS_LABELS,
    NEED_TYPE_LABELS,
)
from charitylink.reports import frame, queries
from charitylink.reports.queries import Filters
from charitylink.reports.tables import Column, Table
from charitylink.reports.transparency import region_label

LEVEL_LABELS = {"province": "省", "city": "市", "county": "区县"}

_AMOUNTS = [
    Column("needs", _("需求数"), "int"),
    Column("requested", _("需求金额"), "fen"),
    Column("claimed", _("已认领"), "fen"),
    Column("delivered", _("已交付"), "fen"),
]
_HOUSEHOLDS = [
    Column("households", _("户数"), "int"),
    Column("households_reached", _("已帮扶户数"), "int"),
]


def _label(labels: dict[Any, str], value: Any) -> str:
    return labels.get(value, str(value))


def build(f: Filters, today: date, fr: frame.Frame | None = None) -> dict[str, Any]:
    """Every figure of the dashboard for ``f``, computed from the report frame
    (reports/frame.py; the process's current one unless ``fr`` is given)."""
    fr = frame.current() if fr is None else fr
    totals = frame.totals(fr, f)
    matrix, published_months = frame.matrix_and_months(fr, f)
    for r in matrix:
        r["category_label"] = _label(CATEGORY_LABELS, r["category"])
        r["need_type_label"] = _label(NEED_TYPE_LABELS, r["need_type"])
        r["status_label"] = _label(NEED_STATUS_LABELS, r["status"])
    # Types and categories are sums of the matrix rows of published needs.
    published = queries.published_rows(matrix)
    types = queries.rollup(published, "need_type")
    for r in types:
        r["name"] = _label(NEED_TYPE_LABELS, r["need_type"])
    categories = queries.rollup(published, "category")
    for r in categories:
        r["name"] = _label(CATEGORY_LABELS, r["category"])
    regions = frame.by_region(fr, f)
    for r in regions:
        r["name"] = region_label(r["region"])
        r["code"] = r["region"].ljust(6, "0")
    months = _months(published_months, frame.delivered_by_month(fr, f))
    assistance = frame.assistance_link(fr, f)
    for r in assistance:
        r["name"] = (
            _("未享受政府救助")
            if r["type"] == "none"
            else _label(ASSISTANCE_LABELS, r["type"])
        )
        r["per_household"] = r["delivered"] // r["households"] if r["households"] else 0
        r["reach_pct"] = 100 * r["reached"] / r["households"] if r["households"] else 0
    speed = frame.time_to_full_claim(fr, f)
    for r in speed["by_need_type"]:
        r["name"] = _label(NEED_TYPE_LABELS, r["need_type"])
    expiring = frame.expiring_claims(fr, f, today)
    repeated = frame.repeated_help(fr, f, today)
    orgs = frame.org_activity(fr, f)
    data: dict[str, Any] = {
        "totals": totals,
        "matrix": matrix,
        "types": types,
        "categories": categories,
        "regions": regions,
        "months": months,
        "assistance": assistance,
        "speed": speed,
        "expiring": expiring,
        "repeated": repeated,
        "orgs": orgs,
    }
    data["tables"] = _tables(f, data)
    return data


def _months(
    published: list[dict[str, Any]], delivered: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for r in published:
        out.setdefault(r["month"], {"month": r["month"]}).update(
            needs=r["needs"], requested=r["requested"]
        )
    for r in delivered:
        out.setdefault(r["month"], {"month": r["month"]}).update(
            deliveries=r["deliveries"],
            delivered=r["delivered"],
            households_reached=r["households_reached"],
        )
    keys = (
        "needs",
        "requested",
        "deliveries",
        "delivered",
        "households_reached",
    )
    for row in out.values():
        for k in keys:
            row.setdefault(k, 0)
    return [out[m] for m in sorted(out)]


def _tables(f: Filters, d: dict[str, Any]) -> dict[str, Table]:
    t = dict(d["totals"], name=_("合计"))
    overall = d["speed"]["overall"]
    level = LEVEL_LABELS.get(f.level, f.level)
    return {
        "totals": Table(
            "totals",
            _("总体情况"),
            [
                Column("name", _("项目")),
                *_AMOUNTS,
                Column("confirmed", _("已回访确认"), "fen"),
                *_HOUSEHOLDS,
                Column("fully_claimed", _("已全额认领需求"), "int"),
            ],
            [t],
        ),
        "matrix": Table(
            "matrix",
            _("需求：困难类别 × 需求类型 × 状态"),
            [
                Column("category_label", _("困难类别")),
                Column("need_type_label", _("需求类型")),
                Column("status_label", _("状态")),
                *_AMOUNTS,
            ],
            d["matrix"],
        ),
        "by_category": Table(
            "by_category",
            _("按困难类别"),
            [Column("name", _("困难类别")), *_AMOUNTS],
            d["categories"],
        ),
        "by_need_type": Table(
            "by_need_type",
            _("按需求类型"),
            [Column("name", _("需求类型")), *_AMOUNTS],
            d["types"],
        ),
        "by_region": Table(
            "by_region",
            _("按地区（%(level)s级）", level=level),
            [
                Column("code", _("区划代码")),
                Column("name", _("地区")),
                *_AMOUNTS,
                *_HOUSEHOLDS,
            ],
            d["regions"],
        ),
        "by_month": Table(
            "by_month",
            _("按月份"),
            [
                Column("month", _("月份")),
                Column("needs", _("发布需求数"), "int"),
                Column("requested", _("需求金额"), "fen"),
                Column("deliveries", _("交付笔数"), "int"),
                Column("delivered", _("交付金额"), "fen"),
                Column("households_reached", _("当月帮扶户数"), "int"),
            ],
            d["months"],
            note=_("发布按需求发布月份；交付按实际交付日期。"),
        ),
        "assistance": Table(
            "assistance",
            _("政府救助与慈善帮扶衔接"),
            [
                Column("name", _("已享受的政府救助")),
                Column("households", _("户数"), "int"),
                Column("monthly", _("月救助金额合计"), "fen"),
                Column("reached", _("获慈善帮扶户数"), "int"),
                Column("reach_pct", _("帮扶覆盖率"), "pct"),
                Column("delivered", _("慈善交付金额"), "fen"),
                Column("per_household", _("户均慈善交付"), "fen"),
            ],
            d["assistance"],
            note=_(
                "一户可同时享受多种救助，按类型分别计入；“未享受政府救助”为所有需求均未登记救助的家庭。"
            ),
        ),
        "time_to_claim": Table(
            "time_to_claim",
            _("从发布到全额认领（天）"),
            [
                Column("name", _("需求类型")),
                Column("count", _("已全额认领需求"), "int"),
                Column("median", _("中位数"), "days"),
                Column("p90", _("90%分位数"), "days"),
            ],
            [dict(overall, name=_("全部"))] + d["speed"]["by_need_type"],
        ),
        "expiring": Table(
            "expiring",
            _("即将到期（7天内）与已逾期的认领"),
            [
                Column("claim_id", _("认领编号"), "int"),
                Column("need_code", _("需求编号")),
                Column("org_name", _("认领机构")),
                Column("amount", _("认领金额"), "fen"),
                Column("due_on", _("应交付日期")),
                Column("days_left", _("剩余天数"), "int"),
            ],
            d["expiring"]["rows"],
        ),
        "repeated": Table(
            "repeated",
            _("重复或多头帮扶的家庭（近12个月）"),
            [
                Column("household", _("序号"), "int"),
                Column("orgs", _("认领机构数"), "int"),
                Column("needs", _("需求数"), "int"),
                Column("claims", _("认领笔数"), "int"),
                Column("amount", _("认领/交付金额"), "fen"),
                Column("need_codes", _("需求编号")),
            ],
            d["repeated"]["rows"],
            note=_(
                "同一家庭（按加密的户标识匹配）12个月内被2个以上机构认领或有2条以上需求被认领。"
            ),
        ),
        "orgs": Table(
            "orgs",
            _("各机构帮扶情况"),
            [
                Column("org_name", _("机构")),
                Column("claims", _("认领笔数"), "int"),
                Column("open", _("待交付"), "int"),
                Column("deliveries", _("已交付笔数"), "int"),
                Column("lapsed", _("取消/过期"), "int"),
                Column("claimed", _("认领金额"), "fen"),
                Column("delivered", _("交付金额"), "fen"),
                Column("confirmed", _("确认金额"), "fen"),
            ],
            d["orgs"],
            note=_("按认领时间筛选期间。"),
        ),
    }
