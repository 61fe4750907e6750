"""Disputes and ledger corrections under real parallelism (SQLite and
PostgreSQL): two resolutions of one dispute (exactly one wins), and a
donation reversal racing claims on the same fund (the fund never goes below
zero, each claim is counted once, a donation is reversed at most once)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from charitylink.claims import services
from charitylink.claims.models import Claim
from charitylink.core.timeutil import today
from charitylink.extensions import db
from charitylink.funds import ledger
from charitylink.funds import services as fund_services
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


def _figures_match_ledger(fund_id: int) -> Fund:
    db.session.expire_all()
    fund = db.session.get_one(Fund, fund_id)
    sums = ledger.sums(fund_id)
    assert sums["donations_fen"] == fund.donations_fen
    assert sums["reserved_fen"] == fund.reserved_fen
    assert sums["disbursed_fen"] == fund.disbursed_fen
    assert fund.available_fen >= 0
    return fund


def test_two_resolutions_of_one_dispute_exactly_one_wins(
    app, create_org, create_fund, create_need, create_user, api_token
):  # type: ignore[no-untyped-def]
    org = create_org()
    fund = create_fund(org=org, donations_fen=100_000)
    admin = org_admin_of(org)
    need = create_need(amount_fen=40_000, region_code="220102")
    claim = services.claim_need(need, admin, fund, 40_000)
    services.deliver_claim(claim, admin, 40_000, today(), "cash")
    disputer = create_user("moderator", region_prefix="22")
    services.dispute_claim(claim, disputer, "家庭称未收到", 0)
    services.respond_to_dispute(claim, admin, "已转账")
    db.session.commit()
    url = f"/api/v1/claims/{claim.id}/resolve"
    jobs = [
        (
            api_token(create_user("moderator", region_prefix="22")),
            url,
            {"outcome": "reverse", "reason": "核实未送达"},
        ),
        (
            api_token(create_user("moderator", region_prefix="2201")),
            url,
            {"outcome": "partial", "confirmed_amount": 10_000, "reason": "部分"},
        ),
    ]
    results = _run_parallel(app, jobs)
    codes = sorted(r[0] for r in results)
    assert codes == [200, 409], results
    loser = next(r for r in results if r[0] == 409)
    assert loser[1]["error"]["code"] == "invalid_transition"
    db.session.expire_all()
    claim = db.session.get_one(Claim, claim.id)
    reversals = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.REVERSAL)
    ).all()
    assert len(reversals) == 1 and reversals[0].amount_fen == claim.reversed_fen
    need = db.session.get_one(Need, need.id)
    assert need.claimed_fen == need.delivered_fen == claim.effective_fen
    fund = _figures_match_ledger(fund.id)
    assert fund.disbursed_fen == claim.effective_fen


def test_donation_reversal_racing_claims_on_the_same_fund(
    app, create_org, create_fund, create_need, api_token
):  # type: ignore[no-untyped-def]
    org = create_org()
    fund = create_fund(org=org)
    admin = org_admin_of(org)
    base = fund_services.record_donation(fund, admin, amount_fen=50_000)
    wrong = fund_services.record_donation(fund, admin, amount_fen=50_000)
    del base
    needs = [create_need(amount_fen=5_000) for _ in range(THREADS - 2)]
    db.session.commit()
    headers = api_token(admin)
    reverse_url = f"/api/v1/funds/{fund.id}/donations/{wrong.id}/reverse"
    # Two reversals of the same donation (a double click) among 18 claims of
    # ¥50 each: ¥900 claimed against ¥1,000, or ¥500 after the reversal.
    jobs: list[tuple[dict[str, str], str, dict]] = [
        (headers, reverse_url, {"reason": "重复登记"}) for _ in range(2)
    ]
    jobs += [
        (
            headers,
            f"/api/v1/needs/{n.code}/claims",
            {"fund_id": fund.id, "amount": 5_000},
        )
        for n in needs
    ]
    results = _run_parallel(app, jobs)
    assert not [r for r in results if r[0] == "exception"], results
    reversal_codes = [r[0] for r in results[:2]]
    claim_codes = [r[0] for r in results[2:]]
    assert set(claim_codes) <= {201, 409}, results
    assert reversal_codes.count(201) <= 1, results
    for status, answer, _body in results:
        if status == 409:
            assert answer["error"]["code"] in {
                "insufficient_funds",
                "invalid_transition",
            }
    claimed = claim_codes.count(201)
    reversed_ = reversal_codes.count(201)
    fund = _figures_match_ledger(fund.id)
    assert fund.donations_fen == 100_000 - 50_000 * reversed_
    # Each claim counted once: one claim row and one reservation per 201.
    assert db.session.scalar(select(func.count(Claim.id))) == claimed
    assert fund.reserved_fen == 5_000 * claimed
    assert (
        db.session.scalar(
            select(func.count(LedgerEntry.id)).where(
                LedgerEntry.kind == LedgerKind.RESERVE
            )
        )
        == claimed
    )
    if reversed_:
        assert claimed <= 10
    else:
        # The reversal lost only because the money was reserved meanwhile.
        assert claimed > 10
