"""Mail bodies: from templates, in the recipient's language whatever the
request's, with absolute links; usable outside a request (cron)."""

from __future__ import annotations

from datetime import date

from charitylink.core.i18n import _
from charitylink.extensions import db
from charitylink.mail.models import OutboxMail
from charitylink.mail.render import render_notification
from charitylink.notifications.services import notify


def test_rendered_in_chinese_from_an_english_request(app, create_org, create_user):
    org = create_org(name="测试基金会")
    user = create_user("org_admin", org=org)
    with app.test_request_context("/?lang=en", headers={"Accept-Language": "en"}):
        assert _("认领") == "Claims"  # the request reads English
        subject, text, html = render_notification(
            user,
            "claim_due_soon",
            {"code": "XQ-22-000001", "due_on": date(2026, 12, 20).isoformat()},
            "/org/claims/1",
        )
        assert _("认领") == "Claims"  # and still does afterwards
    assert subject == "需求 XQ-22-000001 的认领将于 2026年12月20日 到期"
    assert "请按时交付并登记" in text and "查看详情" in text
    assert '<html lang="zh-CN">' in html and "查看详情" in html
    assert "https://cl.example.gov.cn/org/claims/1" in text


def test_outside_a_request_as_the_reminder_job_runs(app, create_org, create_user):
    org = create_org(name="测试基金会")
    user = create_user("org_admin", org=org)
    notify(
        "org_verified",
        [user],
        event="org:x",
        params={"org": org.name},
        url=f"/orgs/{org.id}",
    )
    db.session.commit()
    row = db.session.query(OutboxMail).one()
    assert row.subject == "「测试基金会」已通过认证"
    assert f"https://cl.example.gov.cn/orgs/{org.id}" in row.text_body
    assert "https://cl.example.gov.cn/unsubscribe/" in row.text_body
    assert "<script" not in row.html_body


def test_html_escapes_what_the_params_carry(app, create_org, create_user):
    user = create_user("moderator", email_kinds=["org_registered"])
    notify(
        "org_registered",
        [user],
        event="org:evil",
        params={"org": '<img src=x onerror="alert(1)">'},
    )
    db.session.commit()
    row = db.session.query(OutboxMail).one()
    assert "<img" not in row.html_body and "&lt;img" in row.html_body
