"""Login and token endpoints are rate-limited per account and per address, with a
clear 429 (docs/integration.md); other accounts and addresses are unaffected."""

from __future__ import annotations

from typing import Any

import pytest

from charitylink.extensions import limiter
from tests.factories import PASSWORD


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "RATELIMIT_ENABLED": True}


@pytest.fixture(autouse=True)
def _fresh_limits(app) -> None:
    limiter.reset()


def _login(client, email: str, password: str = "wrong-password", ip: str = "10.0.0.1"):
    return client.post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": ip},
    )


def test_login_limited_per_account_other_accounts_unaffected(
    client, create_user
) -> None:
    victim, other = create_user("moderator"), create_user("moderator")
    for i in range(10):
        # From ten addresses: the per-account limit holds across addresses.
        assert _login(client, victim.email, ip=f"10.0.1.{i}").status_code == 200
    resp = _login(client, victim.email, ip="10.0.1.99")
    assert resp.status_code == 429
    assert "请求过于频繁" in resp.get_data(as_text=True)
    # Even the right password waits: no guessing around the limit.
    assert _login(client, victim.email, PASSWORD, ip="10.0.1.98").status_code == 429
    ok = _login(client, other.email, PASSWORD, ip="10.0.1.97")
    assert ok.status_code == 302


def test_login_limited_per_address(client, create_user) -> None:
    for i in range(20):
        assert _login(client, f"nobody{i}@example.org").status_code == 200
    resp = _login(client, "nobody-else@example.org")
    assert resp.status_code == 429
    # Another address is unaffected.
    assert _login(client, "nobody-else@example.org", ip="10.9.9.9").status_code == 200


def test_token_endpoint_limited_per_account_with_json_429(client, create_user) -> None:
    user, other = create_user("moderator"), create_user("moderator")
    for i in range(10):
        resp = client.post(
            "/api/v1/tokens",
            json={"email": user.email, "password": "wrong"},
            environ_base={"REMOTE_ADDR": f"10.0.2.{i}"},
        )
        assert resp.status_code == 401
    resp = client.post(
        "/api/v1/tokens",
        json={"email": user.email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.2.50"},
    )
    assert resp.status_code == 429
    assert resp.json["error"]["code"] == "rate_limited"
    assert "请求过于频繁" in resp.json["error"]["message"]
    ok = client.post(
        "/api/v1/tokens",
        json={"email": other.email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.2.51"},
    )
    assert ok.status_code == 201 and ok.json["token"].startswith("cl_")


def test_token_endpoint_limited_per_address(client) -> None:
    for i in range(20):
        resp = client.post(
            "/api/v1/tokens", json={"email": f"n{i}@example.org", "password": "x"}
        )
        assert resp.status_code == 401
    resp = client.post(
        "/api/v1/tokens", json={"email": "n99@example.org", "password": "x"}
    )
    assert resp.status_code == 429
    other = client.post(
        "/api/v1/tokens",
        json={"email": "n99@example.org", "password": "x"},
        environ_base={"REMOTE_ADDR": "10.7.7.7"},
    )
    assert other.status_code == 401


def test_tokens_are_stored_hashed_and_revocable(client, create_user, login_as) -> None:
    from sqlalchemy import select

    from charitylink.accounts.models import ApiToken
    from charitylink.extensions import db

    user = create_user("moderator")
    resp = client.post(
        "/api/v1/tokens", json={"email": user.email, "password": PASSWORD}
    )
    raw = resp.json["token"]
    stored = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert raw not in stored.token_hash and len(stored.token_hash) == 64
    assert stored.expires_at is not None
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/claims", headers=headers).status_code == 403
    login_as(user)
    page = client.get("/account/tokens")
    assert page.status_code == 200
    client.post(f"/account/tokens/{stored.id}/revoke")
    resp = client.get("/api/v1/claims", headers=headers)
    assert resp.status_code == 401
    assert resp.json["error"]["code"] == "unauthorized"
