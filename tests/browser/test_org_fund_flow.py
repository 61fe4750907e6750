"""The flow a person clicks through: an org registers, a
moderator verifies it, the org admin creates a fund and records a donation, the
public fund page shows it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from charitylink.extensions import db
from charitylink.orgs.models import Organization
from tests.factories import PASSWORD
from tests.orgs.conftest import fresh_uscc

pytestmark = pytest.mark.browser


def _log_in(page: Any, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("form button[type=submit]:has-text('登录')")


def _log_out(page: Any) -> None:
    page.click("header form button:has-text('退出')")
    page.wait_for_url(re.compile(r"/$"))


def test_register_verify_fund_donate_public_page(live_server, page, create_user):
    base = live_server
    moderator = create_user("moderator", region_prefix="2201", name="长春民政审核员")
    code = fresh_uscc()

    # 1. The charity registers itself and its first admin.
    page.goto(f"{base}/")
    page.click("header a:has-text('机构注册')")
    page.wait_for_url(f"{base}/register")
    page.fill("#name", "长春市春晖助学基金会")
    page.fill("#uscc", code.lower())  # typed in lower case: accepted
    page.select_option("#org_type", "foundation")
    page.select_option("#region_code", "220102")
    page.fill("#description", "资助南关区困难家庭学生。")
    page.fill("#contact_name", "刘老师")
    page.fill("#contact_phone", "0431-88886666")
    page.fill("#admin_name", "刘春晖")
    page.fill("#admin_email", "liu@chunhui.example.org")
    page.fill("#admin_password", "spring-light-2026")
    page.fill("#admin_password2", "spring-light-2026")
    page.click("form button:has-text('提交注册')")
    page.wait_for_url(f"{base}/login")
    assert "等待所在地民政部门审核" in page.content()
    org = db.session.scalar(
        select(Organization).where(Organization.name == "长春市春晖助学基金会")
    )
    assert org.status == "pending" and org.uscc == code
    # Not public yet.
    assert page.goto(f"{base}/orgs/{org.id}").status == 404
    page.problems.clear()  # the console reports that expected 404

    # 2. The moderator of 长春 verifies it from the review queue.
    _log_in(page, base, moderator.email, PASSWORD)
    page.wait_for_url(f"{base}/mod")
    page.click("a:has-text('机构审核')")
    page.click("a:has-text('长春市春晖助学基金会')")
    page.wait_for_url(f"{base}/mod/orgs/{org.id}")
    page.click("button:has-text('通过认证')")
    page.wait_for_selector("text=机构已通过认证。")
    db.session.refresh(org)
    assert org.status == "verified"
    _log_out(page)

    # 3. The org admin creates a named fund and records a donation.
    _log_in(page, base, "liu@chunhui.example.org", "spring-light-2026")
    page.wait_for_url(f"{base}/org")
    assert "已认证" in page.content()
    page.goto(f"{base}/org/funds/new")
    page.fill("#name", "春晖爱心冠名基金")
    page.select_option("#kind", "named")
    page.fill("#donor_name", "吉林春晖实业有限公司")
    page.click("form button:has-text('创建基金')")
    page.wait_for_url(re.compile(r"/org/funds/\d+$"))
    fund_id = int(page.url.rsplit("/", 1)[1])
    page.goto(f"{base}/org/funds/{fund_id}/donations")
    page.fill("#amount", "1,234.50")
    page.fill("#donor", "王爱心")
    page.fill("#reference", "HD20261128001")
    page.click("form button:has-text('确认入账')")
    page.wait_for_url(f"{base}/org/funds/{fund_id}")
    assert "捐赠已入账。" in page.content()
    _log_out(page)

    # 4. Anyone sees the fund, the amount and the donor on the public pages.
    page.goto(f"{base}/orgs/{org.id}")
    page.click(f"a[href='/funds/{fund_id}']")
    page.wait_for_url(f"{base}/funds/{fund_id}")
    html = page.content()
    assert "春晖爱心冠名基金" in html
    assert "¥1,234.50" in html
    assert "王爱心" in html
    assert page.problems == []  # no CSP violation, no script error on the way
