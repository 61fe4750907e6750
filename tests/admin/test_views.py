"""The admin area (/admin/users) and the audit log page (/mod/audit)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from charitylink.accounts.models import User
from charitylink.accounts.services import authenticate
from charitylink.core.audit import AuditEvent
from charitylink.extensions import db
from charitylink.orgs import services as org_services
from tests.factories import org_admin_of


def _user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


MODERATOR = {
    "name": "民政科王科长",
    "email": "wang@mz.example.gov.cn",
    "password": "moderator-secret-1",
    "region_prefix": "2201",
}


def test_admin_creates_a_moderator_with_a_region(client, login_as, create_user):
    admin = create_user("admin")
    login_as(admin)
    resp = client.post("/admin/users", data=MODERATOR)
    assert resp.status_code == 302
    mod = _user(MODERATOR["email"])
    assert mod.role == "moderator" and mod.region_prefix == "2201"
    assert authenticate(MODERATOR["email"], MODERATOR["password"]) is not None
    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "user.create", AuditEvent.object_id == str(mod.id)
        )
    )
    assert event.actor_id == admin.id and event.to_status == "moderator"
    html = client.get("/admin/users").get_data(as_text=True)
    assert MODERATOR["email"] in html and "民政审核员" in html


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"region_prefix": "abc"}, "区划代码前缀应为 2、4 或 6 位数字"),
        ({"region_prefix": "221"}, "区划代码前缀应为 2、4 或 6 位数字"),
        ({"region_prefix": "99"}, "没有以 99 开头的行政区划。"),
        ({"region_prefix": ""}, "请填写负责的行政区划代码前缀。"),
        ({"email": "bad"}, "邮箱格式不正确。"),
        ({"password": "short"}, "密码至少需要 10 个字符。"),
        ({"name": ""}, "请填写姓名。"),
    ],
)
def test_create_moderator_bad_input(client, login_as, create_user, override, message):
    login_as(create_user("admin"))
    resp = client.post("/admin/users", data={**MODERATOR, **override})
    assert resp.status_code == 200
    assert message in resp.get_data(as_text=True)
    assert _user(MODERATOR["email"]) is None


def test_create_moderator_taken_email(client, login_as, create_user):
    admin = create_user("admin")
    login_as(admin)
    html = client.post(
        "/admin/users", data={**MODERATOR, "email": admin.email}
    ).get_data(as_text=True)
    assert "该邮箱已注册。" in html


def test_admin_deactivates_and_reactivates_a_user(app, client, login_as, create_user):
    victim = create_user("moderator")
    victim_client = app.test_client()
    login_as(victim, victim_client)
    assert victim_client.get("/mod").status_code == 200
    login_as(create_user("admin"))
    assert client.post(f"/admin/users/{victim.id}/deactivate").status_code == 302
    db.session.refresh(victim)
    assert not victim.active
    assert victim_client.get("/mod").status_code == 302  # session ended
    assert db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "user.deactivate",
            AuditEvent.object_id == str(victim.id),
        )
    )
    client.post(f"/admin/users/{victim.id}/reactivate")
    db.session.refresh(victim)
    assert victim.active


def test_admin_cannot_deactivate_self(client, login_as, create_user):
    admin = create_user("admin")
    login_as(admin)
    resp = client.post(f"/admin/users/{admin.id}/deactivate", follow_redirects=True)
    assert "不能停用自己的账号。" in resp.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.active


def test_users_page_filters(client, login_as, create_user, create_org):
    org = create_org()
    login_as(create_user("admin"))
    html = client.get("/admin/users?role=org_admin").get_data(as_text=True)
    assert org_admin_of(org).email in html and org.name in html
    html = client.get(f"/admin/users?q={org_admin_of(org).email}").get_data(
        as_text=True
    )
    assert "共 1 个账号" in html
    assert client.get("/admin/users?role=x&page=abc").status_code == 200


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("public", 302),
        ("member_a", 403),
        ("admin_a", 403),
        ("admin_b", 403),
        ("mod_in", 403),
        ("mod_out", 403),
        ("admin", 200),
    ],
)
def test_admin_area_access_matrix(client, login_as, people, who, status):
    p = people()
    if p[who] is not None:
        login_as(p[who])
    assert client.get("/admin/users").status_code == status
    target = p["member_a"]
    resp = client.post(f"/admin/users/{target.id}/deactivate")
    assert resp.status_code == (302 if who in ("public", "admin") else 403)
    db.session.refresh(target)
    assert target.active == (who != "admin")
    before = db.session.scalar(select(db.func.count()).select_from(User))
    client.post("/admin/users", data=MODERATOR)
    after = db.session.scalar(select(db.func.count()).select_from(User))
    assert after == before + (1 if who == "admin" else 0)


# ------------------------------------------------------------ /mod/audit


def test_audit_page_scoped_to_moderator_region(
    client, login_as, create_org, create_user
):
    admin = create_user("admin")
    near = create_org(status="pending", region_code="220102")
    far = create_org(status="pending", region_code="620102")
    org_services.verify_org(near, admin)
    org_services.verify_org(far, admin)
    db.session.commit()
    login_as(create_user("moderator", region_prefix="2201"))
    html = client.get("/mod/audit").get_data(as_text=True)
    assert f'机构 <span class="nowrap">{near.id}</span>' in html
    assert f'机构 <span class="nowrap">{far.id}</span>' not in html
    login_as(admin)
    html = client.get("/mod/audit").get_data(as_text=True)
    assert f'机构 <span class="nowrap">{near.id}</span>' in html
    assert f'机构 <span class="nowrap">{far.id}</span>' in html


def test_audit_page_filters(client, login_as, create_org, create_user):
    admin = create_user("admin")
    org = create_org(status="pending")
    other = create_org(status="pending")
    org_services.reject_org(org, admin, "资料不全，请补充")
    db.session.commit()
    login_as(admin)
    html = client.get("/mod/audit?action=org.reject").get_data(as_text=True)
    assert "资料不全，请补充" in html and "共 1 条" in html
    html = client.get(
        f"/mod/audit?object_type=organization&object_id={other.id}"
    ).get_data(as_text=True)
    assert '<code class="nowrap">org.reject</code>' not in html
    html = client.get("/mod/audit?from=2000-01-01&to=2000-01-02").get_data(as_text=True)
    assert "共 0 条" in html
    html = client.get("/mod/audit?from=2000-01-01").get_data(as_text=True)
    assert "org.reject" in html
    resp = client.get("/mod/audit?from=2026-13-45&page=zz")
    assert resp.status_code == 200
    assert "开始日期格式不正确，应为 YYYY-MM-DD" in resp.get_data(as_text=True)


def test_a_needs_history_is_found_under_its_old_and_new_code(
    client, login_as, create_user, create_need
):
    """Events filed under the first release's county code (now legacy_code)
    and under the province code are one history: asked for either, both."""
    need = create_need(region_code="220102", status="draft")
    old = "XQ-220102-000777"
    need.legacy_code = old
    db.session.add(
        AuditEvent(
            actor_label="旧版",
            action="need.submit",
            object_type="need",
            object_id=old,
            region_code=need.region_code,
        )
    )
    db.session.commit()
    login_as(create_user("moderator", region_prefix="22"))
    for asked in (need.code, old):
        html = client.get(f"/mod/audit?object_id={asked}").get_data(as_text=True)
        assert "need.create" in html and "need.submit" in html, asked
        assert "共 2 条" in html, asked


def test_audit_page_pages(client, login_as, create_user):
    from charitylink.core import audit

    admin = create_user("admin")
    for _ in range(55):
        audit.record(admin, "test.event", admin)
    db.session.commit()
    login_as(admin)
    html = client.get("/mod/audit?action=test.").get_data(as_text=True)
    assert (
        "共 55 条，当前第 1–50 条" in html and 'href="?action=test.&amp;page=2"' in html
    )
    second = client.get("/mod/audit?action=test.&page=2").get_data(as_text=True)
    assert "共 55 条，当前第 51–55 条" in second


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("public", 302),
        ("member_a", 403),
        ("admin_a", 403),
        ("mod_in", 200),
        ("mod_out", 200),
        ("admin", 200),
    ],
)
def test_audit_page_access(client, login_as, people, who, status):
    p = people()
    if p[who] is not None:
        login_as(p[who])
    assert client.get("/mod/audit").status_code == status
