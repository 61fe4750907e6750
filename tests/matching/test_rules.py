"""Matching offers to needs (供需对接): the rules of a goods or service claim,
its sessions, delivery and 回访, through the API and the services."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from charitylink.claims import matching
from charitylink.claims.models import Claim, ClaimInstalment, ClaimSession
from charitylink.core.timeutil import today
from charitylink.extensions import db
from charitylink.funds.models import LedgerEntry
from charitylink.needs.models import Need, NeedStatus
from charitylink.offers.models import OfferMonth
from tests.factories import org_admin_of


def _used(offer) -> dict:  # type: ignore[no-untyped-def]
    db.session.expire_all()
    return dict(
        db.session.execute(
            select(OfferMonth.month, OfferMonth.used).where(
                OfferMonth.offer_id == offer.id
            )
        ).all()
    )


def _post(client, headers, url, body):  # type: ignore[no-untyped-def]
    resp = client.post(url, json=body, headers=headers)
    return resp.status_code, resp.get_json()


def test_match_creates_a_service_claim_counted_in_value(
    client, create_org, create_need, make_offer, api_token
):  # type: ignore[no-untyped-def]
    org = create_org()
    offer = make_offer(org=org, capacity_per_month=10, unit_value_fen=5_000)
    need = create_need(amount_fen=100_000)
    headers = api_token(org_admin_of(org))
    status, body = _post(
        client,
        headers,
        f"/api/v1/offers/{offer.id}/match",
        {"need_code": need.code, "quantity": 4, "months": 1},
    )
    assert status == 201, body
    assert body["kind"] == "service"
    assert body["fund_id"] is None
    assert body["offer_id"] == offer.id
    assert (body["quantity"], body["months"], body["amount"]) == (4, 1, 20_000)
    need = db.session.get(Need, need.id)
    db.session.refresh(need)
    assert need.claimed_fen == 20_000
    assert sum(_used(offer).values()) == 4
    # No fund money anywhere.
    assert (
        db.session.scalar(
            select(func.count(LedgerEntry.id)).where(LedgerEntry.claim_id == body["id"])
        )
        == 0
    )


def test_refusals(client, create_org, create_need, make_offer, api_token, create_user):  # type: ignore[no-untyped-def]
    org = create_org()
    offer = make_offer(org=org, capacity_per_month=5, unit_value_fen=10_000)
    need = create_need(amount_fen=30_000)
    headers = api_token(org_admin_of(org))
    url = f"/api/v1/offers/{offer.id}/match"
    # Value over what the need has left: 4 × ¥100 > ¥300.
    status, body = _post(
        client, headers, url, {"need_code": need.code, "quantity": 4, "months": 1}
    )
    assert status == 409 and body["error"]["code"] == "over_claim"
    # Over the monthly capacity outright.
    status, body = _post(
        client, headers, url, {"need_code": need.code, "quantity": 6, "months": 1}
    )
    assert status == 422 and "月供给量" in body["error"]["fields"]["quantity"]
    # Another org's staff: 403.
    other = create_org()
    status, body = _post(
        client,
        api_token(org_admin_of(other)),
        url,
        {"need_code": need.code, "quantity": 1, "months": 1},
    )
    assert status == 403
    # A moderator does not match: 403 naming the proposals endpoint, where a
    # proposal (201) holds nothing until the org accepts; a moderator of
    # another region is refused there.
    moderator = api_token(create_user("moderator", region_prefix="22"))
    ask = {"need_code": need.code, "quantity": 1, "months": 1}
    status, body = _post(client, moderator, url, ask)
    assert status == 403 and "/proposals" in body["error"]["message"]
    proposals_url = url.replace("/match", "/proposals")
    status, body = _post(client, moderator, proposals_url, ask)
    assert status == 201 and body["status"] == "pending" and body["claim_id"] is None
    status, body = _post(
        client,
        api_token(create_user("moderator", region_prefix="62")),
        proposals_url,
        ask,
    )
    assert status == 403
    status, body = _post(client, headers, proposals_url, ask)
    assert status == 403  # the org's staff match; they do not propose
    # A need that does not exist (or is not public): 404, like any unknown object.
    status, body = _post(
        client, headers, url, {"need_code": "XQ-22-999999", "quantity": 1, "months": 1}
    )
    assert status == 404
    # Wrong need type.
    edu = create_need(amount_fen=30_000, need_type="education")
    status, body = _post(
        client, headers, url, {"need_code": edu.code, "quantity": 1, "months": 1}
    )
    assert status == 422 and "need_code" in body["error"]["fields"]
    # Outside the region.
    offer_far = make_offer(org=org, region_prefix="11")
    status, body = _post(
        client,
        headers,
        f"/api/v1/offers/{offer_far.id}/match",
        {"need_code": need.code, "quantity": 1, "months": 1},
    )
    assert status == 422 and "服务范围" in body["error"]["message"]
    # A paused offer.
    paused = make_offer(org=org, status="paused")
    status, body = _post(
        client,
        headers,
        f"/api/v1/offers/{paused.id}/match",
        {"need_code": need.code, "quantity": 1, "months": 1},
    )
    assert status == 409 and body["error"]["code"] == "not_claimable"
    # Months beyond the offer's end.
    ending = make_offer(org=org, end_on=today() + timedelta(days=20))
    status, body = _post(
        client,
        headers,
        f"/api/v1/offers/{ending.id}/match",
        {"need_code": need.code, "quantity": 1, "months": 3},
    )
    assert status == 422 and "months" in body["error"]["fields"]
    # Unknown need: 404, not a 500, and nothing made.
    status, body = _post(
        client, headers, url, {"need_code": "XQ-22-999998", "quantity": 1, "months": 1}
    )
    assert status == 404
    assert db.session.scalar(select(func.count(Claim.id))) == 0


def test_capacity_exceeded_in_one_month(create_org, create_need, make_offer):  # type: ignore[no-untyped-def]
    org = create_org()
    admin = org_admin_of(org)
    offer = make_offer(org=org, capacity_per_month=5, unit_value_fen=1_000)
    n1, n2 = create_need(amount_fen=100_000), create_need(amount_fen=100_000)
    matching.match(offer, n1, 3, 2, admin)
    db.session.commit()
    import pytest

    from charitylink.errors import CapacityExceeded

    with pytest.raises(CapacityExceeded) as exc:
        matching.match(offer, n2, 3, 1, admin)
    assert exc.value.code == "capacity_exceeded"
    db.session.rollback()
    assert sorted(_used(offer).values()) == [3, 3]
    db.session.refresh(n2)
    assert n2.claimed_fen == 0


def test_months_write_instalments_and_take_each_month(
    create_org, create_need, make_offer
):  # type: ignore[no-untyped-def]
    org = create_org()
    offer = make_offer(org=org, capacity_per_month=8, unit_value_fen=1_000)
    need = create_need(amount_fen=100_000)
    claim = matching.match(offer, need, 2, 3, org_admin_of(org))
    db.session.commit()
    assert claim.amount_fen == 6_000
    rows = db.session.scalars(
        select(ClaimInstalment).where(ClaimInstalment.claim_id == claim.id)
    ).all()
    assert [r.quantity for r in rows] == [2, 2, 2]
    assert len(_used(offer)) == 3 and set(_used(offer).values()) == {2}


def test_cancel_and_expiry_give_units_back(create_org, create_need, make_offer):  # type: ignore[no-untyped-def]
    from charitylink.claims import services

    org = create_org()
    admin = org_admin_of(org)
    offer = make_offer(org=org, capacity_per_month=6, unit_value_fen=1_000)
    need = create_need(amount_fen=100_000)
    a = matching.match(offer, need, 4, 2, admin)
    b = matching.match(offer, need, 2, 1, admin)
    db.session.commit()
    services.cancel_claim(a, admin, "改由其他机构")
    db.session.commit()
    assert sorted(_used(offer).values()) == [0, 2]
    db.session.refresh(need)
    assert need.claimed_fen == 2_000
    services.expire_overdue(today=b.due_on + timedelta(days=1))
    db.session.commit()
    assert set(_used(offer).values()) == {0}
    db.session.refresh(need)
    assert need.claimed_fen == 0


def test_sessions_delivery_and_confirmation(
    client, create_org, create_need, make_offer, api_token, create_user
):  # type: ignore[no-untyped-def]
    org = create_org()
    offer = make_offer(org=org, capacity_per_month=10, unit_value_fen=5_000)
    need = create_need(amount_fen=20_000)
    headers = api_token(org_admin_of(org))
    status, claim = _post(
        client,
        headers,
        f"/api/v1/offers/{offer.id}/match",
        {"need_code": need.code, "quantity": 4, "months": 1},
    )
    assert status == 201
    db.session.expire_all()
    assert db.session.get(Need, need.id).status == NeedStatus.FULLY_CLAIMED
    url = f"/api/v1/claims/{claim['id']}/sessions"
    day = today().isoformat()
    status, body = _post(
        client,
        headers,
        url,
        {
            "held_on": day,
            "quantity": 2,
            "hours": 1.5,
            "volunteers": 2,
            "note": "上门打扫",
        },
    )
    assert status == 201, body
    assert body["hours"] == 1.5
    # More units than matched: refused with the figure.
    status, body = _post(
        client,
        headers,
        url,
        {"held_on": day, "quantity": 3, "hours": 1, "volunteers": 1},
    )
    assert status == 422 and "quantity" in body["error"]["fields"]
    # A household name or a phone number in the note: refused.
    status, body = _post(
        client,
        headers,
        url,
        {
            "held_on": day,
            "quantity": 1,
            "hours": 1,
            "volunteers": 1,
            "note": "联系 13912345678",
        },
    )
    assert status == 422 and "note" in body["error"]["fields"]
    # A future date, a bad hours value.
    status, body = _post(
        client,
        headers,
        url,
        {
            "held_on": (today() + timedelta(days=2)).isoformat(),
            "quantity": 1,
            "hours": 1,
            "volunteers": 1,
        },
    )
    assert status == 422 and "held_on" in body["error"]["fields"]
    status, body = _post(
        client,
        headers,
        url,
        {"held_on": day, "quantity": 1, "hours": 30, "volunteers": 1},
    )
    assert status == 422 and "hours" in body["error"]["fields"]
    status, body = _post(
        client,
        headers,
        url,
        {"held_on": day, "quantity": 1, "hours": 2, "volunteers": 3},
    )
    assert status == 201
    resp = client.get(url, headers=headers)
    assert [s["quantity"] for s in resp.get_json()["items"]] == [2, 1]
    # The generic delivery endpoint names the sessions' value.
    deliver = f"/api/v1/claims/{claim['id']}/deliver"
    status, body = _post(
        client,
        headers,
        deliver,
        {"delivered_amount": 20_000, "delivered_on": day, "method": "service"},
    )
    assert status == 422 and "15000" in body["error"]["message"]
    status, body = _post(
        client,
        headers,
        deliver,
        {"delivered_amount": 15_000, "delivered_on": day, "method": "service"},
    )
    assert status == 200, body
    assert body["status"] == "delivered" and body["delivered_amount"] == 15_000
    db.session.expire_all()
    need = db.session.get(Need, need.id)
    assert (need.claimed_fen, need.delivered_fen) == (15_000, 15_000)
    assert need.status == NeedStatus.PUBLISHED  # the rest opens to others
    assert sum(_used(offer).values()) == 3  # the undelivered unit went back
    # No session after delivery.
    status, body = _post(
        client,
        headers,
        url,
        {"held_on": day, "quantity": 1, "hours": 1, "volunteers": 1},
    )
    assert status == 409
    # 回访 confirms the claim and its sessions.
    mod = api_token(create_user("moderator", region_prefix="22"))
    status, body = _post(client, mod, f"/api/v1/claims/{claim['id']}/confirm", {})
    assert status == 200 and body["status"] == "confirmed"
    db.session.expire_all()
    assert all(
        s.confirmed_at is not None for s in db.session.scalars(select(ClaimSession))
    )
    # The moderator reads the sessions too.
    assert client.get(url, headers=mod).status_code == 200


def test_disputed_match_reversed_returns_value_not_money(
    create_org, create_need, make_offer, create_user
):  # type: ignore[no-untyped-def]
    from charitylink.claims import services
    from charitylink.core.timeutil import today as t

    org = create_org()
    admin = org_admin_of(org)
    offer = make_offer(org=org, capacity_per_month=10, unit_value_fen=1_000)
    need = create_need(amount_fen=50_000)
    claim = matching.match(offer, need, 5, 1, admin)
    matching.record_session(claim, admin, t(), 5, 2, 1, "")
    matching.deliver_match(claim, admin)
    m1 = create_user("moderator", region_prefix="22")
    m2 = create_user("moderator", region_prefix="22")
    services.dispute_claim(claim, m1, "家庭称只来过两次", 2_000)
    db.session.commit()
    claim.dispute_due_on = t() - timedelta(days=1)
    db.session.commit()
    services.resolve_dispute(claim, m2, "partial", 2_000, "核实只服务两次")
    db.session.commit()
    db.session.refresh(need)
    assert (need.claimed_fen, need.delivered_fen) == (2_000, 2_000)
    assert db.session.scalar(select(func.count(LedgerEntry.id))) == 0
