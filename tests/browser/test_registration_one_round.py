"""Registration on a phone with six bad fields: one submit, six messages,
each under its field, every typed value still there but the passwords; no
browser bubble (the form is novalidate, the server answers in Chinese).
(SCREENSHOTS=<dir> keeps the pictures.)"""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import func, select

from charitylink.extensions import db
from charitylink.orgs.models import Organization


@pytest.mark.parametrize("width", [390, 1280])
def test_six_bad_fields_six_messages_in_one_submit(
    live_server: str, page: Any, create_org: Any, width: int
) -> None:
    taken = create_org()
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server}/register")
    page.fill("#name", taken.name)
    page.fill("#uscc", "53220100MJ0000000X")  # bad check character
    page.select_option("#org_type", "foundation")
    page.select_option("#region_code", "220102")
    page.fill("#contact_phone", "123")
    page.fill("#contact_email", "not-an-email")
    page.fill("#admin_name", "张三")
    page.fill("#admin_email", "")  # required
    page.fill("#admin_password", "short")
    page.fill("#admin_password2", "different")
    page.click("button:has-text('提交注册')")
    page.wait_for_selector(".field.has-error")
    errors = page.locator(".field.has-error .error")
    assert errors.count() >= 6, errors.all_inner_texts()
    for name in (
        "name",
        "uscc",
        "contact_phone",
        "contact_email",
        "admin_email",
        "admin_password2",
    ):
        field = page.locator(f".field.has-error:has(#{name})")
        assert field.count() == 1, name
        assert field.locator(".error").first.is_visible(), name
    assert page.input_value("#name") == taken.name
    assert page.input_value("#contact_phone") == "123"
    assert page.input_value("#admin_name") == "张三"
    assert page.input_value("#admin_password") == ""
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert db.session.scalar(select(func.count(Organization.id))) == 1
    if os.environ.get("SCREENSHOTS"):
        page.screenshot(
            path=os.path.join(
                os.environ["SCREENSHOTS"], f"register-errors-{width}.png"
            ),
            full_page=True,
        )
    assert not page.problems  # type: ignore[attr-defined]
