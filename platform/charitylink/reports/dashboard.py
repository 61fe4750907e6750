"""The moderator dashboard: figures for one region prefix and period, as tables
(the page, the charts and the exports all read these)."""

from __future__ import annotations

from datetime import date
from typing import Any

from charitylink.core.i18n import N_, _, _l
from charitylink.needs.models import (
    ASSISTANCE_LABELS,
    CATEGORY_LABELS,
    NEED_STATUS_LABELS,
    NEED_TYPE_LABELS,
)
from charitylink.reports import figures, queries
from charitylink.reports.queries import Filters
from charitylink.reports.tables import Column, Table
from charitylink.reports.transparency import region_label

LEVEL_LABELS = {"province": N_("省"), "city": N_("市"), "county": N_("区县")}

_AMOUNTS = [
    Column("needs", N_("需求数"), "int"),
    Column("requested", N_("需求金额"), "fen"),
    Column("claimed", N_("已认领"), "fen"),
    Column("delivered", N_("已交付"), "fen"),
]
_HOUSEHOLDS = [
    Column("households", N_("户数"), "int"),
    Column("households_reached", N_("已帮扶户数"), "int"),
]


def _label(labels: dict[Any, str], value: Any) -> str:
    return labels.get(value, str(value))


def build(f: Filters, today: date) -> dict[str, Any]:
    """Every figure of the dashboard for ``f``, read from the summary tables
    (reports/figures.py)."""
    totals = figures.totals(f)
    matrix, published_months = figures.matrix_and_months(f)
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
    regions = figures.by_region(f)
    for r in regions:
        r["name"] = region_label(r["region"])
        r["code"] = r["region"].ljust(6, "0")
    months = _months(published_months, figures.delivered_by_month(f))
    assistance = figures.assistance_link(f)
    for r in assistance:
        r["name"] = (
            _("未享受政府救助")
            if r["type"] == "none"
            else _label(ASSISTANCE_LABELS, r["type"])
        )
        r["per_household"] = r["delivered"] // r["households"] if r["households"] else 0
        r["reach_pct"] = 100 * r["reached"] / r["households"] if r["households"] else 0
    speed = figures.time_to_full_claim(f)
    for r in speed["by_need_type"]:
        r["name"] = _label(NEED_TYPE_LABELS, r["need_type"])
    expiring = figures.expiring_claims(f, today)
    repeated = figures.repeated_help(f, today)
    orgs = figures.org_activity(f)
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
    t = dict(d["totals"], name=_l("合计"))
    overall = d["speed"]["overall"]
    # Lazy: the built tables are cached and shown in either language.
    level = _l(LEVEL_LABELS.get(f.level, f.level))
    return {
        "totals": Table(
            "totals",
            _l("总体情况"),
            [
                Column("name", N_("项目")),
                *_AMOUNTS,
                Column("confirmed", N_("已回访确认"), "fen"),
                *_HOUSEHOLDS,
                Column("fully_claimed", N_("已全额认领需求"), "int"),
            ],
            [t],
        ),
        "matrix": Table(
            "matrix",
            _l("需求：困难类别 × 需求类型 × 状态"),
            [
                Column("category_label", N_("困难类别")),
                Column("need_type_label", N_("需求类型")),
                Column("status_label", N_("状态")),
                *_AMOUNTS,
            ],
            d["matrix"],
        ),
        "by_category": Table(
            "by_category",
            _l("按困难类别"),
            [Column("name", N_("困难类别")), *_AMOUNTS],
            d["categories"],
        ),
        "by_need_type": Table(
            "by_need_type",
            _l("按需求类型"),
            [Column("name", N_("需求类型")), *_AMOUNTS],
            d["types"],
        ),
        "by_region": Table(
            "by_region",
            _l("按地区（%(level)s级）", level=level),
            [
                Column("code", N_("区划代码")),
                Column("name", N_("地区")),
                *_AMOUNTS,
                *_HOUSEHOLDS,
            ],
            d["regions"],
        ),
        "by_month": Table(
            "by_month",
            _l("按月份"),
            [
                Column("month", N_("月份")),
                Column("needs", N_("发布需求数"), "int"),
                Column("requested", N_("需求金额"), "fen"),
                Column("deliveries", N_("交付笔数"), "int"),
                Column("delivered", N_("交付金额"), "fen"),
                Column("households_reached", N_("当月帮扶户数"), "int"),
            ],
            d["months"],
            note=_l("发布按需求发布月份；交付按实际交付日期。"),
        ),
        "assistance": Table(
            "assistance",
            _l("政府救助与慈善帮扶衔接"),
            [
                Column("name", N_("已享受的政府救助")),
                Column("households", N_("户数"), "int"),
                Column("monthly", N_("月救助金额合计"), "fen"),
                Column("reached", N_("获慈善帮扶户数"), "int"),
                Column("reach_pct", N_("帮扶覆盖率"), "pct"),
                Column("delivered", N_("慈善交付金额"), "fen"),
                Column("per_household", N_("户均慈善交付"), "fen"),
            ],
            d["assistance"],
            note=_l(
                "一户可同时享受多种救助，按类型分别计入；“未享受政府救助”为所有需求均未登记救助的家庭。"
            ),
        ),
        "time_to_claim": Table(
            "time_to_claim",
            _l("从发布到全额认领（天）"),
            [
                Column("name", N_("需求类型")),
                Column("count", N_("已全额认领需求"), "int"),
                Column("median", N_("中位数"), "days"),
                Column("p90", N_("90%分位数"), "days"),
            ],
            [dict(overall, name=_l("全部"))] + d["speed"]["by_need_type"],
        ),
        "expiring": Table(
            "expiring",
            _l("即将到期（7天内）与已逾期的认领"),
            [
                Column("claim_id", N_("认领编号"), "int"),
                Column("need_code", N_("需求编号")),
                Column("org_name", N_("认领机构")),
                Column("amount", N_("认领金额"), "fen"),
                Column("due_on", N_("应交付日期")),
                Column("days_left", N_("剩余天数"), "int"),
            ],
            d["expiring"]["rows"],
        ),
        "repeated": Table(
            "repeated",
            _l("重复或多头帮扶的家庭（近12个月）"),
            [
                Column("household", N_("序号"), "int"),
                Column("orgs", N_("认领机构数"), "int"),
                Column("needs", N_("需求数"), "int"),
                Column("claims", N_("认领笔数"), "int"),
                Column("amount", N_("认领/交付金额"), "fen"),
                Column("need_codes", N_("需求编号")),
            ],
            d["repeated"]["rows"],
            note=_l(
                "同一家庭（按加密的户标识匹配）12个月内被2个以上机构认领或有2条以上需求被认领。"
            ),
        ),
        "orgs": Table(
            "orgs",
            _l("各机构帮扶情况"),
            [
                Column("org_name", N_("机构")),
                Column("claims", N_("认领笔数"), "int"),
                Column("open", N_("待交付"), "int"),
                Column("deliveries", N_("已交付笔数"), "int"),
                Column("lapsed", N_("取消/过期"), "int"),
                Column("claimed", N_("认领金额"), "fen"),
                Column("delivered", N_("交付金额"), "fen"),
                Column("confirmed", N_("确认金额"), "fen"),
            ],
            d["orgs"],
            note=_l("按认领时间筛选期间。"),
        ),
    }
