"""The moderator's watch lists and the assistance link: claims near expiry,
households helped more than once, time to full claim, and how charity adds to
the government assistance households already receive. Same conventions as
``queries`` (which see)."""

from __future__ import annotations

import json
import threading
from datetime import date, datetime, time, timedelta
from operator import itemgetter
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, case, distinct, func, or_, select, text

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
    by_region_first,
    dialect,
    in_prefix,
    need_conditions,
    raw_rows,
    rows_of,
    utc_naive,
)

_store_lock = threading.Lock()


def expiring_claims(f: Filters, today: date) -> dict[str, Any]:
    """Open claims due within 7 days, and overdue ones (current state; the period
    does not apply)."""
    horizon = today + timedelta(days=NEAR_EXPIRY_DAYS)
    # Open claims are few per county, many per city: start from a county's
    # needs, from the claims otherwise.
    status = by_region_first(f, Claim.status, period=False, min_len=6)
    base = [status.in_(OPEN), by_region_first(f, Claim.due_on, False, 6) <= horizon]
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
    created = by_region_first(f, Claim.created_at, period=False)
    conds = [
        by_region_first(f, Claim.status, period=False).in_(OPEN + DONE),
        created >= start,
        created < end,
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
    # One float per fully claimed need: read as plain driver rows.
    for need_type, d in raw_rows(select(Need.need_type, days).where(*conds)):
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

    One narrow read of the needs in the selection (id, household, delivered
    counter — the covering index) and the sums here. The assistance lists are
    parsed once per process and kept by need: a published need's list never
    changes (the needs service edits drafts and rejected needs only), so after
    a data change only newly published needs are read and parsed again.

    On PostgreSQL the whole computation stays in the server (one query, JSON
    unnested there): moving it into the app cost more app CPU than it saved
    server time on the shared benchmark machine."""
    if dialect() == "postgresql":
        return _assistance_in_postgresql(f)
    where, params = _need_where(f)
    rows = raw_rows(
        text(
            f"SELECT n.id, n.household_key, n.delivered_fen FROM needs n WHERE {where}"
        ).bindparams(**params)
    )
    parsed = _assistance_lists(f, rows)
    delivered: dict[str, int] = dict.fromkeys(map(itemgetter(1), rows), 0)
    has: set[str] = set()
    monthly: dict[tuple[str, Any], int] = {}
    for need_id, hk, d in rows:
        if d:
            delivered[hk] += d
        entries = parsed[need_id]
        if entries:
            has.add(hk)
            for t, m in entries:
                key = (hk, t)
                if m > monthly.get(key, -1):
                    monthly[key] = m
    out: dict[Any, dict[str, Any]] = {}
    for (hk, t), m in monthly.items():
        r = out.get(t)
        if r is None:
            r = out[t] = {
                "type": t,
                "households": 0,
                "monthly": 0,
                "reached": 0,
                "delivered": 0,
            }
        d = int(delivered[hk])
        r["households"] += 1
        r["monthly"] += m
        r["reached"] += d > 0
        r["delivered"] += d
    none = {"type": "none", "households": 0, "monthly": 0, "reached": 0}
    none["delivered"] = 0
    for hk, d in delivered.items():
        d = int(d)
        if hk not in has:
            none["households"] += 1
            none["reached"] += d > 0
            none["delivered"] += d
    result = [r for r in [*out.values(), none] if r["households"]]
    result.sort(key=lambda r: (r["type"] == "none", -r["households"], str(r["type"])))
    return result


def _assistance_in_postgresql(f: Filters) -> list[dict[str, Any]]:
    """``assistance_link`` as one PostgreSQL query: per household the delivered
    counters summed and whether any need lists assistance; per (household,
    type) the largest monthly amount."""
    where, params = _need_where(f)
    sql = f"""
    WITH scoped AS (
        SELECT n.household_key AS hk, n.gov_assistance AS ga, n.delivered_fen AS d
        FROM needs n WHERE {where}
    ),
    hh AS (
        SELECT hk, SUM(d) AS d,
               MAX(CASE WHEN COALESCE(CASE WHEN json_typeof(ga) = 'array'
                   THEN json_array_length(ga) END, 0) > 0 THEN 1 ELSE 0 END) AS has
        FROM scoped GROUP BY hk
    ),
    ga AS (
        SELECT s.hk, j.value ->> 'type' AS t,
               MAX(COALESCE((j.value ->> 'monthly_amount')::bigint, 0)) AS m
        FROM scoped s CROSS JOIN LATERAL json_array_elements(
            CASE WHEN json_typeof(s.ga) = 'array' THEN s.ga ELSE '[]'::json END
        ) AS j(value)
        GROUP BY s.hk, j.value ->> 'type'
    )
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


def _need_where(f: Filters) -> tuple[str, dict[str, Any]]:
    """The selection of published needs as SQL text over ``needs n``."""
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
    return " AND ".join(where), params


# Reading the assistance lists of at most this many needs by id; more, and the
# whole selection is read in one pass.
_BY_ID_LIMIT = 2000
_CHUNK = 500


def _assistance_lists(
    f: Filters, rows: list[Any]
) -> dict[int, tuple[tuple[Any, int], ...]]:
    """need id → ((type, monthly amount), ...), from the per-process store,
    reading only the needs it does not hold yet (needs are never deleted, so
    an id always names the same need)."""
    store: dict[int, tuple[tuple[Any, int], ...]] = current_app.extensions.setdefault(
        "reports_assistance", {}
    )
    missing = [r[0] for r in rows if r[0] not in store]
    if not missing:
        return store
    if len(missing) > _BY_ID_LIMIT:
        where, params = _need_where(f)
        fetched = db.session.execute(
            text(
                f"SELECT n.id, n.gov_assistance FROM needs n WHERE {where}"
            ).bindparams(**params)
        ).all()
    else:
        fetched = []
        ids = missing
        for k in range(0, len(ids), _CHUNK):
            fetched += raw_rows(
                text(
                    "SELECT n.id, n.gov_assistance FROM needs n WHERE n.id IN :ids"
                ).bindparams(bindparam("ids", ids[k : k + _CHUNK], expanding=True))
            )
    with _store_lock:
        for need_id, raw in fetched:
            store[need_id] = _parse_assistance(raw)
    return store


_EMPTY: tuple[tuple[Any, int], ...] = ()


def _parse_assistance(raw: Any) -> tuple[tuple[Any, int], ...]:
    """A need's assistance list as (type, monthly amount) pairs. SQLite hands
    the JSON over as text, PostgreSQL (psycopg) already decoded."""
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except ValueError:
            return _EMPTY
    if not isinstance(raw, list) or not raw:
        return _EMPTY
    out = []
    for e in raw:
        if isinstance(e, dict):
            out.append((e.get("type"), int(e.get("monthly_amount") or 0)))
        else:
            out.append((None, 0))
    return tuple(out)
