"""What an org's staff member sees when a claim is refused: the need was
withdrawn while the form was open. The reason is shown, readable, at phone and
desktop widths, and nothing was claimed. (SCREENSHOTS=<dir> keeps the pictures.)"""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import func, select

from charitylink.claims.models import Claim
from charitylink.extensions import db
from charitylink.needs.models import Need, NeedStatus
from tests.factories import PASSWORD, org_admin_of


def _log_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]:has-text('登录')")


@pytest.mark.parametrize("width", [390, 1280])
def test_a_claim_on_a_need_withdrawn_meanwhile_shows_why(
    live_server, page, create_org, create_fund, create_need, width
) -> None:
    org = create_org()
    create_fund(org=org, donations_fen=1_000_000)
    need = create_need(amount_fen=50_000, title="独居老人需要护理床")
    code = need.code
    page.set_viewport_size({"width": width, "height": 900})
    _log_in(page, live_server, org_admin_of(org).email)
    page.goto(f"{live_server}/needs/{code}")
    page.fill("#amount", "200")
    # A moderator withdraws the need while the form is open.
    db.session.get(Need, need.id).status = NeedStatus.WITHDRAWN
    db.session.commit()
    page.click("form button:has-text('认')")
    flash = page.locator(".flash-error")
    assert flash.is_visible()
    assert "已撤回" in flash.inner_text() and "不能认领" in flash.inner_text()
    box = flash.bounding_box()
    assert box is not None and box["height"] >= 16 and box["width"] > width / 2
    assert page.url.startswith(f"{live_server}/needs")
    assert db.session.scalar(select(func.count(Claim.id))) == 0
    if os.environ.get("SCREENSHOTS"):
        page.screenshot(
            path=os.path.join(os.environ["SCREENSHOTS"], f"claim-refused-{width}.png"),
            full_page=False,
        )
    assert not page.problems  # type: ignore[attr-defined]
