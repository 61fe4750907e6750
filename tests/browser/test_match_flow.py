"""Matching clicked through (供需对接): org staff match their offer to a need
from the need's page, record a session and mark the match delivered; a
moderator of the need's region confirms it after the 回访."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from charitylink.claims.models import Claim, ClaimSession
from charitylink.extensions import db
from tests.factories import PASSWORD, org_admin_of

pytestmark = pytest.mark.browser


def _log_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]:has-text('登录')")
    page.wait_for_load_state()


def test_org_matches_records_delivers_and_moderator_confirms(
    live_server, page, create_org, create_need, create_user, make_offer
):  # type: ignore[no-untyped-def]
    base = live_server
    org = create_org(name="南关区居家养老服务中心", org_type="care_centre")
    admin = org_admin_of(org)
    offer = make_offer(
        org=org, title="上门助浴", capacity_per_month=8, unit_value_fen=6_000
    )
    moderator = create_user("moderator", region_prefix="22")
    need = create_need(amount_fen=30_000, title="失能老人需要上门照护")

    _log_in(page, base, admin.email)
    page.goto(f"{base}/needs/{need.code}")
    page.click(f"#claim a:has-text('{offer.title}')")
    page.wait_for_url(re.compile(rf"/org/offers/{offer.id}/match"))
    assert page.input_value("#need") == need.code
    page.fill("#quantity", "4")
    page.fill("#months", "1")
    page.click("form button:has-text('确认对接')")
    page.wait_for_url(re.compile(r"/org/claims/\d+$"))
    assert "已对接" in page.content()
    claim = db.session.scalar(select(Claim).where(Claim.offer_id == offer.id))
    assert claim.amount_fen == 24_000

    page.fill("#quantity", "3")
    page.fill("#hours", "1.5")
    page.fill("#volunteers", "2")
    page.fill("#note", "上门助浴，老人状态良好")
    page.click("form button:has-text('登记服务记录')")
    page.wait_for_url(re.compile(r"#sessions$"))
    assert "服务记录已登记" in page.content()
    page.click("a.button:has-text('登记交付')")
    page.wait_for_url(re.compile(rf"/org/claims/{claim.id}/deliver$"))
    assert "¥180.00" in page.content()
    page.click("form button:has-text('标记已交付')")
    page.wait_for_url(re.compile(rf"/org/claims/{claim.id}$"))
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).status == "delivered"

    page.click("header form button:has-text('退出')")
    page.wait_for_url(re.compile(r"/$"))
    _log_in(page, base, moderator.email)
    page.goto(f"{base}/mod/claims/{claim.id}/confirm")
    assert "服务记录" in page.content()
    page.click("form button:has-text('已回访，确认交付')")
    page.wait_for_url(re.compile(r"/mod/claims"))
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).status == "confirmed"
    assert db.session.scalar(select(ClaimSession.confirmed_at)) is not None
