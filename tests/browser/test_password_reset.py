"""Forgotten password in a real browser, CSRF on: the login page's link, the
request, the link from the queued mail, a new password, signing in with it."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from charitylink.extensions import db
from charitylink.mail.models import OutboxMail

NEW = "plum-rain-over-songhua-river"


def test_reset_from_the_login_page_to_signed_in(
    app: Any, live_server: str, page: Any, create_user: Any
) -> None:
    app.config["BASE_URL"] = live_server  # the links in mails point here
    user = create_user("moderator")
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(f"{live_server}/login")
    page.click("a:has-text('忘记密码？')")
    page.fill("#email", user.email)
    page.click("button:has-text('发送重设链接')")
    page.wait_for_selector(".flash-success")
    assert "1 小时内有效" in page.inner_text(".flash-success")
    db.session.expire_all()
    mail = db.session.scalar(
        select(OutboxMail).where(OutboxMail.to_address == user.email)
    )
    assert mail is not None
    link = re.search(r"(http://\S+/reset/\S+)", mail.text_body)
    assert link and link.group(1).startswith(live_server)
    page.goto(link.group(1))
    page.fill("#new_password", NEW)
    page.fill("#confirm_password", "not the same at all")
    page.click("button:has-text('设置新密码')")
    page.wait_for_selector(".field.has-error")
    assert "两次输入的密码不一致。" in page.inner_text("main")
    page.fill("#new_password", NEW)
    page.fill("#confirm_password", NEW)
    page.click("button:has-text('设置新密码')")
    page.wait_for_url(re.compile(r".*/login$"))
    assert "密码已重设" in page.inner_text(".flash-success")
    page.fill("#email", user.email)
    page.fill("#password", NEW)
    page.click("form button[type=submit]:has-text('登录')")
    page.wait_for_load_state()
    assert "/login" not in page.url
    # The link is spent.
    page.goto(link.group(1))
    assert "无效或已经用过" in page.inner_text("main")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
