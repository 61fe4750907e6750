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

from sqlalchemy import String, and_, case, cast, distinct, func, select
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression

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
            start = utc_naive(datetime.combine(self.date_from, time(), CHINA))
        if self.date_to:
            nxt = self.date_to + timedelta(days=1)
            end = utc_naive(datetime.combine(nxt, time(), CHINA))
        return start, end


def utc_naive(value: datetime) -> datetime:
    from datetime import UTC

    return value.astimezone(UTC).replace(tzinfo=None)


def dialect() -> str:
    return db.session.get_bind().dialect.name


def _month(col: Any) -> ColumnElement[str]:
    # 'YYYY-MM' from a date or timestamp: the text form starts with it on
    # SQLite (stored as text); PostgreSQL formats only the month (casting the
    # whole timestamp to text costs more than the rest of the query).
    if dialect() == "postgresql":
        return func.to_char(col, "YYYY-MM")
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


def by_region_first(f: Filters, col: Any, period: bool = True, min_len: int = 4) -> Any:
    """``col`` as a claims condition. When the needs selected are few — a city
    or county, or (``period``) a period of publication — it is written ``+col``
    on SQLite: the same value, but the planner no longer drives the query from
    that column's index (claims by status: ~70,000 rows at 100,000 needs) and
    starts from the selected needs instead, then their claims through the
    covering ``ix_claims_report``: several times faster for a county or a
    quarter. A whole province without a period covers most claims, where the
    status index is the cheaper start. PostgreSQL plans from its statistics and
    gets the column as is. ``min_len``: the shortest prefix that counts as
    few needs for this query."""
    narrow = bool(f.prefix and len(f.prefix) >= min_len)
    if period and (f.date_from or f.date_to):
        narrow = True
    if not narrow or dialect() != "sqlite":
        return col
    return UnaryExpression(col, operator=operators.custom_op("+"), type_=col.type)


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


def rows_of(stmt: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in db.session.execute(stmt)]


def raw_rows(stmt: Any) -> list[tuple[Any, ...]]:
    """The rows as the database driver returns them (plain tuples, no result
    processing: SQLite dates stay text). Several times faster than building
    SQLAlchemy rows, which matters for the few reads of one row per need."""
    result = db.session.connection().execute(stmt)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def as_ints(row: dict[str, Any]) -> dict[str, Any]:
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
    for row in rows_of(stmt):
        for m in MEASURES:
            if m in row:
                row[m] = int(row[m] or 0)
        out.append(row)
    return out


def totals(f: Filters, region_col: Any = None) -> dict[str, int]:
    """The headline figures, with the confirmed amount summed over the claims."""
    row = grouped(f, [], region_col)[0]
    row["confirmed"] = confirmed_total(f, region_col)
    return row


def confirmed_total(f: Filters, region_col: Any = None) -> int:
    """Delivered amounts of confirmed claims on the selected needs."""
    confirmed = db.session.scalar(
        select(func.sum(func.coalesce(Claim.delivered_fen, 0)))
        .select_from(Claim)
        .join(Need, Need.id == Claim.need_id)
        .where(
            by_region_first(f, Claim.status) == ClaimStatus.CONFIRMED.value,
            *need_conditions(f, region_col),
        )
    )
    return int(confirmed or 0)


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


def matrix_and_months(
    f: Filters,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``matrix(f)`` and ``published_by_month(f, households=False)`` from one
    grouped read (category × need type × status × month, summed up here): one
    sort of the selected needs instead of two."""
    has_period = f.date_from is not None or f.date_to is not None
    month = _month(Need.published_at).label("month")
    fine = grouped(
        f,
        [
            Need.category.label("category"),
            Need.need_type.label("need_type"),
            Need.status.label("status"),
            month,
        ],
        published_only=has_period,
        households=False,
    )
    measures = ("needs", "fully_claimed", "requested", "claimed", "delivered")
    cells: dict[tuple, dict[str, Any]] = {}
    months: dict[str, dict[str, Any]] = {}
    for r in fine:
        key = (r["category"], r["need_type"], r["status"])
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = {
                "category": key[0],
                "need_type": key[1],
                "status": key[2],
                **dict.fromkeys(measures, 0),
            }
        # A month is set exactly when the need was published.
        by_month = None
        if r["month"] is not None:
            by_month = months.get(r["month"])
            if by_month is None:
                by_month = months[r["month"]] = {
                    "month": r["month"],
                    **dict.fromkeys(measures, 0),
                }
        for m in measures:
            cell[m] += r[m]
            if by_month is not None:
                by_month[m] += r[m]
    return [cells[k] for k in sorted(cells)], [months[k] for k in sorted(months)]


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
    status = by_region_first(f, Claim.status, period=False)
    conds: list[Any] = [status.in_(DONE), Claim.delivered_on.is_not(None)]
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
    return [as_ints(r) for r in rows_of(stmt)]


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
    rows = [as_ints(r) for r in rows_of(stmt)]
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
