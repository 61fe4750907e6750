"""Org pages: registration form, public directory, work area, moderator review."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from charitylink.accounts.models import User
from charitylink.extensions import db
from charitylink.orgs.models import Organization, OrgStatus
from tests.factories import org_admin_of
from tests.orgs.conftest import audit_rows, registration, uscc


def _org_named(name: str) -> Organization | None:
    return db.session.scalar(select(Organization).where(Organization.name == name))


# ------------------------------------------------------------ /register


def test_register_page_renders_region_and_type_choices(client):
    html = client.get("/register").get_data(as_text=True)
    assert "统一社会信用代码" in html and "基金会" in html
    assert 'value="220102"' in html and "南关区" in html


def test_register_form_creates_pending_org_and_redirects_to_login(client):
    data = registration()
    resp = client.post("/register", data=data)
    assert resp.status_code == 302 and resp.location.endswith("/login")
    org = _org_named(data["name"])
    assert org.status == OrgStatus.PENDING
    assert org_admin_of(org).email == data["admin_email"]
    assert audit_rows("org.register", org.id)
    follow = client.get("/login").get_data(as_text=True)
    assert "等待所在地民政部门审核" in follow


VALID = uscc("53220100MJ0000777")
USCC_CASES = [
    (VALID[:17] + ("0" if VALID[17] != "0" else "1"), "校验位错误"),
    (VALID[:-1], "长度应为18位，当前为17位"),
    (VALID + "1", "长度应为18位，当前为19位"),
    (VALID[:15] + "I" + VALID[16:], "不允许的字符「I」"),
    (VALID[:15] + "O" + VALID[16:], "不允许的字符「O」"),
    (VALID[:15] + "S" + VALID[16:], "不允许的字符「S」"),
    (VALID[:15] + "V" + VALID[16:], "不允许的字符「V」"),
    (VALID[:15] + "Z" + VALID[16:], "不允许的字符「Z」"),
]


@pytest.mark.parametrize(("code", "message"), USCC_CASES)
def test_register_form_shows_credit_code_problem_on_the_field(client, code, message):
    data = registration(uscc=code)
    resp = client.post("/register", data=data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert message in html
    assert 'class="field has-error"' in html
    assert _org_named(data["name"]) is None


def test_register_form_accepts_lowercase_code_with_spaces(client):
    data = registration(uscc=" " + VALID.lower()[:9] + " " + VALID.lower()[9:])
    assert client.post("/register", data=data).status_code == 302
    assert _org_named(data["name"]).uscc == VALID


def test_register_form_refuses_duplicates_with_clear_messages(client, create_org):
    existing = create_org()
    data = registration(name=existing.name)
    html = client.post("/register", data=data).get_data(as_text=True)
    assert "已有同名机构注册" in html
    data = registration(uscc=existing.uscc)
    html = client.post("/register", data=data).get_data(as_text=True)
    assert "该统一社会信用代码已被注册" in html
    assert (
        db.session.scalar(select(db.func.count()).select_from(Organization)) == 1 + 0
    )  # only ``existing``


def test_register_form_answers_the_same_for_a_taken_admin_email(client, create_user):
    """No account enumeration (pen-test finding 9d): the same redirect and the
    same message as for a new e-mail; nothing is created."""
    fresh = client.post("/register", data=registration(), follow_redirects=True)
    user = create_user("moderator")
    data = registration(admin_email=user.email)
    taken = client.post("/register", data=data, follow_redirects=True)
    assert taken.status_code == fresh.status_code == 200
    assert taken.request.path == fresh.request.path == "/login"

    def flashes(resp):  # type: ignore[no-untyped-def]
        return re.findall(
            r'<p class="flash[^"]*">([^<]*)</p>', resp.get_data(as_text=True)
        )

    assert flashes(taken) == flashes(fresh) != []
    assert "已注册" not in taken.get_data(as_text=True).replace(
        "如果该邮箱此前已注册过账号", ""
    )
    assert _org_named(data["name"]) is None


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"name": ""}, "请填写机构名称。"),
        ({"org_type": ""}, "请选择机构类型"),
        ({"org_type": "company"}, "请选择机构类型"),
        ({"region_code": ""}, "请选择所在地区。"),
        ({"region_code": "999999"}, "有效的省、市或区县"),
        ({"contact_phone": ""}, "请填写联系电话。"),
        ({"contact_phone": "12345"}, "有效的手机号码"),
        ({"contact_email": "nope"}, "联系邮箱格式不正确。"),
        ({"admin_email": "nope"}, "邮箱格式不正确。"),
        ({"admin_name": ""}, "请填写管理员姓名。"),
        (
            {"admin_password": "short", "admin_password2": "short"},
            "密码至少需要 10 个字符。",
        ),
        (
            {"admin_password": "password123", "admin_password2": "password123"},
            "这个密码太常见",
        ),
        ({"admin_password2": "different-secret"}, "两次输入的密码不一致。"),
        ({"name": "名" * 101}, "不能超过 100 个字符。"),
        ({"description": "长" * 2001}, "不能超过 2000 个字符。"),
    ],
)
def test_register_form_bad_input_gets_chinese_message(client, override, message):
    data = registration(**override)
    resp = client.post("/register", data=data)
    assert resp.status_code == 200
    assert message in resp.get_data(as_text=True)
    assert db.session.scalar(select(Organization.id)) is None


def test_register_form_with_garbage_fields_never_500(client):
    data = registration(name="\u200b\u200d", uscc="\u200b" * 5, region_code="x" * 5000)
    resp = client.post("/register", data=data)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "请填写机构名称。" in html and "请输入统一社会信用代码" in html
    assert "所在地区应为有效的" in html
    assert db.session.scalar(select(Organization.id)) is None


# ------------------------------------------------------------ public pages


def test_public_list_shows_verified_orgs_only_with_filters(client, create_org):
    jl = create_org(region_code="220102", org_type="foundation")
    gs = create_org(region_code="620102", org_type="social_group")
    pending = create_org(status="pending")
    suspended = create_org(status="suspended")
    html = client.get("/orgs").get_data(as_text=True)
    assert jl.name in html and gs.name in html
    assert pending.name not in html and suspended.name not in html
    html = client.get("/orgs?region=220000").get_data(as_text=True)
    assert jl.name in html and gs.name not in html
    html = client.get("/orgs?type=social_group").get_data(as_text=True)
    assert gs.name in html and jl.name not in html
    assert client.get("/orgs?region=abc&type=<x>&page=-3").status_code == 200


def test_public_list_pages(client, create_org):
    for _ in range(21):
        create_org(with_admin=False)
    html = client.get("/orgs").get_data(as_text=True)
    assert "第 1 / 2 页" in html and 'rel="next"' in html
    assert "第 2 / 2 页" in client.get("/orgs?page=2").get_data(as_text=True)


def test_public_detail_shows_profile_funds_and_projects(
    client, create_org, create_fund, create_project
):
    org = create_org(description="服务长春困境儿童")
    fund = create_fund(org, donations_fen=123_456)
    create_project(fund, title="助学项目甲")
    create_project(fund, title="草稿项目乙", status="draft")
    html = client.get(f"/orgs/{org.id}").get_data(as_text=True)
    assert org.name in html and "服务长春困境儿童" in html and org.uscc in html
    assert f'href="/funds/{fund.id}"' in html and "¥1,234.56" in html
    assert "助学项目甲" in html and "草稿项目乙" not in html


@pytest.mark.parametrize("status", ["pending", "rejected", "suspended"])
def test_unverified_org_page_is_404_for_the_public(client, create_org, status):
    org = create_org(status=status)
    resp = client.get(f"/orgs/{org.id}")
    assert resp.status_code == 404
    assert org.name not in resp.get_data(as_text=True)


def test_pending_org_page_visible_to_its_staff_and_region_moderator(
    client, login_as, people
):
    p = people("pending")
    url = f"/orgs/{p['org_a'].id}"
    for who, status in [
        ("member_a", 200),
        ("admin_a", 200),
        ("admin_b", 404),
        ("mod_in", 200),
        ("mod_out", 404),
        ("admin", 200),
    ]:
        login_as(p[who])
        assert client.get(url).status_code == status, who


# ------------------------------------------------------------ org work area


def test_org_admin_edits_profile(client, login_as, create_org):
    org = create_org()
    login_as(org_admin_of(org))
    assert "机构资料" in client.get("/org/profile").get_data(as_text=True)
    resp = client.post(
        "/org/profile",
        data={
            "description": "更新后的简介",
            "contact_name": "赵",
            "contact_phone": "13800001111",
            "contact_email": "",
        },
    )
    assert resp.status_code == 302
    assert db.session.get(Organization, org.id).description == "更新后的简介"
    assert audit_rows("org.update_profile", org.id)


def test_profile_bad_phone_is_shown_and_changes_nothing(client, login_as, create_org):
    org = create_org()
    login_as(org_admin_of(org))
    html = client.post(
        "/org/profile", data={"description": "改了", "contact_phone": "abc"}
    ).get_data(as_text=True)
    assert "有效的手机号码" in html
    assert db.session.get(Organization, org.id).description != "改了"


def test_org_admin_adds_and_deactivates_member(client, login_as, create_org):
    org = create_org()
    login_as(org_admin_of(org))
    resp = client.post(
        "/org/members",
        data={
            "name": "小李",
            "email": "li@example.org",
            "password": "member-secret-pw",
            "role": "org_member",
        },
    )
    assert resp.status_code == 302
    member = db.session.scalar(select(User).where(User.email == "li@example.org"))
    assert member.org_id == org.id and member.role == "org_member"
    assert "li@example.org" in client.get("/org/members").get_data(as_text=True)
    resp = client.post(f"/org/members/{member.id}/deactivate")
    assert resp.status_code == 302
    db.session.refresh(member)
    assert not member.active


def test_add_member_bad_input_shows_messages(client, login_as, create_org):
    org = create_org()
    login_as(org_admin_of(org))
    html = client.post(
        "/org/members",
        data={"name": "", "email": "bad", "password": "short", "role": "admin"},
    ).get_data(as_text=True)
    assert "请填写姓名。" in html
    html = client.post(
        "/org/members",
        data={"name": "x", "email": "bad", "password": "short", "role": "admin"},
    ).get_data(as_text=True)
    assert "角色只能是机构成员或机构管理员。" in html


def test_org_admin_cannot_deactivate_self_or_other_orgs_member(
    client, login_as, create_org, create_user
):
    org_a, org_b = create_org(), create_org()
    admin_a = org_admin_of(org_a)
    login_as(admin_a)
    client.post(f"/org/members/{admin_a.id}/deactivate")
    assert db.session.get(User, admin_a.id).active
    assert "不能停用自己的账号" in client.get("/org/members").get_data(as_text=True)
    other = create_user("org_member", org=org_b)
    assert client.post(f"/org/members/{other.id}/deactivate").status_code == 404
    db.session.refresh(other)
    assert other.active


# ------------------------------------------------------------ moderators


def test_queue_lists_region_orgs_pending_first(client, login_as, create_org, people):
    p = people("pending")
    far = create_org(status="pending", region_code="620102")
    login_as(p["mod_in"])
    html = client.get("/mod/orgs").get_data(as_text=True)
    assert p["org_a"].name in html and far.name not in html
    assert html.index(p["org_a"].name) < html.index(p["org_b"].name)
    html = client.get("/mod/orgs?status=verified").get_data(as_text=True)
    assert p["org_a"].name not in html and p["org_b"].name in html


def test_review_page_warns_about_non_civil_affairs_code(client, login_as, people):
    p = people("pending")
    org = p["org_a"]
    org.uscc = uscc("91220100MA0000009")
    db.session.commit()
    login_as(p["mod_in"])
    html = client.get(f"/mod/orgs/{org.id}").get_data(as_text=True)
    assert "不是民政部门登记的社会组织代码" in html
    assert "通过认证" in html


def test_moderator_verifies_then_suspends_then_reinstates(client, login_as, people):
    p = people("pending")
    org = p["org_a"]
    login_as(p["mod_in"])
    resp = client.post(f"/mod/orgs/{org.id}/verify", follow_redirects=True)
    assert "机构已通过认证。" in resp.get_data(as_text=True)
    assert db.session.get(Organization, org.id).status == "verified"
    resp = client.post(
        f"/mod/orgs/{org.id}/suspend", data={"suspend-reason": "年检未通过"}
    )
    assert resp.status_code == 302
    db.session.refresh(org)
    assert org.status == "suspended" and org.status_reason == "年检未通过"
    client.post(f"/mod/orgs/{org.id}/reinstate")
    db.session.refresh(org)
    assert org.status == "verified"
    assert [e.action for e in audit_rows("org.suspend", org.id)] == ["org.suspend"]


def test_reject_without_reason_is_refused_with_message(client, login_as, people):
    p = people("pending")
    login_as(p["mod_in"])
    resp = client.post(f"/mod/orgs/{p['org_a'].id}/reject", data={"reject-reason": ""})
    assert resp.status_code == 422
    assert "请填写原因。" in resp.get_data(as_text=True)
    assert db.session.get(Organization, p["org_a"].id).status == "pending"
    resp = client.post(
        f"/mod/orgs/{p['org_a'].id}/reject", data={"reject-reason": "证书模糊"}
    )
    assert resp.status_code == 302
    db.session.refresh(p["org_a"])
    assert p["org_a"].status == "rejected"


def test_invalid_transition_on_page_is_flashed_and_changes_nothing(
    client, login_as, people
):
    p = people("verified")
    login_as(p["mod_in"])
    resp = client.post(f"/mod/orgs/{p['org_a'].id}/verify", follow_redirects=True)
    assert "不能改为「已认证」" in resp.get_data(as_text=True)
    assert audit_rows("org.verify", p["org_a"].id) == []


@pytest.mark.parametrize(
    ("who", "page_status", "post_status"),
    [
        ("public", 302, 302),
        ("member_a", 403, 403),
        ("admin_a", 403, 403),
        ("admin_b", 403, 403),
        ("mod_in", 200, 302),
        ("mod_out", 404, 404),
        ("admin", 200, 302),
    ],
)
def test_review_access_matrix(client, login_as, people, who, page_status, post_status):
    p = people("pending")
    org = p["org_a"]
    if p[who] is not None:
        login_as(p[who])
    assert client.get(f"/mod/orgs/{org.id}").status_code == page_status
    assert client.post(f"/mod/orgs/{org.id}/verify").status_code == post_status
    expected = "verified" if post_status == 302 and who != "public" else "pending"
    assert db.session.get(Organization, org.id).status == expected


@pytest.mark.parametrize(
    ("who", "profile", "members_page", "queue"),
    [
        ("public", 302, 302, 302),
        ("member_a", 403, 403, 403),
        ("admin_a", 200, 200, 403),
        ("mod_in", 403, 403, 200),
        ("admin", 403, 403, 200),
    ],
)
def test_work_area_access_matrix(
    client, login_as, people, who, profile, members_page, queue
):
    p = people()
    if p[who] is not None:
        login_as(p[who])
    assert client.get("/org/profile").status_code == profile
    assert client.get("/org/members").status_code == members_page
    assert client.get("/mod/orgs").status_code == queue


def test_member_cannot_post_to_members(client, login_as, people):
    p = people()
    login_as(p["member_a"])
    resp = client.post(
        "/org/members",
        data={"name": "x", "email": "x@example.org", "password": "long-enough-pw"},
    )
    assert resp.status_code == 403
    assert db.session.scalar(select(User).where(User.email == "x@example.org")) is None


def test_unknown_org_ids_are_404(client, login_as, create_user):
    assert client.get("/orgs/99999").status_code == 404
    login_as(create_user("admin"))
    assert client.get("/mod/orgs/99999").status_code == 404
    assert client.post("/mod/orgs/99999/verify").status_code == 404
    assert client.post("/mod/orgs/1/explode").status_code == 404


def test_org_home_shows_status_and_admin_links(
    client, login_as, create_org, create_user
):
    org = create_org(status="suspended", status_reason="年检未通过")
    login_as(org_admin_of(org))
    html = client.get("/org").get_data(as_text=True)
    assert "已暂停" in html and "年检未通过" in html
    assert 'href="/org/members"' in html and 'href="/org/profile"' in html
    login_as(create_user("org_member", org=org))
    html = client.get("/org").get_data(as_text=True)
    assert 'href="/org/members"' not in html


def test_mod_home_links(client, login_as, create_user):
    login_as(create_user("moderator"))
    html = client.get("/mod").get_data(as_text=True)
    assert 'href="/mod/orgs"' in html and 'href="/mod/audit"' in html
    assert 'href="/admin/users"' not in html
    login_as(create_user("admin"))
    assert 'href="/admin/users"' in client.get("/mod").get_data(as_text=True)
