"""Flask-Limiter on login, tokens and registration: per account and per address,
a clear 429 (HTML and JSON), other accounts and addresses unaffected (ASVS 2.2.1)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import PASSWORD


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **app_config,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
    }


def _from(ip: str) -> dict[str, Any]:
    return {"environ_base": {"REMOTE_ADDR": ip}}


def test_login_is_limited_per_account_other_accounts_unaffected(app, create_user):
    victim, other = create_user("admin"), create_user("admin")
    c = app.test_client()
    statuses = [
        c.post(
            "/login",
            data={"email": victim.email, "password": f"wrong-{i}-xxxxx"},
            **_from(f"10.0.0.{i}"),  # a different address each time
        ).status_code
        for i in range(11)
    ]
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429
    resp = c.post(
        "/login",
        data={"email": victim.email, "password": PASSWORD},
        **_from("10.9.9.9"),
    )
    assert resp.status_code == 429
    body = resp.get_data(as_text=True)
    assert "请求过于频繁" in body and "Traceback" not in body
    assert resp.headers.get("Retry-After")
    # Another account, from an address used above, logs in normally.
    ok = c.post(
        "/login", data={"email": other.email, "password": PASSWORD}, **_from("10.0.0.3")
    )
    assert ok.status_code == 302


def test_login_is_limited_per_address_other_addresses_unaffected(app, create_user):
    user = create_user("admin")
    c = app.test_client()
    statuses = [
        c.post(
            "/login",
            data={"email": f"guess{i}@example.org", "password": "wrong-password"},
            **_from("203.0.113.5"),
        ).status_code
        for i in range(21)
    ]
    assert statuses[-1] == 429 and statuses[:20] == [200] * 20
    ok = c.post(
        "/login",
        data={"email": user.email, "password": PASSWORD},
        **_from("198.51.100.1"),
    )
    assert ok.status_code == 302


def test_token_endpoint_is_limited_with_a_json_429(app, create_user):
    victim, other = create_user("admin"), create_user("admin")
    c = app.test_client()
    for i in range(10):
        resp = c.post(
            "/api/v1/tokens",
            json={"email": victim.email, "password": "wrong-password"},
            **_from(f"10.1.0.{i}"),
        )
        assert resp.status_code == 401
    resp = c.post(
        "/api/v1/tokens",
        json={"email": victim.email, "password": PASSWORD},
        **_from("10.1.1.1"),
    )
    assert resp.status_code == 429
    assert resp.get_json()["error"]["code"] == "rate_limited"
    assert "请求过于频繁" in resp.get_json()["error"]["message"]
    resp = c.post(
        "/api/v1/tokens",
        json={"email": other.email, "password": PASSWORD},
        **_from("10.1.0.2"),
    )
    assert resp.status_code == 201


def _registration(n: int, email: str) -> dict[str, str]:
    return {
        "name": f"限流测试基金会{n}",
        "uscc": "bad",  # refused by validation: the limit counts attempts
        "org_type": "foundation",
        "region_code": "220102",
        "contact_phone": "0431-88886666",
        "admin_name": "张测试",
        "admin_email": email,
        "admin_password": "a-long-password-1",
        "admin_password2": "a-long-password-1",
    }


def test_registration_is_limited_per_address_and_per_email(app):
    c = app.test_client()
    # Per e-mail: 5 an hour, whatever the address.
    for i in range(5):
        resp = c.post(
            "/register",
            data=_registration(i, "same@example.org"),
            **_from(f"10.2.0.{i}"),
        )
        assert resp.status_code == 200
    resp = c.post(
        "/register", data=_registration(9, "same@example.org"), **_from("10.2.9.9")
    )
    assert resp.status_code == 429
    # Per address: 10 an hour, whatever the e-mail.
    for i in range(10):
        resp = c.post(
            "/register",
            data=_registration(i, f"a{i}@example.org"),
            **_from("192.0.2.77"),
        )
        assert resp.status_code == 200
    resp = c.post(
        "/register", data=_registration(99, "new@example.org"), **_from("192.0.2.77")
    )
    assert resp.status_code == 429
    # The API registration shares the rule (per e-mail).
    api = [
        c.post(
            "/api/v1/orgs",
            json={"name": "x", "admin": {"email": "api@example.org"}},
            **_from(f"10.3.0.{i}"),
        ).status_code
        for i in range(6)
    ]
    assert api[-1] == 429 and 429 not in api[:5]
