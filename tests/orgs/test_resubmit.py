"""A rejected registration is corrected by the org's admin and goes back to the
moderator's queue: same accounts, a new review, every step audited."""

from __future__ import annotations

from charitylink.extensions import db
from charitylink.orgs.models import Organization
from tests.orgs.conftest import audit_rows, fresh_uscc


def _form(org: Organization, **overrides: str) -> dict[str, str]:
    data = {
        "name": org.name,
        "uscc": org.uscc,
        "org_type": str(org.org_type),
        "region_code": org.region_code,
        "description": org.description,
        "contact_name": "王老师",
        "contact_phone": "0431-88886666",
        "contact_email": "",
    }
    data.update(overrides)
    return data


def _rejected(people):  # type: ignore[no-untyped-def]
    p = people("rejected")
    p["org_a"].status_reason = "登记证书扫描件模糊，信用代码与证书不符。"
    db.session.commit()
    return p


def test_admin_corrects_and_resubmits_then_the_moderator_verifies(
    client, login_as, people
):
    p = _rejected(people)
    org = p["org_a"]
    login_as(p["admin_a"])
    profile = client.get("/org/profile").get_data(as_text=True)
    assert "修改并重新提交注册" in profile
    page = client.get("/org/resubmit").get_data(as_text=True)
    assert "登记证书扫描件模糊" in page  # the reason is shown beside the form

    new_code = fresh_uscc()
    resp = client.post(
        "/org/resubmit", data=_form(org, uscc=new_code.lower(), name="长春市更正基金会")
    )
    assert resp.status_code == 302
    db.session.refresh(org)
    assert org.status == "pending"
    assert org.status_reason is None
    assert org.uscc == new_code  # normalised to upper case
    assert org.name == "长春市更正基金会"
    (row,) = audit_rows("org.resubmit", org.id)
    assert (row.from_status, row.to_status) == ("rejected", "pending")
    assert row.actor_id == p["admin_a"].id
    assert "uscc" in (row.reason or "") and "name" in (row.reason or "")

    # Back in the moderator's queue, and verifiable as any registration.
    login_as(p["mod_in"])
    assert "长春市更正基金会" in client.get("/mod/orgs?status=pending").get_data(
        as_text=True
    )
    resp = client.post(f"/mod/orgs/{org.id}/verify")
    assert resp.status_code == 302
    db.session.refresh(org)
    assert org.status == "verified"


def test_resubmitting_unchanged_own_name_and_code_is_allowed(client, login_as, people):
    p = _rejected(people)
    login_as(p["admin_a"])
    resp = client.post("/org/resubmit", data=_form(p["org_a"]))
    assert resp.status_code == 302
    db.session.refresh(p["org_a"])
    assert p["org_a"].status == "pending"


def test_another_orgs_name_or_code_is_refused_and_nothing_changes(
    client, login_as, people
):
    p = _rejected(people)
    org, other = p["org_a"], p["org_b"]
    login_as(p["admin_a"])
    for field, value, message in (
        ("uscc", other.uscc, "该统一社会信用代码已被注册"),
        ("name", other.name, "已有同名机构注册"),
    ):
        resp = client.post("/org/resubmit", data=_form(org, **{field: value}))
        assert resp.status_code == 409, field
        assert message in resp.get_data(as_text=True)
        db.session.refresh(org)
        assert org.status == "rejected"
    assert audit_rows("org.resubmit", org.id) == []


def test_bad_fields_are_named_in_chinese(client, login_as, people):
    p = _rejected(people)
    login_as(p["admin_a"])
    resp = client.post(
        "/org/resubmit",
        data=_form(p["org_a"], uscc="12345", region_code="999999", org_type="x"),
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "所在地区应为有效的" in html
    assert "请选择机构类型" in html
    db.session.refresh(p["org_a"])
    assert p["org_a"].status == "rejected"


def test_only_a_rejected_org_and_only_its_admin(client, login_as, people):
    p = people("verified")
    login_as(p["admin_a"])
    resp = client.get("/org/resubmit")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/org/profile")
    before = p["org_a"].uscc
    resp = client.post("/org/resubmit", data=_form(p["org_a"], uscc=fresh_uscc()))
    assert resp.status_code == 302
    db.session.refresh(p["org_a"])
    assert (p["org_a"].status, p["org_a"].uscc) == ("verified", before)

    rejected = _rejected(people)
    login_as(rejected["member_a"])  # a member, not the admin
    assert client.post("/org/resubmit", data=_form(rejected["org_a"])).status_code in (
        403,
        404,
    )
    db.session.refresh(rejected["org_a"])
    assert rejected["org_a"].status == "rejected"


def test_service_refuses_a_pending_org(app, people):
    import pytest

    from charitylink.errors import InvalidTransition
    from charitylink.orgs import services

    p = people("pending")
    with pytest.raises(InvalidTransition):
        services.resubmit_org(p["org_a"], p["admin_a"], _form(p["org_a"]))
