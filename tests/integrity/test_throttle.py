"""The claim-abandon throttle: 409 claim_limit beyond CLAIM_ABANDON_OPEN_LIMIT
open claims for an org over the line, shown on the claim form and the
workspace; under concurrency exactly the free places are taken."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from charitylink.claims.models import Claim, ClaimStatus
from charitylink.extensions import db
from tests.factories import org_admin_of

THREADS = 10


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **app_config,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": THREADS + 5, "max_overflow": 5},
    }


@pytest.fixture
def gave_up(create_org, create_fund, create_need, add_claim):  # type: ignore[no-untyped-def]
    """An org with 5 cancelled/expired claims of 5 in 90 days (over the line),
    one claim still reserved, and a need to pledge on."""
    org = create_org()
    fund = create_fund(org=org, donations_fen=10_000_000)
    need = create_need(amount_fen=1_000_000)
    for status in ("cancelled", "cancelled", "expired", "expired", "cancelled"):
        add_claim(need, fund, status)
    add_claim(need, fund, "reserved")
    return {"org": org, "fund": fund, "need": need, "admin": org_admin_of(org)}


def _pledge(client: Any, headers: dict[str, str], world: dict[str, Any]) -> Any:
    return client.post(
        f"/api/v1/needs/{world['need'].code}/claims",
        json={"fund_id": world["fund"].id, "amount": 1_000},
        headers=headers,
    )


def test_over_the_line_the_limit_is_409_claim_limit(gave_up, client, api_token):  # type: ignore[no-untyped-def]
    headers = api_token(gave_up["admin"])
    assert _pledge(client, headers, gave_up).status_code == 201  # 2nd open claim
    assert _pledge(client, headers, gave_up).status_code == 201  # 3rd: the limit
    refused = _pledge(client, headers, gave_up)
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "claim_limit"
    assert "最多只能同时持有 3 笔" in error["message"] and "90 天" in error["message"]


def test_just_under_the_line_no_limit(
    create_org, create_fund, create_need, add_claim, client, api_token
):  # type: ignore[no-untyped-def]
    org = create_org()
    fund = create_fund(org=org, donations_fen=10_000_000)
    need = create_need(amount_fen=1_000_000)
    for _ in range(4):  # 4 abandoned: under the minimum of 5
        add_claim(need, fund, "cancelled")
    for _ in range(3):
        add_claim(need, fund, "reserved")
    world = {"need": need, "fund": fund}
    assert _pledge(client, api_token(org_admin_of(org)), world).status_code == 201


def test_the_form_and_workspace_say_why_and_how_to_lift(
    gave_up, add_claim, client, login_as
):  # type: ignore[no-untyped-def]
    login_as(gave_up["admin"])
    home = client.get("/org").get_data(as_text=True)
    assert "认领数量受限" in home and "如何解除" in home and "当前 1 笔" in home
    add_claim(gave_up["need"], gave_up["fund"], "reserved")
    add_claim(gave_up["need"], gave_up["fund"], "reserved")
    page = client.get(f"/needs/{gave_up['need'].code}").get_data(as_text=True)
    assert "最多只能同时持有 3 笔待交付的认领" in page
    assert "请先交付或取消已有的认领" in page
    resp = client.post(
        f"/needs/{gave_up['need'].code}/claim",
        data={"amount": "10", "fund_id": gave_up["fund"].id},
        follow_redirects=True,
    )
    assert "最多只能同时持有 3 笔" in resp.get_data(as_text=True)
    assert _reserved(gave_up["org"].id) == 3


def _reserved(org_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(
        select(func.count(Claim.id)).where(
            Claim.org_id == org_id, Claim.status == ClaimStatus.RESERVED
        )
    )


def test_ten_parallel_claims_take_exactly_the_free_places(app, gave_up, api_token):  # type: ignore[no-untyped-def]
    headers = api_token(gave_up["admin"])
    # Plain values: the threads have no app context to load attributes in.
    plain = {"need": gave_up["need"], "fund": gave_up["fund"]}
    url = f"/api/v1/needs/{plain['need'].code}/claims"
    body = {"fund_id": plain["fund"].id, "amount": 1_000}
    barrier = threading.Barrier(THREADS)
    results: list[Any] = [None] * THREADS

    def work(i: int) -> None:
        client = app.test_client()
        barrier.wait(timeout=30)
        try:
            resp = client.post(url, json=body, headers=headers)
            results[i] = (resp.status_code, (resp.get_json() or {}).get("error"))
        except Exception as exc:  # recorded; the test fails below
            results[i] = ("exception", repr(exc))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a request hung"
    statuses = sorted(r[0] for r in results)
    # One claim was open; the limit is 3: two places free.
    assert statuses == [201] * 2 + [409] * 8, results
    assert all(r[1]["code"] == "claim_limit" for r in results if r[0] == 409)
    assert _reserved(gave_up["org"].id) == 3
