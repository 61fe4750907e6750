"""The complaint flow through the pages and the API: an anonymous complaint,
its tracking, a moderator's accept and resolve, and a founded complaint's
published outcome on the org's public page."""

from __future__ import annotations

import re

from sqlalchemy import select

from charitylink.complaints.models import Complaint
from charitylink.core.audit import AuditEvent
from charitylink.extensions import db
from charitylink.notifications.models import Notification
from tests.complaints.conftest import CONTACT


def _code_from(location: str) -> str:
    match = re.search(r"/complaints/([A-Za-z0-9_-]{22})", location)
    assert match, location
    return match.group(1)


def test_page_flow_anonymous_to_founded_on_the_org_page(
    client, login_as, create_org, create_user
):
    org = create_org(name="甲慈善基金会")
    mod = create_user("moderator", region_prefix="2201")
    page = client.get(f"/orgs/{org.id}")
    assert f"/complaints/new?subject_type=org&amp;subject_id={org.id}" in page.text
    form = client.get(f"/complaints/new?subject_type=org&subject_id={org.id}")
    assert form.status_code == 200 and '<option selected value="org">' in form.text
    resp = client.post(
        "/complaints/new",
        data={
            "subject_type": "org",
            "subject_id": str(org.id),
            "category": "misuse",
            "text": "善款被挪作他用。",
            "contact": CONTACT,
            "website": "",
        },
    )
    assert resp.status_code == 302
    code = _code_from(resp.headers["Location"])
    shown = client.get(resp.headers["Location"])
    assert code in shown.text and "请抄下或保存这个查询码" in shown.text
    assert "已收到" in shown.text and CONTACT not in shown.text
    complaint = db.session.scalar(select(Complaint))
    assert complaint is not None and complaint.region_code == org.region_code
    assert code not in (complaint.tracking_hash, complaint.contact_ciphertext)
    # The region's moderator was told (the reference only).
    told = db.session.scalar(select(Notification).where(Notification.user_id == mod.id))
    assert told is not None and told.params == {"ref": complaint.ref}

    login_as(mod)
    queue = client.get("/mod/complaints")
    assert complaint.ref in queue.text
    detail = client.get(f"/mod/complaints/{complaint.id}")
    assert CONTACT not in detail.text and "善款被挪作他用" in detail.text
    shown = client.post(f"/mod/complaints/{complaint.id}/contact")
    assert CONTACT in shown.text and shown.headers["Cache-Control"] == "no-store"
    again = client.get(f"/mod/complaints/{complaint.id}/contact")
    assert again.status_code == 302
    assert client.post(f"/mod/complaints/{complaint.id}/accept").status_code == 302
    refused = client.post(
        f"/mod/complaints/{complaint.id}/resolve",
        data={"outcome": "founded", "note": "", "published_text": ""},
    )
    assert refused.status_code == 422 and "请填写核查情况说明" in refused.text
    done = client.post(
        f"/mod/complaints/{complaint.id}/resolve",
        data={
            "outcome": "founded",
            "note": "经查，内部说明：联系了举报人。",
            "published_text": "经核查，该机构挪用助学善款属实，已责令退回并暂停认领。",
        },
    )
    assert done.status_code == 302
    resolved = client.get(f"/mod/complaints/{complaint.id}")
    assert "暂停该机构" in resolved.text and f"/mod/orgs/{org.id}" in resolved.text
    actions = [
        a.action
        for a in db.session.scalars(
            select(AuditEvent).where(AuditEvent.object_type == "complaint")
        )
    ]
    assert actions == [
        "complaint.submit",
        "complaint.contact_view",
        "complaint.accept",
        "complaint.resolve",
    ]

    client.get("/logout")
    with client.session_transaction() as sess:
        sess.clear()
    public = client.get(f"/orgs/{org.id}").text
    assert "经核查属实的举报" in public and "已责令退回" in public
    assert "内部说明" not in public and CONTACT not in public
    tracked = client.get(f"/complaints/{code}").text
    assert "经核查属实" in tracked and "已责令退回" in tracked
    assert "内部说明" not in tracked and "善款被挪作他用" not in tracked


def test_api_flow_and_refusals(client, submit, create_org, create_user, api_token):
    org = create_org()
    admin = create_user("admin")
    mod = create_user("moderator", region_prefix="22")
    resp = submit(subject_id=org.id)
    assert resp.status_code == 201
    code = resp.get_json()["tracking_code"]
    assert len(code) >= 22  # 16 random bytes: 128 bits
    track = client.get(f"/api/v1/complaints/{code}")
    assert track.get_json() == {
        "status": "received",
        "outcome": None,
        "resolved_at": None,
    }

    headers = api_token(mod)
    listed = client.get(
        "/api/v1/complaints?status=received", headers=headers
    ).get_json()
    assert listed["total"] == 1
    item = listed["items"][0]
    assert "contact" not in item and CONTACT not in str(listed)
    cid = item["id"]
    early = client.post(
        f"/api/v1/complaints/{cid}/resolve",
        json={"outcome": "unfounded", "note": "x"},
        headers=headers,
    )
    assert early.status_code == 409
    assert early.get_json()["error"]["code"] == "invalid_transition"
    ok = client.post(f"/api/v1/complaints/{cid}/accept", headers=headers)
    assert ok.status_code == 200 and ok.get_json()["status"] == "in_review"
    again = client.post(f"/api/v1/complaints/{cid}/accept", headers=headers)
    assert again.status_code == 409
    bad = client.post(
        f"/api/v1/complaints/{cid}/resolve",
        json={"outcome": "maybe", "note": ""},
        headers=headers,
    )
    assert bad.status_code == 422 and bad.get_json()["error"]["fields"]
    leaky = client.post(
        f"/api/v1/complaints/{cid}/resolve",
        json={
            "outcome": "founded",
            "note": "属实",
            "published_text": "家属电话 13812345678",
        },
        headers=headers,
    )
    assert leaky.status_code == 422
    assert "published_text" in leaky.get_json()["error"]["fields"]
    done = client.post(
        f"/api/v1/complaints/{cid}/resolve",
        json={"outcome": "unfounded", "note": "经查不属实"},
        headers=headers,
    )
    assert done.status_code == 200 and done.get_json()["outcome"] == "unfounded"
    track = client.get(f"/api/v1/complaints/{code}").get_json()
    assert set(track) == {"status", "outcome", "resolved_at"}
    assert track["status"] == "resolved" and track["outcome"] == "unfounded"
    # Org staff and the public may not list.
    assert client.get("/api/v1/complaints").status_code == 401
    staff = api_token(create_user("org_admin", org=org))
    assert client.get("/api/v1/complaints", headers=staff).status_code == 403
    assert client.get("/api/v1/complaints", headers=api_token(admin)).status_code == 200


def test_bad_submissions_get_chinese_422(submit, create_need):
    resp = submit(subject_type="need", subject_id="XQ-22-999999", category="nope")
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert resp.status_code == 422 and error["message"]
    too_long = submit(subject_type="platform", text="长" * 2001)
    assert (
        too_long.status_code == 422 and "text" in too_long.get_json()["error"]["fields"]
    )
    need = create_need()
    assert submit(subject_type="need", subject_id=need.code).status_code == 201
    draft = create_need(status="draft")
    refused = submit(subject_type="need", subject_id=draft.code)
    assert refused.status_code == 422  # an unpublished need is not revealed
    assert submit(subject_type="platform", contact="").status_code == 201
