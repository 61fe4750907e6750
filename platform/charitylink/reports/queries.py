"""Aggregate SQL behind the moderator dashboard and the transparency page.

Every figure is computed by the database over the tables (``needs``, ``claims``,
``organizations``, ``funds``), never by loading objects, so the pages stay fast at
100,000 needs (``bench/reports.py``). All functions run on SQLite and PostgreSQL;
the two places that need dialect-specific SQL (JSON arrays, date differences)
say so.

Definitions (docs/reports.md repeats them for readers of the reports):
- a need counts once it has been published (``published_at`` set), whatever its
  status now; the period filter selects needs by ``published_at``;
- claimed = reserved amounts of open claims + delivered amounts of delivered or
  confirmed claims; delivered = delivered amounts of delivered or confirmed
  claims; confirmed = delivered amounts of confirmed claims;
- a household is a distinct ``household_key``; reached = has a need with a
  delivered or confirmed claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    String,
    and_,
    case,
    cast,
    distinct,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.sql.elements import ColumnElement

from charitylink.claims.models import Claim, ClaimStatus
from charitylink.core.timeutil import CHINA
from charitylink.extensions import db
from charitylink.needs.models import Need, NeedStatus
from charitylink.orgs.models import Organization

DONE = (ClaimStatus.DELIVERED.value, ClaimStatus.CONFIRMED.value)
OPEN = (ClaimStatus.RESERVED.value,)
FULL = (
    NeedStatus.FULLY_CLAIMED.value,
    NeedStatus.DELIVERED.value,
    NeedStatus.CONFIRMED.value,
)
LEVEL_LENGTH = {"province": 2, "city": 4, "county": 6}
NEAR_EXPIRY_DAYS = 7
LIST_LIMIT = 200


@dataclass(frozen=True)
class Filters:
    """What a report covers. ``prefix`` None means every region."""

    prefix: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    level: str = "county"

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The period as naive UTC datetimes, [start, end): dates are China days."""
        start = end = None
        if self.date_from:
            start = _utc_naive(datetime.combine(self.date_from, time(), CHINA))
        if self.date_to:
            nxt = self.date_to + timedelta(days=1)
            end = _utc_naive(datetime.combine(nxt, time(), CHINA))
        return start, end


def _utc_naive(value: datetime) -> datetime:
    from datetime import UTC

    return value.astimezone(UTC).replace(tzinfo=None)


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _month(col: Any) -> ColumnElement[str]:
    # 'YYYY-MM' from a date or timestamp: the text form starts with it on both
    # SQLite (stored as text) and PostgreSQL (ISO DateStyle).
    return func.substr(cast(col, String), 1, 7)


def need_conditions(
    f: Filters, region_col: Any = None, published_only: bool = True
) -> list[ColumnElement[bool]]:
    region_col = Need.region_code if region_col is None else region_col
    conds: list[ColumnElement[bool]] = []
    if published_only:
        conds.append(Need.published_at.is_not(None))
    if f.prefix:
        conds.append(in_prefix(region_col, f.prefix))
    start, end = f.bounds()
    if start is not None:
        conds.append(Need.published_at >= start)
    if end is not None:
        conds.append(Need.published_at < end)
    return conds


def in_prefix(col: Any, prefix: str) -> ColumnElement[bool]:
    """Codes under a region prefix, as a range an index serves (a LIKE 'x%'
    does not on SQLite). Codes are digits only, so any collation orders them."""
    return and_(col >= prefix, col <= prefix + "9" * (12 - len(prefix)))


def _need_measures(households: bool) -> list[Any]:
    """Measures over the needs alone. Claimed and delivered are the need's own
    counters, which the claims service keeps equal to the sums over its claims
    in the same guarded UPDATE (rule 1): reading them spares a join with claims.
    A household is reached when one of its needs has a delivered amount."""
    cols = [
        func.count(Need.id).label("needs"),
        func.sum(case((Need.status.in_(FULL), 1), else_=0)).label("fully_claimed"),
        func.sum(Need.amount_fen).label("requested"),
        func.sum(Need.claimed_fen).label("claimed"),
        func.sum(Need.delivered_fen).label("delivered"),
    ]
    if households:
        cols += [
            func.count(distinct(Need.household_key)).label("households"),
            func.count(
                distinct(case((Need.delivered_fen > 0, Need.household_key)))
            ).label("households_reached"),
        ]
    return cols


MEASURES = (
    "needs",
    "fully_claimed",
    "requested",
    "claimed",
    "delivered",
    "households",
    "households_reached",
)


def _rows(stmt: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in db.session.execute(stmt)]


def _ints(row: dict[str, Any]) -> dict[str, Any]:
    # PostgreSQL returns SUM() of BIGINT as Decimal: amounts are whole fen.
    return {
        k: (int(v) if isinstance(v, int | Decimal) and not isinstance(v, bool) else v)
        for k, v in row.items()
    }


def grouped(
    f: Filters,
    keys: list[Any],
    region_col: Any = None,
    published_only: bool = True,
    households: bool = True,
) -> list[dict[str, Any]]:
    """The need measures grouped by ``keys`` (labelled column expressions), read
    from the covering index ``ix_needs_report``. Distinct household counts cost
    a sort each: ask for them only where they are shown."""
    conds = need_conditions(f, region_col, published_only)
    stmt = select(*keys, *_need_measures(households)).where(*conds)
    if keys:
        stmt = stmt.group_by(*keys).order_by(*keys)
    out = []
    for row in _rows(stmt):
        for m in MEASURES:
            if m in row:
                row[m] = int(row[m] or 0)
        out.append(row)
    return out


def totals(f: Filters, region_col: Any = None) -> dict[str, int]:
    """The headline figures, with the confirmed amount summed over the claims."""
    row = grouped(f, [], region_col)[0]
    confirmed = db.session.scalar(
        select(func.sum(func.coalesce(Claim.delivered_fen, 0)))
        .select_from(Claim)
        .join(Need, Need.id == Claim.need_id)
        .where(
            Claim.status == ClaimStatus.CONFIRMED.value,
            *need_conditions(f, region_col),
        )
    )
    row["confirmed"] = int(confirmed or 0)
    return row


def rollup(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Sum additive measures of ``rows`` by one of their keys (no households)."""
    out: dict[Any, dict[str, Any]] = {}
    for r in rows:
        acc = out.setdefault(r[key], {key: r[key]})
        for m in ("needs", "fully_claimed", "requested", "claimed", "delivered"):
            acc[m] = acc.get(m, 0) + r[m]
    return [out[k] for k in sorted(out, key=str)]


def matrix(f: Filters) -> list[dict[str, Any]]:
    """Category × need type × status. Without a period, unpublished needs (drafts,
    submitted, rejected) are included; a period selects by publication."""
    has_period = f.date_from is not None or f.date_to is not None
    return grouped(
        f,
        [
            Need.category.label("category"),
            Need.need_type.label("need_type"),
            Need.status.label("status"),
        ],
        published_only=has_period,
        households=False,
    )


UNPUBLISHED = (
    NeedStatus.DRAFT.value,
    NeedStatus.SUBMITTED.value,
    NeedStatus.REJECTED.value,
)


def published_rows(matrix_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The matrix rows of needs that were published (the statuses a need
    reaches only through publication), for rolling up without another query."""
    return [r for r in matrix_rows if r["status"] not in UNPUBLISHED]


def by_need_type(f: Filters, households: bool = True) -> list[dict[str, Any]]:
    return grouped(f, [Need.need_type.label("need_type")], households=households)


def by_region(
    f: Filters, level: str | None = None, region_col: Any = None
) -> list[dict[str, Any]]:
    region_col = Need.region_code if region_col is None else region_col
    length = LEVEL_LENGTH[level or f.level]
    key = func.substr(region_col, 1, length).label("region")
    return grouped(f, [key], region_col)


def published_by_month(
    f: Filters, region_col: Any = None, households: bool = True
) -> list[dict[str, Any]]:
    return grouped(
        f, [_month(Need.published_at).label("month")], region_col, households=households
    )


def delivered_by_month(f: Filters, region_col: Any = None) -> list[dict[str, Any]]:
    """Deliveries by the month they were made (``delivered_on``); the period
    selects deliveries by that date, the region by the need's region."""
    region_col = Need.region_code if region_col is None else region_col
    month = _month(Claim.delivered_on).label("month")
    conds: list[Any] = [Claim.status.in_(DONE), Claim.delivered_on.is_not(None)]
    if f.prefix:
        conds.append(in_prefix(region_col, f.prefix))
    if f.date_from:
        conds.append(Claim.delivered_on >= f.date_from)
    if f.date_to:
        conds.append(Claim.delivered_on <= f.date_to)
    stmt = (
        select(
            month,
            func.count(Claim.id).label("deliveries"),
            func.count(distinct(Need.household_key)).label("households_reached"),
            func.coalesce(func.sum(func.coalesce(Claim.delivered_fen, 0)), 0).label(
                "delivered"
            ),
        )
        .select_from(Claim)
        .join(Need, Need.id == Claim.need_id)
        .where(*conds)
        .group_by(month)
        .order_by(month)
    )
    return [_ints(r) for r in _rows(stmt)]


def _claim_period(f: Filters) -> list[Any]:
    conds: list[Any] = []
    if f.prefix:
        conds.append(in_prefix(Need.region_code, f.prefix))
    start, end = f.bounds()
    if start is not None:
        conds.append(Claim.created_at >= start)
    if end is not None:
        conds.append(Claim.created_at < end)
    return conds


def org_activity(f: Filters) -> list[dict[str, Any]]:
    """Per org: its claims on needs of the region, made in the period."""
    delivered = func.coalesce(Claim.delivered_fen, 0)
    delivered_sum = func.sum(case((Claim.status.in_(DONE), delivered), else_=0))
    stmt = (
        select(
            Claim.org_id.label("org_id"),
            func.count(Claim.id).label("claims"),
            func.sum(case((Claim.status.in_(OPEN), 1), else_=0)).label("open"),
            func.sum(case((Claim.status.in_(DONE), 1), else_=0)).label("deliveries"),
            func.sum(
                case((Claim.status.in_(("cancelled", "expired")), 1), else_=0)
            ).label("lapsed"),
            func.sum(
                case(
                    (Claim.status.in_(OPEN), Claim.amount_fen),
                    (Claim.status.in_(DONE), delivered),
                    else_=0,
                )
            ).label("claimed"),
            delivered_sum.label("delivered"),
            func.sum(
                case((Claim.status == ClaimStatus.CONFIRMED.value, delivered), else_=0)
            ).label("confirmed"),
        )
        .where(*_claim_period(f))
        .group_by(Claim.org_id)
    )
    if f.prefix:
        # Only then are the needs' regions read.
        stmt = stmt.join(Need, Need.id == Claim.need_id)
    rows = [_ints(r) for r in _rows(stmt)]
    names = dict(
        db.session.execute(
            select(Organization.id, Organization.name).where(
                Organization.id.in_([r["org_id"] for r in rows])
            )
        ).all()
    )
    for r in rows:
        r["org_name"] = names.get(r["org_id"], "")
    rows.sort(key=lambda r: (-r["delivered"], r["org_name"]))
    return rows


def expiring_claims(f: Filters, today: date) -> dict[str, Any]:
    """Open claims due within 7 days, and overdue ones (current state; the period
    does not apply)."""
    horizon = today + timedelta(days=NEAR_EXPIRY_DAYS)
    base = [Claim.status.in_(OPEN), Claim.due_on <= horizon]
    if f.prefix:
        base.append(in_prefix(Need.region_code, f.prefix))
    counts = _rows(
        select(
            func.sum(case((Claim.due_on < today, 1), else_=0)).label("overdue"),
            func.sum(case((Claim.due_on >= today, 1), else_=0)).label("due_soon"),
        )
        .select_from(Claim)
        .join(Need, Need.id == Claim.need_id)
        .where(*base)
    )[0]
    rows = _rows(
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
    start = _utc_naive(datetime.combine(end_day - timedelta(days=365), time(), CHINA))
    end = _utc_naive(datetime.combine(end_day + timedelta(days=1), time(), CHINA))
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
    groups = _rows(
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
    if _dialect() == "postgresql":
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
    if _dialect() == "postgresql":
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
    rows = [_ints(r) for r in _rows(text(sql).bindparams(**params))]
    rows = [r for r in rows if r["households"]]
    for r in rows:
        r["reached"] = int(r["reached"] or 0)
    rows.sort(key=lambda r: (r["type"] == "none", -r["households"], str(r["type"])))
    return rows


def public_region_hierarchy() -> dict[str, list[dict[str, Any]]]:
    """Published needs by public region (county, or the city for coarsened
    needs), with city and province subtotals — for the transparency page."""
    f = Filters()
    col = Need.public_region_code
    return {
        level: by_region(f, level, region_col=col)
        for level in ("province", "city", "county")
    }
