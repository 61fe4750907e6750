"""Offer pages: the org's list, form, detail and status buttons; the public
list and page; the 可对接的供给 section of a need's page; privacy."""

from __future__ import annotations

from charitylink.extensions import db
from charitylink.offers.models import Offer


def _form(**overrides):
    data = {
        "kind": "service",
        "title": "上门照护",
        "description": "为失能老人提供上门照护。",
        "need_types": ["elderly_care"],
        "region_prefix": "220102",
        "unit": "hour",
        "capacity_per_month": "120",
        "unit_value": "45",
        "start_on": "2026-01-01",
        "end_on": "",
    }
    data.update(overrides)
    return data


def test_org_pages_and_public(world, client, login_as, create_need):
    login_as(world["admin_a"])
    assert client.get("/org/offers").status_code == 200
    assert client.get("/org/offers/new").status_code == 200
    bad = client.post("/org/offers/new", data=_form(unit_value="abc", unit="箱"))
    assert bad.status_code == 422
    assert db.session.scalar(db.select(db.func.count(Offer.id))) == 0
    resp = client.post("/org/offers/new", data=_form())
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    offer = db.session.scalars(db.select(Offer)).one()
    assert offer.unit_value_fen == 4500
    assert offer.region_prefix == "220102"
    need = create_need(region_code="220102", need_type="elderly_care")
    page = client.get(f"/org/offers/{offer.id}").get_data(as_text=True)
    assert "上门照护" in page and "120" in page
    assert client.get(f"/org/offers/{offer.id}/edit").status_code == 200
    edited = client.post(
        f"/org/offers/{offer.id}/edit", data=_form(capacity_per_month="80")
    )
    assert edited.status_code == 302
    # The need's page shows the section to the org's staff.
    page = client.get(f"/needs/{need.code}").get_data(as_text=True)
    assert "可对接的供给" in page
    assert client.post(f"/org/offers/{offer.id}/pause").status_code == 302
    db.session.expire_all()
    assert db.session.get(Offer, offer.id).status == "paused"
    client.post(f"/org/offers/{offer.id}/reopen")

    client.get("/")  # the public: a fresh session
    with client.session_transaction() as sess:
        sess.clear()
    lst = client.get("/offers").get_data(as_text=True)
    assert "上门照护" in lst
    detail = client.get(f"/offers/{offer.id}").get_data(as_text=True)
    assert 'property="og:title"' in detail
    assert "上门照护" in detail
    assert "可对接的供给" not in client.get(f"/needs/{need.code}").get_data(
        as_text=True
    )
    # Another org's staff cannot reach the org page.
    login_as(world["admin_b"])
    assert client.get(f"/org/offers/{offer.id}").status_code == 404
    assert client.post(f"/org/offers/{offer.id}/close").status_code == 404


def test_closed_offer_leaves_public(world, client, create_offer, login_as):
    offer = create_offer(world["org_a"])
    assert client.get(f"/offers/{offer.id}").status_code == 200
    login_as(world["admin_a"])
    client.post(f"/org/offers/{offer.id}/close")
    with client.session_transaction() as sess:
        sess.clear()
    assert client.get(f"/offers/{offer.id}").status_code == 404
    assert "社区助餐服务" not in client.get("/offers").get_data(as_text=True)


def test_privacy_canary_on_public_pages(world, client, create_offer, create_need):
    """Household names, ID numbers and phones never reach the offer pages or
    the API; the suggestions in the API carry the public half only."""
    need = create_need(
        region_code="220102",
        need_type="elderly_care",
        household={"name": "金丝雀户主", "phone": "13700001111"},
    )
    offer = create_offer(world["org_a"])
    for url in ("/offers", f"/offers/{offer.id}", "/api/v1/offers"):
        text = client.get(url).get_data(as_text=True)
        assert "金丝雀户主" not in text and "13700001111" not in text
    assert need.code
