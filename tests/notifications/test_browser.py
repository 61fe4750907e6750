"""In a real browser: the bell's count follows an event, and the inbox marks
notifications read (one, by opening it, and all at once)."""

from __future__ import annotations

from typing import Any

import pytest

from charitylink.claims import services as claims
from charitylink.extensions import db
from tests.browser.conftest import (  # noqa: F401  (fixtures)
    app_config,
    browser,
    live_server,
    page,
)
from tests.factories import PASSWORD, org_admin_of

pytestmark = [pytest.mark.browser]


def _log_in(tab: Any, base: str, email: str) -> None:
    tab.goto(f"{base}/login")
    tab.fill("#email", email)
    tab.fill("#password", PASSWORD)
    tab.click("form button[type=submit]:has-text('登录')")
    tab.wait_for_load_state()


def _bell(tab: Any) -> str:
    return str(tab.locator("a.bell").get_attribute("aria-label"))


@pytest.mark.parametrize("width", [390, 1280])
def test_bell_counts_an_event_and_the_inbox_marks_read(
    live_server,  # noqa: F811
    page,  # noqa: F811
    create_user,
    create_org,
    create_fund,
    create_need,
    width,
) -> None:
    mod = create_user("moderator", region_prefix="2201")
    org = create_org()
    fund = create_fund(org=org, donations_fen=1_000_000)
    first = create_need(amount_fen=50_000, entered_by=mod)
    second = create_need(amount_fen=50_000, entered_by=mod)
    page.set_viewport_size({"width": width, "height": 900})
    _log_in(page, live_server, mod.email)
    assert _bell(page) == "通知（没有未读）"

    # Two claims on the moderator's needs, as an org would make them.
    claims.claim_need(first, org_admin_of(org), fund, 50_000)
    claims.claim_need(second, org_admin_of(org), fund, 20_000)
    db.session.commit()
    page.reload()
    assert _bell(page) == "通知（2 条未读）"
    assert page.locator("a.bell .bell-count").inner_text() == "2"

    page.click("a.bell")
    assert page.url.endswith("/inbox")
    items = page.locator(".inbox-item.unread")
    assert items.count() == 2
    # Mark the first one read with its button: the list and the bell follow.
    items.first.locator("button:has-text('标为已读')").click()
    page.wait_for_load_state()
    assert page.locator(".inbox-item.unread").count() == 1
    assert _bell(page) == "通知（1 条未读）"
    # Opening the other marks it read and goes to the need's work page.
    page.locator(".inbox-item.unread .inbox-title button").click()
    page.wait_for_load_state()
    assert "/mod/needs/" in page.url
    assert _bell(page) == "通知（没有未读）"
    assert not page.problems  # type: ignore[attr-defined]


def test_mark_all_read_and_the_unread_filter(
    live_server,  # noqa: F811
    page,  # noqa: F811
    create_user,
    create_org,
    create_fund,
    create_need,
) -> None:
    mod = create_user("moderator", region_prefix="2201")
    org = create_org()
    fund = create_fund(org=org, donations_fen=1_000_000)
    for _ in range(3):
        need = create_need(amount_fen=10_000, entered_by=mod)
        claims.claim_need(need, org_admin_of(org), fund, 10_000)
    db.session.commit()
    _log_in(page, live_server, mod.email)
    page.goto(f"{live_server}/inbox?unread=1")
    assert page.locator(".inbox-item").count() == 3
    page.click("button:has-text('全部标为已读')")
    page.wait_for_load_state()
    assert "unread=1" in page.url
    assert page.locator(".inbox-item").count() == 0
    assert _bell(page) == "通知（没有未读）"
    page.click("text=全部")
    assert page.locator(".inbox-item").count() == 3
