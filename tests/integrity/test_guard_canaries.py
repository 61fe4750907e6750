"""The privacy guard's newer disguises through the real forms and the API, on
every field it scans: a project body, a progress update, the org description,
a fund name and the delivery note. Each refusal names the field and quotes the
offending text (numbers masked); the org's own phone stays allowed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from charitylink.claims import services as claims
from charitylink.core.timeutil import today
from charitylink.extensions import db
from tests.factories import org_admin_of
from tests.projects.conftest import project_payload

HOUSEHOLD = "欧阳金丝"

# Each disguise and what the refusal calls it (the numbers differ, so the
# refusal lists each one).
DISGUISES = [
    ("联系电话一三八两二三四五六七八", "138****5678"),
    ("联系电话１３７　１２３４　５６７８", "137****5678"),
    ("联系 1-3-6-1-2-3-4-5-6-7-8", "136****5678"),
    ("联系1\u200b3\u200b5\u200b12345678", "135****5678"),
    ("QQ 1 2 3 4 5 6 7 8 9", "QQ号"),
    ("加微 信 abc12345", "微信号"),
    ("感谢欧*阳*金*丝一家", "姓名「欧*阳*金*丝」"),
]


@pytest.fixture
def scene(create_org, create_fund, create_project, create_need):  # type: ignore[no-untyped-def]
    org = create_org(contact_phone="0431-88886666", contact_email="info@aixin.org")
    admin = org_admin_of(org)
    fund = create_fund(org=org, donations_fen=10_000_000)
    project = create_project(fund=fund)
    need = create_need(household={"name": HOUSEHOLD}, consent_share_contact=True)
    claim = claims.claim_need(need, admin, fund, need.amount_fen, project=project)
    db.session.commit()
    return {
        "org": org,
        "admin": admin,
        "fund": fund,
        "project": project,
        "claim": claim,
    }


def test_project_body_api_refuses_every_disguise_in_one_answer(
    client, api_token, scene
):  # type: ignore[no-untyped-def]
    body = "项目介绍。" + "。项目进展顺利。".join(text for text, _what in DISGUISES)
    payload = project_payload(scene["fund"].id, body=body)
    resp = client.post(
        "/api/v1/projects", json=payload, headers=api_token(scene["admin"])
    )
    assert resp.status_code == 422
    fields = resp.get_json()["error"]["fields"]
    assert list(fields) == ["body"] and fields["body"].startswith("项目详情：")
    for text, what in DISGUISES:
        assert what in fields["body"], text
    assert "12345678" not in fields["body"]  # numbers are masked


def test_project_body_page_names_the_field(client, login_as, scene):  # type: ignore[no-untyped-def]
    login_as(scene["admin"])
    data = project_payload(scene["fund"].id, body="联系电话一三八两二三四五六七八")
    data["fund_id"] = str(data["fund_id"])
    data["target_amount"] = "100000"
    data["region_codes"] = "220102"
    resp = client.post("/org/projects/new", data=data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'class="field has-error"' in html
    assert "项目详情：包含手机号码「138****5678」" in html


def test_progress_update_refuses_qq_and_allows_the_orgs_phone(client, login_as, scene):  # type: ignore[no-untyped-def]
    login_as(scene["admin"])
    url = f"/org/projects/{scene['project'].id}/updates"
    resp = client.post(url, data={"body": "本月走访完成，QQ 1 2 3 4 5 6 7 8 9"})
    assert resp.status_code == 422 and "进展内容：" in resp.get_data(as_text=True)
    ok = client.post(url, data={"body": "咨询热线 ０４３１－８８８８６６６６"})
    assert ok.status_code == 302


def test_org_description_refuses_wechat_allows_own_phone(client, login_as, scene):  # type: ignore[no-untyped-def]
    org = scene["org"]
    login_as(scene["admin"])
    data = {
        "description": "欢迎加微 信 abc12345 咨询",
        "contact_name": "王老师",
        "contact_phone": org.contact_phone,
        "contact_email": org.contact_email,
    }
    html = client.post("/org/profile", data=data).get_data(as_text=True)
    assert "机构简介：" in html and "微信号" in html
    data["description"] = "机构热线 0431 8888 6666"
    assert client.post("/org/profile", data=data).status_code == 302


def test_fund_name_refuses_a_name_with_separators(client, api_token, scene):  # type: ignore[no-untyped-def]
    payload = {"name": "欧-阳-金-丝助学基金", "kind": "named", "donor_name": "某集团"}
    resp = client.post("/api/v1/funds", json=payload, headers=api_token(scene["admin"]))
    assert resp.status_code == 422
    assert "姓名「欧-阳-金-丝」" in resp.get_json()["error"]["fields"]["name"]


def test_delivery_note_refuses_the_households_name(client, api_token, scene):  # type: ignore[no-untyped-def]
    claim = scene["claim"]
    body = {
        "delivered_amount": claim.amount_fen,
        "delivered_on": (today() - timedelta(days=1)).isoformat(),
        "method": "cash",
        "note": "已当面交给欧阳 金丝本人",
    }
    headers = api_token(scene["admin"])
    resp = client.post(f"/api/v1/claims/{claim.id}/deliver", json=body, headers=headers)
    assert resp.status_code == 422
    assert "交付说明：" in resp.get_json()["error"]["fields"]["note"]
    body["note"] = "已转账，机构热线 0431-88886666"
    resp = client.post(f"/api/v1/claims/{claim.id}/deliver", json=body, headers=headers)
    assert resp.status_code == 200, resp.get_json()
