"""A moderator withdraws a need while 19 org staff pledge on it: 20 threads,
each with its own test client (own session, own connection), released at once.
Every pledge either landed before the withdrawal (and was cancelled by it) or
was refused; no claim stays reserved on the withdrawn need, and every fund's
figures equal its ledger. SQLite and PostgreSQL (``TEST_DATABASE_URL``)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from charitylink.claims.models import Claim, ClaimStatus
from charitylink.core.audit import AuditEvent
from charitylink.extensions import db
from charitylink.funds import ledger
from charitylink.funds.models import Fund
from charitylink.needs.models import Need
from tests.factories import org_admin_of

THREADS = 20


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
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
            results[i] = (resp.status_code, resp.get_json())
        except Exception as exc:  # recorded, and the test fails below
            results[i] = ("exception", repr(exc))

    threads = [
        threading.Thread(target=work, args=(i, *job)) for i, job in enumerate(jobs)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a request hung"
    return results


def test_a_withdrawal_racing_nineteen_pledges(
    app, create_org, create_fund, create_need, create_user, api_token
):  # type: ignore[no-untyped-def]
    orgs = [create_org() for _ in range(4)]
    funds = [create_fund(org=o, donations_fen=10_000_000) for o in orgs]
    tokens = [api_token(org_admin_of(o)) for o in orgs]
    moderator = api_token(create_user("moderator", region_prefix="22"))
    need = create_need(amount_fen=1_000_000)
    url = f"/api/v1/needs/{need.code}"
    jobs = [
        (
            tokens[i % 4],
            f"{url}/claims",
            {"fund_id": funds[i % 4].id, "amount": 10_000 + 100 * i},
        )
        for i in range(THREADS - 1)
    ]
    jobs.insert(THREADS // 2, (moderator, f"{url}/withdraw", {"reason": "家庭已搬离"}))
    results = _run_parallel(app, jobs)

    withdrawal = results[THREADS // 2]
    pledges = results[: THREADS // 2] + results[THREADS // 2 + 1 :]
    assert withdrawal[0] == 200, withdrawal
    assert {r[0] for r in pledges} <= {201, 409}, pledges
    assert all(
        r[1]["error"]["code"] == "not_claimable" for r in pledges if r[0] == 409
    ), pledges
    landed = {r[1]["id"] for r in pledges if r[0] == 201}

    db.session.expire_all()
    need = db.session.get(Need, need.id)
    assert need.status == "withdrawn" and need.claimed_fen == 0
    rows = db.session.scalars(select(Claim).where(Claim.need_id == need.id)).all()
    # Every pledge that landed was cancelled by the withdrawal, once.
    assert {c.id for c in rows} == landed
    assert all(c.status == ClaimStatus.CANCELLED for c in rows)
    cancels = db.session.scalar(
        select(func.count(AuditEvent.id)).where(AuditEvent.action == "claim.cancel")
    )
    assert cancels == len(landed)
    for fund in funds:
        fund = db.session.get(Fund, fund.id)
        sums = ledger.sums(fund.id)
        assert sums["reserved_fen"] == fund.reserved_fen == 0
        assert sums["available_fen"] == fund.available_fen == 10_000_000
