"""Flask-Limiter on /forgot (per address and per IP, the same for known and
unknown addresses) and on resending the confirmation mail."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import org_admin_of


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **app_config,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
    }


def _from(ip: str) -> dict[str, Any]:
    return {"environ_base": {"REMOTE_ADDR": ip}}


@pytest.mark.parametrize("known", [True, False])
def test_forgot_is_limited_per_address(app, create_user, known) -> None:
    email = create_user("moderator").email if known else "ghost@example.org"
    c = app.test_client()
    statuses = [
        c.post("/forgot", data={"email": email}, **_from(f"10.1.0.{i}")).status_code
        for i in range(6)
    ]
    assert statuses == [302] * 5 + [429]
    body = c.post("/forgot", data={"email": email}, **_from("10.1.1.1"))
    assert "请求过于频繁" in body.get_data(as_text=True)
    # Another address is unaffected.
    other = c.post("/forgot", data={"email": "else@example.org"}, **_from("10.1.1.2"))
    assert other.status_code == 302


def test_forgot_is_limited_per_ip(app) -> None:
    c = app.test_client()
    statuses = [
        c.post(
            "/forgot", data={"email": f"guess{i}@example.org"}, **_from("203.0.113.9")
        ).status_code
        for i in range(11)
    ]
    assert statuses == [302] * 10 + [429]
    ok = c.post("/forgot", data={"email": "x@example.org"}, **_from("198.51.100.9"))
    assert ok.status_code == 302


def test_resend_confirmation_is_limited_per_account(app, login_as, create_org) -> None:
    c = login_as(org_admin_of(create_org()), app.test_client())
    statuses = [c.post("/account/confirm/resend").status_code for _ in range(4)]
    assert statuses == [302, 302, 302, 429]
    other = login_as(org_admin_of(create_org()), app.test_client())
    assert other.post("/account/confirm/resend").status_code == 302
