"""Disputes (a failed 回访), their resolution, claim extensions and donation
reversals through the API: every transition, every refusal with its code, the
audit rows, and the figures (need, fund, ledger sums) after each step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from charitylink.claims import services
from charitylink.claims.models import Claim
from charitylink.core.timeutil import today
from charitylink.extensions import db
from charitylink.funds import ledger
from charitylink.funds.models import Fund, LedgerEntry, LedgerKind
from charitylink.needs.models import Need
from charitylink.notifications.models import Notification
from tests.claims.conftest import HOUSEHOLD, audit_actions
from tests.factories import org_admin_of


def _post(client, url, headers, body=None):  # type: ignore[no-untyped-def]
    return client.post(url, json=body if body is not None else {}, headers=headers)


def _code(resp: Any) -> str:
    return resp.get_json()["error"]["code"]


def delivered_claim(
    org_world: dict[str, Any], need: Need, amount: int, sent: int
) -> Claim:
    claim = services.claim_need(need, org_world["member"], org_world["fund"], amount)
    services.deliver_claim(claim, org_world["member"], sent, today(), "cash", "已转账")
    db.session.commit()
    return claim


def assert_fund_matches_ledger(fund_id: int) -> None:
    db.session.expire_all()
    fund = db.session.get_one(Fund, fund_id)
    sums = ledger.sums(fund_id)
    assert sums["donations_fen"] == fund.donations_fen
    assert sums["reserved_fen"] == fund.reserved_fen
    assert sums["disbursed_fen"] == fund.disbursed_fen
    assert sums["balance_fen"] == fund.balance_fen
    assert sums["available_fen"] == fund.available_fen >= 0


@pytest.fixture
def mods(create_user, api_token):  # type: ignore[no-untyped-def]
    first = create_user("moderator", region_prefix="2201")
    second = create_user("moderator", region_prefix="22")
    elsewhere = create_user("moderator", region_prefix="11")
    return {
        "first": first,
        "second": second,
        "h1": api_token(first),
        "h2": api_token(second),
        "far": api_token(elsewhere),
    }


def test_dispute_respond_partial_resolution(
    client, org_world, create_need, mods, api_token
):
    need = create_need(amount_fen=50_000, region_code="220102", household=HOUSEHOLD)
    claim = delivered_claim(org_world, need, 50_000, 40_000)
    member = api_token(org_world["member"])
    url = f"/api/v1/claims/{claim.id}"
    body = {"reason": "家庭称只收到一部分", "received_amount": 10_000}

    # Who may dispute: the region's moderators only.
    assert _post(client, f"{url}/dispute", member, body).status_code == 403
    assert _post(client, f"{url}/dispute", mods["far"], body).status_code == 404
    bad = _post(
        client, f"{url}/dispute", mods["h1"], {**body, "received_amount": 90_000}
    )
    assert (
        bad.status_code == 422
        and "received_amount" in bad.get_json()["error"]["fields"]
    )
    ok = _post(client, f"{url}/dispute", mods["h1"], body)
    assert ok.status_code == 200, ok.get_json()
    answer = ok.get_json()
    assert answer["status"] == "disputed"
    assert answer["dispute"]["received_amount"] == 10_000
    assert (
        answer["dispute"]["answer_due_on"] == (today() + timedelta(days=14)).isoformat()
    )
    assert answer["dispute"]["outcome"] is None
    again = _post(client, f"{url}/dispute", mods["h1"], body)
    assert again.status_code == 409 and _code(again) == "invalid_transition"
    # A disputed claim is not confirmed the ordinary way.
    assert _code(_post(client, f"{url}/confirm", mods["h2"])) == "invalid_transition"

    resolve = {
        "outcome": "partial",
        "confirmed_amount": 10_000,
        "reason": "核实后部分到账",
    }
    # Before the org answered and within its 14 days: wait.
    early = _post(client, f"{url}/resolve", mods["h2"], resolve)
    assert early.status_code == 409 and _code(early) == "invalid_transition"
    assert "答复" in early.get_json()["error"]["message"]

    # The org answers (once); a moderator cannot answer for it.
    note = {"note": "转账回单已上传，请核实"}
    assert _post(client, f"{url}/respond", mods["h2"], note).status_code == 403
    assert _post(client, f"{url}/respond", member, {"note": " "}).status_code == 422
    answered = _post(client, f"{url}/respond", member, note)
    assert answered.status_code == 200
    assert answered.get_json()["dispute"]["response_note"] == note["note"]
    assert _code(_post(client, f"{url}/respond", member, note)) == "invalid_transition"

    # Four eyes: not the moderator who disputed.
    same = _post(client, f"{url}/resolve", mods["h1"], resolve)
    assert same.status_code == 409 and _code(same) == "four_eyes"
    assert _post(client, f"{url}/resolve", member, resolve).status_code == 403
    too_much = _post(
        client, f"{url}/resolve", mods["h2"], {**resolve, "confirmed_amount": 40_001}
    )
    assert too_much.status_code == 422
    assert "confirmed_amount" in too_much.get_json()["error"]["fields"]
    done = _post(client, f"{url}/resolve", mods["h2"], resolve)
    assert done.status_code == 200, done.get_json()
    answer = done.get_json()
    assert answer["status"] == "confirmed" and answer["delivered_amount"] == 10_000
    assert answer["dispute"]["outcome"] == "partial"
    assert answer["dispute"]["reversed_amount"] == 30_000
    assert (
        _code(_post(client, f"{url}/resolve", mods["h2"], resolve))
        == "invalid_transition"
    )

    db.session.expire_all()
    need = db.session.get_one(Need, need.id)
    # The reversed ¥300 counts neither as claimed nor as delivered: the need
    # opens again for the rest.
    assert need.claimed_fen == 10_000 and need.delivered_fen == 10_000
    assert need.status == "published"
    fund = db.session.get_one(Fund, org_world["fund"].id)
    assert fund.disbursed_fen == 10_000 and fund.balance_fen == 1_000_000 - 10_000
    reversal = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.REVERSAL)
    ).one()
    payment = db.session.get_one(LedgerEntry, reversal.reverses)
    assert payment.kind == LedgerKind.DISBURSE and payment.claim_id == claim.id
    assert reversal.amount_fen == 30_000 and "追回" in (reversal.reason or "")
    assert_fund_matches_ledger(fund.id)
    assert audit_actions("claim", claim.id) == [
        "claim.create",
        "claim.deliver",
        "claim.dispute",
        "claim.respond",
        "claim.resolve",
    ]
    kinds = set(db.session.scalars(select(Notification.kind)))
    assert {"delivery_disputed", "dispute_answered", "dispute_resolved"} <= kinds
    # The org's answer goes to the need's moderators, not back to the org.
    answered = db.session.scalars(
        select(Notification).where(Notification.kind == "dispute_answered")
    ).all()
    told = {n.user_id for n in answered}
    assert {mods["first"].id, mods["second"].id} <= told
    assert org_world["member"].id not in told
    assert all(n.url == f"/mod/claims/{claim.id}" for n in answered)
    shown = client.get(url, headers=member).get_data(as_text=True)
    for value in HOUSEHOLD.values():
        assert value not in shown


def test_reverse_after_the_answer_period_and_confirm(
    client, org_world, create_need, mods
):
    need = create_need(amount_fen=30_000, region_code="220102")
    claim = delivered_claim(org_world, need, 30_000, 30_000)
    assert db.session.get_one(Need, need.id).status == "delivered"
    url = f"/api/v1/claims/{claim.id}"
    body = {"reason": "家庭未收到", "received_amount": 0}
    assert _post(client, f"{url}/dispute", mods["h1"], body).status_code == 200
    # 14 days pass without an answer: the moderator may resolve without it.
    db.session.get_one(Claim, claim.id).dispute_due_on = today() - timedelta(days=1)
    db.session.commit()
    missing = _post(
        client, f"{url}/resolve", mods["h2"], {"outcome": "partial", "reason": "x"}
    )
    assert missing.status_code == 422
    assert "confirmed_amount" in missing.get_json()["error"]["fields"]
    done = _post(
        client,
        f"{url}/resolve",
        mods["h2"],
        {"outcome": "reverse", "reason": "核实未送达"},
    )
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "reversed"
    db.session.expire_all()
    need = db.session.get_one(Need, need.id)
    assert (need.claimed_fen, need.delivered_fen, need.status) == (0, 0, "published")
    fund = db.session.get_one(Fund, org_world["fund"].id)
    assert fund.disbursed_fen == 0 and fund.balance_fen == 1_000_000
    assert_fund_matches_ledger(fund.id)

    # A second claim on the reopened need, disputed and then confirmed.
    other = delivered_claim(org_world, need, 30_000, 30_000)
    url = f"/api/v1/claims/{other.id}"
    assert _post(client, f"{url}/dispute", mods["h2"], body).status_code == 200
    db.session.get_one(Claim, other.id).dispute_due_on = today() - timedelta(days=1)
    db.session.commit()
    ok = _post(
        client,
        f"{url}/resolve",
        mods["h1"],
        {"outcome": "confirm", "reason": "家庭已确认收到"},
    )
    assert ok.status_code == 200 and ok.get_json()["status"] == "confirmed"
    db.session.expire_all()
    need = db.session.get_one(Need, need.id)
    assert (need.claimed_fen, need.delivered_fen, need.status) == (
        30_000,
        30_000,
        "confirmed",
    )
    assert_fund_matches_ledger(fund.id)


def test_extend_a_reserved_claim(client, org_world, create_need, mods, api_token):
    need = create_need(amount_fen=30_000, region_code="220102")
    claim = services.claim_need(need, org_world["member"], org_world["fund"], 10_000)
    db.session.commit()
    url = f"/api/v1/claims/{claim.id}/extend"
    later = (claim.due_on + timedelta(days=10)).isoformat()
    body = {"due_on": later, "reason": "家庭外出就医，推迟交付"}
    assert _post(client, url, api_token(org_world["member"]), body).status_code == 403
    assert _post(client, url, mods["far"], body).status_code == 404
    bad = _post(client, url, mods["h1"], {**body, "due_on": claim.due_on.isoformat()})
    assert bad.status_code == 422 and "due_on" in bad.get_json()["error"]["fields"]
    nonsense = _post(client, url, mods["h1"], {**body, "due_on": "2027-02-30"})
    assert nonsense.status_code == 422
    assert _post(client, url, mods["h1"], {"due_on": later}).status_code == 422
    ok = _post(client, url, mods["h1"], body)
    assert ok.status_code == 200 and ok.get_json()["due_on"] == later
    assert audit_actions("claim", claim.id)[-1] == "claim.extend"
    services.deliver_claim(claim, org_world["member"], 10_000, today(), "cash")
    db.session.commit()
    late = _post(
        client,
        url,
        mods["h1"],
        {**body, "due_on": (today() + timedelta(days=90)).isoformat()},
    )
    assert late.status_code == 409 and _code(late) == "invalid_transition"


def test_donation_reversal(client, org_world, create_need, create_org, api_token):
    from charitylink.funds import services as fund_services

    fund = org_world["fund"]
    admin = api_token(org_world["admin"])
    wrong = fund_services.record_donation(fund, org_world["admin"], amount_fen=50_000)
    big = fund_services.record_donation(fund, org_world["admin"], amount_fen=2_000_000)
    db.session.commit()
    url = f"/api/v1/funds/{fund.id}/donations/{wrong.id}/reverse"
    body = {"reason": "金额录入错误"}
    assert _post(client, url, api_token(org_world["member"]), body).status_code == 403
    other_admin = api_token(org_admin_of(create_org()))
    assert _post(client, url, other_admin, body).status_code == 403
    assert _post(client, url, admin, {}).status_code == 422
    ok = _post(client, url, admin, body)
    assert ok.status_code == 201, ok.get_json()
    assert ok.get_json()["reverses"] == wrong.id and ok.get_json()["amount"] == 50_000
    twice = _post(client, url, admin, body)
    assert twice.status_code == 409 and _code(twice) == "invalid_transition"
    # Not a donation of this fund.
    assert (
        _post(
            client, f"/api/v1/funds/{fund.id}/donations/999999/reverse", admin, body
        ).status_code
        == 404
    )
    # Reserve most of the money: the big donation can no longer be taken back.
    need = create_need(amount_fen=2_500_000, region_code="220102")
    services.claim_need(need, org_world["member"], fund, 2_500_000)
    db.session.commit()
    short = _post(
        client, f"/api/v1/funds/{fund.id}/donations/{big.id}/reverse", admin, body
    )
    assert short.status_code == 409 and _code(short) == "insufficient_funds"
    db.session.expire_all()
    fund = db.session.get_one(Fund, fund.id)
    assert fund.donations_fen == 1_000_000 + 2_000_000 and fund.available_fen == 500_000
    assert_fund_matches_ledger(fund.id)
    assert audit_actions("fund", fund.id)[-1] == "fund.donation_reverse"
    # The public fund page lists the reversal with its reason.
    page = client.get(f"/funds/{fund.id}").get_data(as_text=True)
    assert "金额录入错误" in page
