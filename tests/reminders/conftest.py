from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import pytest
from sqlalchemy import select

from charitylink.claims.models import Claim, ClaimStatus
from charitylink.core.timeutil import CHINA
from charitylink.extensions import db
from charitylink.notifications.models import Notification
from charitylink.notifications.reminders import run_reminders
from tests.factories import org_admin_of

# The day the tests count from (any day will do: everything is relative to it).
D0 = date(2026, 3, 2)


def at(day: date, hour: int = 10) -> datetime:
    """A stored timestamp (naive UTC) for ``hour`` o'clock China time on ``day``."""
    from charitylink.core.timeutil import as_utc

    return as_utc(datetime.combine(day, time(hour), tzinfo=CHINA)).replace(tzinfo=None)


@pytest.fixture
def rworld(create_org, create_user, create_fund):  # type: ignore[no-untyped-def]
    """Org A in 长春 with an admin and a member, org B in 兰州; moderators of
    吉林 (22), 长春 (2201), 兰州 (6201); the platform admin."""
    org_a = create_org(region_code="220102")
    org_b = create_org(region_code="620102")
    return {
        "org_a": org_a,
        "org_b": org_b,
        "fund_a": create_fund(org=org_a, donations_fen=10_000_000),
        "admin_a": org_admin_of(org_a),
        "member_a": create_user("org_member", org=org_a),
        "admin_b": org_admin_of(org_b),
        "mod_22": create_user("moderator", region_prefix="22"),
        "mod_2201": create_user("moderator", region_prefix="2201"),
        "mod_62": create_user("moderator", region_prefix="6201"),
        "admin": create_user("admin"),
    }


@pytest.fixture
def make_claim(rworld, create_need):  # type: ignore[no-untyped-def]
    def make(
        due_on: date, created: date, status: str = "reserved", **extra: Any
    ) -> Claim:
        need = create_need(
            status="fully_claimed", amount_fen=100_000, entered_by=rworld["mod_22"]
        )
        claim = Claim(
            need_id=need.id,
            org_id=rworld["org_a"].id,
            fund_id=rworld["fund_a"].id,
            amount_fen=100_000,
            status=ClaimStatus(status),
            due_on=due_on,
            created_at=at(created),
            **extra,
        )
        db.session.add(claim)
        db.session.commit()
        return claim

    return make


def told(kind: str | None = None) -> dict[str, set[int]]:
    """event_key → the ids of the users told."""
    stmt = select(Notification.event_key, Notification.user_id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    out: dict[str, set[int]] = {}
    for key, uid in db.session.execute(stmt):
        out.setdefault(key, set()).add(uid)
    return out


def run_on(day: date, **kw: Any) -> dict[str, int]:
    counts = run_reminders(day, **kw)
    db.session.commit()
    return counts


def days_told(
    first: date, last: date, kind: str | None = None
) -> dict[date, dict[str, set[int]]]:
    """Run every day from ``first`` to ``last``; what each day newly told of ``kind``."""
    from datetime import timedelta

    out: dict[date, dict[str, set[int]]] = {}
    day = first
    while day <= last:
        before = told(kind)
        run_on(day)
        after = told(kind)
        new = {k: v - before.get(k, set()) for k, v in after.items()}
        new = {k: v for k, v in new.items() if v}
        if new:
            out[day] = new
        day += timedelta(days=1)
    return out
