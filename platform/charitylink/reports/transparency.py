"""The public figures (transparency page, ``GET /api/v1/stats``) with small-cell
suppression applied once, over every table together.

Each row carries two figure *families*, each with its own household count:
``published`` (needs published, households, amounts requested and claimed;
n = distinct households with a published need) and ``delivered`` (households
reached, amounts delivered and confirmed; n = distinct households reached).
The headline totals are the total cell of every table, so a total hidden for
one table is hidden everywhere. Regions are the *public* region (the county, or
its city where the needs page coarsened it), never the true county.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from charitylink.core.i18n import N_, _, _l
from charitylink.extensions import db
from charitylink.funds.models import Fund
from charitylink.needs.models import NEED_TYPE_LABELS
from charitylink.orgs.models import Organization, OrgStatus
from charitylink.regions import services as regions
from charitylink.reports import figures as summary_figures
from charitylink.reports.queries import Filters
from charitylink.reports.suppression import PRIMARY, suppress
from charitylink.reports.tables import Column, Table

PUB, DLV = "published", "delivered"
PUB_N, DLV_N = "households", "households_reached"
TOTAL = {PUB: ("total", PUB), DLV: ("total", DLV)}


def pad(code: str) -> str:
    return code.ljust(6, "0")


def region_label(code: str) -> str:
    if len(code) == 6 and code.endswith("00") and not code.endswith("0000"):
        # Lazy: the figures are cached and shown in either language.
        return _l("%(city)s（区县合并）", city=regions.region_name(code))
    if len(code) == 4 and not regions.exists(pad(code)):
        # Municipalities list their districts under the province (北京市东城区).
        return regions.region_name(pad(code[:2]))
    return regions.region_name(pad(code)) or code


def _org_figures(reached: dict[int, int]) -> list[dict[str, Any]]:
    """Verified orgs with their fund ledgers' sums and ``reached`` (households
    reached through their claims, by org id)."""
    funds = (
        select(
            Fund.org_id.label("org_id"),
            func.count(Fund.id).label("funds"),
            func.sum(Fund.donations_fen).label("donations"),
            func.sum(Fund.disbursed_fen).label("disbursed"),
            func.sum(Fund.reserved_fen).label("reserved"),
        )
        .group_by(Fund.org_id)
        .subquery()
    )
    stmt = (
        select(
            Organization.id.label("org_id"),
            Organization.name.label("org_name"),
            func.coalesce(funds.c.funds, 0).label("funds"),
            func.coalesce(funds.c.donations, 0).label("donations"),
            func.coalesce(funds.c.disbursed, 0).label("disbursed"),
            func.coalesce(funds.c.reserved, 0).label("reserved"),
        )
        .outerjoin(funds, funds.c.org_id == Organization.id)
        .where(Organization.status == OrgStatus.VERIFIED.value)
        .order_by(func.coalesce(funds.c.disbursed, 0).desc(), Organization.name)
    )
    rows = [dict(r._mapping) for r in db.session.execute(stmt)]
    for r in rows:
        for k in ("funds", "donations", "disbursed", "reserved"):
            r[k] = int(r[k] or 0)
        r["households_reached"] = reached.get(r["org_id"], 0)
        r["available"] = r["donations"] - r["disbursed"] - r["reserved"]
    return rows


def _fund_figures() -> list[dict[str, Any]]:
    stmt = (
        select(Fund, Organization.name)
        .join(Organization, Organization.id == Fund.org_id)
        .where(Organization.status == OrgStatus.VERIFIED.value)
        .order_by(Organization.name, Fund.id)
    )
    return [
        {
            "fund_id": fund.id,
            "org_name": org_name,
            "fund_name": fund.name,
            "kind": fund.kind_label,
            "donor_name": fund.donor_name or "",
            "donations": fund.donations_fen,
            "disbursed": fund.disbursed_fen,
            "reserved": fund.reserved_fen,
            "available": fund.available_fen,
        }
        for fund, org_name in db.session.execute(stmt).unique()
    ]


def _merge_months(
    published: list[dict[str, Any]], delivered: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    months: dict[str, dict[str, Any]] = {}
    zero_pub = {"needs": 0, PUB_N: 0, "requested": 0, "claimed": 0}
    zero_dlv = {"deliveries": 0, DLV_N: 0, "delivered": 0}
    for r in published:
        row = months.setdefault(r["month"], {"month": r["month"], **zero_dlv})
        row.update({k: r[k] for k in zero_pub})
    for r in delivered:
        row = months.setdefault(r["month"], {"month": r["month"], **zero_pub})
        row.update({k: r[k] for k in zero_dlv})
    for row in months.values():
        for k, v in {**zero_pub, **zero_dlv}.items():
            row.setdefault(k, v)
    return [months[m] for m in sorted(months)]


def figures() -> dict[str, Any]:  # noqa: C901, PLR0912 — one branch per published figure and its small-cell suppression
    """Every public figure, suppressed. Rows carry ``_hidden`` {family: kind}.
    Read from the summary tables (reports/figures.py)."""
    f = Filters()
    # Counts, and below the ``_hidden`` marks of the suppressed ones.
    totals: dict[str, Any] = summary_figures.totals(f)
    levels = summary_figures.by_region_levels(
        f, ("province", "city", "county"), public=True
    )
    types = summary_figures.by_need_type(f)
    published = summary_figures.published_by_month(f)
    months = _merge_months(published, summary_figures.delivered_by_month(f))
    orgs = _org_figures(summary_figures.households_reached_by_org())

    counts: dict[tuple, int] = {
        TOTAL[PUB]: totals[PUB_N],
        TOTAL[DLV]: totals[DLV_N],
    }
    groups: list[tuple[tuple, list[tuple]]] = []
    tables: dict[str, list[dict[str, Any]]] = {
        "region": [r for lvl in levels.values() for r in lvl],
        "type": types,
        "month": months,
    }
    keyfield = {"region": "region", "type": "need_type", "month": "month"}
    for name, rows in tables.items():
        for r in rows:
            for fam, nkey in ((PUB, PUB_N), (DLV, DLV_N)):
                counts[(name, r[keyfield[name]], fam)] = r[nkey]
    for fam in (PUB, DLV):
        groups.append((TOTAL[fam], [("type", r["need_type"], fam) for r in types]))
        groups.append((TOTAL[fam], [("month", r["month"], fam) for r in months]))
        groups.append(
            (TOTAL[fam], [("region", r["region"], fam) for r in levels["province"]])
        )
        for child, parent_len in (("city", 2), ("county", 4)):
            by_parent: dict[str, list[tuple]] = {}
            for r in levels[child]:
                key = ("region", r["region"], fam)
                by_parent.setdefault(r["region"][:parent_len], []).append(key)
            for parent, members in by_parent.items():
                groups.append((("region", parent, fam), members))
    for r in orgs:
        counts[("org", r["org_id"], DLV)] = r[DLV_N]
    groups.append((TOTAL[DLV], [("org", r["org_id"], DLV) for r in orgs]))

    hidden = suppress(counts, groups)

    def mark(name: str, key: Any, row: dict[str, Any]) -> None:
        row["_hidden"] = {
            fam: hidden[(name, key, fam)]
            for fam in (PUB, DLV)
            if (name, key, fam) in hidden
        }

    for name, rows in tables.items():
        for r in rows:
            mark(name, r[keyfield[name]], r)
    for r in orgs:
        mark("org", r["org_id"], r)
    totals["_hidden"] = {
        fam: hidden[TOTAL[fam]] for fam in (PUB, DLV) if TOTAL[fam] in hidden
    }

    region_rows = []
    for lvl in ("province", "city", "county"):
        for r in levels[lvl]:
            r["level"] = lvl
            r["name"] = region_label(r["region"])
    # Province, then its cities, each followed by its counties (code order).
    for r in sorted(
        tables["region"], key=lambda r: (r["region"].ljust(6, "0"), len(r["region"]))
    ):
        region_rows.append(r)
    for r in types:
        r["name"] = NEED_TYPE_LABELS.get(r["need_type"], r["need_type"])

    org_count = (
        db.session.scalar(
            select(func.count())
            .select_from(Organization)
            .where(Organization.status == OrgStatus.VERIFIED.value)
        )
        or 0
    )
    funds = _fund_figures()
    from charitylink.complaints import stats as complaint_stats

    return {
        "complaints": complaint_stats.figures(),
        "totals": totals,
        "orgs_verified": int(org_count),
        "funds_count": len(funds),
        "donations_total": sum(r["donations"] for r in funds),
        "by_region": region_rows,
        "by_need_type": types,
        "by_month": months,
        "orgs": orgs,
        "funds": funds,
    }


def _v(row: dict[str, Any], fam: str, value: Any) -> Any:
    return None if fam in row.get("_hidden", {}) else value


def _why(row: dict[str, Any]) -> dict[str, str]:
    return {
        fam: ("lt5" if kind == PRIMARY else "complementary")
        for fam, kind in row.get("_hidden", {}).items()
    }


def api_payload(fig: dict[str, Any]) -> dict[str, Any]:
    """The API's stats fields; suppressed figures are null, with the reason."""
    t = fig["totals"]

    def pub(row: dict[str, Any]) -> dict[str, Any]:
        return {
            "needs_published": _v(row, PUB, row["needs"]),
            "households": _v(row, PUB, row[PUB_N]),
            "amount_requested": _v(row, PUB, row["requested"]),
            "amount_claimed": _v(row, PUB, row["claimed"]),
            "households_reached": _v(row, DLV, row[DLV_N]),
            "amount_delivered": _v(row, DLV, row["delivered"]),
            "suppressed": _why(row),
        }

    return {
        "needs_published": _v(t, PUB, t["needs"]),
        "needs_fully_claimed": _v(t, PUB, t["fully_claimed"]),
        "households_reached": _v(t, DLV, t[DLV_N]),
        "amount_requested": _v(t, PUB, t["requested"]),
        "amount_claimed": _v(t, PUB, t["claimed"]),
        "amount_delivered": _v(t, DLV, t["delivered"]),
        "amount_confirmed": _v(t, DLV, t["confirmed"]),
        "orgs_verified": fig["orgs_verified"],
        "funds": fig["funds_count"],
        "donations_total": fig["donations_total"],
        "suppressed": _why(t),
        "by_region": [
            {
                "region_code": pad(r["region"]),
                "region_name": str(r["name"]),
                "level": r["level"],
                **pub(r),
            }
            for r in fig["by_region"]
        ],
        "by_need_type": [
            {"need_type": r["need_type"], **pub(r)} for r in fig["by_need_type"]
        ],
        "by_month": [
            {
                "month": r["month"],
                "needs_published": _v(r, PUB, r["needs"]),
                "households": _v(r, PUB, r[PUB_N]),
                "amount_requested": _v(r, PUB, r["requested"]),
                "deliveries": _v(r, DLV, r["deliveries"]),
                "households_reached": _v(r, DLV, r[DLV_N]),
                "amount_delivered": _v(r, DLV, r["delivered"]),
                "suppressed": _why(r),
            }
            for r in fig["by_month"]
        ],
        **_complaints_payload(fig["complaints"]),
        "suppression": {
            "threshold_households": 5,
            "note": _(
                "少于5户的单元格不公开（null），可由合计推算出的单元格一并不公开。"
            ),
        },
    }


def _complaints_payload(c: dict[str, Any]) -> dict[str, Any]:
    t = c["totals"]
    return {
        "complaints_received": t["received"],
        "complaints_resolved": t["resolved"],
        "complaints_founded": t["founded"],
        "median_days_to_resolve": t["median_days"],
        "complaints_by_month": [
            {
                "month": r["month"],
                "complaints_received": r["received"],
                "complaints_resolved": r["resolved"],
                "complaints_founded": r["founded"],
                "median_days_to_resolve": r["median_days"],
            }
            for r in c["by_month"]
        ],
    }


def tables(fig: dict[str, Any]) -> dict[str, Table]:
    """The transparency page's tables (the same objects feed the exports)."""
    pub_cols = [
        Column("needs", N_("发布需求数"), "int", PUB),
        Column(PUB_N, N_("涉及户数"), "int", PUB),
        Column("requested", N_("需求金额"), "fen", PUB),
        Column("claimed", N_("已认领金额"), "fen", PUB),
        Column(DLV_N, N_("已帮扶户数"), "int", DLV),
        Column("delivered", N_("已交付金额"), "fen", DLV),
    ]
    t = dict(fig["totals"])
    t["name"] = _("合计")
    t["region"] = ""
    t["level"] = "total"
    return {
        "totals": Table(
            "totals",
            _("总体情况"),
            [
                Column("name", N_("项目")),
                *pub_cols,
                Column("confirmed", N_("已回访确认金额"), "fen", DLV),
            ],
            [t],
        ),
        "by_region": Table(
            "by_region",
            _("按地区"),
            [Column("name", N_("地区")), *pub_cols],
            fig["by_region"],
            note=_("按公开地区统计：需求所在区县；区县内公开需求不足5条时合并到市。"),
            emphasis_key="level",
        ),
        "by_need_type": Table(
            "by_need_type",
            _("按需求类型"),
            [Column("name", N_("需求类型")), *pub_cols],
            fig["by_need_type"],
        ),
        "by_month": Table(
            "by_month",
            _("按月份"),
            [
                Column("month", N_("月份")),
                Column("needs", N_("发布需求数"), "int", PUB),
                Column(PUB_N, N_("涉及户数"), "int", PUB),
                Column("requested", N_("需求金额"), "fen", PUB),
                Column("deliveries", N_("交付笔数"), "int", DLV),
                Column(DLV_N, N_("已帮扶户数"), "int", DLV),
                Column("delivered", N_("交付金额"), "fen", DLV),
            ],
            fig["by_month"],
            note=_("发布按需求发布月份统计；交付按实际交付日期统计。"),
        ),
        "orgs": Table(
            "orgs",
            _("各慈善组织"),
            [
                Column("org_name", N_("机构")),
                Column("funds", N_("基金数"), "int"),
                Column("donations", N_("累计捐赠"), "fen"),
                Column("disbursed", N_("已支出"), "fen"),
                Column("reserved", N_("认领预留"), "fen"),
                Column("available", N_("可用余额"), "fen"),
                Column(DLV_N, N_("已帮扶户数"), "int", DLV),
            ],
            fig["orgs"],
            note=_("资金数据来自各基金账本（公开信息）；帮扶户数不足5户的不公开。"),
        ),
        "funds": Table(
            "funds",
            _("各基金"),
            [
                Column("org_name", N_("机构")),
                Column("fund_name", N_("基金")),
                Column("kind", N_("类型")),
                Column("donor_name", N_("冠名方")),
                Column("donations", N_("累计捐赠"), "fen"),
                Column("disbursed", N_("已支出"), "fen"),
                Column("reserved", N_("认领预留"), "fen"),
                Column("available", N_("可用余额"), "fen"),
            ],
            fig["funds"],
        ),
        "complaints": Table(
            "complaints",
            _("举报受理情况（按月）"),
            [
                Column("month", N_("月份")),
                Column("received", N_("收到举报"), "int"),
                Column("resolved", N_("办结"), "int"),
                Column("founded", N_("经核查属实"), "int"),
                Column("median_days", N_("办结用时中位数（天）"), "days"),
            ],
            fig["complaints"]["by_month"],
            note=_("收到按提交月份统计；办结、属实和用时按办结月份统计。"),
        ),
    }
