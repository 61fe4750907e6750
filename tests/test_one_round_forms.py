"""Errors come in one round: a submit with several bad fields names every one
of them on that submit (the form's own checks and the service's rules
together), and what was typed survives (passwords excepted, by choice).
Registration, the platform admin's user form and need entry."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from charitylink.accounts.models import User
from charitylink.core.timeutil import today
from charitylink.extensions import db
from charitylink.needs.models import Need
from charitylink.orgs.models import Organization
from tests.orgs.conftest import registration


def _errors(html: str) -> list[str]:
    return re.findall(r'<p class="error" role="alert">([^<]*)</p>', html)


def _value(html: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert tag, name
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return value.group(1) if value else None


def test_registration_with_six_bad_fields_names_all_six_at_once(client, create_org):
    taken = create_org()
    data = registration(
        name=taken.name,  # the service's rule: already registered
        uscc="91110000ABCDEFGHIJ",  # the service's rule: bad credit code
        contact_phone="123",  # the service's rule
        contact_email="not-an-email",  # the service's rule
        admin_email="",  # the form's own check
        admin_password="short",
        admin_password2="different",  # the form's own check
    )
    resp = client.post("/register", data=data)
    html = resp.get_data(as_text=True)
    errors = _errors(html)
    assert "已有同名机构注册，请核对机构名称。" in errors
    assert any("统一社会信用代码" in e or "校验" in e or "字符" in e for e in errors)
    assert any("电话" in e for e in errors)
    assert any("邮箱" in e for e in errors if "管理员" not in e)
    assert "请填写管理员邮箱。" in errors
    assert "两次输入的密码不一致。" in errors
    assert len(errors) >= 6, errors
    # Typed values survive; the passwords are not sent back.
    assert _value(html, "name") == taken.name
    assert _value(html, "contact_phone") == "123"
    assert _value(html, "admin_name") == data["admin_name"]
    assert _value(html, "admin_password") in (None, "")
    assert _value(html, "admin_password2") in (None, "")
    assert db.session.scalar(select(func.count(Organization.id))) == 1


def test_registration_with_only_form_problems_also_runs_the_service_checks(client):
    # Before: the empty admin name hid the privacy rule on the description.
    data = registration(admin_name="", description="联系人电话 13912345678，欢迎来电。")
    html = client.post("/register", data=data).get_data(as_text=True)
    errors = _errors(html)
    assert "请填写管理员姓名。" in errors
    assert any("电话" in e or "手机号" in e for e in errors), errors


def test_registration_hint_shows_a_valid_credit_code(client):
    from charitylink.core.identifiers import is_valid_uscc

    html = client.get("/register").get_data(as_text=True)
    example = re.search(r"如 ([0-9A-Z]{18})", html)
    assert example and is_valid_uscc(example.group(1))


def test_admin_user_form_names_every_problem_at_once(client, login_as, create_user):
    admin = create_user("admin")
    login_as(admin)
    resp = client.post(
        "/admin/users",
        data={
            "name": "",
            "email": "not-an-email",
            "password": "short",
            "region_prefix": "99x",
        },
    )
    html = resp.get_data(as_text=True)
    errors = _errors(html)
    assert "请填写姓名。" in errors
    assert "邮箱格式不正确。" in errors
    assert any("密码" in e for e in errors), errors
    assert any("区划代码前缀" in e for e in errors), errors
    assert _value(html, "email") == "not-an-email"
    assert _value(html, "region_prefix") == "99x"
    assert _value(html, "password") in (None, "")
    taken = client.post(
        "/admin/users",
        data={
            "name": "王科长",
            "email": admin.email,
            "password": "short",
            "region_prefix": "2201",
        },
    ).get_data(as_text=True)
    assert "该邮箱已注册。" in _errors(taken) and any(
        "密码" in e for e in _errors(taken)
    )
    assert db.session.scalar(select(func.count(User.id))) == 1


def test_deactivating_a_user_asks_first(client, login_as, create_user):
    admin = create_user("admin")
    victim = create_user("moderator")
    login_as(admin)
    listing = client.get("/admin/users").get_data(as_text=True)
    assert f'href="/admin/users/{victim.id}/deactivate"' in listing
    assert f'action="/admin/users/{victim.id}/deactivate"' not in listing
    ask = client.get(f"/admin/users/{victim.id}/deactivate")
    assert ask.status_code == 200
    assert victim.email in ask.get_data(as_text=True)
    db.session.refresh(victim)
    assert victim.active
    client.post(f"/admin/users/{victim.id}/deactivate")
    db.session.refresh(victim)
    assert not victim.active


def test_need_entry_names_field_problems_and_the_privacy_scan_together(
    client, login_as, create_user
):
    from tests.needs.test_pages import form_data

    login_as(create_user("moderator", region_prefix="2201"))
    data = form_data(
        title="",
        description="请联系户主，电话 13912345678。",
        amount="12,34",
        household_size="abc",
        deadline=(today() - timedelta(days=3)).isoformat(),
    )
    html = client.post("/mod/needs/new", data=data).get_data(as_text=True)
    errors = _errors(html)
    assert any("标题" in e for e in errors), errors
    assert any("千位分隔符" in e for e in errors), errors
    assert any("家庭人口" in e for e in errors), errors
    assert any("截止日期" in e for e in errors), errors
    assert any("电话" in e or "手机" in e for e in errors), errors
    assert "请联系户主，电话 13912345678。" in html  # typed text kept
    assert db.session.scalar(select(func.count(Need.id))) == 0


def test_deactivating_an_org_member_asks_first(
    client, login_as, create_org, create_user
):
    from tests.factories import org_admin_of

    org = create_org()
    member = create_user("org_member", org=org)
    login_as(org_admin_of(org))
    listing = client.get("/org/members").get_data(as_text=True)
    assert f'href="/org/members/{member.id}/deactivate"' in listing
    ask = client.get(f"/org/members/{member.id}/deactivate")
    assert ask.status_code == 200 and member.email in ask.get_data(as_text=True)
    db.session.refresh(member)
    assert member.active
    client.post(f"/org/members/{member.id}/deactivate")
    db.session.refresh(member)
    assert not member.active


def test_org_profile_names_the_contact_and_the_privacy_scan_together(
    client, login_as, create_org
):
    from tests.factories import org_admin_of

    org = create_org()
    login_as(org_admin_of(org))
    resp = client.post(
        "/org/profile",
        data={
            "description": "受助家庭户主电话 13912345678，欢迎联系。",
            "contact_phone": "",
            "contact_email": "bad",
        },
    )
    errors = _errors(resp.get_data(as_text=True))
    assert "请填写联系电话。" in errors
    assert any("邮箱" in e for e in errors), errors
    assert any("手机" in e or "电话" in e for e in errors if e != "请填写联系电话。")


def test_adding_a_member_names_every_problem_at_once(client, login_as, create_org):
    from tests.factories import org_admin_of

    org = create_org()
    login_as(org_admin_of(org))
    resp = client.post(
        "/org/members",
        data={"name": "", "email": "bad", "password": "short", "role": "admin"},
    )
    html = resp.get_data(as_text=True)
    errors = _errors(html)
    assert "请填写姓名。" in errors
    assert "邮箱格式不正确。" in errors
    assert any("密码" in e for e in errors), errors
    assert any("角色" in e for e in errors), errors
    assert _value(html, "email") == "bad"


def test_a_resubmission_names_every_problem_at_once(client, login_as, create_org):
    from charitylink.orgs.models import OrgStatus
    from tests.factories import org_admin_of

    taken = create_org()
    org = create_org(status=OrgStatus.REJECTED)
    login_as(org_admin_of(org))
    resp = client.post(
        "/org/resubmit",
        data={
            "name": taken.name,
            "uscc": "",
            "org_type": "foundation",
            "region_code": "220102",
            "description": "户主电话 13912345678",
            "contact_phone": "0431-88886666",
        },
    )
    errors = _errors(resp.get_data(as_text=True))
    assert resp.status_code == 422
    assert "请填写统一社会信用代码。" in errors
    assert "已有同名机构注册，请核对机构名称。" in errors
    assert any("手机" in e or "电话" in e for e in errors), errors
