"""The moderator's watch lists and the assistance link: claims near expiry,
households helped more than once, time to full claim, and how charity adds to
the government assistance households already receive. Same conventions as
``queries`` (which see)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import case, distinct, func, or_, select, text

from charitylink.claims.models import Claim
from charitylink.core.timeutil import CHINA
from charitylink.extensions import db
from charitylink.needs.models import Need
from charitylink.orgs.models import Organization
from charitylink.reports.queries import (
    DONE,
    LIST_LIMIT,
    NEAR_EXPIRY_DAYS,
    OPEN,
    Filters,
    as_ints,
    dialect,
    in_prefix,
    need_conditions,
    rows_of,
    utc_naive,
)


def expiring_claims(f: Filters, today: date) -> dict[str, Any]:
    """Open claims due within 7 days, and overdue ones (current state; the period
    does not apply)."""
    horizon = today + timedelta(days=NEAR_EXPIRY_DAYS)
    base = [Claim.status.in_(OPEN), Claim.due_on <= horizon]
    if f.prefix:
        base.append(in_prefix(Need.region_code, f.prefix))
    counts = rows_of(
        select(
            func.sum(case((Claim.due_on < today, 1), else_=0)).label("overdue"),
            func.sum(case((Claim.due_on >= today, 1), else_=0)).label("due_soon"),
        )
        .select_from(Claim)
        .join(Need, Need.id == Claim.need_id)
        .where(*base)
    )[0]
    rows = rows_of(
        select(
            Claim.id.label("claim_id"),
            Need.code.label("need_code"),
            Organization.name.label("org_name"),
            Claim.amount_fen.label("amount"),
            Claim.due_on.label("due_on"),
        )
        .select_from(Claim)
        .join(Need, Need.id == Claim.need_id)
        .join(Organization, Organization.id == Claim.org_id)
        .where(*base)
        .order_by(Claim.due_on, Claim.id)
        .limit(LIST_LIMIT)
    )
    for r in rows:
        r["days_left"] = (r["due_on"] - today).days
        r["overdue"] = r["days_left"] < 0
    return {
        "overdue": int(counts["overdue"] or 0),
        "due_soon": int(counts["due_soon"] or 0),
        "rows": rows,
    }


def repeated_help(f: Filters, today: date) -> dict[str, Any]:
    """Households (by household key) with active claims from at least two orgs or
    on at least two needs within the 12 months ending on ``f.date_to`` or today.
    Returned rows carry counts and need codes only — never the key itself."""
    end_day = f.date_to or today
    start = utc_naive(datetime.combine(end_day - timedelta(days=365), time(), CHINA))
    end = utc_naive(datetime.combine(end_day + timedelta(days=1), time(), CHINA))
    conds = [
        Claim.status.in_(OPEN + DONE),
        Claim.created_at >= start,
        Claim.created_at < end,
    ]
    if f.prefix:
        conds.append(in_prefix(Need.region_code, f.prefix))
    orgs = func.count(distinct(Claim.org_id))
    needs = func.count(distinct(Claim.need_id))
    amount = func.sum(
        case(
            (Claim.status.in_(OPEN), Claim.amount_fen),
            else_=func.coalesce(Claim.delivered_fen, 0),
        )
    )
    groups = rows_of(
        select(
            Need.household_key.label("hk"),
            orgs.label("orgs"),
            needs.label("needs"),
            func.count(Claim.id).label("claims"),
            amount.label("amount"),
        )
        .select_from(Claim)
        .join(Need, Need.id == Claim.need_id)
        .where(*conds)
        .group_by(Need.household_key)
        .having(or_(orgs >= 2, needs >= 2))
        .order_by(orgs.desc(), needs.desc(), amount.desc())
    )
    shown = groups[:LIST_LIMIT]
    codes: dict[str, set[str]] = {g["hk"]: set() for g in shown}
    if codes:
        for hk, code in db.session.execute(
            select(Need.household_key, Need.code)
            .join(Claim, Claim.need_id == Need.id)
            .where(*conds, Need.household_key.in_(list(codes)))
        ):
            codes[hk].add(code)
    rows = [
        {
            "household": i,
            "orgs": int(g["orgs"]),
            "needs": int(g["needs"]),
            "claims": int(g["claims"]),
            "amount": int(g["amount"] or 0),
            "need_codes": "、".join(sorted(codes[g["hk"]])),
        }
        for i, g in enumerate(shown, start=1)
    ]
    return {"count": len(groups), "rows": rows, "since": end_day - timedelta(365)}


def _percentile(sorted_xs: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (as PostgreSQL's percentile_cont)."""
    if not sorted_xs:
        return None
    pos = p * (len(sorted_xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


def time_to_full_claim(f: Filters) -> dict[str, Any]:
    """Days from publication to full claim: median and 90th percentile, overall
    and per need type. The durations (one float per need) come from the database
    and the percentiles are computed here, identically on both databases."""
    if dialect() == "postgresql":
        days = func.extract("epoch", Need.fully_claimed_at - Need.published_at) / 86400
    else:
        days = func.julianday(Need.fully_claimed_at) - func.julianday(Need.published_at)
    conds = [
        *need_conditions(f),
        Need.fully_claimed_at.is_not(None),
        Need.fully_claimed_at >= Need.published_at,
    ]
    per_type: dict[str, list[float]] = {}
    every: list[float] = []
    for need_type, d in db.session.execute(select(Need.need_type, days).where(*conds)):
        value = float(d or 0)
        every.append(value)
        per_type.setdefault(need_type, []).append(value)

    def summary(xs: list[float]) -> dict[str, Any]:
        xs.sort()
        return {
            "count": len(xs),
            "median": _percentile(xs, 0.5),
            "p90": _percentile(xs, 0.9),
        }

    return {
        "overall": summary(every),
        "by_need_type": [
            {"need_type": t, **summary(xs)} for t, xs in sorted(per_type.items())
        ],
    }


def assistance_link(f: Filters) -> list[dict[str, Any]]:
    """The link to government assistance, per assistance type (and "none"):
    households, their monthly assistance (per household the largest amount it
    reported for that type, summed), how many were reached and the charity
    delivered to them (all their needs in the selection).

    JSON arrays are unnested with ``json_each`` (SQLite) or
    ``json_array_elements`` (PostgreSQL)."""
    params: dict[str, Any] = {}
    where = ["n.published_at IS NOT NULL"]
    if f.prefix:
        where.append("n.region_code BETWEEN :lo AND :hi")
        params["lo"] = f.prefix
        params["hi"] = f.prefix + "9" * (12 - len(f.prefix))
    start, end = f.bounds()
    if start is not None:
        where.append("n.published_at >= :start")
        params["start"] = start
    if end is not None:
        where.append("n.published_at < :end")
        params["end"] = end
    if dialect() == "postgresql":
        unnest = (
            "SELECT s.hk, j.value ->> 'type' AS t, "
            "COALESCE((j.value ->> 'monthly_amount')::bigint, 0) AS m "
            "FROM scoped s CROSS JOIN LATERAL json_array_elements("
            "CASE WHEN json_typeof(s.ga) = 'array' THEN s.ga ELSE '[]'::json END"
            ") AS j(value)"
        )
        length = "CASE WHEN json_typeof(ga) = 'array' THEN json_array_length(ga) END"
    else:
        unnest = (
            "SELECT s.hk, json_extract(j.value, '$.type') AS t, "
            "COALESCE(CAST(json_extract(j.value, '$.monthly_amount') AS INTEGER), 0)"
            " AS m FROM scoped s, json_each(s.ga) j"
        )
        length = "json_array_length(ga)"
    # Per household: charity delivered (the needs' delivered counters) and
    # whether any need lists assistance; per (household, type): the largest
    # monthly amount.
    sql = f"""
    WITH scoped AS (
        SELECT n.household_key AS hk, n.gov_assistance AS ga, n.delivered_fen AS d
        FROM needs n WHERE {" AND ".join(where)}
    ),
    hh AS (
        SELECT hk, SUM(d) AS d,
               MAX(CASE WHEN COALESCE({length}, 0) > 0 THEN 1 ELSE 0 END) AS has
        FROM scoped GROUP BY hk
    ),
    ga AS (SELECT hk, t, MAX(m) AS m FROM ({unnest}) x GROUP BY hk, t)
    SELECT ga.t AS type, COUNT(*) AS households, SUM(ga.m) AS monthly,
           SUM(CASE WHEN hh.d > 0 THEN 1 ELSE 0 END) AS reached,
           COALESCE(SUM(hh.d), 0) AS delivered
    FROM ga JOIN hh ON hh.hk = ga.hk GROUP BY ga.t
    UNION ALL
    SELECT 'none' AS type, COUNT(*) AS households, 0 AS monthly,
           SUM(CASE WHEN d > 0 THEN 1 ELSE 0 END) AS reached,
           COALESCE(SUM(d), 0) AS delivered
    FROM hh WHERE has = 0
    """
    rows = [as_ints(r) for r in rows_of(text(sql).bindparams(**params))]
    rows = [r for r in rows if r["households"]]
    for r in rows:
        r["reached"] = int(r["reached"] or 0)
    rows.sort(key=lambda r: (r["type"] == "none", -r["households"], str(r["type"])))
    return rows
