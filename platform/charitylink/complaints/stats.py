"""The public accountability figures of complaints (transparency page and
``GET /api/v1/stats``): how many were received, resolved and found true, and
how long resolving took, by month (China time).

Complaints are counted where they happened: received in the month they came
in, resolved and founded in the month they were resolved (the median days to
resolve is over the complaints resolved that month). No breakdown by region or
subject is published, so a small place's few complaints cannot point at
anyone; nor the category, which would tell an org what it was reported for
before a moderator decided. These are counts of complaints, not of
households, so the small-cell rule of the need figures does not apply to them.
"""

from __future__ import annotations

import statistics
from typing import Any

from sqlalchemy import select

from charitylink.complaints.models import Complaint, ComplaintOutcome
from charitylink.core.timeutil import as_utc, to_china
from charitylink.extensions import db


def _month(value: Any) -> str:
    return to_china(as_utc(value)).strftime("%Y-%m")


def _median(days: list[float]) -> float | None:
    return round(statistics.median(days), 1) if days else None


def figures() -> dict[str, Any]:
    """``{"totals": {...}, "by_month": [{month, received, resolved, founded,
    median_days}]}``, months in order."""
    rows = db.session.execute(
        select(Complaint.created_at, Complaint.resolved_at, Complaint.outcome)
    ).all()
    months: dict[str, dict[str, Any]] = {}
    all_days: list[float] = []

    def row(month: str) -> dict[str, Any]:
        return months.setdefault(
            month,
            {"month": month, "received": 0, "resolved": 0, "founded": 0, "_days": []},
        )

    for created_at, resolved_at, outcome in rows:
        row(_month(created_at))["received"] += 1
        if resolved_at is None:
            continue
        r = row(_month(resolved_at))
        r["resolved"] += 1
        if outcome == ComplaintOutcome.FOUNDED:
            r["founded"] += 1
        days = (as_utc(resolved_at) - as_utc(created_at)).total_seconds() / 86400
        r["_days"].append(days)
        all_days.append(days)
    by_month = []
    for month in sorted(months):
        r = months[month]
        r["median_days"] = _median(r.pop("_days"))
        by_month.append(r)
    totals = {
        "received": len(rows),
        "resolved": sum(r["resolved"] for r in by_month),
        "founded": sum(r["founded"] for r in by_month),
        "median_days": _median(all_days),
    }
    return {"totals": totals, "by_month": by_month}
