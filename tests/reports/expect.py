"""Expected report figures computed in plain Python from the inserted rows —
independently of ``charitylink.reports`` (whose results the tests compare)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

DONE = ("delivered", "confirmed")
FULL = ("fully_claimed", "delivered", "confirmed")


def needs_in(
    seeded: Any,
    prefix: str | None = None,
    region_field: str = "region_code",
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    out = []
    for n in seeded.needs:
        if n["published_at"] is None:
            continue
        if prefix and not n[region_field].startswith(prefix):
            continue
        if since and n["published_at"] < since:
            continue
        if until and n["published_at"] >= until:
            continue
        out.append(n)
    return out


def claims_of(seeded: Any, need_ids: Iterable[int]) -> list[dict[str, Any]]:
    ids = set(need_ids)
    return [c for c in seeded.claims if c["need_id"] in ids]


def measures(seeded: Any, needs: list[dict[str, Any]]) -> dict[str, int]:
    claims = claims_of(seeded, (n["id"] for n in needs))
    reached_needs = {c["need_id"] for c in claims if c["status"] in DONE}
    by_id = {n["id"]: n for n in needs}
    return {
        "needs": len(needs),
        "households": len({n["household_key"] for n in needs}),
        "households_reached": len({by_id[i]["household_key"] for i in reached_needs}),
        "fully_claimed": sum(1 for n in needs if n["status"] in FULL),
        "requested": sum(n["amount_fen"] for n in needs),
        "claimed": sum(
            c["amount_fen"]
            if c["status"] == "reserved"
            else (c["delivered_fen"] or 0)
            if c["status"] in DONE
            else 0
            for c in claims
        ),
        "delivered": sum(
            c["delivered_fen"] or 0 for c in claims if c["status"] in DONE
        ),
        "confirmed": sum(
            c["delivered_fen"] or 0 for c in claims if c["status"] == "confirmed"
        ),
    }


def grouped(
    seeded: Any, needs: list[dict[str, Any]], key: Callable[[dict[str, Any]], Any]
) -> dict[Any, dict[str, int]]:
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for n in needs:
        groups[key(n)].append(n)
    return {k: measures(seeded, v) for k, v in groups.items()}


def delivered_by_month(
    seeded: Any, needs: list[dict[str, Any]]
) -> dict[str, dict[str, int]]:
    by_id = {n["id"]: n for n in needs}
    out: dict[str, dict[str, Any]] = {}
    for c in claims_of(seeded, by_id):
        if c["status"] not in DONE or c["delivered_on"] is None:
            continue
        m = out.setdefault(
            c["delivered_on"].strftime("%Y-%m"),
            {"deliveries": 0, "delivered": 0, "hh": set()},
        )
        m["deliveries"] += 1
        m["delivered"] += c["delivered_fen"] or 0
        m["hh"].add(by_id[c["need_id"]]["household_key"])
    return {
        k: {
            "deliveries": v["deliveries"],
            "delivered": v["delivered"],
            "households_reached": len(v["hh"]),
        }
        for k, v in out.items()
    }


def assistance(seeded: Any, needs: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    per_hh_type: dict[tuple[str, str], int] = {}
    for n in needs:
        for a in n["gov_assistance"]:
            k = (n["household_key"], a["type"])
            per_hh_type[k] = max(per_hh_type.get(k, 0), a["monthly_amount"])
    delivered: dict[str, int] = defaultdict(int)
    reached: set[str] = set()
    by_id = {n["id"]: n for n in needs}
    for c in claims_of(seeded, by_id):
        if c["status"] in DONE:
            hk = by_id[c["need_id"]]["household_key"]
            delivered[hk] += c["delivered_fen"] or 0
            reached.add(hk)
    out: dict[str, dict[str, int]] = {}
    for (hk, t), monthly in per_hh_type.items():
        row = out.setdefault(
            t, {"households": 0, "monthly": 0, "reached": 0, "delivered": 0}
        )
        row["households"] += 1
        row["monthly"] += monthly
        row["reached"] += hk in reached
        row["delivered"] += delivered.get(hk, 0)
    with_any = {hk for hk, _ in per_hh_type}
    bare = {n["household_key"] for n in needs} - with_any
    if bare:
        out["none"] = {
            "households": len(bare),
            "monthly": 0,
            "reached": len(bare & reached),
            "delivered": sum(delivered.get(hk, 0) for hk in bare),
        }
    return out


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    pos = p * (len(xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def days_to_full_claim(needs: list[dict[str, Any]]) -> list[float]:
    return [
        (n["fully_claimed_at"] - n["published_at"]).total_seconds() / 86400
        for n in needs
        if n["fully_claimed_at"] is not None
    ]


def repeated(
    seeded: Any, needs: list[dict[str, Any]], since: datetime, until: datetime
) -> dict[frozenset[str], dict[str, int]]:
    """{need codes: {orgs, needs}} for households with active claims from 2+ orgs
    or on 2+ needs created in [since, until)."""
    by_id = {n["id"]: n for n in needs}
    per: dict[str, dict[str, set]] = {}
    for c in claims_of(seeded, by_id):
        if c["status"] in ("cancelled", "expired"):
            continue
        if not since <= c["created_at"] < until:
            continue
        hk = by_id[c["need_id"]]["household_key"]
        p = per.setdefault(hk, {"orgs": set(), "needs": set()})
        p["orgs"].add(c["org_id"])
        p["needs"].add(c["need_id"])
    return {
        frozenset(by_id[i]["code"] for i in p["needs"]): {
            "orgs": len(p["orgs"]),
            "needs": len(p["needs"]),
        }
        for p in per.values()
        if len(p["orgs"]) >= 2 or len(p["needs"]) >= 2
    }


def expiring(seeded: Any, needs: list[dict[str, Any]], today: date) -> tuple[int, int]:
    ids = {n["id"] for n in needs}
    # Open claims on any need of the region (published or not: claims exist only
    # on published needs here).
    opened = [
        c for c in seeded.claims if c["need_id"] in ids and c["status"] == "reserved"
    ]
    overdue = sum(1 for c in opened if c["due_on"] < today)
    soon = sum(
        1
        for c in opened
        if today <= c["due_on"] <= date.fromordinal(today.toordinal() + 7)
    )
    return overdue, soon
