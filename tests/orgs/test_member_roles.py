"""An org admin changes a member's role (member ↔ admin) and switches a
deactivated member back on; the org always keeps an active admin."""

from __future__ import annotations

from sqlalchemy import select

from charitylink.accounts.models import Role, User
from charitylink.core.audit import AuditEvent
from charitylink.extensions import db
from tests.factories import org_admin_of


def _audits(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == action))
    )


def _role(user: User) -> str:
    db.session.expire_all()
    return str(db.session.get(User, user.id).role)


def test_promote_and_demote_a_member_audited(
    client, login_as, create_org, create_user
) -> None:
    org = create_org()
    admin = org_admin_of(org)
    member = create_user("org_member", org=org)
    login_as(admin)
    page = client.get("/org/members").get_data(as_text=True)
    assert f"/org/members/{member.id}/role" in page and "设为管理员" in page
    resp = client.post(f"/org/members/{member.id}/role", data={"role": "org_admin"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/org/members")
    assert _role(member) == Role.ORG_ADMIN
    (event,) = _audits("user.role_change")
    assert (event.from_status, event.to_status) == ("org_member", "org_admin")
    client.post(f"/org/members/{member.id}/role", data={"role": "org_member"})
    assert _role(member) == Role.ORG_MEMBER
    assert len(_audits("user.role_change")) == 2
    # The same role again: nothing written.
    client.post(f"/org/members/{member.id}/role", data={"role": "org_member"})
    assert len(_audits("user.role_change")) == 2


def test_the_last_admin_cannot_step_down(client, login_as, create_org) -> None:
    org = create_org()
    admin = org_admin_of(org)
    login_as(admin)
    resp = client.post(
        f"/org/members/{admin.id}/role",
        data={"role": "org_member"},
        follow_redirects=True,
    )
    assert "机构至少要有一位启用的管理员" in resp.get_data(as_text=True)
    assert _role(admin) == Role.ORG_ADMIN
    assert _audits("user.role_change") == []


def test_an_inactive_admin_does_not_count(
    client, login_as, create_org, create_user
) -> None:
    org = create_org()
    admin = org_admin_of(org)
    create_user("org_admin", org=org, active=False)
    login_as(admin)
    client.post(f"/org/members/{admin.id}/role", data={"role": "org_member"})
    assert _role(admin) == Role.ORG_ADMIN


def test_an_admin_hands_over_and_steps_down(
    client, login_as, create_org, create_user
) -> None:
    org = create_org()
    admin = org_admin_of(org)
    successor = create_user("org_member", org=org)
    login_as(admin)
    client.post(f"/org/members/{successor.id}/role", data={"role": "org_admin"})
    resp = client.post(f"/org/members/{admin.id}/role", data={"role": "org_member"})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/org")  # no longer the members page
    assert _role(admin) == Role.ORG_MEMBER
    # The successor, now the last admin, cannot be demoted by anyone.
    login_as(successor)
    client.post(f"/org/members/{successor.id}/role", data={"role": "org_member"})
    assert _role(successor) == Role.ORG_ADMIN


def test_bad_role_other_org_and_members_are_refused(
    client, login_as, create_org, create_user
) -> None:
    org, other = create_org(), create_org()
    admin = org_admin_of(org)
    member = create_user("org_member", org=org)
    stranger = create_user("org_member", org=other)
    login_as(admin)
    resp = client.post(
        f"/org/members/{member.id}/role", data={"role": "admin"}, follow_redirects=True
    )
    assert "角色只能是机构成员或机构管理员" in resp.get_data(as_text=True)
    assert _role(member) == Role.ORG_MEMBER
    assert (
        client.post(
            f"/org/members/{stranger.id}/role", data={"role": "org_admin"}
        ).status_code
        == 404
    )
    login_as(member)
    assert (
        client.post(
            f"/org/members/{member.id}/role", data={"role": "org_admin"}
        ).status_code
        == 403
    )
    assert _role(member) == Role.ORG_MEMBER


def test_org_admin_reactivates_a_member(
    client, login_as, create_org, create_user
) -> None:
    org = create_org()
    admin = org_admin_of(org)
    member = create_user("org_member", org=org)
    login_as(admin)
    client.post(f"/org/members/{member.id}/deactivate")
    db.session.expire_all()
    assert not member.active
    page = client.get("/org/members").get_data(as_text=True)
    assert f"/org/members/{member.id}/reactivate" in page
    assert client.post(f"/org/members/{member.id}/reactivate").status_code == 302
    db.session.expire_all()
    assert member.active
    (event,) = _audits("user.reactivate")
    assert event.actor_id == admin.id
    again = client.post(f"/org/members/{member.id}/reactivate", follow_redirects=True)
    assert "已是启用状态" in again.get_data(as_text=True)


def test_a_suspended_org_changes_no_roles_and_reactivates_nobody(
    client, login_as, create_org, create_user
) -> None:
    org = create_org()
    admin = org_admin_of(org)
    member = create_user("org_member", org=org)
    left = create_user("org_member", org=org, active=False)
    org.status = "suspended"
    db.session.commit()
    login_as(admin)
    client.post(f"/org/members/{member.id}/role", data={"role": "org_admin"})
    client.post(f"/org/members/{left.id}/reactivate")
    assert _role(member) == Role.ORG_MEMBER
    assert not db.session.get(User, left.id).active
    assert _audits("user.role_change") == _audits("user.reactivate") == []


def test_stepping_down_oneself_asks_first(
    client, login_as, create_org, create_user
) -> None:
    org = create_org()
    admin = org_admin_of(org)
    create_user("org_admin", org=org)
    login_as(admin)
    page = client.get("/org/members").get_data(as_text=True)
    assert f'href="/org/members/{admin.id}/role"' in page
    ask = client.get(f"/org/members/{admin.id}/role")
    html = ask.get_data(as_text=True)
    assert ask.status_code == 200
    assert "另一位管理员" in html and 'name="role" value="org_member"' in html
    assert _role(admin) == Role.ORG_ADMIN  # the GET changed nothing
    assert _audits("user.role_change") == []
    client.post(f"/org/members/{admin.id}/role", data={"role": "org_member"})
    assert _role(admin) == Role.ORG_MEMBER
