"""What an org's staff member sees on a phone (and a desk PC) when a claim is
refused: the reason sits next to the claim form, both on screen at once, the
amount still typed; the fund list offers only funds that can pay, none chosen
for them; and the claim list shows a label before every value.
(SCREENSHOTS=<dir> keeps the pictures.)"""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import func, select

from charitylink.claims.models import Claim
from charitylink.extensions import db
from charitylink.funds.models import FundKind
from tests.factories import PASSWORD, org_admin_of


def _log_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]:has-text('登录')")


def _shot(page: Any, name: str) -> None:
    if os.environ.get("SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOTS"], name))


@pytest.mark.parametrize("width", [390, 1280])
def test_a_refused_claim_shows_why_beside_the_form_with_the_amount_kept(
    live_server, page, create_org, create_fund, create_need, width
) -> None:
    org = create_org()
    create_fund(org=org, donations_fen=29_310_000, name="助老冠名基金")
    create_fund(org=org, donations_fen=1_000_000, name="春晖冠名基金")
    create_fund(
        org=org, donations_fen=5_000_000, kind=FundKind.SPECIAL, name="医疗专项基金"
    )
    need = create_need(
        amount_fen=50_000, need_type="living", title="低保家庭冬季取暖费"
    )
    page.set_viewport_size({"width": width, "height": 800})
    _log_in(page, live_server, org_admin_of(org).email)
    page.goto(f"{live_server}/needs/{need.code}")
    options = page.locator("#fund_id option").all_inner_texts()
    assert not any("医疗专项基金" in o for o in options)
    assert "请选择基金" in options[0]
    assert any("¥293,100.00" in o for o in options)
    page.select_option("#fund_id", label=next(o for o in options if "助老" in o))
    page.fill("#amount", "600")  # more than the ¥500.00 left
    page.click("form button:has-text('确认认领')")
    message = page.locator("#claim .form-refusal")
    message.wait_for()
    assert "仅剩 ¥500.00" in message.inner_text()
    amount = page.locator("#amount")
    assert amount.input_value() == "600"
    # Both on screen together, without scrolling.
    for box in (message.bounding_box(), amount.bounding_box()):
        assert box is not None
        assert box["y"] >= 0 and box["y"] + box["height"] <= 800, box
    assert db.session.scalar(select(func.count(Claim.id))) == 0
    _shot(page, f"claim-refused-beside-form-{width}.png")
    assert not page.problems  # type: ignore[attr-defined]


def test_claim_list_on_a_phone_labels_every_value(
    live_server, page, create_org, create_fund, create_need
) -> None:
    from charitylink.claims import services

    org = create_org()
    fund = create_fund(org=org, donations_fen=1_000_000)
    need = create_need(amount_fen=100_000)
    admin = org_admin_of(org)
    services.claim_need(need, admin, fund, 10_000)
    db.session.commit()
    page.set_viewport_size({"width": 390, "height": 800})
    _log_in(page, live_server, admin.email)
    page.goto(f"{live_server}/org/claims")
    labels = page.eval_on_selector_all(
        ".table.stack tbody td",
        "tds => tds.map(td => getComputedStyle(td, '::before').content)",
    )
    assert labels and all(label not in ("none", '""', "") for label in labels), labels
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(page, "org-claims-390.png")
    assert not page.problems  # type: ignore[attr-defined]


@pytest.mark.parametrize("width", [390, 1280])
def test_cancelling_a_claim_asks_first_without_javascript(
    live_server, browser, create_org, create_fund, create_need, width
) -> None:
    from charitylink.claims import services
    from charitylink.claims.models import ClaimStatus

    org = create_org()
    fund = create_fund(org=org, donations_fen=1_000_000)
    admin = org_admin_of(org)
    claim = services.claim_need(create_need(amount_fen=100_000), admin, fund, 10_000)
    db.session.commit()
    context = browser.new_context(
        java_script_enabled=False,
        viewport={"width": width, "height": 800},
        locale="zh-CN",  # the pages follow Accept-Language; this test reads Chinese
    )
    try:
        page = context.new_page()
        _log_in(page, live_server, admin.email)
        page.goto(f"{live_server}/org/claims/{claim.id}")
        page.click("a:has-text('取消认领')")
        assert page.url.endswith(f"/org/claims/{claim.id}/cancel")
        box = page.locator(".confirm-box")
        assert "不能撤销" in box.inner_text() and "¥100.00" in box.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        db.session.refresh(claim)
        assert claim.status == ClaimStatus.RESERVED
        _shot(page, f"cancel-confirm-{width}.png")
        page.fill("#reason", "物资已由他人捐赠")
        page.click("button:has-text('确认取消认领')")
        assert "认领已取消" in page.locator(".flash-success").inner_text()
        db.session.refresh(claim)
        assert claim.status == ClaimStatus.CANCELLED
    finally:
        context.close()
