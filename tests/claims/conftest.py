"""Fixtures for the claims tests: a verified org with a funded named fund, and
helpers to read audit rows and ledger rows."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from charitylink.core.audit import AuditEvent
from charitylink.extensions import db
from charitylink.funds.models import LedgerEntry
from tests.factories import make_id_number, org_admin_of

# Distinctive private values: none may appear in any org page or API answer.
HOUSEHOLD = {
    "name": "欧阳秀英",
    "id_number": make_id_number(777, birth="19500307"),
    "phone": "13944441234",
    "address": "幸福路8号",
    "notes": "独居老人腿脚不便需要上门",
}


@pytest.fixture
def org_world(create_org, create_fund, create_user):  # type: ignore[no-untyped-def]
    """A verified org, its admin and a member, and a named fund of ¥10,000."""
    org = create_org()
    fund = create_fund(org=org, donations_fen=1_000_000)
    member = create_user("org_member", org=org)
    return {"org": org, "admin": org_admin_of(org), "member": member, "fund": fund}


def audit_actions(object_type: str, object_id: Any) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.action)
            .where(
                AuditEvent.object_type == object_type,
                AuditEvent.object_id == str(object_id),
            )
            .order_by(AuditEvent.id)
        )
    )


def ledger_rows(fund_id: int) -> list[tuple[str, int, int | None]]:
    return [
        (str(e.kind), e.amount_fen, e.claim_id)
        for e in db.session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.fund_id == fund_id)
            .order_by(LedgerEntry.id)
        )
    ]
