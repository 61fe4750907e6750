"""A pairing's schedule (结对关爱): one instalment per month from its start.

Shared by cash pairings (a monthly amount) and service or goods matches over
several months (a monthly quantity); what happens to each instalment after it
is written (delivery, 回访, a miss, an early end) is the pairing services'."""

from __future__ import annotations

import calendar
from datetime import date

from charitylink.claims.models import Claim, ClaimInstalment, InstalmentStatus
from charitylink.extensions import db


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clipped to the month's end (31 Jan → 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def month_start(day: date) -> date:
    return day.replace(day=1)


def instalment_dates(start_on: date, months: int) -> list[date]:
    return [add_months(start_on, n) for n in range(months)]


def create_instalments(
    claim: Claim,
    start_on: date,
    months: int,
    *,
    monthly_amount_fen: int | None = None,
    monthly_quantity: int | None = None,
) -> list[ClaimInstalment]:
    """Write the claim's instalments 1..months (in the caller's transaction)."""
    if months < 1:
        raise ValueError("months must be at least 1")
    rows = [
        ClaimInstalment(
            claim_id=claim.id,
            n=n,
            due_on=due_on,
            amount_fen=monthly_amount_fen,
            quantity=monthly_quantity,
            status=InstalmentStatus.PENDING,
        )
        for n, due_on in enumerate(instalment_dates(start_on, months), start=1)
    ]
    db.session.add_all(rows)
    return rows
