"""Offers API: create, edit, status changes, access, validation, the public
list, and the matching suggestions both ways."""

from __future__ import annotations

from datetime import date, timedelta

from charitylink.core.audit import AuditEvent
from charitylink.extensions import db
from charitylink.offers.matching import month_of, remaining_capacity
from charitylink.offers.models import Offer, OfferMonth
from tests.offers.conftest import offer_payload


def _actions(offer_id: int) -> list[str]:
    return list(
        db.session.scalars(
            db.select(AuditEvent.action)
            .where(AuditEvent.object_type == "offer")
            .where(AuditEvent.object_id == str(offer_id))
            .order_by(AuditEvent.id)
        )
    )


def test_create_edit_pause_reopen_close(world, api_token, client):
    headers = api_token(world["admin_a"])
    resp = client.post("/api/v1/offers", json=offer_payload(), headers=headers)
    assert resp.status_code == 201, resp.json
    offer = resp.json
    assert offer["unit_value"] == 1500
    assert offer["remaining_this_month"] == 300
    assert offer["status"] == "open"
    oid = offer["id"]

    resp = client.patch(
        f"/api/v1/offers/{oid}", json={"capacity_per_month": 200}, headers=headers
    )
    assert resp.status_code == 200, resp.json
    assert resp.json["capacity_per_month"] == 200
    assert resp.json["title"] == "社区助餐服务"

    assert (
        client.post(f"/api/v1/offers/{oid}/pause", headers=headers).status_code == 200
    )
    # Paused: gone from the public list and page.
    assert client.get(f"/api/v1/offers/{oid}").status_code == 404
    assert client.get("/api/v1/offers").json["total"] == 0
    again = client.post(f"/api/v1/offers/{oid}/pause", headers=headers)
    assert again.status_code == 409
    assert again.json["error"]["code"] == "invalid_transition"
    assert (
        client.post(f"/api/v1/offers/{oid}/reopen", headers=headers).status_code == 200
    )
    assert client.get("/api/v1/offers").json["total"] == 1
    assert (
        client.post(f"/api/v1/offers/{oid}/close", headers=headers).status_code == 200
    )
    edit = client.patch(f"/api/v1/offers/{oid}", json={"title": "x"}, headers=headers)
    assert edit.status_code == 409
    db.session.expire_all()
    assert _actions(oid) == [
        "offer.create",
        "offer.edit",
        "offer.pause",
        "offer.reopen",
        "offer.close",
    ]


def test_who_may_create(world, api_token, client):
    for who, status in [
        ("public", 401),
        ("mod_in", 403),
        ("admin", 403),
        ("admin_pending", 403),
        ("member_a", 201),
    ]:
        headers = api_token(world[who]) if world[who] else {}
        resp = client.post("/api/v1/offers", json=offer_payload(), headers=headers)
        assert resp.status_code == status, (who, resp.json)


def test_other_org_cannot_change(world, api_token, client, create_offer):
    offer = create_offer(world["org_a"])
    headers = api_token(world["admin_b"])
    for verb in ("pause", "close"):
        resp = client.post(f"/api/v1/offers/{offer.id}/{verb}", headers=headers)
        assert resp.status_code == 403
    resp = client.patch(
        f"/api/v1/offers/{offer.id}", json={"title": "改名"}, headers=headers
    )
    assert resp.status_code == 403


BAD_VALUES = [
    ("kind", "cash"),
    ("unit", "箱"),
    ("capacity_per_month", 0),
    ("unit_value", -1),
    ("need_types", []),
    ("need_types", ["nope"]),
    ("region_prefix", "9999"),
    ("region_prefix", "220"),
    ("end_on", "2025-01-01"),
    ("title", "联系王小明 13912345678"),
    ("description", "住址：长春市朝阳区某街道8号，身份证220102195803120011"),
]


def test_validation(world, api_token, client):
    """Each bad value: a 422 naming its field, nothing saved (one world for
    all of them: the test budget)."""
    headers = api_token(world["admin_a"])
    for field, value in BAD_VALUES:
        resp = client.post(
            "/api/v1/offers", json=offer_payload(**{field: value}), headers=headers
        )
        assert resp.status_code == 422, (field, value, resp.json)
        assert field in resp.json["error"]["fields"], (field, value)
    assert db.session.scalar(db.select(db.func.count(Offer.id))) == 0


def test_public_list_filters(world, client, create_offer):
    create_offer(world["org_a"], title="上门照护", kind="service", unit="小时")
    create_offer(
        world["org_b"],
        title="助学物资",
        kind="goods",
        unit="件",
        need_types=["education"],
        region_prefix="62",
    )
    create_offer(world["org_a"], title="已暂停的供给", status="paused")
    create_offer(world["pending"], title="未认证机构")
    create_offer(world["org_a"], title="已过期", end_on=date(2026, 1, 31))
    lst = client.get("/api/v1/offers").json
    assert {o["title"] for o in lst["items"]} == {"上门照护", "助学物资"}
    assert client.get("/api/v1/offers?kind=goods").json["total"] == 1
    assert client.get("/api/v1/offers?need_type=education").json["total"] == 1
    assert client.get("/api/v1/offers?region=620102").json["total"] == 1
    assert client.get("/api/v1/offers?region=22").json["total"] == 1
    assert client.get("/api/v1/offers?q=照护").json["total"] == 1
    assert client.get("/api/v1/offers?kind=cash").status_code == 422


def test_need_matches_order_and_capacity(
    world, api_token, client, create_offer, create_need
):
    need = create_need(
        region_code="220102", need_type="elderly_care", amount_fen=50_000
    )
    province = create_offer(world["org_b"], region_prefix="22", capacity_per_month=500)
    city_small = create_offer(
        world["org_a"], region_prefix="2201", capacity_per_month=5
    )
    city_big = create_offer(world["org_a"], region_prefix="2201", capacity_per_month=50)
    county = create_offer(world["org_a"], region_prefix="220102", capacity_per_month=2)
    full = create_offer(world["org_a"], region_prefix="220102", capacity_per_month=3)
    db.session.add(OfferMonth(offer_id=full.id, month=month_of(), used=3))
    create_offer(world["org_a"], need_types=["education"])
    create_offer(world["org_a"], region_prefix="2202")
    create_offer(world["org_a"], status="paused")
    create_offer(world["org_a"], start_on=date.today() + timedelta(days=40))
    db.session.commit()
    assert remaining_capacity(full) == 0

    resp = client.get(
        f"/api/v1/needs/{need.code}/matches", headers=api_token(world["mod_in"])
    )
    assert resp.status_code == 200, resp.json
    ids = [m["offer"]["id"] for m in resp.json["items"]]
    # county first; then the city's offer whose units cover the 500 yuan left
    # (50 × 15 yuan) before the one that covers part; the province last.
    assert ids == [county.id, city_big.id, city_small.id, province.id]
    assert resp.json["items"][0]["remaining_this_month"] == 2
    # An org matches on the public region: here the county is coarsened to
    # the city (few needs there), so a county's offer is not suggested to it.
    assert need.public_region_code == "220100"
    org_view = client.get(
        f"/api/v1/needs/{need.code}/matches", headers=api_token(world["admin_b"])
    )
    assert [m["offer"]["id"] for m in org_view.json["items"]] == ids[1:]


def test_need_matches_access(world, api_token, client, create_need):
    need = create_need(region_code="220102", need_type="elderly_care")
    for who, status in [
        ("public", 401),
        ("mod_in", 200),
        ("mod_out", 403),
        ("admin_pending", 403),
    ]:
        headers = api_token(world[who]) if world[who] else {}
        resp = client.get(f"/api/v1/needs/{need.code}/matches", headers=headers)
        assert resp.status_code == status, who


def test_offer_matches(world, api_token, client, create_offer, create_need):
    offer = create_offer(world["org_a"], region_prefix="2201")
    fits = create_need(region_code="220102", need_type="elderly_care")
    create_need(region_code="220102", need_type="education")
    create_need(
        region_code="620102", need_type="elderly_care", entered_by=world["mod_out"]
    )
    create_need(region_code="220102", need_type="elderly_care", status="draft")
    resp = client.get(
        f"/api/v1/offers/{offer.id}/matches", headers=api_token(world["admin_a"])
    )
    assert resp.status_code == 200, resp.json
    assert [m["need"]["code"] for m in resp.json["items"]] == [fits.code]
    text = resp.get_data(as_text=True)
    assert "测试户" not in text and "139" not in text
    other = client.get(
        f"/api/v1/offers/{offer.id}/matches", headers=api_token(world["admin_b"])
    )
    assert other.status_code == 403


def test_suspended_org_offers_leave_public_and_suggestions(
    world, api_token, client, create_offer, create_need
):
    offer = create_offer(world["org_a"])
    need = create_need(region_code="220102", need_type="elderly_care")
    world["org_a"].status = "suspended"
    db.session.commit()
    assert client.get(f"/api/v1/offers/{offer.id}").status_code == 404
    assert client.get("/api/v1/offers").json["total"] == 0
    assert client.get(f"/offers/{offer.id}").status_code == 404
    found = client.get(
        f"/api/v1/needs/{need.code}/matches", headers=api_token(world["mod_in"])
    )
    assert found.json["items"] == []
    # its staff cannot change it while suspended
    resp = client.post(
        f"/api/v1/offers/{offer.id}/pause", headers=api_token(world["admin_a"])
    )
    assert resp.status_code == 403


def test_rescan_finds_personal_data_saved_in_an_offer(world, create_offer):
    """Text saved before the guard (or past a disguise it has since learnt)
    is found by the rescan, offers included."""
    from charitylink.orgs.public_text import rescan

    offer = create_offer(world["org_a"], description="联系人电话 13912345678")
    found = [(what, oid) for what, oid, _m in rescan()]
    assert ("offer", offer.id) in found
