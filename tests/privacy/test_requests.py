"""Requests from the person: recorded by ID number (never stored), one file
with everything held about the household and nothing of another (canaries),
correction, erasure where no duty to keep applies, deadlines and the audit."""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import select

from charitylink.claims.models import Claim, ClaimStatus
from charitylink.core.audit import AuditEvent
from charitylink.core.timeutil import today, utcnow
from charitylink.extensions import db
from charitylink.needs import privacy
from charitylink.needs import services as need_services
from charitylink.needs.models import Need
from charitylink.privacy.purge_models import PrivacyRequest, PurgeLog
from charitylink.workspace import queries as workspace
from tests.factories import make_id_number

MINE = make_id_number(501, birth="19650505")
OTHER = make_id_number(502, birth="19650505")


def _household(id_number: str, tag: str) -> dict:
    return {
        "id_number": id_number,
        "name": f"金丝雀{tag}",
        "address": f"金丝雀街{tag}号",
        "notes": f"金丝雀备注{tag}",
    }


def test_request_export_holds_every_need_of_the_household_and_no_other(
    app, client, create_need, create_user, create_org, login_as
):
    moderator = create_user("moderator", region_prefix="22")
    first = create_need(status="confirmed", household=_household(MINE, "甲一"))
    second = create_need(status="published", household=_household(MINE, "甲二"))
    other = create_need(status="published", household=_household(OTHER, "乙"))
    need_services.get_private(first, moderator)  # a view, to be listed
    org = create_org()
    db.session.add(
        Claim(
            need_id=second.id,
            org_id=org.id,
            amount_fen=100,
            status=ClaimStatus.RESERVED,
            due_on=today(),
        )
    )
    db.session.commit()
    login_as(moderator)

    bad = client.post(
        "/mod/privacy-requests", data={"kind": "copy", "id_number": "12345"}
    )
    assert bad.status_code == 422
    assert "身份证" in bad.get_data(as_text=True)

    answer = client.post(
        "/mod/privacy-requests",
        data={"kind": "copy", "id_number": MINE, "note": "本人来电要求复制"},
    )
    assert answer.status_code == 302
    req = db.session.scalars(select(PrivacyRequest)).one()
    assert req.due_on == today() + timedelta(days=15)
    assert req.household_key == privacy.household_key(MINE)
    # The ID number itself is stored nowhere in the request or its audit row.
    assert MINE not in json.dumps(
        [str(getattr(req, c.key)) for c in PrivacyRequest.__table__.columns]
    )
    page = client.get(answer.headers["Location"])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert first.code in html and second.code in html and other.code not in html

    exported = client.post(f"/mod/privacy-requests/{req.id}/export")
    assert exported.status_code == 200
    assert exported.headers["Cache-Control"] == "no-store"
    assert "attachment" in exported.headers["Content-Disposition"]
    data = json.loads(exported.data)
    assert [n["code"] for n in data["needs"]] == [first.code, second.code]
    assert data["needs"][0]["household"]["name"] == "金丝雀甲一"
    assert data["needs"][1]["claims"][0]["status"] == "reserved"
    assert [v["action"] for v in data["needs"][0]["seen_by"]] == ["need.private_view"]
    text = exported.data.decode()
    assert "金丝雀乙" not in text and OTHER not in text and other.code not in text

    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "privacy_request")
    ).all()
    assert actions == ["privacy_request.create", "privacy_request.export"]
    for reason in db.session.scalars(select(AuditEvent.reason)):
        assert "金丝雀" not in (reason or "") and MINE not in (reason or "")


def test_correct_erase_and_close(app, client, create_need, create_user, login_as):
    moderator = create_user("moderator", region_prefix="22")
    ended = create_need(status="withdrawn", household=_household(MINE, "丙"))
    ended.closed_at = utcnow()
    running = create_need(status="published", household=_household(MINE, "丁"))
    db.session.commit()
    login_as(moderator)
    client.post("/mod/privacy-requests", data={"kind": "erase", "id_number": MINE})
    req = db.session.scalars(select(PrivacyRequest)).one()

    fixed = client.post(
        f"/mod/privacy-requests/{req.id}/correct",
        data={"code": running.code, "phone": "13912345678"},
    )
    assert fixed.status_code == 302
    db.session.expire_all()
    assert privacy.decrypt_household(running)["phone"] == "13912345678"
    bad = client.post(
        f"/mod/privacy-requests/{req.id}/correct",
        data={"code": running.code, "phone": "12"},
    )
    assert bad.status_code == 422

    # An open need keeps its private half (help is under way).
    refused = client.post(
        f"/mod/privacy-requests/{req.id}/erase", data={"code": running.code}
    )
    assert refused.status_code == 409
    done = client.post(
        f"/mod/privacy-requests/{req.id}/erase", data={"code": ended.code}
    )
    assert done.status_code == 302
    db.session.expire_all()
    gone = db.session.get(Need, ended.id)
    assert gone.purged_at is not None and privacy.decrypt_household(gone) == {}
    # Another need of the household is kept: so is the household key.
    assert gone.household_key == privacy.household_key(MINE)
    log = db.session.scalars(select(PurgeLog)).one()
    assert (log.need_code, log.cause, log.request_id) == (ended.code, "request", req.id)
    api_page = client.get(f"/mod/needs/{ended.code}")
    assert "已按保存期限清除" in api_page.get_data(as_text=True)

    no_reason = client.post(
        f"/mod/privacy-requests/{req.id}/close", data={"outcome": "refused"}
    )
    assert no_reason.status_code == 422
    closed = client.post(
        f"/mod/privacy-requests/{req.id}/close",
        data={"outcome": "partly", "outcome_note": "进行中的需求待结束后删除"},
    )
    assert closed.status_code == 302
    db.session.expire_all()
    assert db.session.get(PrivacyRequest, req.id).outcome == "partly"
    late = client.post(
        f"/mod/privacy-requests/{req.id}/erase", data={"code": running.code}
    )
    assert late.status_code == 409
    actions = db.session.scalars(
        select(AuditEvent.action).order_by(AuditEvent.id)
    ).all()
    assert {"need.private_correct", "need.purge", "privacy_request.close"} <= set(
        actions
    )


def test_overdue_requests_are_flagged_and_counted(
    app, client, create_need, create_user, login_as
):
    moderator = create_user("moderator", region_prefix="22")
    create_need(status="published", household=_household(MINE, "戊"))
    login_as(moderator)
    old = (date.today() - timedelta(days=40)).isoformat()
    client.post(
        "/mod/privacy-requests",
        data={"kind": "access", "id_number": MINE, "received_on": old},
    )
    client.post("/mod/privacy-requests", data={"kind": "access", "id_number": MINE})
    assert workspace.counts_for(moderator)["privacy_requests_overdue"] == 1
    page = client.get("/mod/privacy-requests?state=overdue")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "已逾期" in html and "共 1 条" in html
    elsewhere = create_user("moderator", region_prefix="11")
    login_as(elsewhere)
    assert "共 0 条" in client.get("/mod/privacy-requests?state=all").get_data(
        as_text=True
    )


def test_the_api_records_lists_exports_and_closes(
    app, client, create_need, create_user, api_token
):
    moderator = create_user("moderator", region_prefix="22")
    mine = create_need(status="published", household=_household(MINE, "己"))
    create_need(status="published", household=_household(OTHER, "庚"))
    headers = api_token(moderator)
    bad = client.post(
        "/api/v1/privacy-requests",
        json={"kind": "copy", "id_number": "110101190001011234"},
        headers=headers,
    )
    assert bad.status_code == 422
    assert "id_number" in bad.get_json()["error"]["fields"]
    made = client.post(
        "/api/v1/privacy-requests",
        json={"kind": "copy", "id_number": MINE},
        headers=headers,
    )
    assert made.status_code == 201, made.get_json()
    req_id = made.get_json()["id"]
    assert MINE not in made.get_data(as_text=True)
    listed = client.get("/api/v1/privacy-requests", headers=headers).get_json()
    assert [r["id"] for r in listed["items"]] == [req_id]
    got = client.get(f"/api/v1/privacy-requests/{req_id}/file", headers=headers)
    assert got.status_code == 200 and got.headers["Cache-Control"] == "no-store"
    text = json.dumps(got.get_json(), ensure_ascii=False)
    assert mine.code in text and "金丝雀己" in text and "金丝雀庚" not in text
    closed = client.post(
        f"/api/v1/privacy-requests/{req_id}/close",
        json={"outcome": "done"},
        headers=headers,
    )
    assert closed.status_code == 200 and closed.get_json()["outcome"] == "done"
    elsewhere = api_token(create_user("moderator", region_prefix="11"))
    assert (
        client.get(
            f"/api/v1/privacy-requests/{req_id}/file", headers=elsewhere
        ).status_code
        == 404
    )
