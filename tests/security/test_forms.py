"""CSRF on every POST form, and mass assignment (ASVS 4.2.2, 5.1.2)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from charitylink.accounts.models import User
from charitylink.extensions import db
from charitylink.needs.models import Need
from charitylink.orgs.models import Organization
from charitylink.projects.models import Project
from tests.security.conftest import state_counts
from tests.security.routes import Caller, methods, rules, url_for_rule
from tests.security.test_access_matrix import EXPECT

HOSTILE = {
    "status": "verified",
    "role": "admin",
    "org_id": "999",
    "verified": "true",
    "region_prefix": "",
    "session_version": "99",
    "created_by_id": "1",
    "entered_by_id": "1",
}


# Form POSTs without CSRF on purpose: the one-click unsubscribe of RFC 8058 is
# posted by a mail program with no session; its signed token is the authority
# (tests/mail/test_unsubscribe.py: forged tokens change nothing).
CSRF_EXEMPT = {"mail.unsubscribe"}


class TestCsrf:
    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        return {**app_config, "WTF_CSRF_ENABLED": True}

    def test_every_form_post_without_a_token_is_refused(self, app, world, login_as):
        caller = Caller(app, world, login_as)
        wrong, seen = [], 0
        for rule in rules(app):
            if "POST" not in methods(rule) or rule.rule.startswith("/api/"):
                continue
            if rule.endpoint in CSRF_EXEMPT:
                continue
            allowed = EXPECT.get(rule.endpoint, {}).get("POST", frozenset())
            role = next(
                (r for r in ("admin_a", "member_a", "mod_in", "admin") if r in allowed),
                "public",
            )
            url = url_for_rule(app, rule, world)
            before = state_counts()
            resp = caller.request(role, "POST", url, data={"reason": "x", **HOSTILE})
            seen += 1
            if resp.status_code != 400 or state_counts() != before:
                wrong.append(f"{role} POST {url} → {resp.status_code}")
            elif "CSRF" not in resp.get_data(as_text=True):
                wrong.append(f"{role} POST {url}: no clear CSRF message")
        assert seen > 20
        assert not wrong, "\n".join(wrong)

    def test_api_uses_bearer_tokens_not_cookies(self, app, world, login_as):
        """The API is CSRF-exempt, so a session cookie must not authenticate it."""
        caller = Caller(app, world, login_as)
        c = caller.client("member_a")
        before = state_counts()
        resp = c.post(
            f"/api/v1/claims/{world.claim.id}/cancel", json={"reason": "forged"}
        )
        assert resp.status_code == 401
        assert state_counts() == before


# ---------------------------------------------------------------- mass assignment


def _registration(**extra: str) -> dict[str, str]:
    return {
        "name": "批量赋值测试基金会",
        "uscc": "91110000600037341L",
        "org_type": "foundation",
        "region_code": "220102",
        "contact_phone": "0431-88886666",
        "admin_name": "张测试",
        "admin_email": "mass@example.org",
        "admin_password": "a-long-password-1",
        "admin_password2": "a-long-password-1",
        **extra,
    }


def test_registration_page_ignores_status_role_and_org_id(app, client, create_org):
    other = create_org()
    resp = client.post("/register", data=_registration(**HOSTILE))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    org = db.session.scalar(
        select(Organization).where(Organization.name == "批量赋值测试基金会")
    )
    user = db.session.scalar(select(User).where(User.email == "mass@example.org"))
    assert org.status == "pending" and org.verified_at is None
    assert user.role == "org_admin" and user.org_id == org.id != other.id
    assert user.session_version == 1


def test_api_registration_ignores_status_role_and_org_id(app, client, create_org):
    other = create_org()
    resp = client.post(
        "/api/v1/orgs",
        json={
            "name": "接口批量赋值基金会",
            "uscc": "91110000600037341L",
            "org_type": "foundation",
            "region_code": "220102",
            "description": "",
            "status": "verified",
            "verified": True,
            "id": other.id,
            "admin": {
                "email": "mass-api@example.org",
                "password": "a-long-password-1",
                "name": "李测试",
                "role": "admin",
                "org_id": other.id,
                "region_prefix": "",
            },
        },
    )
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["status"] == "pending"
    user = db.session.scalar(select(User).where(User.email == "mass-api@example.org"))
    assert user.role == "org_admin" and user.org_id != other.id
    assert user.region_prefix is None


def test_org_profile_ignores_name_status_and_uscc(app, world, login_as):
    org = world.org_a
    name, uscc, status = org.name, org.uscc, org.status
    c = login_as(world.user("admin_a"), app.test_client())
    resp = c.post(
        "/org/profile",
        data={
            "description": "新的简介",
            "contact_phone": "0431-88880000",
            "name": "改名基金会",
            "uscc": "91110000600037341L",
            **{**HOSTILE, "status": "suspended"},
        },
    )
    assert resp.status_code in (200, 302)
    db.session.expire_all()
    org = db.session.get(Organization, org.id)
    assert (org.name, org.uscc, org.status) == (name, uscc, status)
    assert org.description == "新的简介"  # the offered field did change


def test_project_creation_ignores_status_and_org(app, world, api_token):
    headers = api_token(world.user("admin_a"))
    resp = app.test_client().post(
        "/api/v1/projects",
        headers=headers,
        json={
            "fund_id": world.fund_a.id,
            "title": "批量赋值测试项目",
            "summary": "简介",
            "body": "详情",
            "need_types": ["education"],
            "region_codes": ["220102"],
            "target_amount": 100_000,
            "status": "published",
            "org_id": world.org_b.id,
            "claimed_amount": 5,
        },
    )
    assert resp.status_code == 201, resp.get_json()
    project = db.session.get(Project, resp.get_json()["id"])
    assert project.status == "draft" and project.org_id == world.org_a.id
    assert project.published_at is None


def test_project_page_form_ignores_status_and_org(app, world, login_as):
    c = login_as(world.user("admin_a"), app.test_client())
    c.post(
        "/org/projects/new",
        data={
            "title": "页面批量赋值项目",
            "fund_id": str(world.fund_a.id),
            "summary": "简介",
            "body": "详情",
            "need_types": "education",
            "region_codes": "220102",
            "target_amount": "1000",
            **{**HOSTILE, "status": "published", "org_id": str(world.org_b.id)},
        },
    )
    project = db.session.scalar(
        select(Project).where(Project.title == "页面批量赋值项目")
    )
    assert project is not None
    assert project.status == "draft" and project.org_id == world.org_a.id


def test_need_creation_ignores_status_and_counters(app, world, api_token):
    from tests.factories import make_id_number

    headers = api_token(world.user("mod_in"))
    resp = app.test_client().post(
        "/api/v1/needs",
        headers=headers,
        json={
            "title": "批量赋值测试需求",
            "description": "家庭成员长期患病，医疗费用负担较重。",
            "category": "dibao",
            "need_type": "medical",
            "region_code": "220102",
            "household_size": 2,
            "gov_assistance": [],
            "amount": 300_000,
            "urgency": "normal",
            "household": {"name": "测试户", "id_number": make_id_number(777)},
            "status": "published",
            "claimed_amount": 300_000,
            "delivered_amount": 300_000,
            "entered_by_id": world.users["mod_out"].id,
            "code": "XQ-22-999999",
        },
    )
    assert resp.status_code == 201, resp.get_json()
    need = db.session.scalar(select(Need).where(Need.title == "批量赋值测试需求"))
    assert need.status == "draft" and need.published_at is None
    assert need.claimed_fen == 0 and need.delivered_fen == 0
    assert need.entered_by_id == world.users["mod_in"].id
    assert need.code != "XQ-22-999999"


def test_fund_creation_ignores_org_and_balances(app, world, api_token):
    from charitylink.funds.models import Fund

    headers = api_token(world.user("admin_a"))
    resp = app.test_client().post(
        "/api/v1/funds",
        headers=headers,
        json={
            "name": "批量赋值测试基金",
            "kind": "named",
            "donor_name": "某某企业",
            "org_id": world.org_b.id,
            "donations_total": 10**9,
            "available": 10**9,
        },
    )
    assert resp.status_code == 201, resp.get_json()
    fund = db.session.get(Fund, resp.get_json()["id"])
    assert fund.org_id == world.org_a.id
    assert fund.donations_fen == 0 and fund.available_fen == 0
