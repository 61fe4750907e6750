"""Rule 8: a NUL byte or another control character in any field is bad input,
not a server error — PostgreSQL refuses NUL in text, so it must never reach it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from charitylink.extensions import db
from charitylink.orgs.models import Organization
from tests.orgs.conftest import api_registration, registration


def _orgs() -> int:
    return db.session.scalar(select(func.count()).select_from(Organization))


@pytest.mark.parametrize("field", ["name", "admin_email", "contact_name", "uscc"])
def test_register_form_with_nul_is_refused(client, field):
    data = registration()
    data[field] = data[field][:3] + "\x00" + data[field][3:]
    resp = client.post("/register", data=data)
    assert resp.status_code in (200, 400)
    assert "服务器" not in resp.get_data(as_text=True)
    assert _orgs() == 0


def test_api_register_with_nul_is_refused(client):
    body = api_registration(name="基金\u0000会")
    resp = client.post("/api/v1/orgs", json=body)
    assert resp.status_code in (400, 422)
    assert _orgs() == 0


@pytest.mark.parametrize(
    "url",
    [
        "/orgs?region=22%00&type=foundation%00",
        "/login?next=/mod%00",
        "/api/v1/orgs?region=%00",
    ],
)
def test_query_strings_with_nul_never_500(client, url):
    assert client.get(url).status_code < 500


def test_login_with_nul_never_500(client):
    resp = client.post("/login", data={"email": "a\x00@example.org", "password": "x"})
    assert resp.status_code in (200, 400)


def test_work_area_filters_with_nul_never_500(client, login_as, create_user):
    login_as(create_user("admin"))
    for url in (
        "/mod/audit?action=org%00&object_type=%00&object_id=%00",
        "/admin/users?q=%00",
        "/mod/orgs?status=%00",
    ):
        assert client.get(url).status_code < 500, url
