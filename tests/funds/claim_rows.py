"""Minimal needs and claims for ledger and progress tests.

Rows are inserted directly (the claims feature has its own tests); they exist so
ledger entries can point at real claims and project progress has real data."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from charitylink.claims.models import Claim, ClaimStatus
from charitylink.extensions import db
from charitylink.funds.models import Fund
from charitylink.needs.models import Need, NeedStatus

_seq = itertools.count(1)


def add_need(entered_by_id: int, household_key: str | None = None, **kw: Any) -> Need:
    n = next(_seq)
    fields: dict[str, Any] = {
        "code": f"XQ-22-{900000 + n:06d}",
        "title": "助学需求",
        "description": "",
        "category": "dibao",
        "need_type": "education",
        "region_code": "220102",
        "public_region_code": "220102",
        "age_band": "儿童",
        "household_size": 3,
        "amount_fen": 10_000_000,
        "status": NeedStatus.PUBLISHED,
        "private_ciphertext": "v1:test",
        "household_key": household_key or f"{n:064x}",
        "entered_by_id": entered_by_id,
    }
    fields.update(kw)
    need = Need(**fields)
    db.session.add(need)
    db.session.flush()
    return need


def add_claim(
    fund: Fund,
    need: Need,
    amount_fen: int,
    *,
    status: ClaimStatus = ClaimStatus.RESERVED,
    delivered_fen: int | None = None,
    project_id: int | None = None,
) -> Claim:
    claim = Claim(
        need_id=need.id,
        org_id=fund.org_id,
        fund_id=fund.id,
        project_id=project_id,
        amount_fen=amount_fen,
        status=status,
        delivered_fen=delivered_fen,
        due_on=date(2030, 1, 1),
    )
    db.session.add(claim)
    db.session.flush()
    return claim
