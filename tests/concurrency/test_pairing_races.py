"""A pairing under real parallelism (SQLite and PostgreSQL): 20 requests
delivering its months (each month twice) and ending it at once. Nothing is
paid twice, every month is delivered at most once and in order, and the need's
and the fund's figures equal the ledger's sums afterwards."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from charitylink.claims import pairing
from charitylink.claims.models import Claim, ClaimStatus
from charitylink.core.timeutil import today
from charitylink.extensions import db
from charitylink.funds import ledger
from charitylink.funds.models import Fund, LedgerEntry, LedgerKind
from charitylink.needs.models import Need
from tests.concurrency.test_claims_concurrency import THREADS, _run_parallel
from tests.factories import org_admin_of


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **app_config,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": THREADS + 5, "max_overflow": 5},
    }


def test_twenty_threads_delivering_and_ending_one_pairing(
    app, create_org, create_fund, create_need, create_user, api_token
):  # type: ignore[no-untyped-def]
    org = create_org()
    fund = create_fund(org=org, donations_fen=500_000)
    admin = org_admin_of(org)
    moderator = create_user("moderator", region_prefix="22")
    need = create_need(amount_fen=120_000, entered_by=moderator)
    claim = pairing.claim_with_schedule(need, admin, fund, 120_000, 12, 10_000)
    db.session.commit()
    org_headers = api_token(admin)
    mod_headers = api_token(moderator)
    base = f"/api/v1/claims/{claim.id}"
    day = today().isoformat()
    # Months 1–9, each twice (a double click), and two ends (org, moderator).
    jobs: list[tuple[dict[str, str], str, dict]] = [
        (org_headers, f"{base}/instalments/{1 + i // 2}/deliver", {"delivered_on": day})
        for i in range(THREADS - 2)
    ]
    jobs += [
        (org_headers, f"{base}/end", {"reason": "家庭搬迁"}),
        (mod_headers, f"{base}/end", {"reason": "核实后结束"}),
    ]
    results = _run_parallel(app, jobs)
    assert not [r for r in results if r[0] == "exception"], results
    assert {r[0] for r in results} <= {200, 409}, results
    ends = [r[0] for r in results[-2:]]
    assert ends.count(200) == 1, results
    db.session.expire_all()
    claim = db.session.get_one(Claim, claim.id)
    rows = pairing.instalments(claim)
    delivered = [r for r in rows if r.status == "delivered"]
    # In order: the delivered months are 1..k, the rest cancelled.
    assert [r.n for r in delivered] == list(range(1, len(delivered) + 1))
    assert all(r.status == "cancelled" for r in rows[len(delivered) :])
    payments = db.session.scalars(
        select(LedgerEntry.amount_fen).where(
            LedgerEntry.claim_id == claim.id, LedgerEntry.kind == LedgerKind.DISBURSE
        )
    ).all()
    assert len(payments) == len(delivered)  # nothing paid twice
    # (None when the end won before any delivery.)
    assert sum(payments) == (claim.delivered_fen or 0) == 10_000 * len(delivered)
    deliver_oks = sum(1 for r in results[:-2] if r[0] == 200)
    assert deliver_oks == len(delivered)
    assert claim.status in (ClaimStatus.DELIVERED, ClaimStatus.CANCELLED)
    need = db.session.get_one(Need, need.id)
    assert need.claimed_fen == need.delivered_fen == (claim.delivered_fen or 0)
    fund = db.session.get_one(Fund, fund.id)
    sums = ledger.sums(fund.id)
    assert sums["reserved_fen"] == fund.reserved_fen == 0
    assert sums["disbursed_fen"] == fund.disbursed_fen == (claim.delivered_fen or 0)
    released = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(
            LedgerEntry.claim_id == claim.id, LedgerEntry.kind == LedgerKind.RELEASE
        )
    )
    assert released == 120_000 - (claim.delivered_fen or 0)
