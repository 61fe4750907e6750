"""Delivery to a real SMTP server on loopback: what arrives, and that a server
that refuses or drops the mail loses none of it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from charitylink.core.timeutil import utcnow
from charitylink.extensions import db
from charitylink.mail.models import MailStatus, OutboxMail
from charitylink.mail.outbox import enqueue
from charitylink.mail.sender import backoff, send_all_due, send_due
from charitylink.notifications.services import notify


def _rows() -> list[OutboxMail]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


def _org_admin_told(create_org, create_user):  # type: ignore[no-untyped-def]
    org = create_org(name="吉林省测试慈善基金会")
    admin = create_user("org_admin", org=org, email="admin@org.example")
    notify(
        "org_verified",
        [admin],
        event=f"org:{org.id}",
        params={"org": org.name},
        url=f"/orgs/{org.id}",
    )
    db.session.commit()
    return org, admin


def test_a_notification_mail_arrives_with_both_parts_and_unsubscribe_headers(
    app, smtp_server, create_org, create_user
):
    org, admin = _org_admin_told(create_org, create_user)
    result = send_due()
    assert (result.sent, result.retrying, result.failed) == (1, 0, 0)
    [msg] = smtp_server.recorder.received
    assert msg["To"] == "admin@org.example"
    # (Python folds a long encoded subject onto the next line: a leading space.)
    assert msg["Subject"].strip() == f"「{org.name}」已通过认证"
    assert "no-reply@charitylink.test" in msg["From"]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "已通过民政部门认证" in text and "已通过民政部门认证" in html
    # Absolute links on BASE_URL: a mail has no page to be relative to.
    assert f"https://cl.example.gov.cn/orgs/{org.id}" in text
    assert f'href="https://cl.example.gov.cn/orgs/{org.id}"' in html
    unsubscribe = msg["List-Unsubscribe"].strip()
    assert unsubscribe.startswith("<https://cl.example.gov.cn/unsubscribe/")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe.strip("<>") in text and unsubscribe.strip("<>") in html
    [row] = _rows()
    assert row.status == MailStatus.SENT and row.attempts == 1 and row.sent_at


def test_a_refusing_then_dropping_then_absent_server_loses_nothing(app, smtp_server):
    for n in range(3):
        enqueue(f"u{n}@example.org", f"测试邮件 {n}", f"正文 {n}", f"<p>正文 {n}</p>")
    db.session.commit()
    recorder = smtp_server.recorder
    now = utcnow()

    recorder.data_answer = "451 4.3.0 Try again later"
    result = send_due(now)
    assert (result.sent, result.retrying) == (0, 3)
    rows = _rows()
    assert {r.status for r in rows} == {MailStatus.QUEUED}
    assert all("451" in (r.last_error or "") for r in rows)
    assert all("正文" not in (r.last_error or "") for r in rows)
    assert all(r.attempts == 1 for r in rows)
    # Not due again before its backoff has passed.
    assert send_due(now + timedelta(seconds=30)).total == 0

    recorder.data_answer = None
    recorder.rcpt_answer = "550 5.1.1 Mailbox unavailable"
    now += backoff(1)
    assert send_due(now).retrying == 3
    assert all("550" in (r.last_error or "") for r in _rows())

    recorder.rcpt_answer = None
    recorder.drop = True
    now += backoff(2)
    assert send_due(now).retrying == 3
    assert all("Disconnected" in (r.last_error or "") for r in _rows())

    recorder.drop = False
    smtp_server.stop()
    now += backoff(3)
    assert send_due(now).retrying == 3
    assert all("Connection" in (r.last_error or "") for r in _rows())
    assert recorder.received == []

    smtp_server.start()  # the server is back
    now += backoff(4)
    result = send_all_due(now)
    assert result.sent == 3
    rows = _rows()
    assert {r.status for r in rows} == {MailStatus.SENT}
    assert all(r.attempts == 5 for r in rows)
    assert sorted(recorder.outbox_ids()) == [r.id for r in rows]


def test_backoff_doubles_and_is_capped():
    assert [backoff(n).total_seconds() / 60 for n in range(1, 6)] == [1, 2, 4, 8, 16]
    assert backoff(30) == timedelta(hours=4)


def test_failed_after_the_last_try_with_the_reason(app, smtp_server):
    app.config["MAIL_MAX_ATTEMPTS"] = 3
    enqueue("nobody@example.org", "不会送达", "机密正文不应出现在错误里")
    db.session.commit()
    smtp_server.recorder.rcpt_answer = "550 5.1.1 No such user here"
    now = utcnow()
    for attempt in range(1, 4):
        result = send_due(now)
        assert result.total == 1
        now += backoff(attempt)
    assert result.failed == 1
    [row] = _rows()
    assert row.status == MailStatus.FAILED and row.attempts == 3
    assert "550" in (row.last_error or "") and "No such user" in (row.last_error or "")
    assert "机密正文" not in (row.last_error or "")
    # A failed mail is not tried again.
    assert send_due(now + timedelta(days=1)).total == 0


def test_a_rolled_back_change_sends_nothing(app, smtp_server):
    enqueue("a@example.org", "回滚", "正文")
    db.session.rollback()
    assert send_due().total == 0
    assert smtp_server.recorder.received == []


def test_the_cli_sends_one_pass_and_prints_counts(app, runner, smtp_server):
    for n in range(2):
        enqueue(f"c{n}@example.org", "命令行", "正文")
    db.session.commit()
    out = runner.invoke(args=["mail", "send"])
    assert out.exit_code == 0, out.output
    assert "已发送 2 封" in out.output
    assert len(smtp_server.recorder.received) == 2
    out = runner.invoke(args=["mail", "send"])
    assert "已发送 0 封" in out.output


def test_a_row_that_cannot_be_a_message_fails_alone(app, smtp_server):
    """A line break in the address (header injection) is refused as a try,
    without stopping the mail queued beside it."""
    app.config["MAIL_MAX_ATTEMPTS"] = 2
    enqueue("victim@example.org\nBcc: all@example.org", "注入", "正文")
    enqueue("good@example.org", "正常", "正文")
    db.session.commit()
    now = utcnow()
    first = send_due(now)
    assert (first.sent, first.retrying) == (1, 1)
    second = send_due(now + backoff(1))
    assert second.failed == 1
    bad, good = _rows()
    assert bad.status == MailStatus.FAILED
    assert "Invalid address" in (bad.last_error or "")
    assert good.status == MailStatus.SENT
    assert [m["To"] for m in smtp_server.recorder.received] == ["good@example.org"]


def test_the_header_link_of_a_delivered_mail_unsubscribes(
    app, client, smtp_server, create_org, create_user
):
    """What a mail program does with List-Unsubscribe-Post: POST the header's
    URL with ``List-Unsubscribe=One-Click``; that kind stops by e-mail."""
    _org, admin = _org_admin_told(create_org, create_user)
    send_due()
    [msg] = smtp_server.recorder.received
    url = msg["List-Unsubscribe"].strip().strip("<>")
    path = url.removeprefix(app.config["BASE_URL"])
    resp = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert resp.status_code == 200
    db.session.expire_all()
    assert not admin.wants_email("org_verified")
    assert admin.wants_email("org_rejected")
