"""Fixtures for the integrity tests: claims written straight into the table
(the signals read claims; how they came about is the claims tests' business),
with the dates and statuses each signal's line is about."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from charitylink.claims.models import Claim, ClaimStatus
from charitylink.core.timeutil import today, utcnow
from charitylink.extensions import db


def ago(days: float = 0, minutes: float = 0) -> datetime:
    return (utcnow() - timedelta(days=days, minutes=minutes)).replace(tzinfo=None)


@pytest.fixture
def add_claim(app):  # type: ignore[no-untyped-def]
    """``add_claim(need, fund, status=..., created=datetime, delivered_after=
    timedelta | None, sha=None)`` → a committed Claim row."""

    def make(
        need: Any,
        fund: Any,
        status: str = "reserved",
        created: datetime | None = None,
        delivered_after: timedelta | None = None,
        sha: str | None = None,
        amount_fen: int = 1_000,
    ) -> Claim:
        created = created or ago()
        claim = Claim(
            need_id=need.id,
            org_id=fund.org_id,
            fund_id=fund.id,
            amount_fen=amount_fen,
            status=ClaimStatus(status),
            due_on=today() + timedelta(days=30),
            created_at=created,
        )
        if delivered_after is not None:
            claim.delivered_at = created + delivered_after
            claim.delivered_on = claim.delivered_at.date()
            claim.delivered_fen = amount_fen
        if sha is not None:
            claim.evidence_sha256 = sha
            claim.evidence_path = "0" * 32 + ".png"
        db.session.add(claim)
        db.session.commit()
        return claim

    return make
