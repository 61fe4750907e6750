from __future__ import annotations

from typing import Any

import pytest

from charitylink.extensions import db
from charitylink.offers.models import Offer, OfferStatus
from tests.factories import org_admin_of


@pytest.fixture
def world(create_org, create_user):  # type: ignore[no-untyped-def]
    """Org A in 长春 (2201), org B in 兰州 (6201), a pending org, the users."""
    org_a = create_org(region_code="220102")
    org_b = create_org(region_code="620102")
    pending = create_org(region_code="220102", status="pending")
    users: dict[str, Any] = {
        "public": None,
        "member_a": create_user("org_member", org=org_a),
        "admin_a": org_admin_of(org_a),
        "admin_b": org_admin_of(org_b),
        "admin_pending": org_admin_of(pending),
        "mod_in": create_user("moderator", region_prefix="2201"),
        "mod_out": create_user("moderator", region_prefix="62"),
        "admin": create_user("admin"),
    }
    return {"org_a": org_a, "org_b": org_b, "pending": pending, **users}


def offer_payload(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": "service",
        "title": "社区助餐服务",
        "description": "为高龄独居老人提供午餐配送，每份含两荤一素。",
        "need_types": ["elderly_care", "living"],
        "region_prefix": "2201",
        "unit": "份",
        "capacity_per_month": 300,
        "unit_value": 1500,
        "start_on": "2026-01-01",
    }
    data.update(overrides)
    return data


@pytest.fixture
def create_offer(app):  # type: ignore[no-untyped-def]
    from datetime import date

    def make(org: Any, **overrides: Any) -> Offer:
        fields: dict[str, Any] = {
            "org_id": org.id,
            "kind": "service",
            "title": "社区助餐服务",
            "description": "午餐配送。",
            "need_types": ["elderly_care"],
            "region_prefix": "2201",
            "unit": "份",
            "capacity_per_month": 100,
            "unit_value_fen": 1500,
            "start_on": date(2026, 1, 1),
            "status": OfferStatus.OPEN,
        }
        fields.update(overrides)
        offer = Offer(**fields)
        db.session.add(offer)
        db.session.commit()
        return offer

    return make
