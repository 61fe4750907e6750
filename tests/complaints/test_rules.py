"""Tracking codes, abuse limits, routing and scope, the privacy canaries and
the public figures of complaints."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any

from flask import g
from sqlalchemy import func, select

from charitylink.complaints import services
from charitylink.complaints.models import Complaint
from charitylink.core.timeutil import utcnow
from charitylink.extensions import db
from charitylink.mail.models import OutboxMail
from charitylink.notifications.models import Notification
from charitylink.workspace import queries as workspace
from tests.complaints.conftest import CONTACT


def _complaint(code: str) -> Complaint:
    found = services.by_tracking_code(code)
    assert found is not None
    return found


# --------------------------------------------------------------- tracking codes


def test_tracking_code_is_unguessable_and_wrong_ones_get_the_same_404(
    client, submit
) -> None:
    code = submit(subject_type="platform").get_json()["tracking_code"]
    assert len(code) == 22 and services.CODE_BYTES * 8 >= 80
    assert _complaint(code).tracking_hash != code  # only the hash is stored
    wrong = code[:-1] + ("A" if code[-1] != "A" else "B")
    random = secrets.token_urlsafe(16)
    answers = [
        client.get(f"/api/v1/complaints/{c}")
        for c in (wrong, random, "short", "x" * 64)
    ]
    assert {a.status_code for a in answers} == {404}
    assert len({a.get_data() for a in answers}) == 1
    tried = (wrong, random, "short")
    pages = [client.get(f"/complaints/{c}") for c in tried]
    assert {p.status_code for p in pages} == {404}
    # The same page but for the language link, which repeats the address.
    assert len({p.text.replace(c, "…") for p, c in zip(pages, tried, strict=True)}) == 1
    found = client.get(f"/complaints/track?code={code}")
    assert found.status_code == 302 and found.headers["Location"].endswith(code)


# --------------------------------------------------------------- abuse limits


def test_honeypot_and_size_limit_on_the_page(client) -> None:
    data = {
        "subject_type": "platform",
        "subject_id": "",
        "category": "other",
        "text": "平台页面打不开。",
        "contact": "",
    }
    bot = client.post("/complaints/new", data={**data, "website": "http://spam"})
    assert bot.status_code == 302  # looks received …
    assert db.session.scalar(select(Complaint)) is None  # … nothing is kept
    assert client.get(bot.headers["Location"]).status_code == 404
    big = client.post("/complaints/new", data={**data, "text": "长" * 2001})
    assert big.status_code == 422 and "最多 2000 个字" in big.text
    assert db.session.scalar(select(Complaint)) is None
    ok = client.post("/complaints/new", data=data)
    assert ok.status_code == 302
    assert db.session.scalar(select(Complaint)) is not None


# --------------------------------------------------------------- routing, scope


def test_routing_and_scope_by_the_subjects_region(
    client, submit, create_org, create_user, create_need, api_token, login_as
) -> None:
    org = create_org(region_code="220102")
    need = create_need(region_code="220581")
    mod_city = create_user("moderator", region_prefix="2201")
    mod_other = create_user("moderator", region_prefix="2205")
    admin = create_user("admin")
    about_org = _complaint(submit(subject_id=org.id).get_json()["tracking_code"])
    about_need = _complaint(
        submit(subject_type="need", subject_id=need.code).get_json()["tracking_code"]
    )
    about_platform = _complaint(
        submit(subject_type="platform").get_json()["tracking_code"]
    )
    assert about_org.region_code == "220102" and about_org.subject_org_id == org.id
    assert about_need.region_code == "220581"
    assert about_platform.region_code is None

    def told(user: Any) -> set[str]:
        return {
            n.params["ref"]
            for n in db.session.scalars(
                select(Notification).where(Notification.user_id == user.id)
            )
        }

    assert told(mod_city) == {about_org.ref}
    assert told(mod_other) == {about_need.ref}
    assert told(admin) == {about_platform.ref}
    # The work area counts complaints not yet taken up, in the same scope, and
    # they are part of the menu badge.
    assert workspace.counts_for(mod_city)["complaints_received"] == 1
    assert workspace.counts_for(mod_other)["complaints_received"] == 1
    assert workspace.counts_for(admin)["complaints_received"] == 3
    assert workspace.waiting_total(admin) >= 3

    city = api_token(mod_city)
    ids = {
        i["id"] for i in client.get("/api/v1/complaints", headers=city).json["items"]
    }
    assert ids == {about_org.id}
    everything = client.get("/api/v1/complaints", headers=api_token(admin)).json
    assert everything["total"] == 3
    for other in (about_need.id, about_platform.id):
        assert (
            client.post(f"/api/v1/complaints/{other}/accept", headers=city).status_code
            == 404
        )
    accepted = client.post(f"/api/v1/complaints/{about_org.id}/accept", headers=city)
    assert accepted.status_code == 200
    g.pop("_work_counts", None)
    assert workspace.counts_for(mod_city)["complaints_received"] == 0
    login_as(mod_city)
    assert client.get(f"/mod/complaints/{about_need.id}").status_code == 404
    assert client.get(f"/mod/complaints/{about_platform.id}").status_code == 404
    assert client.post(f"/mod/complaints/{about_need.id}/accept").status_code == 404
    assert client.get(f"/mod/complaints/{about_org.id}").status_code == 200


def test_deadlines_flag_overdue_complaints(
    client, submit, create_user, login_as
) -> None:
    code = submit(subject_type="platform").get_json()["tracking_code"]
    complaint = _complaint(code)
    assert services.overdue(complaint) is None
    later = utcnow() + timedelta(days=4)
    assert services.overdue(complaint, later) == "accept"
    assert services.overdue(complaint, utcnow() + timedelta(days=16)) == "accept"
    complaint.created_at -= timedelta(days=5)
    complaint.accept_due_at -= timedelta(days=5)
    complaint.resolve_due_at -= timedelta(days=5)
    db.session.commit()
    login_as(create_user("admin"))
    assert "受理逾期" in client.get("/mod/complaints").text


# --------------------------------------------------------------- privacy canaries


def test_contact_and_text_never_leave_the_moderators_page(
    client, submit, create_org, create_user, api_token, login_as, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    org = create_org()
    staff = create_user("org_admin", org=org)
    mod = create_user("moderator", region_prefix="22")
    mod.email_kinds = ["complaint_received"]
    db.session.commit()
    leaky_text = "申请人王小明身份证 110105194912310021，电话 13812345678。"
    code = submit(subject_id=org.id, text=leaky_text).get_json()["tracking_code"]
    complaint = _complaint(code)
    assert (
        "mobile" in complaint.text_findings and "id_number" in complaint.text_findings
    )
    assert CONTACT not in (complaint.contact_ciphertext or "")
    canaries = (CONTACT, "13912345678", "13812345678", "王小明")

    def clean(text: str) -> None:
        for canary in canaries:
            assert canary not in text

    clean(client.get(f"/complaints/{code}").text)
    clean(client.get(f"/api/v1/complaints/{code}").get_data(as_text=True))
    clean(client.get(f"/orgs/{org.id}").text)
    clean(client.get("/transparency").text)
    clean(client.get("/api/v1/stats").get_data(as_text=True))
    for n in db.session.scalars(select(Notification)):
        clean(str(n.params) + n.url)
    for mail in db.session.scalars(select(OutboxMail)):
        clean(mail.subject + mail.text_body + mail.html_body)
    # The org complained about: its exports and its pages.
    login_as(staff)
    for kind in ("claims", "ledger"):
        sheet = client.get(f"/org/exports/{kind}.csv")
        assert sheet.status_code == 200
        clean(sheet.get_data(as_text=True))
    clean(client.get("/org/claims").text)
    client.get("/logout")
    # The moderator sees both, flagged.
    login_as(mod)
    page = client.get(f"/mod/complaints/{complaint.id}").text
    assert CONTACT not in page and "隐私检查发现" in page and "手机号" in page
    revealed = client.post(f"/mod/complaints/{complaint.id}/contact").text
    assert CONTACT in revealed
    listed = client.get("/api/v1/complaints", headers=api_token(mod)).get_data(
        as_text=True
    )
    assert CONTACT not in listed
    for record in caplog.records:
        clean(record.getMessage())


# --------------------------------------------------------------- public figures


def test_transparency_figures(client, submit, create_user, api_token) -> None:
    admin = api_token(create_user("admin"))
    codes = [
        submit(subject_type="platform").get_json()["tracking_code"] for _ in range(3)
    ]
    for code, outcome, days in ((codes[0], "founded", 2), (codes[1], "unfounded", 6)):
        complaint = _complaint(code)
        client.post(f"/api/v1/complaints/{complaint.id}/accept", headers=admin)
        client.post(
            f"/api/v1/complaints/{complaint.id}/resolve",
            json={"outcome": outcome, "note": "已核查"},
            headers=admin,
        )
        complaint.created_at = complaint.resolved_at - timedelta(days=days)
    db.session.commit()
    stats = client.get("/api/v1/stats").get_json()
    assert stats["complaints_received"] == 3
    assert stats["complaints_resolved"] == 2
    assert stats["complaints_founded"] == 1
    assert stats["median_days_to_resolve"] == 4.0
    months = stats["complaints_by_month"]
    assert sum(m["complaints_received"] for m in months) == 3
    assert sum(m["complaints_resolved"] for m in months) == 2
    page = client.get("/transparency").text
    assert "举报受理" in page and "办结用时中位数" in page
    csv = client.get("/transparency/export/complaints.csv")
    assert csv.status_code == 200 and "经核查属实" in csv.get_data(as_text=True)


# --------------------------------------------------------------- retention


def test_contact_is_erased_by_the_purge_after_its_retention(
    app, client, submit, create_user, api_token, login_as, runner
) -> None:
    """``privacy purge`` erases a resolved complaint's contact once
    COMPLAINT_CONTACT_RETENTION_DAYS have passed since its resolution; the
    open ones and the recent ones keep theirs."""
    from charitylink.complaints.models import CONTACT_PURGED
    from charitylink.core.audit import AuditEvent

    admin_user = create_user("admin")
    admin = api_token(admin_user)
    codes = [
        submit(subject_type="platform").get_json()["tracking_code"] for _ in range(3)
    ]
    old, recent, still_open = (_complaint(code) for code in codes)
    for complaint in (old, recent):
        client.post(f"/api/v1/complaints/{complaint.id}/accept", headers=admin)
        client.post(
            f"/api/v1/complaints/{complaint.id}/resolve",
            json={"outcome": "unfounded", "note": "已核查"},
            headers=admin,
        )
    days = app.config["COMPLAINT_CONTACT_RETENTION_DAYS"]
    assert days == 180
    old.resolved_at = utcnow() - timedelta(days=days + 1)
    recent.resolved_at = utcnow() - timedelta(days=days - 1)
    still_open.created_at = utcnow() - timedelta(days=days * 3)
    db.session.commit()
    kept = {c.id: c.contact_ciphertext for c in (old, recent, still_open)}

    dry = runner.invoke(args=["privacy", "purge", "--dry-run"])
    assert dry.exit_code == 0 and "将清除 1 件举报的举报人联系方式" in dry.output
    db.session.expire_all()
    assert old.contact_ciphertext == kept[old.id]

    result = runner.invoke(args=["privacy", "purge"])
    assert result.exit_code == 0, result.output
    assert "清除举报人联系方式 1 件" in result.output
    db.session.expire_all()
    assert old.contact_ciphertext == CONTACT_PURGED
    assert recent.contact_ciphertext == kept[recent.id]
    assert still_open.contact_ciphertext == kept[still_open.id]
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "complaint.purge_contact")
    ).all()
    assert [(e.object_id, e.actor_id) for e in events] == [(str(old.id), None)]
    # Run again: nothing more goes.
    again = runner.invoke(args=["privacy", "purge"])
    assert "清除举报人联系方式 0 件" in again.output

    login_as(admin_user)
    page = client.get(f"/mod/complaints/{old.id}").text
    assert "已按保存期限清除" in page and "显示联系方式" not in page
    views = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "complaint.contact_view")
    )
    shown = client.post(f"/mod/complaints/{old.id}/contact")
    assert shown.status_code == 200 and CONTACT not in shown.text
    assert "已按保存期限清除" in shown.text
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "complaint.contact_view")
        )
        == views
    )  # nothing was shown, so nothing is on record as seen
    assert CONTACT in client.post(f"/mod/complaints/{recent.id}/contact").text
