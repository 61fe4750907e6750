"""Report figures read from the summary tables (reports/summary.py).

Definitions are those of ``queries`` (which see). A cut is a region prefix (the
need's true county, or for the public figures the public region) and a period
of China days. A cut whose region is every region, a province, a city or a
county reads its own scope's rows: over all time the scope rows, with a period
the scope rows per day (distinct households from each household's chain of
days). Any other cut reads the cells: whole months from the month rows, the
days of a partly covered month from the day rows, households as exact
distinct counts over the household cells.

Two lists read the base rows instead, each bounded by its own selection: the
claims due within a week (the current state) and repeated help (claims of
twelve months). The days to full claim (a median needs values, not sums) count
per whole day from the scope rows and then read the values of the one or two
days each rank falls in; a period's cut months add the needs published on
their days.
"""

from __future__ import annotations

import json
from calendar import monthrange
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select

from charitylink.claims.models import Claim, ClaimStatus
from charitylink.core.timeutil import CHINA
from charitylink.extensions import db
from charitylink.needs.models import Need
from charitylink.orgs.models import Organization
from charitylink.reports.queries import (
    DONE,
    FULL,
    LEVEL_LENGTH,
    LIST_LIMIT,
    NEAR_EXPIRY_DAYS,
    OPEN,
    Filters,
    utc_naive,
)
from charitylink.reports.summary import (
    ALL_TYPES,
    ASSISTANCE_CELLS,
    CLAIM_CELLS,
    DELIVERY_CELLS,
    HOUSEHOLD_CELLS,
    NEED_CELLS,
    ORG_HOUSEHOLDS,
    PERIOD_ASSISTANCE,
    SCOPE_DURATIONS,
    SCOPE_SUMS,
    SPEED_DEPTHS,
    _measures,
)
from charitylink.reports.summary import time_to_full_claim as duration_micros

N, H, S = NEED_CELLS.c, HOUSEHOLD_CELLS.c, SCOPE_SUMS.c


# --- all-time cuts: the scope rows ------------------------------------------------
#
# A cut without a period whose region is every region, a province, a city or a
# county reads the rows of its own scope (summary.SCOPE_SUMS): a few hundred
# at most, whatever the number of needs. Any other cut (a period) reads the
# cells below.


def _scope(f: Filters) -> tuple[int, str] | None:
    """The scope (depth, code) an all-time cut reads, or None."""
    if f.date_from is not None or f.date_to is not None:
        return None
    prefix = f.prefix or ""
    if len(prefix) not in (0, 2, 4, 6):
        return None
    return len(prefix), prefix


_SUMS = ("needs", "fully_claimed", "requested", "claimed", "delivered")

# --- cuts with a period: the scope rows per day ------------------------------------
#
# A cut with a period whose region is a scope adds up the rows of the days it
# covers (facets D, C, B, M) and counts its distinct households from the F rows
# (summary.py): a few hundred to a few thousand rows, whatever the number of
# needs. ``DAY_ROWS`` False reads the cells instead, and the days to full
# claim of a period from every fully claimed need of the period (the tests
# compare both).
DAY_ROWS = True


def _period_scope(f: Filters) -> tuple[int, str, str, str | None] | None:
    """(depth, code, first day, last day) of a cut with a period read from
    the day rows, or None."""
    if not DAY_ROWS or (f.date_from is None and f.date_to is None):
        return None
    prefix = f.prefix or ""
    if len(prefix) not in (0, 2, 4, 6):
        return None
    lo = f.date_from.isoformat() if f.date_from is not None else ""
    hi = f.date_to.isoformat() if f.date_to is not None else None
    return len(prefix), prefix, lo, hi


def _day_where(
    facet: str, depth: int, code: str | None, under: str, lo: str, hi: str | None
) -> list[Any]:
    """The rows of ``facet`` for the days [lo, hi]: of the scope ``code``, or
    of every scope of ``depth`` under ``under``."""
    where = [S.basis == "r", S.depth == depth, S.facet == facet, S.item >= lo]
    if hi is not None:
        # Items are the day (month), or the day (month) then "|…": "~" sorts
        # after "|".
        where.append(S.item <= hi if facet == "D" else S.item < hi + "~")
    if code is not None:
        where.append(S.code == code)
    elif under:
        where.extend((S.code >= under, S.code < under + "~"))
    if facet == "F":
        # The household's previous day is before the period (or none).
        prev = func.substr(S.item, 12)
        where.append(prev < lo if lo else prev == "")
    return where


# The need sums of the scope rows (their households are not sums).
_DAY_SUMS = tuple(
    func.sum(S[m]).label(m)
    for m in _measures(SCOPE_SUMS)
    if m not in ("households", "reached")
)


def _day_figures(
    depth: int, code: str | None, under: str, lo: str, hi: str | None
) -> dict[str, dict[str, int]]:
    """Per scope (code): the need sums and distinct households of the days
    [lo, hi]; only scopes with needs."""
    out: dict[str, dict[str, int]] = {}
    if hi is not None and lo > hi:
        return out
    for r in db.session.execute(
        select(S.code, *_DAY_SUMS)
        .where(*_day_where("D", depth, code, under, lo, hi))
        .group_by(S.code)
    ):
        if int(r.needs or 0):
            out[r.code] = {m: int(getattr(r, m) or 0) for m in (*_SUMS, "confirmed")}
    for r in db.session.execute(
        select(
            S.code,
            func.sum(S.households).label("households"),
            func.sum(S.reached).label("reached"),
        )
        .where(*_day_where("F", depth, code, under, lo, hi))
        .group_by(S.code)
    ):
        if r.code in out:
            out[r.code]["households"] = int(r.households or 0)
            out[r.code]["households_reached"] = int(r.reached or 0)
    for values in out.values():
        values.setdefault("households", 0)
        values.setdefault("households_reached", 0)
    return out


def _day_items(facet: str, depth: int, code: str, lo: str, hi: str | None) -> Any:
    """The need sums of ``facet`` (C or M) per item after the day. The
    matrix (C) takes the months a period covers whole from its month rows
    (B) and only the days of the months it cuts from the day rows."""
    if hi is not None and lo > hi:
        return {}
    parts = [(facet, lo, hi)]
    if facet == "C":
        parts = _matrix_parts(lo, hi)
    out: dict[str, dict[str, int]] = {}
    for part, first, last in parts:
        start = 9 if part == "B" else 12  # after "YYYY-MM|" / "YYYY-MM-DD|"
        item = func.substr(S.item, start)
        for r in db.session.execute(
            select(item.label("g"), *_DAY_SUMS)
            .where(*_day_where(part, depth, code, "", first, last))
            .group_by(item)
        ):
            acc = out.setdefault(r.g, dict.fromkeys(_SUMS, 0))
            for m in _SUMS:
                acc[m] += int(getattr(r, m) or 0)
    return {g: v for g, v in out.items() if v["needs"]}


def _matrix_parts(lo: str, hi: str | None) -> list[tuple[str, str, str | None]]:
    """[lo, hi] as whole months (facet B, bounds "YYYY-MM") and the days of
    the months it cuts (facet C)."""
    start = date.fromisoformat(lo) if lo else None
    end = date.fromisoformat(hi) if hi else None
    first_full = (
        ""
        if start is None
        else _month(start if start.day == 1 else _month_end(start) + timedelta(1))
    )
    last_full = (
        None
        if end is None
        else _month(
            end if end == _month_end(end) else end.replace(day=1) - timedelta(1)
        )
    )
    if last_full is not None and first_full > last_full:
        return [("C", lo, hi)]  # inside one month, or two partial ones
    parts: list[tuple[str, str, str | None]] = [("B", first_full, last_full)]
    if start is not None and start.day != 1:
        parts.append(("C", lo, _month_end(start).isoformat()))
    if end is not None and end != _month_end(end):
        parts.append(("C", end.replace(day=1).isoformat(), hi))
    return parts


def _scope_rows(
    basis: str, facet: str, depth: int, code: str | None = None, under: str = ""
) -> list[Any]:
    """Scope rows of one facet: one scope (``code``) or every scope of
    ``depth`` under the prefix ``under``."""
    stmt = select(SCOPE_SUMS).where(
        S.basis == basis, S.depth == depth, S.facet == facet, S.needs > 0
    )
    if code is not None:
        stmt = stmt.where(S.code == code)
    elif under:
        # A range on the key, so the rows are one index range on both
        # databases (digits only: "~" sorts after them).
        stmt = stmt.where(S.code >= under, S.code < under + "~")
    return list(db.session.execute(stmt))


def _values(r: Any, households: bool = False) -> dict[str, int]:
    out = {m: int(getattr(r, m)) for m in _SUMS}
    if households:
        out["households"] = int(r.households)
        out["households_reached"] = int(r.reached)
    return out


def _month_end(d: date) -> date:
    return d.replace(day=monthrange(d.year, d.month)[1])


def _month(d: date) -> str:
    return d.isoformat()[:7]


def period(table: sa.Table, lo: date | None, hi: date | None) -> Any:
    """The rows of ``table`` (grain/span) covering the days [lo, hi]."""
    c = table.c
    if lo is None and hi is None:
        return c.grain == "m"
    if lo is not None and hi is not None and lo > hi:
        return sa.false()
    first_full = (
        None
        if lo is None
        else _month(lo if lo.day == 1 else _month_end(lo) + timedelta(1))
    )
    last_full = (
        None
        if hi is None
        else _month(hi if hi == _month_end(hi) else hi.replace(day=1) - timedelta(1))
    )
    parts = []
    if first_full is None or last_full is None or first_full <= last_full:
        months = [c.grain == "m"]
        if first_full is not None:
            months.append(c.span >= first_full)
        if last_full is not None:
            months.append(c.span <= last_full)
        parts.append(sa.and_(*months))
    if lo is not None and lo.day != 1:
        end = _month_end(lo) if hi is None else min(hi, _month_end(lo))
        parts.append(
            sa.and_(c.grain == "d", c.span >= lo.isoformat(), c.span <= end.isoformat())
        )
    if hi is not None and hi != _month_end(hi):
        start = hi.replace(day=1)
        same_month = lo is not None and lo.day != 1 and lo.replace(day=1) == start
        if not same_month:
            if lo is not None:
                start = max(lo, start)
            parts.append(
                sa.and_(
                    c.grain == "d",
                    c.span >= start.isoformat(),
                    c.span <= hi.isoformat(),
                )
            )
    return sa.or_(*parts) if parts else sa.false()


def _under(column: Any, prefix: str | None) -> Any:
    if not prefix:
        return sa.true()
    # A range on the column (region codes are digits: "~" sorts after them),
    # not substr(): the cells' and the needs' region indexes then read only
    # the cut's own rows.
    return sa.and_(column >= prefix, column < prefix + "~")


def _need_where(
    f: Filters, table: sa.Table, public: bool = False, unpublished: bool = False
) -> Any:
    when = period(table, f.date_from, f.date_to)
    if unpublished:
        when = sa.or_(when, table.c.grain == "u")
    region = table.c.public_region if public else table.c.region
    return sa.and_(when, _under(region, f.prefix))


_FULL = sa.case((N.status.in_(FULL), N.needs), else_=0)
_NEED_SUMS = (
    func.sum(N.needs).label("needs"),
    func.sum(_FULL).label("fully_claimed"),
    func.sum(N.requested).label("requested"),
    func.sum(N.claimed).label("claimed"),
    func.sum(N.delivered).label("delivered"),
    func.sum(N.confirmed).label("confirmed"),
)
_MEASURES = ("needs", "fully_claimed", "requested", "claimed", "delivered")
_HH_COUNTS = (
    func.count(sa.distinct(H.household_key)).label("households"),
    func.count(
        sa.distinct(sa.case((H.reached > 0, H.household_key), else_=None))
    ).label("households_reached"),
)


def _grouped(
    f: Filters,
    group: Any,
    households: bool,
    public: bool = False,
    unpublished: bool = False,
    group_hh: Any = None,
    confirmed: bool = False,
) -> dict[Any, dict[str, int]]:
    """Need measures (and households) per value of ``group`` (a column
    expression of the need cells; ``group_hh`` the same of the household cells)."""
    rows: dict[Any, dict[str, int]] = {}
    stmt = select(group.label("g"), *_NEED_SUMS).where(
        _need_where(f, NEED_CELLS, public, unpublished)
    )
    for r in db.session.execute(stmt.group_by(group)):
        values = {m: int(getattr(r, m) or 0) for m in _MEASURES}
        if values["needs"]:
            rows[r.g] = values
            if confirmed:
                values["confirmed"] = int(r.confirmed or 0)
    if households:
        for r in db.session.execute(
            select(group_hh.label("g"), *_HH_COUNTS)
            .where(_need_where(f, HOUSEHOLD_CELLS, public), H.needs > 0)
            .group_by(group_hh)
        ):
            if r.g in rows:
                rows[r.g]["households"] = int(r.households)
                rows[r.g]["households_reached"] = int(r.households_reached)
        for values in rows.values():
            values.setdefault("households", 0)
            values.setdefault("households_reached", 0)
    return rows


def totals(f: Filters) -> dict[str, int]:
    scope = _scope(f)
    if scope is not None:
        found = _scope_rows("r", "", scope[0], scope[1])
        if found:
            return _values(found[0], True) | {"confirmed": int(found[0].confirmed)}
        return {
            m: 0 for m in (*_MEASURES, "households", "households_reached", "confirmed")
        }
    days = _period_scope(f)
    if days is not None:
        depth, code, lo, hi = days
        mine = _day_figures(depth, code, "", lo, hi).get(code)
        if mine is not None:
            return mine
        return {
            m: 0 for m in (*_MEASURES, "households", "households_reached", "confirmed")
        }
    one = sa.literal(1)
    row = _grouped(f, one, True, group_hh=one, confirmed=True).get(1)
    if row is None:
        row = {
            m: 0 for m in (*_MEASURES, "households", "households_reached", "confirmed")
        }
    return row


def matrix_and_months(f: Filters) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Category × need type × status (without a period including needs never
    published), and the published needs by month of publication."""
    scope = _scope(f)
    if scope is not None:
        rows = []
        for r in _scope_rows("r", "c", scope[0], scope[1]):
            category, need_type, status = r.item.split("|")
            names = {"category": category, "need_type": need_type, "status": status}
            rows.append(names | _values(r))
        rows.sort(key=lambda r: (r["category"], r["need_type"], r["status"]))
        by_month = {r.item: _values(r) for r in _scope_rows("r", "m", *scope)}
        return rows, [{"month": m} | by_month[m] for m in sorted(by_month)]
    days = _period_scope(f)
    if days is not None:
        depth, code, lo, hi = days
        cells = _day_items("C", depth, code, lo, hi)
        matrix = []
        for item in sorted(cells):
            category, need_type, status = item.split("|")
            names = {"category": category, "need_type": need_type, "status": status}
            matrix.append(names | cells[item])
        matrix.sort(key=lambda r: (r["category"], r["need_type"], r["status"]))
        by_month = _day_items("M", depth, code, lo, hi)
        return matrix, [{"month": m} | by_month[m] for m in sorted(by_month)]
    has_period = f.date_from is not None or f.date_to is not None
    stmt = select(N.category, N.need_type, N.status, *_NEED_SUMS).where(
        _need_where(f, NEED_CELLS, unpublished=not has_period)
    )
    matrix = []
    for r in db.session.execute(stmt.group_by(N.category, N.need_type, N.status)):
        values = {m: int(getattr(r, m) or 0) for m in _MEASURES}
        if values["needs"]:
            matrix.append(
                {"category": r.category, "need_type": r.need_type, "status": r.status}
                | values
            )
    matrix.sort(key=lambda r: (r["category"], r["need_type"], r["status"]))
    months = _grouped(f, N.month, False)
    return matrix, [{"month": m} | months[m] for m in sorted(months)]


def by_region(
    f: Filters, level: str | None = None, public: bool = False
) -> list[dict[str, Any]]:
    """Per province, city or county (``level``): the true region, or the public
    one (the county, or its city where the needs library coarsened it)."""
    length = LEVEL_LENGTH[level or f.level]
    scope = _scope(f)
    if scope is not None:
        return _scope_regions(scope, length, public)
    days = _period_scope(f)
    if days is not None and not public:
        depth, code, lo, hi = days
        if length <= depth:
            per = _day_figures(depth, code, "", lo, hi)
            named = {code[:length]: per[code]} if code in per else {}
        else:
            named = _day_figures(length, None, code, lo, hi)
        out: list[dict[str, Any]] = []
        for c in sorted(named):
            named[c].pop("confirmed")
            out.append({"region": c} | named[c])
        return out
    need_col = N.public_region if public else N.region
    hh_col = H.public_region if public else H.region
    rows = _grouped(
        f,
        func.substr(need_col, 1, length),
        True,
        public=public,
        group_hh=func.substr(hh_col, 1, length),
    )
    return [{"region": c} | rows[c] for c in sorted(rows)]


def _scope_regions(
    scope: tuple[int, str], length: int, public: bool
) -> list[dict[str, Any]]:
    """``by_region`` of an all-time cut: the scope rows one level down (or the
    cut's own row, named by its code at ``length``, when that is not below)."""
    depth, code = scope
    basis = "p" if public and depth else "r"
    if length <= depth:
        found = _scope_rows(basis, "", depth, code)
        return [{"region": code[:length]} | _values(r, True) for r in found]
    basis = "p" if public else "r"
    found = _scope_rows(basis, "", length, under=code)
    return [{"region": r.code} | _values(r, True) for r in sorted(found, key=_code)]


def _code(r: Any) -> str:
    return str(r.code)


def by_region_levels(
    f: Filters, levels: tuple[str, ...], public: bool = False
) -> dict[str, list[dict[str, Any]]]:
    """``by_region`` at several levels in two statements: the sums of the
    counties added up, and the distinct households of every level at once."""
    scope = _scope(f)
    if scope is not None:
        return {lvl: _scope_regions(scope, LEVEL_LENGTH[lvl], public) for lvl in levels}
    need_col = N.public_region if public else N.region
    county = func.substr(need_col, 1, LEVEL_LENGTH["county"])
    per_county = _grouped(f, county, False, public=public)
    out: dict[str, dict[str, dict[str, int]]] = {lvl: {} for lvl in levels}
    for code, values in per_county.items():
        for lvl in levels:
            acc = out[lvl].setdefault(
                code[: LEVEL_LENGTH[lvl]], dict.fromkeys(values, 0)
            )
            for k, v in values.items():
                acc[k] += v
    hh_col = H.public_region if public else H.region
    parts = []
    for lvl in levels:
        # One expression object for SELECT and GROUP BY (one bound parameter:
        # PostgreSQL takes two parameters for two different expressions).
        code = func.substr(hh_col, 1, sa.literal_column(str(LEVEL_LENGTH[lvl])))
        parts.append(
            select(
                sa.literal_column(f"'{lvl}'").label("lvl"),
                code.label("g"),
                *_HH_COUNTS,
            )
            .where(_need_where(f, HOUSEHOLD_CELLS, public), H.needs > 0)
            .group_by(code)
        )
    counts = {
        (r.lvl, r.g): (int(r.households), int(r.households_reached))
        for r in db.session.execute(sa.union_all(*parts))
    }
    result = {}
    for lvl in levels:
        rows = []
        for code in sorted(out[lvl]):
            households, reached = counts.get((lvl, code), (0, 0))
            rows.append(
                {"region": code}
                | out[lvl][code]
                | {"households": households, "households_reached": reached}
            )
        result[lvl] = rows
    return result


def by_need_type(f: Filters) -> list[dict[str, Any]]:
    # The households per type are kept for every region only.
    if _scope(f) == (0, ""):
        found = _scope_rows("r", "t", 0, "")
        return [
            {"need_type": r.item} | _values(r, True)
            for r in sorted(found, key=lambda r: r.item)
        ]
    rows = _grouped(f, N.need_type, True, group_hh=H.need_type)
    return [{"need_type": t} | rows[t] for t in sorted(rows)]


def published_by_month(f: Filters) -> list[dict[str, Any]]:
    # The households per month are kept for every region only.
    if _scope(f) == (0, ""):
        found = _scope_rows("r", "m", 0, "")
        return [
            {"month": r.item} | _values(r, True)
            for r in sorted(found, key=lambda r: r.item)
        ]
    rows = _grouped(f, N.month, True, group_hh=H.month)
    return [{"month": m} | rows[m] for m in sorted(rows)]


def delivered_by_month(f: Filters) -> list[dict[str, Any]]:
    """Deliveries by the month they were made; the period selects deliveries by
    that date, the region by the need's region."""
    scope = _scope(f)
    if scope is not None:
        found = _scope_rows("r", "d", *scope)
        return [
            {
                "month": r.item,
                "deliveries": int(r.needs),
                "households_reached": int(r.reached),
                "delivered": int(r.delivered),
            }
            for r in sorted(found, key=lambda r: r.item)
        ]
    d = DELIVERY_CELLS.c
    month = func.substr(d.span, 1, 7)
    stmt = (
        select(
            month.label("month"),
            func.sum(d.deliveries).label("deliveries"),
            func.count(
                sa.distinct(sa.case((d.deliveries > 0, d.household_key), else_=None))
            ).label("households_reached"),
            func.sum(d.delivered).label("delivered"),
        )
        .where(
            period(DELIVERY_CELLS, f.date_from, f.date_to), _under(d.region, f.prefix)
        )
        .group_by(month)
    )
    out = []
    for r in db.session.execute(stmt):
        if int(r.deliveries or 0):
            out.append(
                {
                    "month": r.month,
                    "deliveries": int(r.deliveries),
                    "households_reached": int(r.households_reached),
                    "delivered": int(r.delivered or 0),
                }
            )
    return sorted(out, key=lambda r: r["month"])


def households_reached_by_org() -> dict[int, int]:
    """Per org: the households reached through its delivered or confirmed
    claims on published needs."""
    o = ORG_HOUSEHOLDS.c
    stmt = select(o.org_id, func.count()).where(o.claims > 0).group_by(o.org_id)
    return {int(org): int(n) for org, n in db.session.execute(stmt)}


def _org_names(ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        db.session.execute(
            select(Organization.id, Organization.name).where(Organization.id.in_(ids))
        ).all()
    )


def org_activity(f: Filters) -> list[dict[str, Any]]:
    """Per org: its claims on needs of the region, made in the period."""
    c = CLAIM_CELLS.c
    stmt = (
        select(
            c.org_id,
            c.status,
            func.sum(c.claims).label("claims"),
            func.sum(c.amount).label("amount"),
            func.sum(c.delivered).label("delivered"),
        )
        .where(period(CLAIM_CELLS, f.date_from, f.date_to), _under(c.region, f.prefix))
        .group_by(c.org_id, c.status)
    )
    keys = ("claims", "open", "deliveries", "lapsed", "claimed", "delivered")
    figures: dict[int, dict[str, int]] = {}
    lapsed = (ClaimStatus.CANCELLED.value, ClaimStatus.EXPIRED.value)
    for r in db.session.execute(stmt):
        n, amount, delivered = (
            int(r.claims or 0),
            int(r.amount or 0),
            int(r.delivered or 0),
        )
        acc = figures.setdefault(int(r.org_id), dict.fromkeys((*keys, "confirmed"), 0))
        acc["claims"] += n
        if r.status in OPEN:
            acc["open"] += n
            acc["claimed"] += amount
        if r.status in DONE:
            acc["deliveries"] += n
            acc["claimed"] += delivered
            acc["delivered"] += delivered
        if r.status == ClaimStatus.CONFIRMED.value:
            acc["confirmed"] += delivered
        if r.status in lapsed:
            acc["lapsed"] += n
    names = _org_names(sorted(o for o, v in figures.items() if v["claims"]))
    rows: list[dict[str, Any]] = [
        {"org_id": o, **v, "org_name": names.get(o, "")}
        for o, v in sorted(figures.items())
        if v["claims"]
    ]
    rows.sort(key=lambda r: (-r["delivered"], r["org_name"]))
    return rows


def _need_under(prefix: str | None) -> Any:
    return _under(Need.region_code, prefix)


def _need_codes(ids: list[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    unique = sorted(set(ids))
    for k in range(0, len(unique), 500):
        out.update(
            db.session.execute(
                select(Need.id, Need.code).where(Need.id.in_(unique[k : k + 500]))
            ).all()
        )
    return out


def expiring_claims(f: Filters, today: date) -> dict[str, Any]:
    """Open claims due within 7 days, and overdue ones (the current state; the
    period does not apply)."""
    horizon = today + timedelta(days=NEAR_EXPIRY_DAYS)
    where = (
        Claim.status.in_(OPEN),
        Claim.due_on <= horizon,
        _need_under(f.prefix),
    )
    counts = db.session.execute(
        select(
            func.count(sa.case((Claim.due_on < today, 1))),
            func.count(sa.case((Claim.due_on >= today, 1))),
        )
        .select_from(Claim)
        .join(Need, Need.id == Claim.need_id)
        .where(*where)
    ).one()
    chosen = db.session.execute(
        select(Claim.id, Claim.need_id, Claim.org_id, Claim.amount_fen, Claim.due_on)
        .join(Need, Need.id == Claim.need_id)
        .where(*where)
        .order_by(Claim.due_on, Claim.id)
        .limit(LIST_LIMIT)
    ).all()
    names = _org_names(sorted({r.org_id for r in chosen}))
    codes = _need_codes([r.need_id for r in chosen])
    rows = [
        {
            "claim_id": r.id,
            "need_code": codes.get(r.need_id, ""),
            "org_name": names.get(r.org_id, ""),
            "amount": int(r.amount_fen or 0),
            "due_on": r.due_on,
            "days_left": (r.due_on - today).days,
            "overdue": r.due_on < today,
        }
        for r in chosen
    ]
    return {"overdue": int(counts[0]), "due_soon": int(counts[1]), "rows": rows}


def repeated_help(f: Filters, today: date) -> dict[str, Any]:
    """Households (by household key) with active claims from at least two orgs
    or on at least two needs within the 12 months ending on ``f.date_to`` or
    today. The rows carry counts and need codes only — never the key."""
    end_day = f.date_to or today
    start = utc_naive(datetime.combine(end_day - timedelta(days=365), dtime(), CHINA))
    end = utc_naive(datetime.combine(end_day + timedelta(days=1), dtime(), CHINA))
    # The claims of the twelve months first (by their creation-time index),
    # then their needs by id: joined in one statement, PostgreSQL read every
    # need of the region to find a few claims.
    claims = db.session.execute(
        select(
            Claim.need_id,
            Claim.org_id,
            Claim.status,
            Claim.amount_fen,
            Claim.delivered_fen,
        ).where(
            Claim.status.in_(OPEN + DONE),
            Claim.created_at >= start,
            Claim.created_at < end,
        )
    ).all()
    household: dict[int, str] = {}
    unique = sorted({r.need_id for r in claims})
    for k in range(0, len(unique), 500):
        household.update(
            db.session.execute(
                select(Need.id, Need.household_key).where(
                    Need.id.in_(unique[k : k + 500]), _need_under(f.prefix)
                )
            ).all()
        )
    per: dict[str, dict[str, Any]] = {}
    for r in claims:
        if r.need_id not in household:
            continue
        acc = per.setdefault(
            household[r.need_id],
            {"orgs": set(), "needs": set(), "claims": 0, "amount": 0},
        )
        acc["orgs"].add(r.org_id)
        acc["needs"].add(r.need_id)
        acc["claims"] += 1
        open_ = r.status in OPEN
        acc["amount"] += int((r.amount_fen if open_ else r.delivered_fen) or 0)
    flagged: list[tuple[str, dict[str, Any]]] = [
        (hk, v) for hk, v in per.items() if len(v["orgs"]) >= 2 or len(v["needs"]) >= 2
    ]
    # Most orgs first, then most needs, then the largest amount; the household
    # key (never shown) only breaks ties, so the order is stable.
    flagged.sort(
        key=lambda kv: (
            -len(kv[1]["orgs"]),
            -len(kv[1]["needs"]),
            -kv[1]["amount"],
            kv[0],
        )
    )
    shown = flagged[:LIST_LIMIT]
    code_of = _need_codes([i for _hk, v in shown for i in v["needs"]])
    rows = [
        {
            "household": i,
            "orgs": len(v["orgs"]),
            "needs": len(v["needs"]),
            "claims": v["claims"],
            "amount": v["amount"],
            "need_codes": "、".join(sorted({code_of.get(n, "") for n in v["needs"]})),
        }
        for i, (_hk, v) in enumerate(shown, start=1)
    ]
    return {"count": len(flagged), "rows": rows, "since": end_day - timedelta(365)}


def _percentile(sorted_xs: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (as PostgreSQL's percentile_cont)."""
    if not sorted_xs:
        return None
    pos = p * (len(sorted_xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


_DAY_US = 86_400_000_000


def _time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


Values = dict[tuple[str, int], list[tuple[int, int]]]


def _days_of_ranks(
    counts: list[tuple[int, int]], ranks: set[int]
) -> dict[int, list[tuple[int, int]]]:
    """Which day (``counts``: (day, how many), ascending) each 0-based rank
    falls in: day -> [(rank, rank within the day)]."""
    wanted: dict[int, list[tuple[int, int]]] = {}
    seen = 0
    for day, n in counts:
        for r in ranks:
            if seen <= r < seen + n:
                wanted.setdefault(day, []).append((r, r - seen))
        seen += n
    return wanted


def _at(rows: list[tuple[int, int]], asked: list[tuple[int, int]]) -> dict[int, float]:
    """The values (days) at ranks within one day's ``rows`` ((microseconds,
    how many), ascending)."""
    out: dict[int, float] = {}
    pending = sorted(asked, key=lambda a: a[1])
    seen = 0
    for micros, n in rows:
        while pending and pending[0][1] < seen + n:
            out[pending.pop(0)[0]] = micros / _DAY_US
        seen += n
        if not pending:
            break
    return out


def _ranks(n: int) -> list[tuple[float, int, int]]:
    """(position, rank below, rank above) of the median and the 90th
    percentile among ``n`` values, as ``_percentile``."""
    out = []
    for p in (0.5, 0.9):
        pos = p * (n - 1)
        lo = int(pos)
        out.append((pos, lo, min(lo + 1, n - 1)))
    return out


def _speed(
    buckets: dict[str, dict[int, int]],
    values: Callable[[set[tuple[str, int]]], Values],
) -> dict[str, Any]:
    """``time_to_full_claim`` from the day counts per type (ALL_TYPES: every
    type) and the values of the days the ranks fall in, read at once
    (``values({(type, day)})``)."""
    kinds = sorted(k for k, c in buckets.items() if k != ALL_TYPES and any(c.values()))
    plans = {}
    for kind in (ALL_TYPES, *kinds):
        counts = sorted((b, n) for b, n in buckets.get(kind, {}).items() if n)
        total = sum(n for _b, n in counts)
        if total:
            ranks = _ranks(total)
            asked = {r for _p, lo, hi in ranks for r in (lo, hi)}
            plans[kind] = (total, ranks, _days_of_ranks(counts, asked))
    read = values({(k, day) for k, p in plans.items() for day in p[2]}) if plans else {}

    def summary(kind: str) -> dict[str, Any]:
        if kind not in plans:
            return {"count": 0, "median": None, "p90": None}
        total, ranks, wanted = plans[kind]
        got: dict[int, float] = {}
        for day, asked in wanted.items():
            got.update(_at(read.get((kind, day), []), asked))
        out: dict[str, Any] = {"count": total}
        for name, (pos, lo, hi) in zip(("median", "p90"), ranks, strict=True):
            # As _percentile: linear between the closest ranks.
            out[name] = got[lo] + (got[hi] - got[lo]) * (pos - lo)
        return out

    return {
        "overall": summary(ALL_TYPES),
        "by_need_type": [{"need_type": t, **summary(t)} for t in kinds],
    }


def _duration_values(
    depth: int,
    code: str,
    days: set[tuple[str, int]],
    months: tuple[str, str | None] | None = None,
) -> Values:
    """A scope's values of these (type, day)s, all time or of the China
    months [first, last] of ``months``; each ascending."""
    d = SCOPE_DURATIONS.c
    where = [
        d.depth == depth,
        d.code == code,
        sa.tuple_(d.need_type, d.bucket).in_(sorted(days)),
        d.needs > 0,
    ]
    if months is not None:
        first, last = months
        if first:
            where.append(d.month >= first)
        if last is not None:
            where.append(d.month <= last)
    out: Values = {}
    for kind, day, micros, n in db.session.execute(
        select(d.need_type, d.bucket, d.micros, d.needs)
        .where(*where)
        .order_by(d.need_type, d.bucket, d.micros)
    ):
        out.setdefault((str(kind), int(day)), []).append((int(micros), int(n)))
    return out


def _scope_speed(depth: int, code: str) -> dict[str, Any]:
    """``time_to_full_claim`` of an all-time cut from the duration rows."""
    buckets: dict[str, dict[int, int]] = {}
    for r in _scope_rows("r", "x", depth, code):
        kind, day = r.item.rsplit("|", 1)
        buckets.setdefault(kind, {})[int(day)] = int(r.needs)
    return _speed(buckets, lambda days: _duration_values(depth, code, days))


def _month_buckets(
    depth: int, code: str, first: str, last: str | None
) -> dict[str, dict[int, int]]:
    """The day counts per type of a scope's needs published in the China
    months [first, last]: the X rows of every region and the provinces,
    below them the scope's own duration rows added up."""
    out: dict[str, dict[int, int]] = {}
    if depth in SPEED_DEPTHS:
        where = [S.basis == "r", S.depth == depth, S.facet == "X", S.code == code]
        where.append(S.item >= first)
        if last is not None:
            where.append(S.item < last + "~")  # "YYYY-MM|…": "~" after "|"
        item = func.substr(S.item, 9)  # after "YYYY-MM|": type|day
        for g, n in db.session.execute(
            select(item, func.sum(S.needs)).where(*where).group_by(item)
        ):
            kind, day = str(g).rsplit("|", 1)
            out.setdefault(kind, {})[int(day)] = int(n or 0)
        return out
    d = SCOPE_DURATIONS.c
    where = [d.depth == depth, d.code == code, d.month >= first]
    if last is not None:
        where.append(d.month <= last)
    for kind, day, n in db.session.execute(
        select(d.need_type, d.bucket, func.sum(d.needs))
        .where(*where)
        .group_by(d.need_type, d.bucket)
    ):
        out.setdefault(str(kind), {})[int(day)] = int(n or 0)
    return out


def _edge_durations(code: str, first: str, last: str) -> list[tuple[str, int]]:
    """(type, microseconds) of the fully claimed needs of a region prefix
    published on the China days [first, last] (a few weeks at most)."""
    start, end = Filters(
        date_from=date.fromisoformat(first), date_to=date.fromisoformat(last)
    ).bounds()
    where = (
        Need.fully_claimed_at.is_not(None),
        Need.published_at >= start,
        Need.published_at < end,
        Need.fully_claimed_at >= Need.published_at,
        _need_under(code or None),
    )
    if db.session.get_bind().dialect.name == "postgresql":
        # Exact in the database: the epoch of an interval is a numeric with
        # its microseconds (PostgreSQL 14 and later), as time_to_full_claim.
        span = sa.extract("epoch", Need.fully_claimed_at - Need.published_at)
        micros = sa.cast(span * 1_000_000, sa.BigInteger)
        rows = db.session.execute(select(Need.need_type, micros).where(*where))
        return [(str(kind), int(m)) for kind, m in rows]
    out = []
    for kind, pub, full in db.session.execute(
        select(
            Need.need_type,
            sa.type_coerce(Need.published_at, sa.String),
            sa.type_coerce(Need.fully_claimed_at, sa.String),
        ).where(*where)
    ):
        value = duration_micros(pub, full)
        if value is not None:
            out.append((str(kind), value))
    return out


def _period_speed(depth: int, code: str, lo: str, hi: str | None) -> dict[str, Any]:
    """``time_to_full_claim`` of a cut with a period: the months it covers
    whole from the day counts per month (their values from the duration
    rows of those months), the days of the months it cuts from the needs
    published on them; exact, whatever the number of needs."""
    buckets: dict[str, dict[int, int]] = {}
    edges: Values = {}  # (type, day) -> (microseconds, 1) of the cut days
    months: tuple[str, str | None] | None = None
    if hi is None or lo <= hi:
        for part, first, last in _matrix_parts(lo, hi):
            if part == "B":
                months = (first, last)
                for kind, counts in _month_buckets(depth, code, first, last).items():
                    acc = buckets.setdefault(kind, {})
                    for day, n in counts.items():
                        acc[day] = acc.get(day, 0) + n
                continue
            for kind, micros in _edge_durations(code, first, str(last)):
                day = micros // _DAY_US
                for k in (kind, ALL_TYPES):
                    acc = buckets.setdefault(k, {})
                    acc[day] = acc.get(day, 0) + 1
                    edges.setdefault((k, day), []).append((micros, 1))

    def values(days: set[tuple[str, int]]) -> Values:
        whole = {} if months is None else _duration_values(depth, code, days, months)
        return {d: sorted(whole.get(d, []) + edges.get(d, [])) for d in days}

    return _speed(buckets, values)


def time_to_full_claim(f: Filters) -> dict[str, Any]:
    """Days from publication to full claim: median and 90th percentile, overall
    and per need type."""
    scope = _scope(f)
    if scope is not None:
        return _scope_speed(*scope)
    period = _period_scope(f)
    if period is not None:
        return _period_speed(*period)
    start, end = f.bounds()
    # SQLite hands the times over as text: parsed here with fromisoformat (C),
    # not by the column type's slower parser.
    stmt = select(
        Need.need_type,
        sa.type_coerce(Need.published_at, sa.String),
        sa.type_coerce(Need.fully_claimed_at, sa.String),
    ).where(
        Need.published_at.is_not(None),
        Need.fully_claimed_at.is_not(None),
        Need.fully_claimed_at >= Need.published_at,
        _need_under(f.prefix),
    )
    if start is not None:
        stmt = stmt.where(Need.published_at >= start)
    if end is not None:
        stmt = stmt.where(Need.published_at < end)
    days: list[float] = []
    by_type: dict[str, list[float]] = {}
    for kind, pub, full in db.session.execute(stmt):
        if pub is None or full is None:
            continue
        delta = _time(full) - _time(pub)
        us = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        x = us / _DAY_US
        days.append(x)
        by_type.setdefault(str(kind), []).append(x)

    def summary(xs: list[float]) -> dict[str, Any]:
        ordered = sorted(xs)
        return {
            "count": len(ordered),
            "median": _percentile(ordered, 0.5),
            "p90": _percentile(ordered, 0.9),
        }

    return {
        "overall": summary(days),
        "by_need_type": [
            {"need_type": t, **summary(by_type[t])} for t in sorted(by_type)
        ],
    }


def _period_assistance(
    depth: int, code: str, lo: str, hi: str | None
) -> list[dict[str, Any]]:
    """``assistance_link`` of a cut with a period from the rows per day
    (summary.PERIOD_ASSISTANCE, whose comment says what each part counts)."""
    if hi is not None and lo > hi:
        return []
    p = PERIOD_ASSISTANCE.c
    first = p.prev < lo if lo else p.prev == ""  # nothing earlier in [lo, hi]
    none_after = p.next == "" if hi is None else sa.or_(p.next == "", p.next > hi)
    # A day of the type in [lo, hi] at or before the day, or at or after it.
    later = p.next != "" if hi is None else sa.and_(p.next != "", p.next <= hi)
    present = sa.or_(sa.and_(p.prev != "", p.prev >= lo), later)
    where = [p.depth == depth, p.code == code, p.day >= lo]
    if hi is not None:
        where.append(p.day <= hi)
    sums: dict[tuple[str, str], int] = {}
    for kind, part, n in db.session.execute(
        select(p.kind, p.part, func.sum(p.n))
        .where(
            *where,
            sa.or_(
                sa.and_(p.part.in_(("E", "R", "U")), first),
                sa.and_(p.part == "X", first, none_after),
                sa.and_(p.part == "Y", present),
            ),
        )
        .group_by(p.kind, p.part)
    ):
        sums[(kind, part)] = int(n or 0)
    cut = _day_figures(depth, code, "", lo, hi).get(code)
    if cut is None:
        return []
    out: list[dict[str, Any]] = []
    for kind in sorted({k for k, _p in sums if k}):
        households = sums.get((kind, "E"), 0)
        if households:
            out.append(
                {
                    "type": json.loads(kind),
                    "households": households,
                    "monthly": sums.get((kind, "X"), 0),
                    # reached with the type: |A| + |B| - |A or B|
                    "reached": households
                    + sums.get((kind, "R"), 0)
                    - sums.get((kind, "U"), 0),
                    "delivered": sums.get((kind, "Y"), 0),
                }
            )
    assisted = sums.get(("", "E"), 0)
    if cut["households"] > assisted:
        out.append(
            {
                "type": "none",
                "households": cut["households"] - assisted,
                "monthly": 0,
                "reached": cut["households_reached"]
                - (assisted + sums.get(("", "R"), 0) - sums.get(("", "U"), 0)),
                "delivered": cut["delivered"] - sums.get(("", "Y"), 0),
            }
        )
    out.sort(key=lambda r: (r["type"] == "none", -r["households"], str(r["type"])))
    return out


def assistance_link(f: Filters) -> list[dict[str, Any]]:
    """The link to government assistance, per assistance type (and "none"):
    households, their monthly assistance (per household the largest amount it
    reported for that type, summed), how many were reached and the charity
    delivered to them (all their needs in the selection)."""
    scope = _scope(f)
    if scope is not None:
        found = _scope_rows("r", "a", *scope)
        rows: list[dict[str, Any]] = [
            {
                "type": json.loads(r.item) if r.item else "none",
                "households": int(r.households),
                "monthly": int(r.requested),
                "reached": int(r.reached),
                "delivered": int(r.delivered),
            }
            for r in found
        ]
        rows.sort(key=lambda r: (r["type"] == "none", -r["households"], str(r["type"])))
        return rows
    days = _period_scope(f)
    if days is not None:
        return _period_assistance(*days)
    # Added up in the database, one statement: per household its delivered
    # amount and whether it listed any assistance, per household and type its
    # largest amount, then per type. Shipping one row per household to Python
    # cost more than the grouping itself.
    per_household = (
        select(
            H.household_key.label("hk"),
            func.sum(H.delivered).label("delivered"),
            func.sum(H.assisted).label("assisted"),
        )
        .where(_need_where(f, HOUSEHOLD_CELLS), H.needs > 0)
        .group_by(H.household_key)
        .cte("per_household")
    )
    a = ASSISTANCE_CELLS.c
    best = (
        select(
            a.household_key.label("hk"),
            a.kind.label("kind"),
            func.max(a.monthly).label("best"),
        )
        .where(_need_where(f, ASSISTANCE_CELLS), a.entries > 0)
        .group_by(a.household_key, a.kind)
        .cte("best")
    )
    h, b = per_household.c, best.c
    delivered = func.coalesce(h.delivered, 0)
    reached = func.sum(sa.case((delivered > 0, 1), else_=0))
    typed = (
        select(
            b.kind,
            func.count().label("households"),
            func.sum(b.best).label("monthly"),
            reached.label("reached"),
            func.sum(delivered).label("delivered"),
        )
        .select_from(best.outerjoin(per_household, h.hk == b.hk))
        .group_by(b.kind)
    )
    untyped = select(
        sa.null().label("kind"),
        func.count().label("households"),
        sa.literal(0).label("monthly"),
        reached.label("reached"),
        func.sum(delivered).label("delivered"),
    ).where(h.assisted == 0)
    out: list[dict[str, Any]] = []
    for r in db.session.execute(sa.union_all(typed, untyped)):
        if not r.households:
            continue
        out.append(
            {
                "type": "none" if r.kind is None else json.loads(r.kind),
                "households": int(r.households),
                "monthly": int(r.monthly or 0),
                "reached": int(r.reached or 0),
                "delivered": int(r.delivered or 0),
            }
        )
    out.sort(key=lambda r: (r["type"] == "none", -r["households"], str(r["type"])))
    return out
