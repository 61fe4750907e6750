"""A moderator confirms a month of a pairing (结对关爱) on the claim page, on a
phone: the month's cell turns from 已交付待回访 to 已确认, the strip fits the
screen, and the month is confirmed in the database."""

from __future__ import annotations

from typing import Any

import pytest

from charitylink.claims import pairing
from charitylink.claims.models import ClaimInstalment
from charitylink.core.timeutil import today
from charitylink.extensions import db
from tests.factories import PASSWORD, org_admin_of


def _log_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]:has-text('登录')")


@pytest.mark.browser
def test_a_moderator_confirms_a_month_on_the_claim_page(
    live_server, page, create_org, create_fund, create_need, create_user
) -> None:
    org = create_org()
    fund = create_fund(org=org, donations_fen=1_000_000)
    admin = org_admin_of(org)
    moderator = create_user("moderator", region_prefix="22")
    need = create_need(amount_fen=120_000, entered_by=moderator)
    claim = pairing.claim_with_schedule(need, admin, fund, 120_000, 12, 10_000)
    pairing.deliver_instalment(claim, 1, admin, today())
    db.session.commit()
    claim_id = claim.id
    page.set_viewport_size({"width": 390, "height": 900})
    _log_in(page, live_server, moderator.email)
    page.goto(f"{live_server}/mod/claims/{claim_id}")
    first = page.locator(".pair-strip li").first
    assert "已交付待回访" in first.inner_text()
    strip = page.locator(".pair-strip").bounding_box()
    assert strip is not None and strip["x"] + strip["width"] <= 390
    page.click("button:has-text('回访确认第 1 期')")
    page.wait_for_load_state()
    assert "已回访确认" in page.locator(".flash").first.inner_text()
    assert "已确认" in page.locator(".pair-strip li").first.inner_text()
    assert "st-confirmed" in (
        page.locator(".pair-strip li").first.get_attribute("class") or ""
    )
    db.session.expire_all()
    row = db.session.query(ClaimInstalment).filter_by(claim_id=claim_id, n=1).one()
    assert row.status == "confirmed" and row.confirmed_by_id == moderator.id
    assert not page.problems  # type: ignore[attr-defined]
