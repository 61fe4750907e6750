"""Rules 1 and 2 under real parallelism: 20 threads, each with its own Flask test
client (so its own app context, session and database connection), released at
once by a barrier, pledge through the API. Runs on SQLite and on PostgreSQL
(``TEST_DATABASE_URL``)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from charitylink.claims.models import Claim
from charitylink.extensions import db
from charitylink.funds import ledger
from charitylink.funds.models import Fund, LedgerEntry, LedgerKind
from charitylink.needs.models import Need, NeedStatus
from tests.factories import org_admin_of

THREADS = 20


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # One connection per thread, none waiting for the pool.
    return {
        **app_config,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": THREADS + 5, "max_overflow": 5},
    }


def _run_parallel(app, jobs: list[tuple[dict[str, str], str, dict]]) -> list[Any]:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def work(i: int, headers: dict[str, str], url: str, body: dict) -> None:
        client = app.test_client()
        barrier.wait(timeout=30)
        try:
            resp = client.post(url, json=body, headers=headers)
            results[i] = (resp.status_code, resp.get_json(), body)
        except Exception as exc:  # recorded, and the test fails below
            results[i] = ("exception", repr(exc), body)

    threads = [
        threading.Thread(target=work, args=(i, *job)) for i, job in enumerate(jobs)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a request hung"
    return results


def _fresh(obj: Any) -> Any:
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def test_twenty_pledges_never_over_claim_a_need(
    app, create_org, create_fund, create_need, api_token
):  # type: ignore[no-untyped-def]
    orgs = [create_org() for _ in range(4)]
    funds = [create_fund(org=o, donations_fen=10_000_000) for o in orgs]
    tokens = [api_token(org_admin_of(o)) for o in orgs]
    need = create_need(amount_fen=100_000)  # ¥1,000
    # Overlapping amounts: ¥70 … ¥165, together about ¥2,300 against ¥1,000.
    amounts = [7_000 + 500 * i for i in range(THREADS)]
    jobs = [
        (
            tokens[i % 4],
            f"/api/v1/needs/{need.code}/claims",
            {"fund_id": funds[i % 4].id, "amount": amounts[i]},
        )
        for i in range(THREADS)
    ]
    results = _run_parallel(app, jobs)

    statuses = [r[0] for r in results]
    assert set(statuses) <= {201, 409}, results
    granted = [r for r in results if r[0] == 201]
    refused = [r for r in results if r[0] == 409]
    assert granted and refused
    need = _fresh(need)
    codes = {r[1]["error"]["code"] for r in refused}
    # Once the pledges hit the amount exactly, the need is fully claimed and
    # later requests find it no longer claimable.
    full = need.status == NeedStatus.FULLY_CLAIMED
    assert codes <= ({"over_claim", "not_claimable"} if full else {"over_claim"})
    assert all(
        "仅剩" in r[1]["error"]["message"]
        for r in refused
        if r[1]["error"]["code"] == "over_claim"
    )

    granted_total = sum(r[2]["amount"] for r in granted)
    assert need.claimed_fen == granted_total <= need.amount_fen
    active = db.session.scalar(
        select(func.coalesce(func.sum(Claim.amount_fen), 0)).where(
            Claim.need_id == need.id
        )
    )
    assert active == granted_total
    assert db.session.scalar(select(func.count(Claim.id))) == len(granted)
    if need.claimed_fen == need.amount_fen:
        assert need.status == NeedStatus.FULLY_CLAIMED
    # Refused requests left nothing in any ledger; the figures reconcile.
    reserve_claims = set(
        db.session.scalars(
            select(LedgerEntry.claim_id).where(LedgerEntry.kind == LedgerKind.RESERVE)
        )
    )
    assert reserve_claims == {r[1]["id"] for r in granted}
    for fund in funds:
        fund = _fresh(fund)
        sums = ledger.sums(fund.id)
        assert sums["reserved_fen"] == fund.reserved_fen
        assert sums["available_fen"] == fund.available_fen >= 0


def test_twenty_pledges_never_overspend_a_nearly_empty_fund(
    app, create_org, create_fund, create_need, create_user, api_token
):  # type: ignore[no-untyped-def]
    org = create_org()
    fund = create_fund(org=org, donations_fen=50_000)  # ¥500 available
    members = [create_user("org_member", org=org) for _ in range(4)]
    tokens = [api_token(m) for m in members]
    need = create_need(amount_fen=10_000_000)  # plenty left on the need
    jobs = [
        (
            tokens[i % 4],
            f"/api/v1/needs/{need.code}/claims",
            {"fund_id": fund.id, "amount": 7_000},
        )
        for i in range(THREADS)
    ]
    results = _run_parallel(app, jobs)

    assert {r[0] for r in results} <= {201, 409}, results
    granted = [r for r in results if r[0] == 201]
    refused = [r for r in results if r[0] == 409]
    assert len(granted) == 7  # 7 × ¥70 = ¥490 ≤ ¥500 < 8 × ¥70
    assert {r[1]["error"]["code"] for r in refused} == {"insufficient_funds"}

    fund = _fresh(fund)
    assert fund.available_fen == 50_000 - 7 * 7_000 >= 0
    assert ledger.sums(fund.id)["available_fen"] == fund.available_fen
    kinds = db.session.scalars(
        select(LedgerEntry.kind).where(LedgerEntry.fund_id == fund.id)
    ).all()
    assert sorted(kinds) == sorted(["donation"] + ["reserve"] * 7)
    # The need's claimed amount was raised before the fund refused: the
    # rollback took that back too.
    need = _fresh(need)
    assert need.claimed_fen == 7 * 7_000
    assert db.session.scalar(select(func.count(Claim.id))) == 7
    assert db.session.get(Need, need.id).status == NeedStatus.PUBLISHED
    assert db.session.get(Fund, fund.id).reserved_fen == 7 * 7_000


def test_cancels_racing_pledges_on_one_need_and_fund_neither_deadlock_nor_drift(
    app, create_org, create_fund, create_need, create_user, api_token
):  # type: ignore[no-untyped-def]
    from charitylink.claims import services

    org = create_org()
    fund = create_fund(org=org, donations_fen=1_000_000)
    member = create_user("org_member", org=org)
    headers = api_token(member)
    need = create_need(amount_fen=30_000)
    existing = []
    for _ in range(THREADS // 2):
        existing.append(services.claim_need(need, member, fund, 1_000).id)
        db.session.commit()
    jobs = [(headers, f"/api/v1/claims/{cid}/cancel", {}) for cid in existing] + [
        (
            headers,
            f"/api/v1/needs/{need.code}/claims",
            {"fund_id": fund.id, "amount": 3_000},
        )
        for _ in range(THREADS // 2)
    ]
    results = _run_parallel(app, jobs)

    # Claims lock the need then the fund; cancels the claim, the need, then the
    # fund: no circular wait, so no deadlock error (a 503) on PostgreSQL.
    assert {r[0] for r in results} <= {200, 201, 409}, results
    assert [r[0] for r in results[: THREADS // 2]] == [200] * (THREADS // 2)
    need = _fresh(need)
    claims = db.session.scalars(select(Claim).where(Claim.need_id == need.id)).all()
    assert need.claimed_fen == sum(c.effective_fen for c in claims) <= need.amount_fen
    fund = _fresh(fund)
    sums = ledger.sums(fund.id)
    assert sums["reserved_fen"] == fund.reserved_fen == need.claimed_fen
    assert sums["available_fen"] == fund.available_fen >= 0
