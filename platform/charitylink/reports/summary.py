"""Summary tables behind every report figure, kept in the transaction of each
change.

Why: the reports used to read every need and claim into each worker's memory
and read them all again after any change; the cost of a change then grew with
the size of the platform. Here each need contributes a handful of counter rows
(its cells), and a change to a need or one of its claims moves only those
rows, in the same transaction as the change, so every worker and node reads
the same figures the moment the change commits (docs/reports.md).

One choke point, no opt-in at the call sites: SQLAlchemy session events.

- ``before_flush`` sees the needs and claims the ORM is about to write;
  ``do_orm_execute`` sees the bulk ``update(Need)``/``update(Claim)``
  statements the services use for guarded changes (rule 1) before they run.
  Either way the need concerned is *touched*: the first time in a transaction
  its row is locked (PostgreSQL: ``FOR UPDATE``; SQLite: a no-op write, which
  takes the database's write lock) and its contribution read — the state the
  summary tables hold for it, since every earlier change to it went through
  here and has committed.
- ``before_commit`` reads the new contribution of every touched need and
  writes the difference as ``INSERT … ON CONFLICT DO UPDATE SET n = n + :d``,
  sorted by table and key, so two transactions always take the counter rows'
  locks in the same order (no deadlock on PostgreSQL).

A change made around the session (raw SQL, ``COPY``) is not seen: run
``rebuild()`` afterwards (``flask --app wsgi reports rebuild``); ``verify()``
compares the tables with the base rows.

Cells. Times are China days and months (the report filters' periods) except
``month``, the UTC month the per-month tables have always grouped needs by.
``grain`` is ``m`` (``span`` a month) or ``d`` (``span`` a day): a period reads
its whole months from ``m`` rows and its partial months from ``d`` rows. Needs
never published sit in grain ``u``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, cast

import click
import sqlalchemy as sa
from sqlalchemy import event, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, Session

from charitylink.claims.models import Claim
from charitylink.core.timeutil import CHINA
from charitylink.extensions import db
from charitylink.needs.models import Need

DONE = ("delivered", "confirmed")
FULL_STATUSES = ("fully_claimed", "delivered", "confirmed")
CONFIRMED = "confirmed"

_meta = db.metadata
NEEDS: sa.Table = cast(sa.Table, Need.__table__)
CLAIMS: sa.Table = cast(sa.Table, Claim.__table__)


# On SQLite the rows are stored in key order (no separate rowid table), so a
# period's rows are read in one pass.
_CLUSTERED: dict[str, Any] = {"sqlite_with_rowid": False}


def _key(name: str, length: int) -> sa.Column:
    return sa.Column(name, sa.String(length), primary_key=True)


def _n(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger, nullable=False, server_default="0")


NEED_CELLS = sa.Table(
    "report_need_cells",
    _meta,
    _key("grain", 1),
    _key("span", 10),
    _key("month", 7),
    _key("region", 12),
    _key("public_region", 12),
    _key("category", 16),
    _key("need_type", 16),
    _key("status", 16),
    _n("needs"),
    _n("requested"),
    _n("claimed"),
    _n("delivered"),
    _n("confirmed"),
    **_CLUSTERED,
)
HOUSEHOLD_CELLS = sa.Table(
    "report_household_cells",
    _meta,
    _key("grain", 1),
    _key("span", 10),
    _key("month", 7),
    _key("region", 12),
    _key("public_region", 12),
    _key("need_type", 16),
    _key("household_key", 64),
    _n("needs"),
    _n("reached"),  # needs with a delivered amount
    _n("delivered"),
    _n("assisted"),  # needs listing government assistance
    **_CLUSTERED,
)
ASSISTANCE_CELLS = sa.Table(
    "report_assistance_cells",
    _meta,
    _key("grain", 1),
    _key("span", 10),
    _key("region", 12),
    _key("household_key", 64),
    _key("kind", 64),  # the entry's type, JSON-encoded ("null" when missing)
    sa.Column("monthly", sa.BigInteger, primary_key=True),
    _n("entries"),
    **_CLUSTERED,
)
CLAIM_CELLS = sa.Table(
    "report_claim_cells",
    _meta,
    _key("grain", 1),
    _key("span", 10),  # when the claim was made
    _key("region", 12),  # the need's true county
    sa.Column("org_id", sa.Integer, primary_key=True),
    _key("status", 16),
    _n("claims"),
    _n("amount"),
    _n("delivered"),
    **_CLUSTERED,
)
DELIVERY_CELLS = sa.Table(
    "report_delivery_cells",
    _meta,
    _key("grain", 1),
    _key("span", 10),  # the delivery date
    _key("region", 12),
    _key("household_key", 64),
    _n("deliveries"),
    _n("delivered"),
    **_CLUSTERED,
)
ORG_HOUSEHOLDS = sa.Table(
    "report_org_households",
    _meta,
    sa.Column("org_id", sa.Integer, primary_key=True),
    _key("household_key", 64),
    _n("claims"),  # delivered or confirmed claims on published needs
    **_CLUSTERED,
)
# Scope rows: the cells above added up per region *scope* over all time, so
# an all-time cut reads its own scope's rows (a few hundred) instead of one
# row per cell or per household of the cut. A scope is a basis (``r`` the
# need's true region, ``p`` its public region), a depth (0 every region, 2
# province, 4 city, 6 county) and the region prefix of that length (``code``).
# ``facet``/``item`` name what a row counts within the scope:
#   ''  ''                 the published needs (households: distinct)
#   'c' category|type|status   every need, published or not (the matrix)
#   'm' UTC month of publication
#   't' need type          (every region only)
#   'd' China month of delivery: needs = deliveries, households = households
#                          with a delivery that month
#   'x' need type|whole days to full claim (type '*': all): the needs
#   'X' China month of publication|need type|whole days to full claim, as
#       'x' per month (every region and the provinces only: below them a
#       scope's own duration rows are few enough to add up)
#   'a' assistance type (JSON, as the cells; '' for households listing none):
#       needs = households = the households, requested = the sum over them of
#       the largest monthly amount each reported for the type, reached and
#       delivered = theirs in the scope (true region only)
# Per China day of publication (true region only), for the cuts with a
# period, which add up the days they cover:
#   'D' day                the published needs
#   'C' day|category|type|status   the same (the matrix of a period)
#   'B' China month|category|type|status   the same, for the months a period
#                          covers whole (a year reads twelve months of matrix
#                          cells, not 365 days of them)
#   'M' day|UTC month      the same (the months of a period)
#   'F' day|previous day   households = how many of the scope's households
#                          have a published need that day whose previous
#                          one (the latest earlier day) is that previous day
#                          ('' for none); reached = the same over the days of
#                          their needs reached. The households with a need in
#                          [a, b] are those whose first day in [a, b] has its
#                          previous day before a: the 'F' rows of the days in
#                          [a, b] whose previous day is before a (or '').
SCOPE_KEYS = ("basis", "depth", "facet", "code", "item")
SCOPE_SUMS = sa.Table(
    "report_scope_sums",
    _meta,
    _key("basis", 1),
    sa.Column("depth", sa.Integer, primary_key=True),
    _key("facet", 1),
    _key("code", 12),
    _key("item", 64),
    _n("needs"),
    _n("fully_claimed"),
    _n("requested"),
    _n("claimed"),
    _n("delivered"),
    _n("confirmed"),
    # Distinct households: moved only by the 0 <-> 1 transitions of the
    # membership rows below, never summed from cells.
    _n("households"),
    _n("reached"),
    **_CLUSTERED,
)
# Membership: per scope row and household, how many of its needs (and needs
# reached) count there. A household count changes exactly when one of these
# goes from 0 to positive or back (``apply`` reads the new value back).
SCOPE_MEMBERS = sa.Table(
    "report_scope_members",
    _meta,
    _key("basis", 1),
    sa.Column("depth", sa.Integer, primary_key=True),
    _key("facet", 1),
    _key("code", 12),
    _key("item", 64),
    _key("household_key", 64),
    _n("needs"),
    _n("reached"),
    _n("delivered"),
    **_CLUSTERED,
)
# The assistance entries of each household per true-region scope: read (a
# few rows) under the lock of the household's membership row to move the
# 'a' facet, whose largest amounts cannot be kept by adding alone.
SCOPE_ASSISTANCE = sa.Table(
    "report_scope_assistance",
    _meta,
    sa.Column("depth", sa.Integer, primary_key=True),
    _key("code", 12),
    _key("household_key", 64),
    _key("kind", 64),
    sa.Column("monthly", sa.BigInteger, primary_key=True),
    _n("entries"),
    **_CLUSTERED,
)
# The days from publication to full claim of each need, per true-region scope
# and need type ('*': every type), exact to the microsecond, bucketed by
# whole days and by the China month of publication: a median reads the day
# counts of its scope (a few hundred rows: facet x over all time, X for the
# months of a period) and then the values of the one or two days its rank
# falls in (of the months a period covers whole; the days of the months it
# cuts come from the needs).
SCOPE_DURATIONS = sa.Table(
    "report_scope_durations",
    _meta,
    sa.Column("depth", sa.Integer, primary_key=True),
    _key("code", 12),
    _key("need_type", 16),
    sa.Column("bucket", sa.Integer, primary_key=True),  # whole days
    _key("month", 7),  # China month of publication
    sa.Column("micros", sa.BigInteger, primary_key=True),
    _n("needs"),
    **_CLUSTERED,
)
# The assistance figures of a period, per true-region scope, assistance type
# (JSON as the cells; '' for "listed any") and China day, from each
# household's days in the scope (``period_assistance``). ``part``:
#   E  the days with an entry of the type, each with the one before it
#      (``prev``; '' none): households with the type in [a, b] are the rows
#      of days in [a, b] with prev before a (as the F rows)
#   R  the same over the days with a need reached, for the households with
#      the type on any day
#   U  the same over the days with an entry of the type or a need reached:
#      reached households with the type in [a, b] = E + R - U (|A and B| =
#      |A| + |B| - |A or B|, B the reached households that have the type
#      on some day)
#   X  per day its largest monthly amount of the type (``n``), with the
#      nearest earlier day of an amount at least as large (``prev``) and the
#      nearest later day of a larger one (``next``; '' none): the household's
#      largest amount in [a, b] is the one row of [a, b] with prev before a
#      and next after b
#   Y  per day with an amount delivered (``n``), the nearest day of the type
#      at or before it (``prev``) and at or after it (``next``): delivered to
#      the households with the type in [a, b] = the rows of [a, b] with prev
#      at or after a or next at or before b
PERIOD_ASSISTANCE = sa.Table(
    "report_period_assistance",
    _meta,
    sa.Column("depth", sa.Integer, primary_key=True),
    _key("code", 12),
    _key("day", 10),
    _key("kind", 64),
    _key("part", 1),
    _key("prev", 10),
    _key("next", 10),
    _n("n"),
    **_CLUSTERED,
)
# A household's days, read under its lock to move the 'F' rows; and the
# cells of a region prefix, for the assistance figures of a period.
sa.Index(
    "ix_report_household_cells_household",
    HOUSEHOLD_CELLS.c.household_key,
    HOUSEHOLD_CELLS.c.grain,
)
sa.Index(
    "ix_report_household_cells_region",
    HOUSEHOLD_CELLS.c.region,
    HOUSEHOLD_CELLS.c.grain,
    HOUSEHOLD_CELLS.c.span,
)
sa.Index(
    "ix_report_assistance_cells_household",
    ASSISTANCE_CELLS.c.household_key,
    ASSISTANCE_CELLS.c.grain,
)
sa.Index(
    "ix_report_assistance_cells_region",
    ASSISTANCE_CELLS.c.region,
    ASSISTANCE_CELLS.c.grain,
    ASSISTANCE_CELLS.c.span,
)
ALL_TYPES = "*"
DAY_US = 86_400_000_000
# Order matters: deltas are applied table by table in this order (the
# membership rows before the scope sums their transitions move).
TABLES: dict[str, sa.Table] = {
    t.name: t
    for t in (
        NEED_CELLS,
        HOUSEHOLD_CELLS,
        ASSISTANCE_CELLS,
        CLAIM_CELLS,
        DELIVERY_CELLS,
        ORG_HOUSEHOLDS,
        SCOPE_MEMBERS,
        SCOPE_ASSISTANCE,
        SCOPE_SUMS,
        PERIOD_ASSISTANCE,
        SCOPE_DURATIONS,
    )
}
SCOPE_TABLES = (
    SCOPE_MEMBERS,
    SCOPE_ASSISTANCE,
    SCOPE_SUMS,
    PERIOD_ASSISTANCE,
    SCOPE_DURATIONS,
)
CELL_TABLES = [t for t in TABLES.values() if t not in SCOPE_TABLES]
_REGIONAL = [t for t in TABLES.values() if "region" in t.c]
DEPTHS = (0, 2, 4, 6)
# The depths with the 'X' rows (the days to full claim per month).
SPEED_DEPTHS = (0, 2)


def _keys(table: sa.Table) -> list[str]:
    return [c.name for c in table.primary_key.columns]


def _measures(table: sa.Table) -> list[str]:
    return [c.name for c in table.columns if not c.primary_key]


# --- one need's contribution --------------------------------------------------

Cells = dict[tuple[str, tuple[Any, ...]], list[int]]

NEED_FIELDS = (
    "id",
    "region_code",
    "public_region_code",
    "published_at",
    "category",
    "need_type",
    "status",
    "amount_fen",
    "claimed_fen",
    "delivered_fen",
    "household_key",
    "gov_assistance",
    "fully_claimed_at",
)
CLAIM_FIELDS = (
    "need_id",
    "org_id",
    "status",
    "amount_fen",
    "delivered_fen",
    "created_at",
    "delivered_on",
)


def china_day(value: datetime) -> str:
    """The China day of a naive UTC time, ``YYYY-MM-DD``."""
    return value.replace(tzinfo=UTC).astimezone(CHINA).date().isoformat()


def parse_assistance(raw: Any) -> tuple[tuple[Any, int], ...]:
    """A need's assistance list as (type, monthly amount) pairs."""
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except ValueError:
            return ()
    if not isinstance(raw, list) or not raw:
        return ()
    out = []
    for e in raw:
        if isinstance(e, dict):
            try:
                monthly = int(e.get("monthly_amount") or 0)
            except (TypeError, ValueError):
                monthly = 0
            out.append((e.get("type"), monthly))
        else:
            out.append((None, 0))
    return tuple(out)


def _add(out: Cells, table: sa.Table, key: tuple[Any, ...], values: list[int]) -> None:
    acc = out.get((table.name, key))
    if acc is None:
        out[(table.name, key)] = list(values)
    else:
        for i, v in enumerate(values):
            acc[i] += v


def time_to_full_claim(published: Any, full: Any) -> int | None:
    """Microseconds from publication to full claim (None: not both, or the
    claim before the publication), as the dashboard has always measured."""
    if published is None or full is None:
        return None
    if isinstance(published, str):
        published = datetime.fromisoformat(published)
    if isinstance(full, str):
        full = datetime.fromisoformat(full)
    if full < published:
        return None
    delta = full - published
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _grains(day: str) -> tuple[tuple[str, str], tuple[str, str]]:
    return (("m", day[:7]), ("d", day))


def contribution(need: Any, claims: Iterable[Any], scopes: bool = True) -> Cells:
    """The cells one need (a row with ``NEED_FIELDS``) and its claims (rows
    with ``CLAIM_FIELDS``) add to the summary tables (without the scope rows
    unless ``scopes``)."""
    out: Cells = {}
    if need is None:
        return out
    claims = list(claims)
    region, public = need.region_code or "", need.public_region_code or ""
    amount, claimed = need.amount_fen or 0, need.claimed_fen or 0
    delivered = need.delivered_fen or 0
    confirmed = sum(c.delivered_fen or 0 for c in claims if c.status == CONFIRMED)
    figures = [1, amount, claimed, delivered, confirmed]
    pub = need.published_at
    hk = need.household_key or ""
    cat, kind, status = str(need.category), str(need.need_type), str(need.status)
    if pub is None:
        key = ("u", "", "", region, public, cat, kind, status)
        _add(out, NEED_CELLS, key, figures)
    else:
        day, month = china_day(pub), pub.strftime("%Y-%m")
        entries = parse_assistance(need.gov_assistance)
        hh = [1, int(delivered > 0), delivered, int(bool(entries))]
        for grain, span in _grains(day):
            _add(
                out,
                NEED_CELLS,
                (grain, span, month, region, public, cat, kind, status),
                figures,
            )
            _add(
                out, HOUSEHOLD_CELLS, (grain, span, month, region, public, kind, hk), hh
            )
            for t, monthly in entries:
                entry = (grain, span, region, hk, json.dumps(t), monthly)
                _add(out, ASSISTANCE_CELLS, entry, [1])
    for c in claims:
        _claim_cells(out, c, region, hk, pub is not None)
    if scopes:
        _scope_cells(out, need, claims, figures)
    return out


def _duration_cells(out: Cells, need: Any, region: str) -> None:
    micros = time_to_full_claim(need.published_at, need.fully_claimed_at)
    if micros is not None:
        day, month = micros // DAY_US, china_day(need.published_at)[:7]
        one = [1, 0, 0, 0, 0, 0, 0, 0]
        for depth in DEPTHS:
            code = region[:depth]
            for kind in (str(need.need_type), ALL_TYPES):
                key = (depth, code, kind, day, month, micros)
                _add(out, SCOPE_DURATIONS, key, [1])
                # The day's count, beside the other rows of the scope.
                _add(out, SCOPE_SUMS, ("r", depth, "x", code, f"{kind}|{day}"), one)
                if depth in SPEED_DEPTHS:
                    item = f"{month}|{kind}|{day}"
                    _add(out, SCOPE_SUMS, ("r", depth, "X", code, item), one)


def _scope_cells(out: Cells, need: Any, claims: list[Any], figures: list[int]) -> None:
    """The need's scope rows: sums (households left at 0: ``apply`` moves them
    from the membership transitions) and membership rows."""
    region, public = need.region_code or "", need.public_region_code or ""
    hk = need.household_key or ""
    status = str(need.status)
    full = int(status in FULL_STATUSES)
    sums = [figures[0], full, *figures[1:], 0, 0]
    matrix = f"{need.category}|{need.need_type}|{status}"
    published = need.published_at is not None
    delivered = need.delivered_fen or 0
    reached = int(delivered > 0)
    member = [1, reached, delivered]
    entries = parse_assistance(need.gov_assistance) if published else ()
    day = china_day(need.published_at) if published else ""
    for depth in DEPTHS:
        code = region[:depth]
        _add(out, SCOPE_SUMS, ("r", depth, "c", code, matrix), sums)
        if not published:
            continue
        month = need.published_at.strftime("%Y-%m")
        _add(out, SCOPE_SUMS, ("r", depth, "", code, ""), sums)
        _add(out, SCOPE_SUMS, ("r", depth, "m", code, month), sums)
        _add(out, SCOPE_SUMS, ("r", depth, "D", code, day), sums)
        _add(out, SCOPE_SUMS, ("r", depth, "C", code, f"{day}|{matrix}"), sums)
        _add(out, SCOPE_SUMS, ("r", depth, "B", code, f"{day[:7]}|{matrix}"), sums)
        _add(out, SCOPE_SUMS, ("r", depth, "M", code, f"{day}|{month}"), sums)
        _add(out, SCOPE_MEMBERS, ("r", depth, "", code, "", hk), member)
        for t, monthly in entries:
            _add(out, SCOPE_ASSISTANCE, (depth, code, hk, json.dumps(t), monthly), [1])
        if depth == 0:
            kind = str(need.need_type)
            _add(out, SCOPE_SUMS, ("r", 0, "t", "", kind), sums)
            _add(out, SCOPE_MEMBERS, ("r", 0, "t", "", kind, hk), member)
            _add(out, SCOPE_MEMBERS, ("r", 0, "m", "", month, hk), member)
        else:
            _add(out, SCOPE_SUMS, ("p", depth, "", public[:depth], ""), sums)
            key = ("p", depth, "", public[:depth], "", hk)
            _add(out, SCOPE_MEMBERS, key, member)
    _duration_cells(out, need, region)
    for c in claims:
        if str(c.status) in DONE and c.delivered_on is not None:
            month = c.delivered_on.isoformat()[:7]
            d = [1, 0, 0, 0, c.delivered_fen or 0, 0, 0, 0]
            for depth in DEPTHS:
                code = region[:depth]
                _add(out, SCOPE_SUMS, ("r", depth, "d", code, month), d)
                key = ("r", depth, "d", code, month, hk)
                _add(out, SCOPE_MEMBERS, key, [1, 1, c.delivered_fen or 0])


def _claim_cells(out: Cells, c: Any, region: str, hk: str, published: bool) -> None:
    c_amount, c_delivered = c.amount_fen or 0, c.delivered_fen or 0
    c_status = str(c.status)
    if c.created_at is not None:
        for grain, span in _grains(china_day(c.created_at)):
            key = (grain, span, region, c.org_id, c_status)
            _add(out, CLAIM_CELLS, key, [1, c_amount, c_delivered])
    if c_status in DONE and c.delivered_on is not None:
        for grain, span in _grains(c.delivered_on.isoformat()):
            _add(out, DELIVERY_CELLS, (grain, span, region, hk), [1, c_delivered])
    if c_status in DONE and published:
        _add(out, ORG_HOUSEHOLDS, (c.org_id, hk), [1])


def _need_columns() -> list[Any]:
    t = NEEDS
    return [t.c[name] for name in NEED_FIELDS]


def _claim_columns() -> list[Any]:
    t = CLAIMS
    return [t.c[name] for name in CLAIM_FIELDS]


def read(conn: Connection, ids: list[int]) -> dict[int, Cells]:
    """The contributions of the needs ``ids`` as the database has them now."""
    out: dict[int, Cells] = {}
    need_t, claim_t = NEEDS, CLAIMS
    for k in range(0, len(ids), 500):
        chunk = ids[k : k + 500]
        claims: dict[int, list[Any]] = defaultdict(list)
        for c in conn.execute(
            select(*_claim_columns()).where(claim_t.c.need_id.in_(chunk))
        ):
            claims[c.need_id].append(c)
        for n in conn.execute(select(*_need_columns()).where(need_t.c.id.in_(chunk))):
            out[n.id] = contribution(n, claims.get(n.id, ()))
    return out


# --- applying differences ------------------------------------------------------


def _insert(conn: Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def difference(old: Cells, new: Cells) -> Cells:
    out: Cells = {}
    for cell in old.keys() | new.keys():
        before, after = old.get(cell), new.get(cell)
        if before is None:
            delta = list(after or ())
        elif after is None:
            delta = [-v for v in before]
        else:
            delta = [a - b for a, b in zip(after, before, strict=True)]
        if any(delta):
            out[cell] = delta
    return out


Rows = list[tuple[tuple[Any, ...], list[int]]]


def apply(conn: Connection, deltas: Cells) -> None:
    """Add ``deltas`` to the tables: one upsert per changed row, in a fixed
    order (table, then key), so concurrent transactions lock the counter rows
    in the same order. The scope sums' household figures are not in
    ``deltas``: they follow from the membership rows as written here."""
    by_table: dict[str, Rows] = defaultdict(list)
    for (name, key), values in deltas.items():
        by_table[name].append((key, values))
    _lock_households(by_table)
    moved_days = _moved_days(by_table)
    moved_households = _moved_households(by_table)
    stored: dict[str, HouseholdDays] = {}
    after: dict[tuple[Any, ...], list[int]] = {}
    before: dict[tuple[Any, ...], dict[str, dict[int, int]]] = {}
    for name, table in TABLES.items():
        rows = by_table.get(name)
        if table is SCOPE_ASSISTANCE:
            changed = _changed_households(
                by_table.get(SCOPE_MEMBERS.name), by_table.get(name)
            )
            before = _assistance_of(conn, set(changed))
        if table is SCOPE_SUMS:
            rows = _with_transitions(
                rows or [], by_table.get(SCOPE_MEMBERS.name), after
            )
            rows = _with_assistance(
                rows,
                by_table.get(SCOPE_MEMBERS.name),
                by_table.get(SCOPE_ASSISTANCE.name),
                after,
                before,
            )
            # The moved households' day rows, read once under their locks
            # (taken by the membership upsert above) for both tables.
            stored = _household_days(conn, moved_households)
            rows = _with_firsts(rows, moved_days, stored)
        if table is PERIOD_ASSISTANCE:
            rows = _period_assistance_deltas(stored, moved_households, by_table)
        if not rows:
            continue
        rows.sort(key=lambda r: tuple(str(k) for k in r[0]))
        keys, measures = _keys(table), _measures(table)
        stmt = _insert(conn, table)
        stmt = stmt.on_conflict_do_update(
            index_elements=keys,
            set_={m: table.c[m] + stmt.excluded[m] for m in measures},
        )
        params = [
            {**dict(zip(keys, key, strict=True)), **dict(zip(measures, v, strict=True))}
            for key, v in rows
        ]
        if table is SCOPE_MEMBERS:
            # The new counts, read back from the upsert that holds the row's
            # lock: another transaction's change to the same household and
            # scope waits here, so each 0 <-> positive transition is seen
            # exactly once, and the household's assistance rows (read next)
            # are not changing under us.
            returned = conn.execute(
                stmt.returning(*(table.c[k] for k in (*keys, *measures))), params
            )
            after = {
                tuple(r[: len(keys)]): [int(x) for x in r[len(keys) :]]
                for r in returned
            }
        else:
            conn.execute(stmt, params)
        # A row whose counters all went back to zero is removed, not kept at
        # zero: a household key that no need carries any more (a retired key,
        # a need moved out of the cell) must not stay readable in the tables.
        emptied = [key for key, v in rows if not any(d > 0 for d in v)]
        if emptied:
            conn.execute(
                table.delete().where(
                    *(table.c[k] == sa.bindparam(f"k_{k}") for k in keys),
                    *(table.c[m] == 0 for m in measures),
                ),
                [
                    {f"k_{k}": value for k, value in zip(keys, key, strict=True)}
                    for key in emptied
                ],
            )


def _household_key(depth: int, code: str, hk: str) -> tuple[Any, ...]:
    return ("r", depth, "", code, "", hk)


def _changed_households(
    members: Rows | None, assistance: Rows | None
) -> dict[tuple[Any, ...], list[int]]:
    """(depth, code, household) whose 'a' figures may move: its needs or
    delivered amount in the scope, or its assistance entries, change. Each
    with its membership delta."""
    out: dict[tuple[Any, ...], list[int]] = {}
    for key, v in members or ():
        basis, depth, facet, code, _item, hk = key
        if basis == "r" and facet == "" and (v[0] or v[2]):
            out[(depth, code, hk)] = v
    for key, _v in assistance or ():
        out.setdefault(key[:3], [0, 0, 0])
    return out


def _lock_households(by_table: dict[str, Rows]) -> None:
    """A household whose assistance rows change in a scope has its membership
    row written too (a zero delta if nothing else changes): that upsert is
    the lock every such change takes first."""
    rows = by_table.get(SCOPE_ASSISTANCE.name)
    if not rows:
        return
    members = by_table[SCOPE_MEMBERS.name]
    have = {key for key, _v in members}
    for key, _v in rows:
        member = _household_key(*key[:3])
        if member not in have:
            have.add(member)
            members.append((member, [0, 0, 0]))


Days = dict[tuple[str, str], list[int]]  # (county, China day) -> [needs, reached]


def _moved_days(by_table: dict[str, Rows]) -> dict[str, Days]:
    """Households whose days (published needs, needs reached per county and
    day) change, with the change; each has its membership row of every
    region written too (a zero change if nothing else moves): the lock under
    which its days are read for the 'F' rows."""
    out: dict[str, Days] = {}
    for key, v in by_table.get(HOUSEHOLD_CELLS.name) or ():
        grain, span, _month, region, _public, _kind, hk = key
        if grain != "d" or not (v[0] or v[1]):
            continue
        acc = out.setdefault(hk, {}).setdefault((region, span), [0, 0])
        acc[0] += v[0]
        acc[1] += v[1]
    out = {
        hk: days for hk, days in out.items() if any(d[0] or d[1] for d in days.values())
    }
    if out:
        members = by_table[SCOPE_MEMBERS.name]
        have = {key for key, _v in members}
        for hk in out:
            member = _household_key(0, "", hk)
            if member not in have:
                members.append((member, [0, 0, 0]))
    return out


def _moved_households(by_table: dict[str, Rows]) -> list[str]:
    """Households whose day rows (needs, delivered, assistance) change: their
    'period assistance' rows are recomputed, under the same lock as the F
    rows (their membership row of every region)."""
    out: set[str] = set()
    for key, v in by_table.get(HOUSEHOLD_CELLS.name) or ():
        if key[0] == "d" and any(v):
            out.add(key[-1])
    for key, v in by_table.get(ASSISTANCE_CELLS.name) or ():
        if key[0] == "d" and any(v):
            out.add(key[3])
    if out:
        members = by_table[SCOPE_MEMBERS.name]
        have = {key for key, _v in members}
        for hk in out:
            member = _household_key(0, "", hk)
            if member not in have:
                have.add(member)
                members.append((member, [0, 0, 0]))
    return sorted(out)


HouseholdDays = tuple[
    dict[
        tuple[str, str], list[int]
    ],  # (county, day) -> needs, reached, delivered, assisted
    dict[tuple[str, str, str, int], int],  # (county, day, kind, monthly) -> entries
]


def _household_days_select() -> Any:
    """Per household, county and China day: needs, reached, delivered,
    assisted (the day rows of the household cells, public regions added up)."""
    h = HOUSEHOLD_CELLS.c
    return (
        select(
            h.household_key,
            h.region,
            h.span,
            sa.func.sum(h.needs),
            sa.func.sum(h.reached),
            sa.func.sum(h.delivered),
            sa.func.sum(h.assisted),
        )
        .where(h.grain == "d")
        .group_by(h.household_key, h.region, h.span)
    )


def _household_days(
    conn: Connection, households: list[str]
) -> dict[str, HouseholdDays]:
    """The day rows of the household and assistance cells of these households."""
    h, a = HOUSEHOLD_CELLS.c, ASSISTANCE_CELLS.c
    out: dict[str, HouseholdDays] = {}
    for k in range(0, len(households), 200):
        chunk = households[k : k + 200]
        for hk, region, day, *v in conn.execute(
            _household_days_select().where(h.household_key.in_(chunk))
        ):
            days = out.setdefault(hk, ({}, {}))[0]
            days[(region, day)] = [int(x or 0) for x in v]
        for hk, region, day, kind, monthly, entries in conn.execute(
            select(
                a.household_key, a.region, a.span, a.kind, a.monthly, a.entries
            ).where(a.grain == "d", a.household_key.in_(chunk))
        ):
            entry = out.setdefault(hk, ({}, {}))[1]
            entry[(region, day, kind, int(monthly))] = int(entries)
    return out


def _chain(days: list[str]) -> list[tuple[str, str]]:
    out, prev = [], ""
    for day in days:
        out.append((day, prev))
        prev = day
    return out


def _per_scope(
    data: HouseholdDays, depth: int
) -> dict[str, tuple[dict[str, list[int]], dict[str, dict[str, int]]]]:
    """Per scope code of ``depth``: the household's days (needs, reached,
    delivered, assisted) and per assistance type its largest amount per day
    ('' for "listed any": the days it listed assistance, amount 0)."""
    days_in, entries_in = data
    out: dict[str, tuple[dict[str, list[int]], dict[str, dict[str, int]]]] = {}
    for (region, day), v in days_in.items():
        acc = out.setdefault(region[:depth], ({}, {}))[0].setdefault(day, [0] * 4)
        for i in range(4):
            acc[i] += v[i]
    entries: dict[tuple[str, str, str, int], int] = {}
    for (region, day, kind, monthly), n in entries_in.items():
        key = (region[:depth], kind, day, monthly)
        entries[key] = entries.get(key, 0) + n
    for days in out.values():
        days[1][""] = {d: 0 for d, v in days[0].items() if v[0] > 0 and v[3] > 0}
    for (code, kind, day, monthly), n in entries.items():
        if n > 0 and code in out:
            best = out[code][1].setdefault(kind, {})
            best[day] = max(best.get(day, monthly), monthly)
    return out


def _type_rows(
    add: Callable[[tuple[Any, ...], int], None],
    scope: tuple[int, str, str],
    best: dict[str, int],
    reached: set[str],
    delivered: list[tuple[str, int]],
) -> None:
    """The E, U, Y (and but for '' X) rows of one household, scope and type."""
    ordered = sorted(best)
    for day, prev in _chain(ordered):
        add((*scope[:2], day, scope[2], "E", prev, ""), 1)
    for day, prev in _chain(sorted(set(ordered) | reached)):
        add((*scope[:2], day, scope[2], "U", prev, ""), 1)
    for day, prev in _chain(sorted(reached)):
        add((*scope[:2], day, scope[2], "R", prev, ""), 1)
    for day, amount in delivered:
        prev = max((d for d in ordered if d <= day), default="")
        nxt = min((d for d in ordered if d >= day), default="")
        add((*scope[:2], day, scope[2], "Y", prev, nxt), amount)
    if scope[2] == "":
        return
    for i, day in enumerate(ordered):
        v = best[day]
        prev = next((d for d in reversed(ordered[:i]) if best[d] >= v), "")
        nxt = next((d for d in ordered[i + 1 :] if best[d] > v), "")
        add((*scope[:2], day, scope[2], "X", prev, nxt), v)


def period_assistance(data: HouseholdDays) -> dict[tuple[Any, ...], int]:
    """The rows of PERIOD_ASSISTANCE one household makes (see there)."""
    out: dict[tuple[Any, ...], int] = {}

    def add(key: tuple[Any, ...], n: int) -> None:
        if n:
            out[key] = out.get(key, 0) + n

    for depth in DEPTHS:
        for code, (days, kinds) in _per_scope(data, depth).items():
            reached = {d for d, v in days.items() if v[0] > 0 and v[1] > 0}
            delivered = sorted((d, v[2]) for d, v in days.items() if v[0] > 0 and v[2])
            for kind, best in kinds.items():
                if best:
                    _type_rows(add, (depth, code, kind), best, reached, delivered)
    return out


def _own_changes(by_table: dict[str, Rows]) -> dict[str, HouseholdDays]:
    """This transaction's changes to the households' day rows, as
    ``HouseholdDays`` of deltas."""
    out: dict[str, HouseholdDays] = {}
    for key, v in by_table.get(HOUSEHOLD_CELLS.name) or ():
        if key[0] == "d":
            days = out.setdefault(key[-1], ({}, {}))[0]
            acc = days.setdefault((key[3], key[1]), [0, 0, 0, 0])
            for i in range(4):
                acc[i] += v[i]
    for key, v in by_table.get(ASSISTANCE_CELLS.name) or ():
        if key[0] == "d":
            entries = out.setdefault(key[3], ({}, {}))[1]
            entry = (key[2], key[1], key[4], int(key[5]))
            entries[entry] = entries.get(entry, 0) + v[0]
    return out


def _less(now: HouseholdDays, change: HouseholdDays) -> HouseholdDays:
    days = {k: list(v) for k, v in now[0].items()}
    for k, d in change[0].items():
        v = days.setdefault(k, [0, 0, 0, 0])
        for i in range(4):
            v[i] -= d[i]
    entries = dict(now[1])
    for entry, n in change[1].items():
        entries[entry] = entries.get(entry, 0) - n
    return days, entries


def _period_assistance_deltas(
    stored: dict[str, HouseholdDays], households: list[str], by_table: dict[str, Rows]
) -> Rows:
    """PERIOD_ASSISTANCE's deltas: each moved household's rows from its day
    rows now (read under its lock) less those from its day rows before this
    transaction's changes."""
    if not households:
        return []
    own = _own_changes(by_table)
    acc: dict[tuple[Any, ...], int] = {}
    for hk in households:
        now = stored.get(hk, ({}, {}))
        for key, n in period_assistance(now).items():
            acc[key] = acc.get(key, 0) + n
        was = _less(now, own.get(hk, ({}, {})))
        for key, n in period_assistance(was).items():
            acc[key] = acc.get(key, 0) - n
    return [(key, [n]) for key, n in acc.items() if n]


def firsts(days: Days) -> dict[tuple[int, str, str], list[int]]:
    """The 'F' rows one household's days make: {(depth, code, item): [households,
    reached]}: in each scope, each day it has a need (a need reached) with the
    day before it in that chain."""
    out: dict[tuple[int, str, str], list[int]] = {}
    for depth in DEPTHS:
        chains: dict[str, tuple[set[str], set[str]]] = {}
        for (region, day), (needs, reached) in days.items():
            sets = chains.setdefault(region[:depth], (set(), set()))
            if needs > 0:
                sets[0].add(day)
            if reached > 0:
                sets[1].add(day)
        for code, sets in chains.items():
            for i, chain in enumerate(sets):
                prev = ""
                for day in sorted(chain):
                    acc = out.setdefault((depth, code, f"{day}|{prev}"), [0, 0])
                    acc[i] += 1
                    prev = day
    return out


def _with_firsts(
    sums: Rows, moved: dict[str, Days], stored: dict[str, HouseholdDays]
) -> Rows:
    """The sums' deltas plus the 'F' rows of each household whose days move:
    its days read now (under its membership row's lock, this transaction's
    own changes included) and as they were (less those changes)."""
    if not moved:
        return sums
    acc = {key: list(v) for key, v in sums}
    for hk, delta in moved.items():
        days = stored.get(hk, ({}, {}))[0]
        now = {k: v[:2] for k, v in days.items()}
        was = {k: list(v) for k, v in now.items()}
        for k, (d_needs, d_reached) in delta.items():
            v = was.setdefault(k, [0, 0])
            v[0] -= d_needs
            v[1] -= d_reached
        old, new = firsts(was), firsts(now)
        for cell in old.keys() | new.keys():
            o, n = old.get(cell, [0, 0]), new.get(cell, [0, 0])
            if o != n:
                depth, code, item = cell
                row = acc.setdefault(("r", depth, "F", code, item), [0] * 8)
                row[6] += n[0] - o[0]
                row[7] += n[1] - o[1]
    return [(key, v) for key, v in acc.items() if any(v)]


def _assistance_of(
    conn: Connection, households: set[tuple[Any, ...]]
) -> dict[tuple[Any, ...], dict[str, dict[int, int]]]:
    """The assistance rows of these (depth, code, household) as stored:
    {household: {kind: {monthly: entries}}}."""
    a = SCOPE_ASSISTANCE.c
    out: dict[tuple[Any, ...], dict[str, dict[int, int]]] = {}
    wanted = sorted(households, key=lambda k: tuple(str(x) for x in k))
    for k in range(0, len(wanted), 200):
        chunk = wanted[k : k + 200]
        stmt = select(
            a.depth, a.code, a.household_key, a.kind, a.monthly, a.entries
        ).where(sa.tuple_(a.depth, a.code, a.household_key).in_(chunk))
        for depth, code, hk, kind, monthly, entries in conn.execute(stmt):
            kinds = out.setdefault((depth, code, hk), {})
            kinds.setdefault(kind, {})[int(monthly)] = int(entries)
    return out


def _assistance_figures(
    needs: int, delivered: int, kinds: dict[str, dict[int, int]]
) -> dict[str, list[int]]:
    """What one household adds to its scope's 'a' rows: {item: values}."""
    if needs <= 0:
        return {}
    reached = int(delivered > 0)
    out = {}
    for kind, amounts in kinds.items():
        present = [m for m, e in amounts.items() if e > 0]
        if present:
            out[kind] = [1, 0, max(present), 0, delivered, 0, 1, reached]
    if not out:
        out[""] = [1, 0, 0, 0, delivered, 0, 1, reached]
    return out


def _with_assistance(
    sums: Rows,
    members: Rows | None,
    assistance: Rows | None,
    after: dict[tuple[Any, ...], list[int]],
    before: dict[tuple[Any, ...], dict[str, dict[int, int]]],
) -> Rows:
    """The sums' deltas plus the 'a' rows of each household whose figures in
    a scope changed (its needs, delivered amount or assistance entries)."""
    changed = _changed_households(members, assistance)
    touched: dict[tuple[Any, ...], list[tuple[tuple[Any, ...], int]]] = defaultdict(
        list
    )
    for key, v in assistance or ():
        touched[key[:3]].append((key[3:], v[0]))
    acc = {key: list(v) for key, v in sums}
    for household, delta in changed.items():
        depth, code, hk = household
        now = after[_household_key(depth, code, hk)]
        old_kinds = before.get(household, {})
        new_kinds = {k: dict(m) for k, m in old_kinds.items()}
        for (kind, monthly), d in touched.get(household, ()):
            amounts = new_kinds.setdefault(kind, {})
            amounts[monthly] = amounts.get(monthly, 0) + d
        old = _assistance_figures(now[0] - delta[0], now[2] - delta[2], old_kinds)
        new = _assistance_figures(now[0], now[2], new_kinds)
        for item in old.keys() | new.keys():
            o, n = old.get(item, [0] * 8), new.get(item, [0] * 8)
            row = acc.setdefault(("r", depth, "a", code, item), [0] * 8)
            for i in range(8):
                row[i] += n[i] - o[i]
    return [(key, v) for key, v in acc.items() if any(v)]


def _with_transitions(
    sums: Rows, members: Rows | None, after: dict[tuple[Any, ...], list[int]]
) -> Rows:
    """The scope sums' deltas plus the household counts moved by the
    membership rows just written (their deltas; ``after`` their new values)."""
    acc = {key: list(v) for key, v in sums}
    for key, v in members or ():
        d_needs, d_reached = v[0], v[1]
        needs, reached = after[key][0], after[key][1]
        moved = [
            int(needs > 0) - int(needs - d_needs > 0),
            int(reached > 0) - int(reached - d_reached > 0),
        ]
        if any(moved):
            row = acc.setdefault(key[:-1], [0] * 8)
            row[6] += moved[0]
            row[7] += moved[1]
    return [(key, v) for key, v in acc.items() if any(v)]


# --- the choke point -------------------------------------------------------------

_INFO = "report_summary_old"  # session.info: {need id: contribution at first touch}
_NEW_ABOVE = "report_summary_new_above"  # needs bulk-inserted: ids above this
_NEED_ATTRS = frozenset(NEED_FIELDS) - {"id"}
_CLAIM_ATTRS = frozenset(CLAIM_FIELDS)


def _touched(session: Session) -> dict[int, Cells]:
    return session.info.setdefault(_INFO, {})


def touch(session: Session, need_ids: Iterable[int | None]) -> None:
    """Remember the contribution of each need before this transaction changes
    it (the first time only), with the need's row locked."""
    old = _touched(session)
    ids = sorted({i for i in need_ids if i is not None and i not in old})
    if not ids:
        return
    conn = session.connection()
    table = NEEDS
    if conn.dialect.name == "postgresql":
        conn.execute(
            select(table.c.id).where(table.c.id.in_(ids)).order_by(table.c.id)
            .with_for_update()
        )  # fmt: skip
    else:
        # pysqlite begins a transaction only before a write: a write that
        # changes nothing takes SQLite's lock, so the read below is current.
        conn.execute(sa.update(table).where(table.c.id == ids[0]).values(id=table.c.id))
    found = read(conn, ids)
    for i in ids:
        old[i] = found.get(i, {})


def _changed(obj: Any, attrs: frozenset[str]) -> bool:
    state = sa.inspect(obj)
    return any(state.attrs[a].history.has_changes() for a in attrs)


def _claim_needs(obj: Claim) -> set[int | None]:
    ids: set[int | None] = {obj.need_id}
    if obj.need_id is None and getattr(obj, "need", None) is not None:
        ids.add(obj.need.id)
    hist = sa.inspect(obj).attrs["need_id"].history
    ids.update(hist.deleted or ())
    return ids


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    ids: set[int | None] = set()
    for obj in session.dirty:
        if isinstance(obj, Need) and _changed(obj, _NEED_ATTRS):
            ids.add(obj.id)
        elif isinstance(obj, Claim):
            # Any change to a claim locks its need first, even one the
            # reports do not read: the one lock order (need → claim) holds
            # for every path (docs/claims.md).
            ids |= _claim_needs(obj)
    # New needs with an explicit id, deleted ones; new rows get theirs at the
    # flush (after_flush).
    for obj in (*session.deleted, *session.new):
        if isinstance(obj, Need):
            ids.add(obj.id)
        elif isinstance(obj, Claim):
            ids |= _claim_needs(obj)
    if ids:
        touch(session, ids)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _ctx: Any) -> None:
    old = None
    for obj in session.new:
        if isinstance(obj, Need) and obj.id is not None:
            old = _touched(session) if old is None else old
            old.setdefault(obj.id, {})  # did not exist before this transaction


def _statement_ids(stmt: Any, table: sa.Table) -> list[Any] | None:
    """The ids an UPDATE's WHERE names (``id = x`` or ``id IN (...)``), if any."""
    clause = stmt.whereclause
    if clause is None:
        return None
    parts = list(getattr(clause, "clauses", [clause]))
    for part in parts:
        left = getattr(part, "left", None)
        right = getattr(part, "right", None)
        if getattr(getattr(left, "table", None), "name", None) != table.name:
            continue
        if getattr(left, "name", None) != "id":
            continue
        op = getattr(part.operator, "__name__", "")
        value = getattr(right, "value", None)
        if op == "eq" and value is not None:
            return [value]
        if op == "in_op" and isinstance(value, list | tuple):
            return list(value)
    return None


def _param_rows(state: ORMExecuteState) -> list[dict[str, Any]]:
    params = state.parameters
    if isinstance(params, dict):
        return [params]
    return [p for p in (params or []) if isinstance(p, dict)]


def _inserting(state: ORMExecuteState, name: str) -> None:
    """A bulk ``insert(Need)``/``insert(Claim)`` through the session."""
    session, rows = state.session, _param_rows(state)
    conn = session.connection()
    if name == "claims":
        # The claims' needs, read before the claims exist.
        touch(session, [r.get("need_id") for r in rows])
        return
    ids = [r.get("id") for r in rows]
    if rows and all(i is not None for i in ids):
        touch(session, ids)
        return
    # New rows without ids: the needs above today's largest id are this
    # transaction's (counted from nothing at commit).
    if _NEW_ABOVE not in session.info:
        newest = conn.scalar(select(sa.func.max(NEEDS.c.id)))
        session.info[_NEW_ABOVE] = int(newest or 0)


@event.listens_for(Session, "do_orm_execute")
def _bulk(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    stmt: Any = state.statement
    name = getattr(getattr(stmt, "table", None), "name", None)
    if name == "needs":
        table, attrs = NEEDS, _NEED_ATTRS
    elif name == "claims":
        table, attrs = CLAIMS, _CLAIM_ATTRS
    else:
        return
    if state.is_insert:
        _inserting(state, name)
        return
    if state.is_update and name == "needs":
        names = {str(getattr(k, "key", k)) for k in (stmt._values or {})}
        names |= {k for r in _param_rows(state) for k in r}
        if not names & attrs:
            return
    # A claim's UPDATE always goes on: its need is locked before the claim
    # row, whatever the columns, or two paths could lock them in opposite
    # orders (a pairing's end against a month's delivery did, on PostgreSQL).
    session = state.session
    conn = session.connection()
    ids = _statement_ids(stmt, table)
    if ids is None and stmt.whereclause is None and _param_rows(state):
        ids = [r.get("id") for r in _param_rows(state)]  # bulk UPDATE by id
    if ids is None:  # a WHERE without the id: the rows it matches now
        where = stmt.whereclause if stmt.whereclause is not None else sa.true()
        ids = list(conn.scalars(select(table.c.id).where(where)))
    if name == "claims" and ids:
        ids = list(
            conn.scalars(select(table.c.need_id).where(table.c.id.in_(ids)).distinct())
        )
    touch(session, ids)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    session.flush()  # the new needs get their ids (after_flush) now
    above = session.info.pop(_NEW_ABOVE, None)
    if above is not None:
        old_new = _touched(session)
        for i in session.connection().scalars(
            select(NEEDS.c.id).where(NEEDS.c.id > above)
        ):
            old_new.setdefault(i, {})
    old: dict[int, Cells] = session.info.pop(_INFO, {})
    if not old:
        return
    conn = session.connection()
    ids = sorted(old)
    new = read(conn, ids)
    deltas: Cells = {}
    for i in ids:
        for cell, d in difference(old[i], new.get(i, {})).items():
            acc = deltas.get(cell)
            if acc is None:
                deltas[cell] = d
            else:
                for k, v in enumerate(d):
                    acc[k] += v
    apply(conn, {c: d for c, d in deltas.items() if any(d)})


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_INFO, None)
        session.info.pop(_NEW_ABOVE, None)


# --- rebuild and verify --------------------------------------------------------


def _regions(conn: Connection) -> list[str]:
    t = NEEDS
    return sorted(conn.scalars(select(t.c.region_code).distinct()).all(), key=str)


def _computed(
    conn: Connection, regions: list[str], step: Callable[[int], None]
) -> Iterator[tuple[str, Cells]]:
    """Per region of the needs (in code order): the cells its needs make."""
    need_t, claim_t = NEEDS, CLAIMS
    for region in regions:
        cells: Cells = {}
        needs = conn.execute(
            select(*_need_columns())
            .where(need_t.c.region_code == region)
            .order_by(need_t.c.id)
        ).all()
        for k in range(0, len(needs), 1000):
            chunk = needs[k : k + 1000]
            claims: dict[int, list[Any]] = defaultdict(list)
            for c in conn.execute(
                select(*_claim_columns()).where(
                    claim_t.c.need_id.in_([n.id for n in chunk])
                )
            ):
                claims[c.need_id].append(c)
            for n in chunk:
                made = contribution(n, claims.get(n.id, ()), scopes=False)
                for cell, values in made.items():
                    _add(cells, TABLES[cell[0]], cell[1], values)
            step(len(chunk))
        yield region, cells


def _count_needs(conn: Connection) -> int:
    return int(conn.scalar(select(sa.func.count()).select_from(NEEDS)) or 0)


def _progress(show: bool, total: int, label: str) -> Any:
    if show:
        return click.progressbar(length=total, label=label, show_pos=True)
    import contextlib

    class _Quiet:
        def update(self, _n: int) -> None:
            pass

    return contextlib.nullcontext(_Quiet())


# The scope rows are the cells added up: rebuild derives them from the cell
# tables in SQL (one pass, nothing held in memory), verify compares them with
# the same derivation. The upserts of each change reach the same rows by
# another road (``_scope_cells`` and the membership transitions), so verify
# after every step of the state machine checks one against the other.
_FULL_SQL = "CASE WHEN status IN ('fully_claimed', 'delivered', 'confirmed') THEN needs ELSE 0 END"


def _members_sql() -> str:
    parts = []
    for depth in DEPTHS:
        code = f"substr(region, 1, {depth})" if depth else "''"
        parts.append(
            f"SELECT 'r' AS basis, {depth} AS depth, '' AS facet, {code} AS code,"
            " '' AS item, household_key, needs, reached, delivered"
            " FROM report_household_cells WHERE grain = 'm'"
        )
        parts.append(
            f"SELECT 'r', {depth}, 'd', {code}, span, household_key,"
            " deliveries, deliveries, delivered"
            " FROM report_delivery_cells WHERE grain = 'm'"
        )
        if depth:
            parts.append(
                f"SELECT 'p', {depth}, '', substr(public_region, 1, {depth}), '',"
                " household_key, needs, reached, delivered"
                " FROM report_household_cells WHERE grain = 'm'"
            )
    for facet, value in (("t", "need_type"), ("m", "month")):
        parts.append(
            f"SELECT 'r', 0, '{facet}', '', {value}, household_key, needs,"
            " reached, delivered FROM report_household_cells WHERE grain = 'm'"
        )
    return (
        "SELECT basis, depth, facet, code, item, household_key,"
        " SUM(needs) AS needs, SUM(reached) AS reached,"
        " SUM(delivered) AS delivered FROM ("
        + " UNION ALL ".join(parts)
        + ") AS m GROUP BY basis, depth, facet, code, item, household_key"
        " HAVING SUM(needs) <> 0 OR SUM(reached) <> 0 OR SUM(delivered) <> 0"
    )


def _assistance_sql() -> str:
    parts = []
    for depth in DEPTHS:
        code = f"substr(region, 1, {depth})" if depth else "''"
        first = depth == 0
        parts.append(
            f"SELECT {depth}{' AS depth' if first else ''},"
            f" {code}{' AS code' if first else ''}, household_key, kind, monthly,"
            " entries FROM report_assistance_cells WHERE grain = 'm'"
        )
    return (
        "SELECT depth, code, household_key, kind, monthly, SUM(entries) AS entries"
        " FROM (" + " UNION ALL ".join(parts) + ") AS a"
        " GROUP BY depth, code, household_key, kind, monthly HAVING SUM(entries) <> 0"
    )


# The 'a' rows from the stored membership and assistance rows: per household
# of a scope, its largest amount of each type (or, listing none, a row '').
_ASSISTED_SQL = (
    "SELECT 'r', m.depth, 'a', m.code, a.kind, 1, 0, a.best, 0, m.delivered, 0, 1,"
    " CASE WHEN m.delivered > 0 THEN 1 ELSE 0 END"
    " FROM (SELECT depth, code, household_key, kind, MAX(monthly) AS best"
    " FROM report_scope_assistance WHERE entries > 0"
    " GROUP BY depth, code, household_key, kind) AS a"
    " JOIN report_scope_members AS m ON m.basis = 'r' AND m.depth = a.depth"
    " AND m.facet = '' AND m.code = a.code AND m.item = ''"
    " AND m.household_key = a.household_key WHERE m.needs > 0"
)
_UNASSISTED_SQL = (
    "SELECT 'r', m.depth, 'a', m.code, '', 1, 0, 0, 0, m.delivered, 0, 1,"
    " CASE WHEN m.delivered > 0 THEN 1 ELSE 0 END"
    " FROM report_scope_members AS m WHERE m.basis = 'r' AND m.facet = ''"
    " AND m.needs > 0 AND NOT EXISTS (SELECT 1 FROM report_scope_assistance AS x"
    " WHERE x.depth = m.depth AND x.code = m.code"
    " AND x.household_key = m.household_key AND x.entries > 0)"
)


def _firsts_sql() -> list[str]:
    """The 'F' rows from the household cells' day rows: per scope and
    household its days (with a need, with a need reached), each with the
    one before it."""
    days = " UNION ALL ".join(
        f"SELECT {depth} AS depth, {f'substr(region, 1, {depth})' if depth else chr(39) * 2}"
        " AS code, household_key, span AS day, needs, reached"
        " FROM report_household_cells WHERE grain = 'd'"
        for depth in DEPTHS
    )
    grouped = (
        "SELECT depth, code, household_key, day, SUM(needs) AS needs,"
        f" SUM(reached) AS reached FROM ({days}) AS u"
        " GROUP BY depth, code, household_key, day"
    )
    out = []
    for measure, values in (("needs", "1, 0"), ("reached", "0, 1")):
        out.append(
            "SELECT 'r', depth, 'F', code, day || '|' || COALESCE(LAG(day)"
            " OVER (PARTITION BY depth, code, household_key ORDER BY day), ''),"
            f" 0, 0, 0, 0, 0, 0, {values} FROM ({grouped}) AS g WHERE {measure} > 0"
        )
    return out


def _sums_sql(
    periods_only: bool = False, periods: bool = True, durations: bool = True
) -> str:
    """The scope sums derived from the cells (``periods_only``: the rows per
    day, facets D, C, B, M and F, alone; ``periods`` False: without them;
    ``durations`` False: without those counted from the duration rows)."""
    cell = (
        "needs",
        _FULL_SQL,
        "requested",
        "claimed",
        "delivered",
        "confirmed",
        "0",
        "0",
    )
    named = ", ".join(f"{e} AS n{i}" for i, e in enumerate(cell))
    sums = ", ".join(cell)
    cells = "FROM report_need_cells WHERE grain"
    parts = [
        "SELECT 'r' AS basis, 0 AS depth, '' AS facet, '' AS code, '' AS item,"
        f" {named} {cells} = 'm'"
    ]
    for depth in DEPTHS:
        code = f"substr(region, 1, {depth})" if depth else "''"
        if depth:
            parts.append(f"SELECT 'r', {depth}, '', {code}, '', {sums} {cells} = 'm'")
            parts.append(
                f"SELECT 'p', {depth}, '', substr(public_region, 1, {depth}), '',"
                f" {sums} {cells} = 'm'"
            )
        parts.append(
            f"SELECT 'r', {depth}, 'c', {code},"
            f" category || '|' || need_type || '|' || status, {sums}"
            f" {cells} IN ('m', 'u')"
        )
        parts.append(f"SELECT 'r', {depth}, 'm', {code}, month, {sums} {cells} = 'm'")
        parts.append(
            f"SELECT 'r', {depth}, 'd', {code}, span, deliveries, 0, 0, 0,"
            " delivered, 0, 0, 0 FROM report_delivery_cells WHERE grain = 'm'"
        )
    parts.append(f"SELECT 'r', 0, 't', '', need_type, {sums} {cells} = 'm'")
    if periods_only:  # the first part names the columns and adds nothing
        parts = [parts[0] + " AND 1 = 0"]
    for depth in DEPTHS if periods else ():
        code = f"substr(region, 1, {depth})" if depth else "''"
        for facet, item in (
            ("D", "span"),
            ("C", "span || '|' || category || '|' || need_type || '|' || status"),
            (
                "B",
                "substr(span, 1, 7) || '|' || category || '|' || need_type"
                " || '|' || status",
            ),
            ("M", "span || '|' || month"),
        ):
            parts.append(
                f"SELECT 'r', {depth}, '{facet}', {code}, {item}, {sums} {cells} = 'd'"
            )
    if periods:
        parts.extend(_firsts_sql())
    if periods_only:
        return _grouped_sums(parts, len(cell))
    if durations:
        parts.extend(_speed_sums_sql())
    parts.append(_ASSISTED_SQL)
    parts.append(_UNASSISTED_SQL)
    parts.append(
        "SELECT basis, depth, facet, code, item, 0, 0, 0, 0, 0, 0,"
        " CASE WHEN needs > 0 THEN 1 ELSE 0 END,"
        " CASE WHEN reached > 0 THEN 1 ELSE 0 END FROM report_scope_members"
    )
    return _grouped_sums(parts, len(cell))


def _grouped_sums(parts: list[str], width: int) -> str:
    measures = ", ".join(
        f"SUM(n{i}) AS {m}" for i, m in enumerate(_measures(SCOPE_SUMS))
    )
    return (
        f"SELECT basis, depth, facet, code, item, {measures} FROM ("
        + " UNION ALL ".join(parts)
        + ") AS s GROUP BY basis, depth, facet, code, item HAVING "
        + " OR ".join(f"SUM(n{i}) <> 0" for i in range(width))
    )


def derive_periods(conn: Connection) -> None:
    """Add the scope sums per day (facets D, C, B, M, F) from the cells, to a
    table without them (the migration that introduced them)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SET LOCAL work_mem = '256MB'"))
    sums = ", ".join((*SCOPE_KEYS, *_measures(SCOPE_SUMS)))
    conn.execute(sa.text(f"INSERT INTO report_scope_sums ({sums}) {_sums_sql(True)}"))


def _county_durations(conn: Connection) -> Cells:
    """The duration rows of depth 6 per need type, from the needs."""
    t = NEEDS
    out: Cells = {}
    stmt = select(
        t.c.region_code, t.c.need_type, t.c.published_at, t.c.fully_claimed_at
    )
    stmt = stmt.where(t.c.published_at.is_not(None), t.c.fully_claimed_at.is_not(None))
    for region, kind, pub, full in conn.execute(stmt):
        micros = time_to_full_claim(pub, full)
        if micros is not None:
            month = china_day(_as_time(pub))[:7]
            key = (6, (region or "")[:6], str(kind), micros // DAY_US, month, micros)
            _add(out, SCOPE_DURATIONS, key, [1])
    return out


def _as_time(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


_DURATION_KEYS = "depth, code, need_type, bucket, month, micros"


def _durations_sql() -> str:
    """Every other duration row, from the stored rows of depth 6 per type."""
    typed = (
        "SELECT {depth} AS depth, substr(code, 1, {depth}) AS code, need_type,"
        " bucket, month, micros, needs FROM report_scope_durations"
        f" WHERE depth = 6 AND need_type <> '{ALL_TYPES}'"
    )
    parts = [typed.format(depth=d) for d in DEPTHS if d != 6]
    levels = " UNION ALL ".join([*parts, typed.format(depth=6)])
    return (
        f"SELECT {_DURATION_KEYS}, needs FROM ({' UNION ALL '.join(parts)}) AS t"
        f" UNION ALL SELECT depth, code, '{ALL_TYPES}', bucket, month, micros,"
        f" SUM(needs) FROM ({levels}) AS a GROUP BY depth, code, bucket, month, micros"
    )


def _derive_durations(conn: Connection) -> None:
    _insert_rows(conn, _county_durations(conn))
    cols = ", ".join(c.name for c in SCOPE_DURATIONS.columns)
    derived = (
        f"SELECT {_DURATION_KEYS}, SUM(needs) FROM ({_durations_sql()})"
        f" AS d GROUP BY {_DURATION_KEYS}"
    )
    conn.execute(sa.text(f"INSERT INTO report_scope_durations ({cols}) {derived}"))


def _speed_sums_sql() -> list[str]:
    """The scope sums counted from the duration rows: facets x and X."""
    zeros = ", ".join(f"0 AS n{i}" for i in range(1, 8))
    depths = ", ".join(str(d) for d in SPEED_DEPTHS)
    return [
        "SELECT 'r' AS basis, depth, 'x' AS facet, code,"
        " need_type || '|' || CAST(bucket AS VARCHAR) AS item, needs AS n0,"
        f" {zeros} FROM report_scope_durations",
        "SELECT 'r', depth, 'X', code, month || '|' || need_type || '|'"
        " || CAST(bucket AS VARCHAR), needs, 0, 0, 0, 0, 0, 0, 0"
        f" FROM report_scope_durations WHERE depth IN ({depths})",
    ]


def derive_speed(conn: Connection) -> None:
    """Refill the duration rows (from the needs) and the scope sums counted
    from them (facets x and X): the migration that added their month."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SET LOCAL work_mem = '256MB'"))
    conn.execute(SCOPE_DURATIONS.delete())
    conn.execute(SCOPE_SUMS.delete().where(SCOPE_SUMS.c.facet.in_(("x", "X"))))
    _derive_durations(conn)
    sums = ", ".join((*SCOPE_KEYS, *_measures(SCOPE_SUMS)))
    derived = _grouped_sums(_speed_sums_sql(), 8)
    conn.execute(sa.text(f"INSERT INTO report_scope_sums ({sums}) {derived}"))


def derive_scopes(
    conn: Connection, periods: bool = True, durations: bool = True
) -> None:
    """Fill the scope tables from the cell tables (which must be right) and,
    for the durations, from the needs. ``periods`` False: without the rows
    per day (the migration 0021_dash, before those existed); ``durations``
    False: without the duration rows and the sums counted from them (the
    same migration, whose duration table had no month yet: 0024_speed fills
    them)."""
    if conn.dialect.name == "postgresql":
        # Millions of membership rows are grouped in one statement: memory
        # for this transaction's sorts, not the default 4 MB spilled to disk.
        conn.execute(sa.text("SET LOCAL work_mem = '256MB'"))
    for table in SCOPE_TABLES:
        if periods or table is not PERIOD_ASSISTANCE:
            conn.execute(table.delete())
    if durations:
        _derive_durations(conn)
    members = ", ".join((*SCOPE_KEYS, "household_key", *_measures(SCOPE_MEMBERS)))
    conn.execute(
        sa.text(f"INSERT INTO report_scope_members ({members}) {_members_sql()}")
    )
    assistance = ", ".join(c.name for c in SCOPE_ASSISTANCE.columns)
    conn.execute(
        sa.text(
            f"INSERT INTO report_scope_assistance ({assistance}) {_assistance_sql()}"
        )
    )
    sums = ", ".join((*SCOPE_KEYS, *_measures(SCOPE_SUMS)))
    derived = _sums_sql(periods=periods, durations=durations)
    conn.execute(sa.text(f"INSERT INTO report_scope_sums ({sums}) {derived}"))
    if periods:
        fill_period_assistance(conn)


def _households_days(conn: Connection) -> Iterator[tuple[str, HouseholdDays]]:
    """Every household's day rows (household and assistance cells), one
    household at a time, streamed in the database's order of the keys."""
    h = HOUSEHOLD_CELLS.c
    # Streamed (the statement's own option: set on the connection, it would
    # stay for every later statement of the transaction).
    days = conn.execute(
        _household_days_select()
        .order_by(h.household_key, h.region, h.span)
        .execution_options(stream_results=True, yield_per=5000)
    )
    batch: list[tuple[str, HouseholdDays]] = []
    current: str | None = None
    for hk, region, day, *v in days:
        if hk != current:
            if len(batch) >= 2000:
                yield from _with_entries(conn, batch)
                batch = []
            current = hk
            batch.append((hk, ({}, {})))
        batch[-1][1][0][(region, day)] = [int(x or 0) for x in v]
    yield from _with_entries(conn, batch)


def _with_entries(
    conn: Connection, batch: list[tuple[str, HouseholdDays]]
) -> Iterator[tuple[str, HouseholdDays]]:
    """The households of ``batch`` with their assistance entries added (one
    read on the household index; the stream of day rows stays open)."""
    a = ASSISTANCE_CELLS.c
    found = {hk: data for hk, data in batch}
    for hk, region, day, kind, monthly, n in conn.execute(
        select(a.household_key, a.region, a.span, a.kind, a.monthly, a.entries).where(
            a.grain == "d", a.household_key.in_(list(found))
        )
    ):
        entries = found[hk][1]
        key = (region, day, kind, int(monthly))
        entries[key] = entries.get(key, 0) + int(n)
    yield from batch


def derived_period_assistance(
    conn: Connection, flush: Callable[[dict[tuple[Any, ...], int]], None] | None = None
) -> dict[tuple[Any, ...], int]:
    """PERIOD_ASSISTANCE derived from the cells, household by household; with
    ``flush``, handed over every 2,000,000 rows (and the rest returned). The
    rows are far fewer than the households' (they add up per scope and day):
    a small batch would upsert the same rows again and again."""
    out: dict[tuple[Any, ...], int] = {}
    for _hk, data in _households_days(conn):
        for key, n in period_assistance(data).items():
            out[key] = out.get(key, 0) + n
        if flush is not None and len(out) >= 2_000_000:
            flush(out)
            out = {}
    return out


def fill_period_assistance(conn: Connection) -> None:
    """Fill PERIOD_ASSISTANCE (emptied first) from the cells, in batches
    added up by upsert, so memory stays bounded."""
    conn.execute(PERIOD_ASSISTANCE.delete())
    table = PERIOD_ASSISTANCE
    keys = _keys(table)

    def flush(rows: dict[tuple[Any, ...], int]) -> None:
        stmt = _insert(conn, table)
        stmt = stmt.on_conflict_do_update(
            index_elements=keys, set_={"n": table.c.n + stmt.excluded.n}
        )
        params = [
            {**dict(zip(keys, k, strict=True)), "n": n} for k, n in rows.items() if n
        ]
        for i in range(0, len(params), 5000):
            conn.execute(stmt, params[i : i + 5000])

    flush(derived_period_assistance(conn, flush))


def rebuild_on(conn: Connection, progress: bool = False, scopes: bool = True) -> int:
    """Recompute every summary table from the needs and claims (on ``conn``,
    inside its transaction). Returns the number of needs read. ``scopes``
    False: the cell tables only (the migration that made them, before the
    scope tables existed)."""
    for table in CELL_TABLES:
        conn.execute(table.delete())
    orgs: Cells = {}
    total = _count_needs(conn)
    with _progress(progress, total, "重算统计汇总表") as bar:
        for _region, cells in _computed(conn, _regions(conn), bar.update):
            for cell, values in cells.items():
                if cell[0] == ORG_HOUSEHOLDS.name:
                    _add(orgs, ORG_HOUSEHOLDS, cell[1], values)
            _insert_rows(
                conn, {c: v for c, v in cells.items() if c[0] != ORG_HOUSEHOLDS.name}
            )
    _insert_rows(conn, orgs)
    if scopes:
        derive_scopes(conn)
    return total


def _insert_rows(conn: Connection, cells: Cells) -> None:
    by_table: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (name, key), values in cells.items():
        table = TABLES[name]
        by_table[name].append(
            {
                **dict(zip(_keys(table), key, strict=True)),
                **dict(zip(_measures(table), values, strict=True)),
            }
        )
    for name, rows in by_table.items():
        for k in range(0, len(rows), 5000):
            conn.execute(TABLES[name].insert(), rows[k : k + 5000])


def rebuild(progress: bool = False) -> int:
    """``rebuild_on`` the app's session, committed."""
    n = rebuild_on(db.session.connection(), progress)
    db.session.commit()
    return n


def _stored(conn: Connection, table: sa.Table, where: Any = None) -> Cells:
    stmt = select(table)
    if where is not None:
        stmt = stmt.where(where)
    keys, measures = _keys(table), _measures(table)
    out: Cells = {}
    for row in conn.execute(stmt).mappings():
        values = [int(row[m]) for m in measures]
        if any(values):
            out[(table.name, tuple(row[k] for k in keys))] = values
    return out


def _compare(stored: Cells, wanted: Cells, limit: int, out: list[str]) -> None:
    wanted = {c: v for c, v in wanted.items() if any(v)}
    for cell in sorted(stored.keys() | wanted.keys(), key=str):
        if len(out) >= limit:
            return
        have, want = stored.get(cell), wanted.get(cell)
        if have != want:
            out.append(f"{cell[0]} {cell[1]}: 表中 {have}，应为 {want}")


def verify_on(conn: Connection, progress: bool = False, limit: int = 100) -> list[str]:
    """Every difference between the summary tables and the base rows (at most
    ``limit``), as text; empty when they agree."""
    out: list[str] = []
    regions = _regions(conn)
    orgs: Cells = {}
    with _progress(progress, _count_needs(conn), "核对统计汇总表") as bar:
        for region, cells in _computed(conn, regions, bar.update):
            for cell, values in cells.items():
                if cell[0] == ORG_HOUSEHOLDS.name:
                    _add(orgs, ORG_HOUSEHOLDS, cell[1], values)
            for table in _REGIONAL:
                _compare(
                    _stored(conn, table, table.c.region == region),
                    {c: v for c, v in cells.items() if c[0] == table.name},
                    limit,
                    out,
                )
    known = set(regions)
    for table in _REGIONAL:  # rows of regions no need is in
        stray = _stored(conn, table, table.c.region.not_in(known) if known else None)
        _compare(stray, {}, limit, out)
    _compare(_stored(conn, ORG_HOUSEHOLDS), orgs, limit, out)
    # The scope rows against the cells, once those agree with the rows (a
    # wrong cell would show again in every scope above it).
    if not out:
        _compare_scopes(conn, SCOPE_MEMBERS, _members_sql(), limit, out)
    if not out:
        _compare_scopes(conn, SCOPE_ASSISTANCE, _assistance_sql(), limit, out)
    d = SCOPE_DURATIONS.c
    county = (d.depth == 6) & (d.need_type != ALL_TYPES)
    _compare(
        _stored(conn, SCOPE_DURATIONS, county), _county_durations(conn), limit, out
    )
    if not out:
        derived = (
            f"SELECT {_DURATION_KEYS}, SUM(needs) AS needs"
            f" FROM ({_durations_sql()}) AS d GROUP BY {_DURATION_KEYS}"
        )
        _compare_scopes(
            conn,
            SCOPE_DURATIONS,
            derived,
            limit,
            out,
            f"NOT (depth = 6 AND need_type <> '{ALL_TYPES}')",
        )
    if not out:
        _compare_scopes(conn, SCOPE_SUMS, _sums_sql(), limit, out)
    _compare_period_assistance(conn, limit, out)
    return out[:limit]


def _compare_period_assistance(conn: Connection, limit: int, out: list[str]) -> None:
    if out:  # the cells first: a wrong cell would show here again
        return
    wanted = {
        (PERIOD_ASSISTANCE.name, k): [n]
        for k, n in derived_period_assistance(conn).items()
    }
    _compare(_stored(conn, PERIOD_ASSISTANCE), wanted, limit, out)


def _compare_scopes(
    conn: Connection,
    table: sa.Table,
    derived: str,
    limit: int,
    out: list[str],
    where: str = "",
) -> None:
    keys, measures = _keys(table), _measures(table)
    cols = ", ".join((*keys, *measures))
    stored = (
        f"SELECT {cols} FROM {table.name} WHERE ("
        + " OR ".join(f"{m} <> 0" for m in measures)
        + ")"
        + (f" AND {where}" if where else "")
    )
    for label, a, b in (("多出", stored, derived), ("缺少", derived, stored)):
        if len(out) >= limit:
            return
        sql = f"SELECT {cols} FROM ({a}) AS a EXCEPT SELECT {cols} FROM ({b}) AS b"
        for row in conn.execute(sa.text(sql + f" LIMIT {limit - len(out)}")):
            key, values = row[: len(keys)], [int(v) for v in row[len(keys) :]]
            out.append(f"{table.name} {tuple(key)}: {label} {values}")


def verify(progress: bool = False) -> list[str]:
    return verify_on(db.session.connection(), progress)
