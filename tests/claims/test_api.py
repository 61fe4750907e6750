"""The claims API: 201/409/422/403/404 with the error envelope, every
transition allowed and refused, audit rows, and no private data in answers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from charitylink.claims.models import Claim
from charitylink.core.audit import AuditEvent
from charitylink.core.timeutil import today
from charitylink.extensions import db
from charitylink.funds.models import FundKind
from tests.claims.conftest import HOUSEHOLD, audit_actions, ledger_rows
from tests.factories import org_admin_of

CLAIM_FIELDS = {
    "id",
    "need_code",
    "org_id",
    "fund_id",
    "project_id",
    "amount",
    "status",
    "due_on",
    "delivered_amount",
    "delivered_on",
    "method",
    "note",
    "dispute",
    "schedule",
    "ended_at",
    # beyond cash: the kind, and for goods and services the offer and units
    "kind",
    "offer_id",
    "quantity",
    "months",
}


def _post(client, url, headers, body=None):  # type: ignore[no-untyped-def]
    return client.post(url, json=body if body is not None else {}, headers=headers)


def _assert_no_private(text: str) -> None:
    for value in HOUSEHOLD.values():
        assert value not in text


def test_claim_201_with_spec_fields(client, org_world, create_need, api_token):
    need = create_need(amount_fen=100_000, household=HOUSEHOLD)
    headers = api_token(org_world["member"])
    resp = _post(
        client,
        f"/api/v1/needs/{need.code}/claims",
        headers,
        {"fund_id": org_world["fund"].id, "amount": 25_000},
    )
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert set(body) == CLAIM_FIELDS
    assert body["need_code"] == need.code and body["amount"] == 25_000
    assert body["status"] == "reserved" and body["delivered_amount"] is None
    _assert_no_private(resp.get_data(as_text=True))
    assert audit_actions("claim", body["id"]) == ["claim.create"]


def test_claim_409_codes(client, org_world, create_need, create_fund, api_token):  # type: ignore[no-untyped-def]
    headers = api_token(org_world["admin"])
    need = create_need(amount_fen=10_000, need_type="medical")
    url = f"/api/v1/needs/{need.code}/claims"
    fund = org_world["fund"].id

    over = _post(client, url, headers, {"fund_id": fund, "amount": 10_001})
    assert over.status_code == 409
    assert over.get_json()["error"]["code"] == "over_claim"
    assert "仅剩 ¥100.00" in over.get_json()["error"]["message"]

    poor = create_fund(org=org_world["org"], donations_fen=100)
    short = _post(client, url, headers, {"fund_id": poor.id, "amount": 500})
    assert short.status_code == 409
    assert short.get_json()["error"]["code"] == "insufficient_funds"

    special = create_fund(
        org=org_world["org"],
        donations_fen=100_000,
        kind=FundKind.SPECIAL,
        purpose_need_types=["education"],
    )
    purpose = _post(client, url, headers, {"fund_id": special.id, "amount": 500})
    assert purpose.status_code == 409
    assert purpose.get_json()["error"]["code"] == "fund_purpose"

    assert (
        _post(client, url, headers, {"fund_id": fund, "amount": 10_000}).status_code
        == 201
    )
    full = _post(client, url, headers, {"fund_id": fund, "amount": 1})
    assert full.status_code == 409
    assert full.get_json()["error"]["code"] == "not_claimable"
    # Refused requests left no ledger rows.
    assert [k for k, *_ in ledger_rows(poor.id)] == ["donation"]
    assert [k for k, *_ in ledger_rows(special.id)] == ["donation"]


def test_claim_after_deadline_is_not_claimable(
    client, org_world, create_need, api_token
):
    need = create_need()
    need.deadline_on = today() - timedelta(days=1)
    db.session.commit()
    resp = _post(
        client,
        f"/api/v1/needs/{need.code}/claims",
        api_token(org_world["member"]),
        {"fund_id": org_world["fund"].id, "amount": 100},
    )
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "not_claimable"


def test_claim_422_names_each_bad_field(
    client, org_world, create_need, create_fund, api_token
):
    need = create_need()
    url = f"/api/v1/needs/{need.code}/claims"
    headers = api_token(org_world["member"])
    other_fund = create_fund(donations_fen=100_000)
    for body, bad in (
        ({"fund_id": org_world["fund"].id, "amount": 12.5}, "amount"),
        ({"fund_id": org_world["fund"].id, "amount": "100"}, "amount"),
        ({"fund_id": org_world["fund"].id, "amount": -1}, "amount"),
        ({"fund_id": org_world["fund"].id}, "amount"),
        ({"amount": 100}, "fund_id"),
        ({"fund_id": "x", "amount": 100}, "fund_id"),
        ({"fund_id": other_fund.id, "amount": 100}, "fund_id"),
        ({"fund_id": 2**70, "amount": 100}, "fund_id"),
        (
            {"fund_id": org_world["fund"].id, "amount": 100, "project_id": 2**40},
            "project_id",
        ),
        (
            {"fund_id": org_world["fund"].id, "amount": 100, "project_id": 999},
            "project_id",
        ),
    ):
        resp = _post(client, url, headers, body)
        assert resp.status_code == 422, (body, resp.get_json())
        error = resp.get_json()["error"]
        assert error["code"] == "validation_failed" and bad in error["fields"]
    assert db.session.scalar(select(Claim.id)) is None
    garbage = client.post(
        url, data="{", headers={**headers, "Content-Type": "application/json"}
    )
    assert garbage.status_code == 400


def test_claim_needs_an_org_member_and_a_public_need(
    client, org_world, create_need, create_user, api_token
):
    need = create_need()
    url = f"/api/v1/needs/{need.code}/claims"
    body = {"fund_id": org_world["fund"].id, "amount": 100}
    assert _post(client, url, {}, body).status_code == 401
    moderator = api_token(create_user("moderator"))
    assert _post(client, url, moderator, body).status_code == 403
    draft = create_need(status="draft")
    member = api_token(org_world["member"])
    resp = _post(client, f"/api/v1/needs/{draft.code}/claims", member, body)
    assert resp.status_code == 404
    assert (
        _post(client, "/api/v1/needs/XQ-NOPE/claims", member, body).status_code == 404
    )


def test_unverified_org_gets_403(client, org_world, create_need, api_token):
    need = create_need()
    org_world["org"].status = "suspended"
    db.session.commit()
    resp = _post(
        client,
        f"/api/v1/needs/{need.code}/claims",
        api_token(org_world["member"]),
        {"fund_id": org_world["fund"].id, "amount": 100},
    )
    assert resp.status_code == 403
    assert "认证" in resp.get_json()["error"]["message"]


def test_deliver_confirm_and_refusals_with_audit(
    client, org_world, create_need, create_user, api_token
):
    need = create_need(amount_fen=50_000, region_code="220102", household=HOUSEHOLD)
    member = api_token(org_world["member"])
    moderator = api_token(create_user("moderator", region_prefix="2201"))
    claim_id = _post(
        client,
        f"/api/v1/needs/{need.code}/claims",
        member,
        {"fund_id": org_world["fund"].id, "amount": 50_000},
    ).get_json()["id"]

    early = _post(client, f"/api/v1/claims/{claim_id}/confirm", moderator)
    assert early.status_code == 409
    assert early.get_json()["error"]["code"] == "invalid_transition"

    bad = _post(
        client,
        f"/api/v1/claims/{claim_id}/deliver",
        member,
        {"delivered_amount": 60_000, "delivered_on": "2026-13-01", "method": "bank"},
    )
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"delivered_on", "method"}
    bad = _post(
        client,
        f"/api/v1/claims/{claim_id}/deliver",
        member,
        {
            "delivered_amount": 60_000,
            "delivered_on": today().isoformat(),
            "method": "bank",
        },
    )
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"method"}

    # A moderator cannot report the org's delivery.
    assert (
        _post(
            client,
            f"/api/v1/claims/{claim_id}/deliver",
            moderator,
            {
                "delivered_amount": 1,
                "delivered_on": today().isoformat(),
                "method": "cash",
            },
        ).status_code
        == 403
    )
    done = _post(
        client,
        f"/api/v1/claims/{claim_id}/deliver",
        member,
        {
            "delivered_amount": 45_000,
            "delivered_on": today().isoformat(),
            "method": "cash",
            "note": "已转账",
        },
    )
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["status"] == "delivered" and body["delivered_amount"] == 45_000
    assert body["method"] == "cash" and body["delivered_on"] == today().isoformat()

    cancel = _post(client, f"/api/v1/claims/{claim_id}/cancel", member)
    assert cancel.status_code == 409
    assert cancel.get_json()["error"]["code"] == "invalid_transition"
    assert (
        _post(client, f"/api/v1/claims/{claim_id}/confirm", member).status_code == 403
    )

    ok = _post(client, f"/api/v1/claims/{claim_id}/confirm", moderator)
    assert ok.status_code == 200 and ok.get_json()["status"] == "confirmed"
    again = _post(client, f"/api/v1/claims/{claim_id}/confirm", moderator)
    assert again.status_code == 409
    assert audit_actions("claim", claim_id) == [
        "claim.create",
        "claim.deliver",
        "claim.confirm",
    ]
    _assert_no_private(ok.get_data(as_text=True))


def test_cancel_via_api(client, org_world, create_need, api_token):
    need = create_need(amount_fen=50_000)
    member = api_token(org_world["member"])
    claim_id = _post(
        client,
        f"/api/v1/needs/{need.code}/claims",
        member,
        {"fund_id": org_world["fund"].id, "amount": 20_000},
    ).get_json()["id"]
    resp = _post(
        client, f"/api/v1/claims/{claim_id}/cancel", member, {"reason": "改期"}
    )
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"
    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "claim.cancel", AuditEvent.object_id == str(claim_id)
        )
    )
    assert (event.from_status, event.to_status, event.reason) == (
        "reserved",
        "cancelled",
        "改期",
    )
    assert _post(client, f"/api/v1/claims/{claim_id}/cancel", member).status_code == 409


def test_claims_are_visible_to_the_org_and_the_regions_moderators_only(
    client, org_world, create_need, create_org, create_user, api_token
):
    need = create_need(region_code="220102", household=HOUSEHOLD)
    member = api_token(org_world["member"])
    claim_id = _post(
        client,
        f"/api/v1/needs/{need.code}/claims",
        member,
        {"fund_id": org_world["fund"].id, "amount": 100},
    ).get_json()["id"]
    url = f"/api/v1/claims/{claim_id}"
    mine = client.get(url, headers=member)
    assert mine.status_code == 200 and mine.get_json()["id"] == claim_id
    _assert_no_private(mine.get_data(as_text=True))
    assert (
        client.get(
            url, headers=api_token(create_user("moderator", region_prefix="2201"))
        ).status_code
        == 200
    )
    assert (
        client.get(
            url, headers=api_token(create_user("moderator", region_prefix="2202"))
        ).status_code
        == 404
    )
    stranger = api_token(org_admin_of(create_org()))
    assert client.get(url, headers=stranger).status_code == 404
    assert _post(client, f"{url}/cancel", stranger).status_code == 404
    assert client.get(url).status_code == 401

    listing = client.get("/api/v1/claims", headers=member).get_json()
    assert [c["id"] for c in listing["items"]] == [claim_id]
    assert client.get("/api/v1/claims", headers=stranger).get_json()["items"] == []
    assert client.get("/api/v1/claims?status=reserved", headers=member).get_json()[
        "items"
    ]
    assert client.get("/api/v1/claims?status=nope", headers=member).status_code == 422
