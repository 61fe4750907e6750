"""The admin's user page: a reset link mailed to any account, and org members
(not only moderators) switched off and on."""

from __future__ import annotations

from sqlalchemy import select

from charitylink.accounts.models import User
from charitylink.core.audit import AuditEvent
from charitylink.extensions import db
from charitylink.mail.models import OutboxMail
from tests.factories import org_admin_of


def _audits(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == action))
    )


def _mails() -> list[OutboxMail]:
    return list(db.session.scalars(select(OutboxMail)))


def test_admin_sends_a_reset_link_to_an_org_member(
    client, login_as, create_user, create_org
) -> None:
    admin = create_user("admin")
    member = create_user("org_member", org=create_org())
    login_as(admin)
    page = client.get("/admin/users").get_data(as_text=True)
    assert f"/admin/users/{member.id}/reset-link" in page
    resp = client.post(f"/admin/users/{member.id}/reset-link")
    assert resp.status_code == 302
    (mail,) = _mails()
    assert mail.to_address == member.email and "/reset/" in mail.text_body
    assert "平台管理员" in mail.text_body
    (event,) = _audits("user.reset_link_sent")
    assert event.actor_id == admin.id and event.object_id == str(member.id)
    # The link works (it is the account's, not the admin's).
    token = mail.text_body.split("/reset/", 1)[1].split()[0]
    assert client.get(f"/reset/{token}").status_code == 200


def test_no_reset_link_for_a_deactivated_account(client, login_as, create_user) -> None:
    login_as(create_user("admin"))
    off = create_user("moderator", active=False)
    resp = client.post(f"/admin/users/{off.id}/reset-link", follow_redirects=True)
    assert "请先启用" in resp.get_data(as_text=True)
    assert _mails() == [] and _audits("user.reset_link_sent") == []


def test_only_the_admin_sends_reset_links(client, login_as, create_user) -> None:
    target = create_user("moderator")
    login_as(create_user("moderator"))
    assert client.post(f"/admin/users/{target.id}/reset-link").status_code == 403
    assert client.post("/admin/users/999999/reset-link").status_code == 403
    login_as(create_user("admin"))
    assert client.post("/admin/users/999999/reset-link").status_code == 404
    assert _mails() == []


def test_admin_deactivates_and_reactivates_an_org_member(
    app, client, login_as, create_user, create_org
) -> None:
    org = create_org()
    member = create_user("org_member", org=org)
    member_client = login_as(member, app.test_client())
    assert member_client.get("/org").status_code in (200, 302)
    login_as(create_user("admin"))
    assert client.post(f"/admin/users/{member.id}/deactivate").status_code == 302
    db.session.expire_all()
    assert not member.active
    assert member_client.get("/account/password").status_code == 302  # signed out
    assert client.post(f"/admin/users/{member.id}/reactivate").status_code == 302
    db.session.expire_all()
    assert member.active
    assert len(_audits("user.deactivate")) == len(_audits("user.reactivate")) == 1
    # An org admin too.
    org_admin = org_admin_of(org)
    client.post(f"/admin/users/{org_admin.id}/deactivate")
    db.session.expire_all()
    assert not db.session.get(User, org_admin.id).active
