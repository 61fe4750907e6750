"""The inbox page, the bell, the settings page, and the API: each person sees
and changes only their own notifications."""

from __future__ import annotations

from sqlalchemy import select

from charitylink.core.audit import AuditEvent
from charitylink.extensions import db
from charitylink.notifications.models import Notification
from charitylink.notifications.services import notify


def _tell(user, n: int = 1, url: str = "/mod/needs"):  # type: ignore[no-untyped-def]
    for i in range(n):
        notify(
            "need_submitted",
            [user],
            event=f"need:{i}:{user.id}",
            params={"code": f"XQ-22-{i:06d}", "region": "南关区"},
            url=url,
        )
    db.session.commit()
    return db.session.scalars(
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.id)
    ).all()


def test_bell_shows_the_unread_count(client, login_as, create_user):
    mod = create_user("moderator")
    _tell(mod, 3)
    html = login_as(mod).get("/mod").get_data(as_text=True)
    assert "通知（3 条未读）" in html
    assert 'href="/inbox"' in html


def test_inbox_lists_filters_and_marks_read(client, login_as, create_user):
    mod = create_user("moderator")
    rows = _tell(mod, 3, url="/mod/needs/XQ-22-000001")
    c = login_as(mod)
    html = c.get("/inbox").get_data(as_text=True)
    assert "需求 XQ-22-000002 待审核" in html and "未读 3 条" in html
    answer = c.post(f"/inbox/{rows[0].id}/read", data={"next": "/inbox?unread=1"})
    assert answer.status_code == 302 and answer.location.endswith("/inbox?unread=1")
    html = c.get("/inbox?unread=1").get_data(as_text=True)
    assert "XQ-22-000000" not in html and "XQ-22-000001" in html
    opened = c.post(f"/inbox/{rows[1].id}/open")
    assert opened.status_code == 303
    assert opened.location.endswith("/mod/needs/XQ-22-000001")
    c.post("/inbox/read-all", data={})
    assert "通知（没有未读）" in c.get("/inbox").get_data(as_text=True)
    db.session.expire_all()
    assert all(r.read_at is not None for r in db.session.scalars(select(Notification)))


def test_opening_goes_only_to_a_local_path(client, login_as, create_user):
    mod = create_user("moderator")
    rows = _tell(mod, 1, url="https://evil.example/x")
    opened = login_as(mod).post(f"/inbox/{rows[0].id}/open")
    assert opened.location.endswith("/inbox")


def test_another_users_notification_is_not_found(client, login_as, create_user):
    mine, theirs = create_user("moderator"), create_user("moderator")
    rows = _tell(theirs, 1)
    c = login_as(mine)
    assert c.post(f"/inbox/{rows[0].id}/open").status_code == 404
    assert c.post(f"/inbox/{rows[0].id}/read").status_code == 404
    db.session.refresh(rows[0])
    assert rows[0].read_at is None


def test_inbox_needs_a_login(client):
    assert client.get("/inbox").status_code == 302


def test_settings_page_saves_and_audits(client, login_as, create_org):
    from tests.factories import org_admin_of

    admin = org_admin_of(create_org())
    c = login_as(admin)
    html = c.get("/account/notifications").get_data(as_text=True)
    assert 'value="org_verified" checked' in html  # a default
    assert 'value="need_submitted"' not in html  # a moderator's kind
    c.post("/account/notifications", data={"email": ["claim_expired"]})
    db.session.refresh(admin)
    assert "claim_expired" in admin.email_kinds
    assert "org_verified" not in admin.email_kinds
    assert db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "user.notification_settings")
    )


# ---------------------------------------------------------------- the API


def test_api_lists_own_notifications(client, create_user, api_token):
    mod, other = create_user("moderator"), create_user("moderator")
    rows = _tell(mod, 3)
    _tell(other, 2)
    headers = api_token(mod)
    data = client.get("/api/v1/notifications", headers=headers).get_json()
    assert data["unread"] == 3 and len(data["items"]) == 3
    item = data["items"][0]
    assert set(item) == {"id", "kind", "title", "body", "url", "created_at", "read_at"}
    assert item["title"].startswith("需求 XQ-22-")
    assert client.post(
        f"/api/v1/notifications/{rows[0].id}/read", headers=headers
    ).get_json()["read_at"]
    data = client.get("/api/v1/notifications?unread=1", headers=headers).get_json()
    assert len(data["items"]) == 2 and data["unread"] == 2
    answer = client.post("/api/v1/notifications/read-all", headers=headers)
    assert answer.get_json() == {"marked": 2}
    bad = client.get("/api/v1/notifications?unread=yes", headers=headers)
    assert bad.status_code == 422


def test_api_another_users_notification_is_404(client, create_user, api_token):
    mine, theirs = create_user("moderator"), create_user("moderator")
    rows = _tell(theirs, 1)
    answer = client.post(
        f"/api/v1/notifications/{rows[0].id}/read", headers=api_token(mine)
    )
    assert answer.status_code == 404
    assert answer.get_json()["error"]["code"] == "not_found"
    db.session.refresh(rows[0])
    assert rows[0].read_at is None


def test_api_settings(client, create_user, api_token):
    mod = create_user("moderator")
    headers = api_token(mod)
    got = client.get("/api/v1/account/notification-settings", headers=headers)
    assert "need_review_overdue" in got.get_json()["email"]
    put = client.put(
        "/api/v1/account/notification-settings",
        json={"email": ["claim_created", "org_registered"]},
        headers=headers,
    )
    assert put.status_code == 200
    assert put.get_json() == {"email": ["org_registered", "claim_created"]}
    bad = client.put(
        "/api/v1/account/notification-settings",
        json={"email": ["no_such_kind"]},
        headers=headers,
    )
    assert bad.status_code == 422
    message = bad.get_json()["error"]["fields"]["email.0"]
    assert message.startswith("邮件通知第 1 项只能是")
    db.session.refresh(mod)
    assert mod.email_kinds == ["org_registered", "claim_created"]
    assert client.get("/api/v1/notifications").status_code == 401
