"""The one-click unsubscribe link: signed, per user and kind, audited."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from charitylink.core.audit import AuditEvent
from charitylink.extensions import db
from charitylink.mail.unsubscribe import make_token, unsubscribe_url
from tests.conftest import base_config


@pytest.fixture
def app_config(tmp_path, db_url) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    # CSRF on, as in production: the one-click POST of a mail program has no token.
    return {**base_config(tmp_path, db_url), "WTF_CSRF_ENABLED": True}


def _audits() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def _path(user_id: int, kind: str) -> str:
    return unsubscribe_url(user_id, kind).split("localhost:5000", 1)[1]


def test_the_link_asks_then_removes_only_that_kind(
    app, client, create_org, create_user
):
    org = create_org()
    user = create_user("org_admin", org=org, email="zhang.san@example.org")
    assert user.email_kinds is None  # the defaults: claim_due_soon is one of them
    assert user.wants_email("claim_due_soon") and user.wants_email("org_verified")
    path = _path(user.id, "claim_due_soon")

    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "认领即将到期" in html and "确认退订" in html
    assert "zh***@example.org" in html and "zhang.san" not in html
    db.session.expire_all()
    assert user.email_kinds is None  # looking changes nothing

    done = client.post(path)  # the page's button (no CSRF token needed either)
    assert done.status_code == 200
    assert "已退订" in done.get_data(as_text=True)
    db.session.expire_all()
    assert not user.wants_email("claim_due_soon")
    assert user.wants_email("org_verified")  # the other defaults are kept
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "user.email_unsubscribe")
    ).one()
    assert event.actor_id == user.id and event.reason == "claim_due_soon"

    before = _audits()
    again = client.post(path)  # twice: nothing more changes
    assert "本来就不发邮件" in again.get_data(as_text=True)
    assert _audits() == before


def test_rfc_8058_one_click_post(app, client, create_user):
    user = create_user("moderator", email_kinds=["need_submitted", "claim_created"])
    resp = client.post(
        _path(user.id, "need_submitted"),
        data={"List-Unsubscribe": "One-Click"},
        content_type="application/x-www-form-urlencoded",
    )
    assert resp.status_code == 200
    db.session.expire_all()
    assert user.email_kinds == ["claim_created"]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature
        lambda t: "WzEsIm9yZ192ZXJpZmllZCJd.forged",  # made up
        lambda t: "not-a-token",
    ],
)
def test_a_forged_or_damaged_token_is_refused_and_changes_nothing(
    app, client, create_user, mangle
):
    user = create_user("moderator", email_kinds=["need_submitted"])
    token = mangle(make_token(user.id, "need_submitted"))
    before = _audits()
    for method in ("get", "post"):
        resp = getattr(client, method)(f"/unsubscribe/{token}")
        assert resp.status_code == 404
        assert "退订链接无效" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert user.email_kinds == ["need_submitted"]
    assert _audits() == before


def test_a_token_names_one_user_and_kind(app, client, create_user):
    """Another secret (another deployment) or another user's id cannot be
    turned into a valid link: the whole payload is signed."""
    alice = create_user("moderator", email_kinds=["need_submitted"])
    bob = create_user("moderator", email_kinds=["need_submitted"])
    token = make_token(alice.id, "need_submitted")
    payload, signature = token.split(".", 1)
    other = make_token(bob.id, "need_submitted").split(".", 1)[0]
    resp = client.post(f"/unsubscribe/{other}.{signature}")
    assert resp.status_code == 404
    db.session.expire_all()
    assert bob.email_kinds == ["need_submitted"]
    assert alice.email_kinds == ["need_submitted"]
    assert payload  # the genuine token still works
    assert client.post(f"/unsubscribe/{token}").status_code == 200


def test_a_link_for_a_kind_that_no_longer_exists(app, client, create_user):
    user = create_user("moderator")
    resp = client.get(f"/unsubscribe/{make_token(user.id, 'no_such_kind')}")
    assert resp.status_code == 404
    assert "退订链接已失效" in resp.get_data(as_text=True)
