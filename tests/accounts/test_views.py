"""Accounts: login, logout, password change, safe ``next=``, the tokens page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from charitylink.accounts.models import ApiToken, User
from charitylink.core.audit import AuditEvent
from charitylink.extensions import db
from tests.factories import PASSWORD


def _login(client, email: str, password: str = PASSWORD, next_: str | None = None):  # type: ignore[no-untyped-def]
    url = "/login" + (f"?next={next_}" if next_ is not None else "")
    return client.post(url, data={"email": email, "password": password})


def test_login_good_goes_to_work_area_and_is_audited(client, create_user):
    user = create_user("moderator")
    resp = _login(client, user.email.upper())
    assert resp.status_code == 302 and resp.location.endswith("/mod")
    assert client.get("/mod").status_code == 200
    db.session.refresh(user)
    assert user.last_login_at is not None
    assert db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "user.login", AuditEvent.actor_id == user.id
        )
    )


def test_org_staff_login_goes_to_org_area(client, create_org):
    from tests.factories import org_admin_of

    resp = _login(client, org_admin_of(create_org()).email)
    assert resp.location.endswith("/org")


def test_wrong_password_and_unknown_user_get_the_same_message(client, create_user):
    user = create_user("moderator")
    wrong = _login(client, user.email, "not-the-password")
    unknown = _login(client, "nobody@example.org", "not-the-password")
    for resp in (wrong, unknown):
        assert resp.status_code == 200
        assert "邮箱或密码不正确。" in resp.get_data(as_text=True)
    assert client.get("/mod").status_code == 302  # still anonymous


def test_inactive_user_cannot_log_in(client, create_user):
    user = create_user("moderator", active=False)
    resp = _login(client, user.email)
    assert "邮箱或密码不正确。" in resp.get_data(as_text=True)


def test_empty_login_form_shows_field_messages(client):
    html = client.post("/login", data={}).get_data(as_text=True)
    assert "请填写邮箱。" in html and "请填写密码。" in html


def test_logout_invalidates_a_copied_session_cookie(app, create_user):
    user = create_user("moderator")
    client = app.test_client()
    _login(client, user.email)
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    assert thief.get("/mod").status_code == 200
    resp = client.post("/logout")
    assert resp.status_code == 302
    assert client.get("/mod").status_code == 302
    # The copied cookie still carries the old session_version: refused.
    resp = thief.get("/mod")
    assert resp.status_code == 302 and "/login" in resp.location


def test_password_change_ends_sessions_and_api_tokens(app, create_user, api_token):
    user = create_user("moderator")
    headers = api_token(user)
    client = app.test_client()
    other_device = app.test_client()
    _login(client, user.email)
    _login(other_device, user.email)
    assert client.get("/api/v1/orgs", headers=headers).status_code == 200
    resp = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "brand-new-secret-1"},
    )
    assert resp.status_code == 302 and resp.location.endswith("/login")
    assert other_device.get("/mod").status_code == 302
    assert client.get("/mod").status_code == 302
    resp = client.post("/api/v1/orgs/1/verify", headers=headers)
    assert resp.status_code == 401
    assert _login(client, user.email).status_code == 200  # old password refused
    assert _login(client, user.email, "brand-new-secret-1").status_code == 302


@pytest.mark.parametrize(
    ("current", "new", "message"),
    [
        ("wrong-password", "brand-new-secret-1", "当前密码不正确。"),
        (PASSWORD, "short", "密码至少需要 10 个字符。"),
        (PASSWORD, "password123", "这个密码太常见"),
        (PASSWORD, "", "请填写新密码。"),
    ],
)
def test_password_change_refusals(client, login_as, create_user, current, new, message):
    user = create_user("moderator")
    version = user.session_version
    login_as(user)
    resp = client.post(
        "/account/password", data={"current_password": current, "new_password": new}
    )
    assert resp.status_code == 200
    assert message in resp.get_data(as_text=True)
    db.session.refresh(user)
    assert user.session_version == version


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/needs?q=1", "/needs?q=1"),
        ("/mod/orgs", "/mod/orgs"),
        ("https://evil.example/", "/mod"),
        ("//evil.example/x", "/mod"),
        ("/\\evil.example", "/mod"),
        ("javascript:alert(1)", "/mod"),
        ("http:/evil.example", "/mod"),
        ("", "/mod"),
    ],
)
def test_next_only_to_same_site_paths(client, create_user, target, expected):
    from urllib.parse import quote

    user = create_user("moderator")
    resp = _login(client, user.email, next_=quote(target, safe=""))
    assert resp.status_code == 302
    assert resp.location == expected


def test_work_area_redirects_to_login_with_next(client):
    resp = client.get("/mod/orgs")
    assert resp.status_code == 302
    assert "/login" in resp.location and "next=" in resp.location


def test_tokens_page_lists_and_revokes(client, login_as, create_user):
    user = create_user("moderator")
    login_as(user)
    resp = client.post("/account/tokens", data={"name": "民政监测平台"})
    html = resp.get_data(as_text=True)
    assert "新令牌已生成" in html
    raw = html.split('<code class="token">')[1].split("</code>")[0]
    assert raw.startswith("cl_")
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/orgs", headers=headers).status_code == 200
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert "民政监测平台" in client.get("/account/tokens").get_data(as_text=True)
    assert raw not in client.get("/account/tokens").get_data(as_text=True)
    resp = client.post(f"/account/tokens/{token.id}/revoke")
    assert resp.status_code == 302
    db.session.refresh(token)
    assert token.revoked_at is not None
    assert "已撤销" in client.get("/account/tokens").get_data(as_text=True)
    assert client.get("/api/v1/orgs", headers=headers).status_code == 401


def test_cannot_revoke_someone_elses_token(client, login_as, create_user, api_token):
    owner = create_user("moderator")
    headers = api_token(owner)
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == owner.id))
    login_as(create_user("moderator"))
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 404
    db.session.refresh(token)
    assert token.revoked_at is None
    assert client.get("/api/v1/orgs", headers=headers).status_code == 200


def test_login_page_for_logged_in_user_redirects_home(client, login_as, create_user):
    login_as(create_user("admin"))
    resp = client.get("/login")
    assert resp.status_code == 302 and resp.location.endswith("/mod")


def test_no_user_row_carries_a_clear_password(app, create_user):
    user = create_user("moderator")
    stored = db.session.get(User, user.id).password_hash
    assert PASSWORD not in stored and stored.startswith("$argon2")
