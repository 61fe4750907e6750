"""Help in value and in kind (docs/pairing.md): service sessions and hours,
goods by valuation, pairings (结对关爱) active and completed, households in
pairing, by region (city) and by month, with the same small-cell suppression
as every public figure; and, for the dashboard, which needs were met by cash,
goods, services or a mix.

Direct queries on indexed columns (claims by status and need, sessions by
claim, instalments by claim), aggregated per household in SQL and folded here:
each published cell needs the number of distinct households behind it."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import case, func, literal, select, union_all

from charitylink.claims.models import (
    Claim,
    ClaimKind,
    ClaimSession,
    ClaimStatus,
)
from charitylink.extensions import db
from charitylink.needs.models import Need
from charitylink.reports.suppression import suppress

# What a claim has given so far: a running pairing's delivered months too.
GIVING = (
    ClaimStatus.RESERVED,
    ClaimStatus.DELIVERED,
    ClaimStatus.CONFIRMED,
    ClaimStatus.DISPUTED,
)
DONE = (ClaimStatus.DELIVERED, ClaimStatus.CONFIRMED, ClaimStatus.DISPUTED)
FIGURES = ("sessions", "hours", "goods_fen", "active_pairings", "completed_pairings")


def _month(day: date | None) -> str:
    return day.strftime("%Y-%m") if day else ""


def _scoped(query: Any, prefix: str | None) -> Any:
    return query.where(Need.region_code.startswith(prefix)) if prefix else query


def _cell() -> dict[str, Any]:
    return {
        "sessions": 0,
        "minutes": 0,
        "goods_fen": 0,
        "active_pairings": 0,
        "completed_pairings": 0,
        "households": set(),
        "paired": set(),
    }


def figures(prefix: str | None = None) -> dict[str, Any]:  # noqa: C901 — one loop per source of figures
    """The in-kind figures over the region ``prefix`` (all of them if None)."""
    total = _cell()
    regions: dict[str, dict[str, Any]] = defaultdict(_cell)
    months: dict[str, dict[str, Any]] = defaultdict(_cell)

    def add(region: str, month: str, key: str, **values: int) -> None:
        for cell in (total, regions[region[:4]], months[month] if month else None):
            if cell is None:
                continue
            for name, value in values.items():
                cell[name] += value
            if key:
                cell["households"].add(key)

    # One statement for the three sources (sessions, goods, pairings), so the
    # public page's query budget does not grow with the sections it shows.
    sessions = _scoped(
        select(
            literal("s").label("src"),
            Need.region_code,
            Need.household_key,
            ClaimSession.held_on.label("day"),
            func.count(ClaimSession.id).label("a"),
            func.coalesce(func.sum(ClaimSession.minutes), 0).label("b"),
            literal("").label("status"),
            literal(0).label("ended"),
        )
        .join(Claim, Claim.id == ClaimSession.claim_id)
        .join(Need, Need.id == Claim.need_id)
        .where(Claim.status.in_(GIVING))
        .group_by(Need.region_code, Need.household_key, ClaimSession.held_on),
        prefix,
    )
    goods = _scoped(
        select(
            literal("g"),
            Need.region_code,
            Need.household_key,
            Claim.delivered_on,
            func.coalesce(func.sum(Claim.delivered_fen), 0),
            literal(0),
            literal(""),
            literal(0),
        )
        .join(Need, Need.id == Claim.need_id)
        .where(
            Claim.kind == ClaimKind.GOODS,
            Claim.status.in_(GIVING),
            Claim.delivered_fen.is_not(None),
        )
        .group_by(Need.region_code, Need.household_key, Claim.delivered_on),
        prefix,
    )
    pairs = _scoped(
        select(
            literal("p"),
            Need.region_code,
            Need.household_key,
            func.date(Claim.created_at),
            literal(0),
            literal(0),
            Claim.status,
            case((Claim.ended_at.is_(None), 0), else_=1),
        )
        .join(Need, Need.id == Claim.need_id)
        .where(Claim.months.is_not(None), Claim.status.in_(GIVING)),
        prefix,
    )
    rows = db.session.execute(union_all(sessions, goods, pairs))
    for src, region, key, day, a, b, status, ended in rows:
        if isinstance(day, str):  # SQLite's date() of a timestamp is text
            day = date.fromisoformat(day[:10])
        if src == "s":
            add(region, _month(day), key or "", sessions=int(a), minutes=int(b))
        elif src == "g":
            add(region, _month(day), key or "", goods_fen=int(a))
        else:
            active = status == ClaimStatus.RESERVED and not ended
            values = {"active_pairings": 1} if active else {}
            if status in DONE:
                values = {"completed_pairings": 1}
            add(region, _month(day), key or "", **values)
            if active and key:
                total["paired"].add(key)
                regions[region[:4]]["paired"].add(key)
    return _publish(total, regions, months)


def _publish(
    total: dict[str, Any],
    regions: dict[str, dict[str, Any]],
    months: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    counts: dict[Any, int] = {("total",): len(total["households"])}
    for code, cell in regions.items():
        counts[("region", code)] = len(cell["households"])
    for month, cell in months.items():
        counts[("month", month)] = len(cell["households"])
    hidden = suppress(
        counts,
        [
            (("total",), [("region", c) for c in regions]),
            (("total",), [("month", m) for m in months]),
        ],
    )

    def row(key: Any, cell: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "households": len(cell["households"]),
            "households_in_pairing": len(cell["paired"]),
            "sessions": cell["sessions"],
            "hours": round(cell["minutes"] / 60, 1),
            "goods_fen": cell["goods_fen"],
            "active_pairings": cell["active_pairings"],
            "completed_pairings": cell["completed_pairings"],
            "suppressed": hidden.get(key, ""),
        }
        if out["suppressed"]:
            for name in out:
                if name != "suppressed":
                    out[name] = None
        return out

    return {
        "totals": row(("total",), total),
        "by_region": [
            {"region_code": code, **row(("region", code), regions[code])}
            for code in sorted(regions)
        ],
        "by_month": [
            {"month": m, **row(("month", m), months[m])} for m in sorted(months)
        ],
    }


def met_by(prefix: str | None = None) -> dict[str, int]:
    """How many needs were met (delivered or confirmed) by cash only, goods
    only, services only, or a mix (for the moderators' dashboard)."""
    from charitylink.needs.models import NeedStatus

    rows = db.session.execute(
        _scoped(
            select(Claim.need_id, Claim.kind)
            .join(Need, Need.id == Claim.need_id)
            .where(
                Need.status.in_([NeedStatus.DELIVERED, NeedStatus.CONFIRMED]),
                Claim.status.in_(DONE),
            )
            .distinct(),
            prefix,
        )
    )
    kinds: dict[int, set[str]] = defaultdict(set)
    for need_id, kind in rows:
        kinds[need_id].add(str(kind or ClaimKind.CASH))
    out = {"cash": 0, "goods": 0, "service": 0, "mix": 0}
    for found in kinds.values():
        out[next(iter(found)) if len(found) == 1 else "mix"] += 1
    return out
