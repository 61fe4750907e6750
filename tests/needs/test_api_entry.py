"""POST /api/v1/needs: both halves checked, private half encrypted, never echoed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from charitylink.core.audit import AuditEvent
from charitylink.extensions import db
from charitylink.needs.models import Need, NeedStatus
from tests.needs.conftest import (
    CANARY_ADDRESS,
    CANARY_ID,
    CANARY_NAME,
    CANARY_NOTES,
    CANARY_PHONE,
    valid_input,
)


def post(client, headers, data):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/needs", json=data, headers=headers)


def test_moderator_creates_draft_need_with_masked_household(
    client, api_token, moderator
):
    resp = post(client, api_token(moderator), valid_input())
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "draft"
    assert body["code"] == "XQ-22-000001"
    assert body["amount"] == 320_000
    assert body["age_band"] in ("70–79", "60–69")
    raw = resp.get_data(as_text=True)
    for secret in (CANARY_NAME, CANARY_ID, CANARY_PHONE, CANARY_ADDRESS, CANARY_NOTES):
        assert secret not in raw
    assert body["household"]["id_number"] == CANARY_ID[:6] + "********" + CANARY_ID[-4:]
    assert body["household"]["phone"] == "139****1234"
    need = db.session.scalar(select(Need))
    assert need.entered_by_id == moderator.id
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "need.create")
    )
    assert event.object_id == need.code and event.to_status == "draft"
    assert event.reason is None


def test_private_half_is_encrypted_at_rest(client, api_token, moderator):
    assert post(client, api_token(moderator), valid_input()).status_code == 201
    row = db.session.execute(
        text("SELECT private_ciphertext, household_key FROM needs")
    ).one()
    stored = json.dumps(list(row), ensure_ascii=False)
    for secret in (CANARY_NAME, CANARY_ID, CANARY_PHONE, "88号", CANARY_NOTES):
        assert secret not in stored
    assert row.private_ciphertext.startswith("v1:")
    assert len(row.household_key) == 64 and CANARY_ID not in row.household_key
    # Nothing else in the row carries them either.
    whole = db.session.execute(text("SELECT * FROM needs")).one()
    assert not any(
        s in json.dumps([str(v) for v in whole], ensure_ascii=False)
        for s in (CANARY_NAME, CANARY_ID, CANARY_PHONE)
    )


@pytest.mark.parametrize(
    ("override", "field", "fragment"),
    [
        (
            {
                "household": {
                    "id_number": CANARY_ID[:-1] + ("0" if CANARY_ID[-1] != "0" else "1")
                }
            },
            "household.id_number",
            "校验位",
        ),
        ({"household": {"id_number": "22010219520817"}}, "household.id_number", "18位"),
        ({"household": {"phone": "12345"}}, "household.phone", "手机号码"),
        ({"household": {"name": ""}}, "household.name", "姓名"),
        (
            {"household": {"region_code": "220203001"}},
            "household.region_code",
            "220102",
        ),
        ({"region_code": "220100"}, "region_code", "县级"),
        ({"region_code": "220000"}, "region_code", "县级"),
        ({"region_code": "999999"}, "region_code", "县级"),
        ({"amount": 12.5}, "amount", "分"),
        ({"amount": "3200"}, "amount", "分"),
        ({"amount": -100}, "amount", "大于零"),
        ({"amount": 0}, "amount", "大于零"),
        ({"category": "rich"}, "category", "dibao"),
        ({"need_type": None}, "need_type", "medical"),
        ({"household_size": 0}, "household_size", "1 到 30"),
        ({"deadline": "2020-01-01"}, "deadline", "早于今天"),
        ({"deadline": "31/12/2099"}, "deadline", "YYYY-MM-DD"),
        (
            {"gov_assistance": [{"type": "cash", "monthly_amount": 1}]},
            "gov_assistance.0.type",
            "救助类型",
        ),
        ({"in_kind": True, "items": []}, "items", "物品清单"),
        ({"title": ""}, "title", "标题"),
    ],
)
def test_bad_fields_are_named_and_change_nothing(
    client, api_token, moderator, override, field, fragment
):
    resp = post(client, api_token(moderator), valid_input(**override))
    assert resp.status_code == 422, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert field in error["fields"], error["fields"]
    assert fragment in error["fields"][field]
    assert db.session.scalar(select(db.func.count()).select_from(Need)) == 0


@pytest.mark.parametrize(
    ("where", "text_", "fragment"),
    [
        ("title", "欧阳沁蕊老人需要护理床", "欧阳沁蕊"),
        ("description", "联系电话１３９８７６５１２３４，请尽快", "139****1234"),
        ("description", "请拨打 +86 139 8765 1234 联系", "139****1234"),
        ("description", "家属银行卡 6222 0202 0000 0000 006 可直接汇款", "银行卡"),
        ("description", f"身份证 {CANARY_ID} 已核实", "身份证"),
        ("description", "住在红旗路88号3栋2单元501室", "88号"),
        ("description", "可发邮件 helper@example.com 联系", "helper@example.com"),
    ],
)
def test_personal_data_in_public_text_is_refused_with_the_offending_part(
    client, api_token, moderator, where, text_, fragment
):
    resp = post(client, api_token(moderator), valid_input(**{where: text_}))
    assert resp.status_code == 422
    message = resp.get_json()["error"]["fields"][where]
    assert fragment in message
    assert db.session.scalar(select(db.func.count()).select_from(Need)) == 0


def test_in_kind_need_keeps_item_list_and_estimated_value(client, api_token, moderator):
    data = valid_input(
        in_kind=True,
        items=[{"name": "护理床", "quantity": 1}, {"name": "轮椅", "quantity": 1}],
        amount=280_000,
    )
    resp = post(client, api_token(moderator), data)
    assert resp.status_code == 201
    need = db.session.scalar(select(Need))
    assert need.in_kind and need.items[1] == {"name": "轮椅", "quantity": 1}
    assert need.amount_fen == 280_000


def test_duplicate_external_id_is_refused(client, api_token, moderator):
    headers = api_token(moderator)
    assert post(client, headers, valid_input(external_id="JL-1")).status_code == 201
    resp = post(client, headers, valid_input(external_id="JL-1"))
    assert resp.status_code == 422
    assert "external_id" in resp.get_json()["error"]["fields"]


def test_moderator_outside_region_cannot_enter(
    client, api_token, other_region_moderator
):
    resp = post(client, api_token(other_region_moderator), valid_input())
    assert resp.status_code == 403
    assert db.session.scalar(select(db.func.count()).select_from(Need)) == 0


def test_only_moderators_enter_needs(client, api_token, create_org):
    from tests.factories import org_admin_of

    org = create_org()
    assert post(client, api_token(org_admin_of(org)), valid_input()).status_code == 403
    assert client.post("/api/v1/needs", json=valid_input()).status_code == 401
    resp = client.post(
        "/api/v1/needs", data="not json", headers=api_token(org_admin_of(org))
    )
    assert resp.status_code in (400, 403)


def test_malformed_body_is_400(client, api_token, moderator):
    resp = client.post(
        "/api/v1/needs",
        data="[1,2]",
        headers={**api_token(moderator), "Content-Type": "application/json"},
    )
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "bad_request"


def test_household_key_links_same_id_number(client, api_token, moderator):
    headers = api_token(moderator)
    post(client, headers, valid_input())
    post(client, headers, valid_input(household={"id_number": CANARY_ID.lower()}))
    keys = db.session.scalars(select(Need.household_key)).all()
    assert len(keys) == 2 and keys[0] == keys[1]
    codes = db.session.scalars(select(Need.code).order_by(Need.id)).all()
    assert codes == ["XQ-22-000001", "XQ-22-000002"]
    assert db.session.scalar(select(Need.status).limit(1)) == NeedStatus.DRAFT


def test_no_private_data_reaches_the_log(
    client, api_token, login_as, moderator, caplog
):
    import logging

    caplog.set_level(logging.DEBUG)
    headers = api_token(moderator)
    code = post(client, headers, valid_input()).get_json()["code"]
    post(client, headers, valid_input(title=f"{CANARY_NAME}需要帮助"))
    client.get(f"/api/v1/needs/{code}/private", headers=headers)
    login_as(moderator)
    client.get(f"/mod/needs/{code}")
    client.post(f"/mod/needs/{code}/reveal")
    client.get(f"/mod/needs/{code}/edit")
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    for secret in (CANARY_NAME, CANARY_ID, CANARY_PHONE, CANARY_ADDRESS, CANARY_NOTES):
        assert secret not in logged
    reasons = db.session.scalars(select(AuditEvent.reason)).all()
    assert not any(r and CANARY_NAME in r for r in reasons)
