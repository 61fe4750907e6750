"""With CSRF protection on (as in production), a form POST without the token is
refused with a clear message and changes nothing; with the token it works."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from charitylink.accounts.models import User
from charitylink.extensions import db
from charitylink.orgs.models import Organization
from tests.orgs.conftest import registration


@pytest.fixture
def app_config(app_config):  # type: ignore[no-untyped-def]
    return {**app_config, "WTF_CSRF_ENABLED": True}


def _token(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def _count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model))


def test_register_without_token_is_refused(client):
    resp = client.post("/register", data=registration())
    assert resp.status_code == 400
    assert "CSRF" in resp.get_data(as_text=True)
    assert _count(Organization) == 0


def test_register_with_token_works(client):
    token = _token(client.get("/register").get_data(as_text=True))
    resp = client.post("/register", data={**registration(), "csrf_token": token})
    assert resp.status_code == 302
    assert _count(Organization) == 1


def test_moderator_action_without_token_is_refused(
    client, login_as, create_org, create_user
):
    org = create_org(status="pending")
    login_as(create_user("moderator"))
    assert client.post(f"/mod/orgs/{org.id}/verify").status_code == 400
    assert db.session.get(Organization, org.id).status == "pending"
    token = _token(client.get(f"/mod/orgs/{org.id}").get_data(as_text=True))
    resp = client.post(f"/mod/orgs/{org.id}/verify", data={"csrf_token": token})
    assert resp.status_code == 302
    db.session.refresh(org)
    assert org.status == "verified"


def test_add_member_and_admin_user_forms_without_token_are_refused(
    client, login_as, create_org, create_user
):
    from tests.factories import org_admin_of

    org_admin = org_admin_of(create_org())
    admin = create_user("admin")
    before = _count(User)
    login_as(org_admin)
    data = {"name": "x", "email": "x@example.org", "password": "long-enough-pw"}
    assert client.post("/org/members", data=data).status_code == 400
    login_as(admin)
    resp = client.post("/admin/users", data={**data, "region_prefix": "22"})
    assert resp.status_code == 400
    assert _count(User) == before


def test_logout_without_token_keeps_the_session(client, login_as, create_user):
    login_as(create_user("moderator"))
    assert client.post("/logout").status_code == 400
    assert client.get("/mod").status_code == 200


def test_api_is_exempt_and_uses_tokens(client):
    resp = client.post("/api/v1/orgs", json={})
    assert resp.status_code == 422  # validation, not a CSRF refusal
