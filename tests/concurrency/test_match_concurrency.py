"""An offer's monthly capacity and a need's amount in value under real
parallelism: 20 threads, each with its own test client and connection,
released at once, match through the API. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from charitylink.claims.models import Claim
from charitylink.extensions import db
from charitylink.needs.models import Need
from charitylink.offers.models import OfferMonth
from tests.concurrency.test_claims_concurrency import THREADS, _run_parallel
from tests.factories import org_admin_of


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **app_config,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": THREADS + 5, "max_overflow": 5},
    }


def _months(offer_id: int) -> dict[Any, int]:
    db.session.expire_all()
    return dict(
        db.session.execute(
            select(OfferMonth.month, OfferMonth.used).where(
                OfferMonth.offer_id == offer_id
            )
        ).all()
    )


def test_twenty_matches_never_exceed_an_offers_capacity_in_any_month(
    app, create_org, create_need, make_offer, create_user, api_token
):  # type: ignore[no-untyped-def]
    org = create_org()
    staff = [org_admin_of(org)] + [create_user("org_member", org=org) for _ in range(3)]
    tokens = [api_token(u) for u in staff]
    offer = make_offer(org=org, capacity_per_month=25, unit_value_fen=100)
    needs = [create_need(amount_fen=10_000_000) for _ in range(4)]
    # 1 to 3 units a month, over 1 to 3 months: the first months are contested
    # hardest (every match takes the first), the row of each month is new.
    jobs = [
        (
            tokens[i % 4],
            f"/api/v1/offers/{offer.id}/match",
            {
                "need_code": needs[i % 4].code,
                "quantity": 1 + i % 3,
                "months": 1 + i % 3,
            },
        )
        for i in range(THREADS)
    ]
    results = _run_parallel(app, jobs)
    assert {r[0] for r in results} <= {201, 409}, results
    granted = [r for r in results if r[0] == 201]
    refused = [r for r in results if r[0] == 409]
    assert granted and refused
    assert {r[1]["error"]["code"] for r in refused} == {"capacity_exceeded"}
    used = _months(offer.id)
    assert all(0 <= u <= 25 for u in used.values()), used
    # Each month's use is exactly the units the granted matches hold in it.
    expected: dict[int, int] = {}
    for r in granted:
        for n in range(r[2]["months"]):
            expected[n] = expected.get(n, 0) + r[2]["quantity"]
    assert [used[m] for m in sorted(used)] == [expected[n] for n in sorted(expected)]
    # Every refusal was right: some month of its span had fewer units left
    # than it asked for (use only grows, so what was short then is short now).
    # "The first month is full" would be wrong: 24 of 25 used refuses a 3.
    months = sorted(used)
    for r in refused:
        span = months[: r[2]["months"]]
        assert any(used[m] + r[2]["quantity"] > 25 for m in span), (r, used)
    assert db.session.scalar(select(func.count(Claim.id))) == len(granted)


def test_twenty_matches_never_exceed_a_needs_amount_in_value(
    app, create_org, create_need, make_offer, api_token
):  # type: ignore[no-untyped-def]
    orgs = [create_org() for _ in range(4)]
    offers = [
        make_offer(org=o, capacity_per_month=1_000, unit_value_fen=700) for o in orgs
    ]
    tokens = [api_token(org_admin_of(o)) for o in orgs]
    need = create_need(amount_fen=100_000)  # ¥1,000
    jobs = [
        (
            tokens[i % 4],
            f"/api/v1/offers/{offers[i % 4].id}/match",
            {"need_code": need.code, "quantity": 10 + i, "months": 1},
        )
        for i in range(THREADS)
    ]
    results = _run_parallel(app, jobs)
    assert {r[0] for r in results} <= {201, 409}, results
    granted = [r for r in results if r[0] == 201]
    assert granted
    db.session.expire_all()
    need = db.session.get(Need, need.id)
    value = sum(r[1]["amount"] for r in granted)
    assert need.claimed_fen == value <= need.amount_fen
    for r in results:
        if r[0] == 409:
            assert r[1]["error"]["code"] in {"over_claim", "not_claimable"}
    # Each offer's month holds exactly its granted units.
    for o in offers:
        units = sum(r[2]["quantity"] for r in granted if r[1]["offer_id"] == o.id)
        assert sum(_months(o.id).values()) == units
