"""Every text an organization publishes goes through the privacy guard
(penetration test, finding 4): project title, summary, body and progress
updates, the org's description (registration, resubmission, profile), fund
names, naming donors and descriptions, donors' names. Each is refused on its
page (next to the field) and in the API (422 with ``fields``), nothing is
saved, and the names of households whose needs the org claimed are refused
too. The org's own contact phone and e-mail are allowed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from charitylink.claims import services as claims
from charitylink.extensions import db
from charitylink.funds.models import Fund, LedgerEntry
from charitylink.orgs.models import Organization, OrgStatus
from charitylink.projects.models import Project, ProjectStatus, ProjectUpdate
from tests.factories import org_admin_of
from tests.orgs.conftest import api_registration, registration
from tests.projects.conftest import project_payload

HOUSEHOLD = "欧阳金丝"
PHONE = "13912345678"
ID_NUMBER = "11010519491231002X"

# What staff wrote after seeing a household's contact, and its disguises.
LEAKS = [
    pytest.param(f"感谢{HOUSEHOLD}一家的信任", "姓名「欧阳金丝」", id="name"),
    pytest.param("感谢歐陽金絲一家", "姓名「歐陽金絲」", id="traditional-name"),
    pytest.param("感谢欧·阳金丝一家", "姓名「欧·阳金丝」", id="dotted-name"),
    pytest.param(f"回访电话 {PHONE}", "手机号码「139****5678」", id="phone"),
    pytest.param("回访电话一三九一二三四五六七八", "139****5678", id="cn-phone"),
    pytest.param(f"身份证 {ID_NUMBER}", "身份证号码「110105…002X」", id="id"),
]


def _count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def scene(create_org, create_fund, create_project, create_need, create_user):  # type: ignore[no-untyped-def]
    """A verified org with a fund and a published project, under which it
    claimed the need of the household 欧阳金丝 (and saw its contact)."""
    org = create_org(contact_phone="0431-88886666", contact_email="info@aixin.org")
    admin = org_admin_of(org)
    fund = create_fund(org=org, donations_fen=10_000_000)
    project = create_project(fund=fund)
    need = create_need(
        household={"name": HOUSEHOLD, "phone": PHONE},
        consent_share_contact=True,
    )
    claims.claim_need(need, admin, fund, need.amount_fen, project=project)
    db.session.commit()
    return {"org": org, "admin": admin, "fund": fund, "project": project}


# ---------------------------------------------------------------- progress


@pytest.mark.parametrize(("text", "quoted"), LEAKS)
def test_progress_update_with_household_data_is_refused_on_the_page(
    client, login_as, scene, text, quoted
):
    login_as(scene["admin"])
    project = scene["project"]
    resp = client.post(f"/org/projects/{project.id}/updates", data={"body": text})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "进展内容：" in html and quoted in html
    assert 'class="field has-error"' in html  # next to the field
    assert _count(ProjectUpdate) == 0
    assert (
        client.get(f"/projects/{project.id}").get_data(as_text=True).count(HOUSEHOLD)
        == 0
    )


def test_clean_progress_update_and_the_orgs_own_phone_are_published(
    client, login_as, scene
):
    login_as(scene["admin"])
    project = scene["project"]
    body = "本季度资助 12 名学生，发放助学金 ¥60,000。咨询请致电本机构 0431-88886666。"
    resp = client.post(f"/org/projects/{project.id}/updates", data={"body": body})
    assert resp.status_code == 302
    assert "0431-88886666" in client.get(f"/projects/{project.id}").get_data(
        as_text=True
    )


# ---------------------------------------------------------------- projects


@pytest.mark.parametrize("key", ["title", "summary", "body"])
def test_project_api_refuses_personal_data_in_each_public_field(
    client, api_token, scene, key
):
    payload = project_payload(scene["fund"].id, **{key: f"受助人 {HOUSEHOLD}"})
    headers = api_token(scene["admin"])
    before = _count(Project)
    resp = client.post("/api/v1/projects", json=payload, headers=headers)
    assert resp.status_code == 422
    fields = resp.get_json()["error"]["fields"]
    assert list(fields) == [key] and "姓名「欧阳金丝」" in fields[key]
    assert _count(Project) == before
    # Editing a project is checked the same way, with this project's claims.
    draft = client.post(
        "/api/v1/projects", json=project_payload(scene["fund"].id), headers=headers
    )
    assert draft.status_code == 201
    resp = client.post(
        f"/api/v1/projects/{draft.get_json()['id']}", json=payload, headers=headers
    )
    assert resp.status_code == 422 and key in resp.get_json()["error"]["fields"]


def test_project_phone_split_between_title_and_summary_is_refused(
    client, api_token, scene
):
    payload = project_payload(
        scene["fund"].id, title="助学项目 联系139 1234", summary="5678 谢谢"
    )
    resp = client.post(
        "/api/v1/projects", json=payload, headers=api_token(scene["admin"])
    )
    assert resp.status_code == 422
    fields = resp.get_json()["error"]["fields"]
    assert set(fields) == {"title", "summary"}
    assert "139****5678" in fields["title"]


def test_project_form_shows_the_refusal_next_to_the_field(client, login_as, scene):
    login_as(scene["admin"])
    data = project_payload(scene["fund"].id, body=f"回访电话 {PHONE}")
    data["fund_id"] = str(data["fund_id"])
    data["target_amount"] = "100000"
    data["region_codes"] = "220102"
    resp = client.post("/org/projects/new", data=data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "项目详情：包含手机号码「139****5678」" in html
    assert 'class="field has-error"' in html


def test_text_saved_before_the_guard_is_caught_at_submit_and_approval(
    client, api_token, create_user, scene
):
    project = scene["project"]
    project.status = ProjectStatus.DRAFT
    project.body = f"受助人{HOUSEHOLD}，电话{PHONE}"
    db.session.commit()
    resp = client.post(
        f"/api/v1/projects/{project.id}/submit", headers=api_token(scene["admin"])
    )
    assert resp.status_code == 422 and "body" in resp.get_json()["error"]["fields"]
    project.status = ProjectStatus.SUBMITTED
    db.session.commit()
    mod = create_user("moderator", region_prefix="22")
    resp = client.post(f"/api/v1/projects/{project.id}/approve", headers=api_token(mod))
    assert resp.status_code == 422
    db.session.refresh(project)
    assert project.status == ProjectStatus.SUBMITTED


# ---------------------------------------------------------------- orgs


def test_registration_page_refuses_a_phone_in_the_description(client):
    data = registration(description=f"负责人手机 {PHONE}")
    resp = client.post("/register", data=data)
    html = resp.get_data(as_text=True)
    assert "机构简介：包含手机号码「139****5678」" in html
    assert 'class="field has-error"' in html
    assert (
        db.session.scalar(select(Organization).where(Organization.name == data["name"]))
        is None
    )


def test_registration_accepts_the_orgs_own_contact_phone_in_its_description(client):
    data = registration(
        description="咨询热线 0431 8888 6666", contact_phone="0431-88886666"
    )
    assert client.post("/register", data=data).status_code == 302


def test_registration_api_refuses_disguised_numbers_in_the_description(client):
    body = api_registration(description="联系 QQ：12345678，微信：zhang_san88")
    resp = client.post("/api/v1/orgs", json=body)
    assert resp.status_code == 422
    message = resp.get_json()["error"]["fields"]["description"]
    assert "QQ号" in message and "微信号" in message


@pytest.mark.parametrize(("text", "quoted"), LEAKS)
def test_profile_description_refuses_household_data(
    client, login_as, scene, text, quoted
):
    org = scene["org"]
    login_as(scene["admin"])
    data = {
        "description": text,
        "contact_name": "王老师",
        "contact_phone": org.contact_phone,
        "contact_email": org.contact_email,
    }
    html = client.post("/org/profile", data=data).get_data(as_text=True)
    assert "机构简介：" in html and quoted in html
    db.session.refresh(org)
    assert org.description == "一家测试用的慈善组织。"


def test_profile_description_may_carry_the_orgs_own_contacts(client, login_as, scene):
    org = scene["org"]
    login_as(scene["admin"])
    data = {
        "description": "热线 0431-88886666，新手机 13700001111，邮箱 info@aixin.org",
        "contact_name": "王老师",
        "contact_phone": "13700001111",
        "contact_email": org.contact_email,
    }
    assert client.post("/org/profile", data=data).status_code == 302
    db.session.refresh(org)
    assert org.description.startswith("热线")


def test_resubmission_refuses_a_phone_in_the_description(client, login_as, scene):
    org = scene["org"]
    org.status = OrgStatus.REJECTED
    db.session.commit()
    login_as(scene["admin"])
    data = {
        "name": org.name,
        "uscc": org.uscc,
        "org_type": str(org.org_type),
        "region_code": org.region_code,
        "description": f"受助人 {HOUSEHOLD} 已回访",
        "contact_name": "王老师",
        "contact_phone": "0431-88886666",
        "contact_email": "",
    }
    resp = client.post("/org/resubmit", data=data)
    assert resp.status_code == 422
    assert "姓名「欧阳金丝」" in resp.get_data(as_text=True)
    db.session.refresh(org)
    assert org.status == OrgStatus.REJECTED


# ---------------------------------------------------------------- funds


@pytest.mark.parametrize("key", ["name", "donor_name", "description"])
def test_fund_api_refuses_personal_data_in_each_public_field(
    client, api_token, scene, key
):
    payload = {"name": "助学冠名基金", "kind": "named", "donor_name": "某某集团"}
    payload[key] = f"{payload.get(key, '')}{HOUSEHOLD}专用"
    before = _count(Fund)
    resp = client.post("/api/v1/funds", json=payload, headers=api_token(scene["admin"]))
    assert resp.status_code == 422
    assert "姓名「欧阳金丝」" in resp.get_json()["error"]["fields"][key]
    assert _count(Fund) == before


def test_fund_form_shows_the_refusal_next_to_the_field(client, login_as, scene):
    login_as(scene["admin"])
    data = {
        "name": "助学冠名基金",
        "kind": "named",
        "donor_name": "某某集团",
        "description": "受助人电话 139.1234.5678",
    }
    resp = client.post("/org/funds/new", data=data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "基金说明：包含手机号码「139****5678」" in html
    assert 'class="field has-error"' in html


def test_donor_name_is_scanned_on_the_page_and_the_api(
    client, login_as, api_token, scene
):
    fund = scene["fund"]
    before = _count(LedgerEntry)
    resp = client.post(
        f"/api/v1/funds/{fund.id}/donations",
        json={"amount": 10_000, "donor_name": f"{HOUSEHOLD}的邻居"},
        headers=api_token(scene["admin"]),
    )
    assert resp.status_code == 422
    assert "donor_name" in resp.get_json()["error"]["fields"]
    login_as(scene["admin"])
    resp = client.post(
        f"/org/funds/{fund.id}/donations",
        data={"amount": "100", "donor": f"张先生 {ID_NUMBER}"},
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "捐赠人：包含身份证号码" in html and 'class="field has-error"' in html
    assert _count(LedgerEntry) == before
    ok = client.post(
        f"/org/funds/{fund.id}/donations", data={"amount": "100", "donor": "张先生"}
    )
    assert ok.status_code == 302


# ---------------------------------------------------------------- old text


def test_rescan_command_finds_text_saved_before_the_guard(runner, scene):
    clean = runner.invoke(args=["scan-public-text"])
    assert clean.exit_code == 0 and "未发现" in clean.output
    project = scene["project"]
    db.session.add(
        ProjectUpdate(project_id=project.id, body=f"感谢{HOUSEHOLD}，电话{PHONE}")
    )
    scene["fund"].description = "受助人电话 139.1234.5678"
    db.session.commit()
    result = runner.invoke(args=["scan-public-text"])
    assert result.exit_code == 1
    update_id = db.session.scalar(select(ProjectUpdate.id))
    assert f"项目进展 #{update_id} body：" in result.output
    assert f"基金 #{scene['fund'].id} description：" in result.output
    # It says what was found, never the data itself.
    assert HOUSEHOLD not in result.output and "5678" not in result.output
