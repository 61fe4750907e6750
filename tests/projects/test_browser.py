"""The public project pages in a real Chromium: progress bars render under the
Content-Security-Policy (no inline style), no script errors."""

from __future__ import annotations

import pytest

from charitylink.claims.models import ClaimStatus
from charitylink.extensions import db
from tests.browser.conftest import (  # noqa: F401  (fixtures)
    app_config,
    browser,
    live_server,
    page,
)
from tests.funds.claim_rows import add_claim, add_need

pytestmark = pytest.mark.browser


def test_project_list_and_detail_render_progress(
    live_server,  # noqa: F811
    page,  # noqa: F811
    world,
    create_project,
    create_user,
):
    project = create_project(
        fund=world["fund_a"], title="浏览器里的帮扶项目", target_fen=1_000_000
    )
    need = add_need(create_user("moderator").id)
    add_claim(
        world["fund_a"], need, 400_000, status=ClaimStatus.DELIVERED,
        delivered_fen=400_000, project_id=project.id,
    )  # fmt: skip
    db.session.commit()
    page.goto(f"{live_server}/")
    page.click("a:has-text('浏览器里的帮扶项目')")
    page.wait_for_url(f"{live_server}/projects/{project.id}")
    width = page.eval_on_selector(
        ".progress rect", "el => el.getBoundingClientRect().width"
    )
    track = page.eval_on_selector(".progress", "el => el.getBoundingClientRect().width")
    assert 0.35 * track <= width <= 0.45 * track  # 40% claimed
    page.goto(f"{live_server}/projects")
    assert "浏览器里的帮扶项目" in page.content()
    assert page.problems == []
