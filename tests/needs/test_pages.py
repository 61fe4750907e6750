"""Moderator pages: entry form (yuan), edit, review page masking, duplicates."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from charitylink.core.audit import AuditEvent
from charitylink.core.timeutil import today
from charitylink.extensions import db
from charitylink.needs.models import Need
from tests.needs.conftest import CANARY_ID, CANARY_NAME, CANARY_PHONE


def form_data(**overrides: str) -> dict[str, str]:
    data = {
        "title": "困难家庭学生需要学费",
        "description": "孩子考上高中，家庭无力承担学费和住宿费。",
        "category": "dibao",
        "need_type": "education",
        "region_code": "220102",
        "household_size": "4",
        "amount": "1,234.50",
        "urgency": "normal",
        "deadline": (today() + timedelta(days=20)).isoformat(),
        "ga_type_0": "dibao",
        "ga_amount_0": "620",
        "household_name": CANARY_NAME,
        "household_id_number": CANARY_ID,
        "household_phone": CANARY_PHONE,
        "household_address": "某街道",
        "household_region_code": "",
        "household_notes": "",
    }
    data.update(overrides)
    return data


def flashes(resp) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r'class="flash[^"]*">([^<]*)', resp.get_data(as_text=True))


def test_form_entry_parses_yuan_and_saves_a_draft(client, login_as, moderator):
    login_as(moderator)
    page = client.get("/mod/needs/new")
    assert page.status_code == 200 and "南关区" in page.get_data(as_text=True)
    resp = client.post("/mod/needs/new", data=form_data())
    assert resp.status_code == 302
    need = db.session.scalar(select(Need))
    assert resp.headers["Location"].endswith(f"/mod/needs/{need.code}")
    assert need.amount_fen == 123_450
    assert need.gov_assistance == [{"type": "dibao", "monthly_amount": 62_000}]
    assert need.status == "draft" and need.household_size == 4


def test_form_shows_chinese_messages_on_the_fields(client, login_as, moderator):
    login_as(moderator)
    bad_id = CANARY_ID[:-1] + ("1" if CANARY_ID[-1] != "1" else "2")
    resp = client.post(
        "/mod/needs/new",
        data=form_data(
            amount="12,34",
            household_id_number=bad_id,
            description="有事请打电话 139 8765 1234",
            region_code="220100",
        ),
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "金额的千位分隔符位置不正确" in html
    assert "身份证号码校验位错误" in html
    assert "县级" in html
    assert db.session.scalar(select(db.func.count()).select_from(Need)) == 0
    # Public text is checked once the fields are right, naming the phone.
    resp = client.post(
        "/mod/needs/new", data=form_data(description="有事请打电话 139 8765 1234")
    )
    assert resp.status_code == 422
    assert "139****1234" in resp.get_data(as_text=True)
    resp = client.post(
        "/mod/needs/new", data=form_data(title=f"{CANARY_NAME}的孩子需要学费")
    )
    assert "包含受助家庭成员姓名" in resp.get_data(as_text=True)


def test_in_kind_items_from_the_form(client, login_as, moderator):
    login_as(moderator)
    resp = client.post(
        "/mod/needs/new",
        data=form_data(
            in_kind="y", items="轮椅×1\n护理床 2\n成人纸尿裤", amount="3000"
        ),
    )
    assert resp.status_code == 302
    need = db.session.scalar(select(Need))
    assert need.items == [
        {"name": "轮椅", "quantity": 1},
        {"name": "护理床", "quantity": 2},
        {"name": "成人纸尿裤", "quantity": 1},
    ]


def test_review_page_masks_until_revealed_and_reveal_is_audited(
    client, login_as, create_need, moderator
):
    need = create_need(
        status="submitted",
        household={"name": CANARY_NAME, "id_number": CANARY_ID, "phone": CANARY_PHONE},
    )
    login_as(moderator)
    html = client.get(f"/mod/needs/{need.code}").get_data(as_text=True)
    assert (
        CANARY_NAME not in html and CANARY_ID not in html and CANARY_PHONE not in html
    )
    assert CANARY_ID[:6] + "********" + CANARY_ID[-4:] in html
    assert "139****1234" in html
    assert not db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "need.private_view")
    ).all()
    resp = client.post(f"/mod/needs/{need.code}/reveal")
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    html = resp.get_data(as_text=True)
    assert CANARY_NAME in html and CANARY_ID in html and CANARY_PHONE in html
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "need.private_view")
    )
    assert event.actor_id == moderator.id and event.object_id == need.code
    # The path it was seen through, never a private value.
    assert event.reason == "经页面查看"


def test_private_api_is_audited(client, api_token, create_need, moderator):
    need = create_need(status="published", household={"name": CANARY_NAME})
    resp = client.get(
        f"/api/v1/needs/{need.code}/private", headers=api_token(moderator)
    )
    assert resp.status_code == 200
    assert resp.get_json()["household"]["name"] == CANARY_NAME
    assert resp.headers["Cache-Control"] == "no-store"
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "need.private_view")
    ).all()
    assert len(events) == 1 and events[0].actor_id == moderator.id
    assert events[0].reason == "经 API 查看"


def test_edit_draft_through_the_form(client, login_as, create_need, moderator):
    need = create_need(status="draft", entered_by=moderator)
    login_as(moderator)
    page = client.get(f"/mod/needs/{need.code}/edit").get_data(as_text=True)
    assert 'value="5000.00"' in page
    resp = client.post(
        f"/mod/needs/{need.code}/edit",
        data=form_data(title="修改后的标题", amount="800"),
    )
    assert resp.status_code == 302
    db.session.expire_all()
    fresh = db.session.get(Need, need.id)
    assert fresh.title == "修改后的标题" and fresh.amount_fen == 80_000
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == need.code)
    ).all()
    assert "need.update" in actions


def test_published_need_cannot_be_edited(client, login_as, create_need, moderator):
    need = create_need(status="published")
    login_as(moderator)
    resp = client.post(f"/mod/needs/{need.code}/edit", data=form_data(title="x"))
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Need, need.id).title != "x"


def test_queue_lists_submitted_first_and_filters(
    client, login_as, create_need, moderator
):
    create_need(status="draft", title="草稿中的需求")
    submitted = create_need(status="submitted", title="等待审核的需求")
    create_need(status="published", region_code="220202", title="吉林市的需求")
    login_as(moderator)
    html = client.get("/mod/needs").get_data(as_text=True)
    assert html.index(submitted.code) < html.index("草稿中的需求")
    assert "吉林市的需求" not in html  # outside 2201
    html = client.get("/mod/needs?status=draft").get_data(as_text=True)
    assert "草稿中的需求" in html and submitted.code not in html
    assert client.get("/mod/needs?status=bogus&region=xx").status_code == 200


def test_duplicate_warnings_on_entry_and_review(
    client, login_as, create_need, create_fund, moderator
):
    from charitylink.claims.models import Claim

    household = {"id_number": CANARY_ID, "name": CANARY_NAME}
    old = create_need(status="confirmed", household=household, amount_fen=300_000)
    open_one = create_need(status="published", household=household)
    create_need(status="published")  # another household
    fund = create_fund(donations_fen=1_000_000)
    db.session.add(
        Claim(
            need_id=old.id,
            org_id=fund.org_id,
            fund_id=fund.id,
            amount_fen=300_000,
            status="confirmed",
            due_on=today(),
            delivered_fen=300_000,
            delivered_on=today() - timedelta(days=30),
        )
    )
    db.session.commit()
    login_as(moderator)
    resp = client.post("/mod/needs/new", data=form_data(), follow_redirects=True)
    expected = "该家庭另有 1 条未结需求；近12个月已从 1 个机构获得 ¥3,000.00。"
    assert expected in flashes(resp)
    new = db.session.scalars(select(Need).order_by(Need.id.desc())).first()
    html = client.get(f"/mod/needs/{new.code}").get_data(as_text=True)
    assert "重复提示" in html and open_one.code in html
    assert "该家庭另有 1 条未结需求" in html
    other = client.get(f"/mod/needs/{open_one.code}").get_data(as_text=True)
    assert new.code in other and "另有 1 条未结需求" in other


def test_help_older_than_a_year_is_not_counted(create_need, create_fund):
    from charitylink.claims.models import Claim
    from charitylink.needs.services import duplicate_summary

    need = create_need(status="confirmed")
    fund = create_fund()
    db.session.add(
        Claim(
            need_id=need.id,
            org_id=fund.org_id,
            fund_id=fund.id,
            amount_fen=100_000,
            status="confirmed",
            due_on=today(),
            delivered_fen=100_000,
            delivered_on=today() - timedelta(days=400),
        )
    )
    db.session.commit()
    summary = duplicate_summary(need.household_key)
    assert summary == {"open_needs": [], "received_fen": 0, "org_count": 0}


def test_review_page_survives_undecryptable_private_half(
    client, login_as, create_need, moderator
):
    from sqlalchemy import update

    need = create_need(status="submitted")
    db.session.execute(
        update(Need).where(Need.id == need.id).values(private_ciphertext="v1:broken")
    )
    db.session.commit()
    login_as(moderator)
    resp = client.get(f"/mod/needs/{need.code}")
    assert resp.status_code == 200
    assert "家庭信息无法解密" in resp.get_data(as_text=True)
