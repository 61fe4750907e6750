"""Funds API: create, donations, read with figures."""

from __future__ import annotations

import pytest

from charitylink.core.money import MAX_AMOUNT_FEN
from charitylink.extensions import db
from charitylink.funds import ledger
from charitylink.funds.models import Fund
from tests.factories import org_admin_of

FIGURES = ("donations_total", "disbursed", "reserved", "balance", "available")


def test_create_named_and_special_funds(create_org, api_token, client):
    org = create_org()
    headers = api_token(org_admin_of(org))
    resp = client.post(
        "/api/v1/funds",
        json={"name": "某某爱心冠名基金", "kind": "named", "donor_name": "某某集团"},
        headers=headers,
    )
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["org_id"] == org.id and body["kind"] == "named"
    assert body["donor_name"] == "某某集团" and body["purpose"] is None
    assert all(body[k] == 0 for k in FIGURES)

    resp = client.post(
        "/api/v1/funds",
        json={
            "name": "医疗专项基金",
            "kind": "special",
            "purpose": {"need_types": ["medical"], "region_prefix": "22"},
            "description": "大病救助",
        },
        headers=headers,
    )
    assert resp.status_code == 201
    assert resp.json["purpose"] == {"need_types": ["medical"], "region_prefix": "22"}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "x", "kind": "named"}, "donor_name"),
        ({"name": "", "kind": "named", "donor_name": "y"}, "name"),
        ({"name": "x", "kind": "loan"}, "kind"),
        ({"name": "x", "kind": "special"}, "purpose.need_types"),
        ({"name": "x", "kind": "special", "purpose": "medical"}, "purpose"),
        ({"name": 5, "kind": ["named"], "donor_name": {}}, "name"),
    ],
)
def test_create_fund_validation(create_org, api_token, client, payload, field):
    org = create_org()
    resp = client.post(
        "/api/v1/funds", json=payload, headers=api_token(org_admin_of(org))
    )
    assert resp.status_code == 422
    err = resp.json["error"]
    assert err["code"] == "validation_failed" and field in err["fields"]
    assert db.session.scalar(db.select(db.func.count(Fund.id))) == 0


def test_create_fund_access(create_org, create_user, api_token, client):
    org = create_org()
    payload = {"name": "x", "kind": "named", "donor_name": "y"}
    assert client.post("/api/v1/funds", json=payload).status_code == 401
    member = create_user("org_member", org=org)
    resp = client.post("/api/v1/funds", json=payload, headers=api_token(member))
    assert resp.status_code == 403 and resp.json["error"]["code"] == "forbidden"
    mod = create_user("moderator")
    assert (
        client.post("/api/v1/funds", json=payload, headers=api_token(mod)).status_code
        == 403
    )
    pending = create_org(status="pending")
    resp = client.post(
        "/api/v1/funds", json=payload, headers=api_token(org_admin_of(pending))
    )
    assert resp.status_code == 403
    resp = client.post(
        "/api/v1/funds", data="not json", headers=api_token(org_admin_of(org))
    )
    assert resp.status_code == 400
    assert db.session.scalar(db.select(db.func.count(Fund.id))) == 0


def test_donations_and_figures(create_fund, api_token, client):
    fund = create_fund()
    headers = api_token(org_admin_of(fund.org))
    resp = client.post(
        f"/api/v1/funds/{fund.id}/donations",
        json={"amount": 123450, "donor_name": "张先生", "reference": "HD-1"},
        headers=headers,
    )
    assert resp.status_code == 201
    assert resp.json["amount"] == 123450 and resp.json["donor_name"] == "张先生"
    resp = client.post(
        f"/api/v1/funds/{fund.id}/donations",
        json={"amount": 50, "donor_name": None},
        headers=headers,
    )
    assert resp.status_code == 201 and resp.json["donor_name"] is None
    body = client.get(f"/api/v1/funds/{fund.id}").json
    assert body["donations_total"] == body["balance"] == body["available"] == 123500
    sums = ledger.sums(fund.id)
    assert (body["donations_total"], body["available"]) == (
        sums["donations_fen"],
        sums["available_fen"],
    )


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (0, "大于零"),
        (-1, "大于零"),
        (12.5, "整数"),
        ("12", "整数"),
        (True, "整数"),
        (None, "整数"),
        (MAX_AMOUNT_FEN + 1, "过大"),
    ],
)
def test_bad_donation_amounts_get_422(create_fund, api_token, client, amount, message):
    fund = create_fund()
    resp = client.post(
        f"/api/v1/funds/{fund.id}/donations",
        json={"amount": amount, "donor_name": "x"},
        headers=api_token(org_admin_of(fund.org)),
    )
    assert resp.status_code == 422
    assert message in resp.json["error"]["fields"]["amount"]
    assert ledger.sums(fund.id)["donations_fen"] == 0


def test_a_whole_amount_written_as_12_0_is_12_fen(create_fund, api_token, client):
    """JSON has one number type: 12.0 is the integer 12, as the published JSON
    Schema says (a fraction such as 12.5 is refused above)."""
    fund = create_fund()
    resp = client.post(
        f"/api/v1/funds/{fund.id}/donations",
        json={"amount": 12.0, "donor_name": "x"},
        headers=api_token(org_admin_of(fund.org)),
    )
    assert resp.status_code == 201 and resp.json["amount"] == 12
    assert ledger.sums(fund.id)["donations_fen"] == 12


def test_donation_access(create_org, create_fund, create_user, api_token, client):
    fund = create_fund(org=create_org())
    url = f"/api/v1/funds/{fund.id}/donations"
    payload = {"amount": 100, "donor_name": None}
    member = create_user("org_member", org=fund.org)
    assert client.post(url, json=payload, headers=api_token(member)).status_code == 403
    other = org_admin_of(create_org())
    assert client.post(url, json=payload, headers=api_token(other)).status_code == 403
    assert client.post(url, json=payload).status_code == 401
    resp = client.post(
        url,
        json={"amount": 1, "donor_name": 5},
        headers=api_token(org_admin_of(fund.org)),
    )
    assert resp.status_code == 422 and "donor_name" in resp.json["error"]["fields"]
    db.session.refresh(fund)
    assert fund.donations_fen == 0


def test_get_fund_only_for_verified_orgs(create_org, create_fund, api_token, client):
    fund = create_fund(org=create_org(status="pending"), donations_fen=100)
    assert client.get(f"/api/v1/funds/{fund.id}").status_code == 404
    own = client.get(
        f"/api/v1/funds/{fund.id}", headers=api_token(org_admin_of(fund.org))
    )
    assert own.status_code == 200 and own.json["donations_total"] == 100
    assert client.get("/api/v1/funds/424242").json["error"]["code"] == "not_found"
