"""The admin's outbox page: states, filter, paging; admins only."""

from __future__ import annotations

from charitylink.core.timeutil import utcnow
from charitylink.extensions import db
from charitylink.mail.models import MailStatus, OutboxMail
from charitylink.mail.outbox import enqueue


def _page(client, url: str) -> str:  # type: ignore[no-untyped-def]
    # Long addresses may wrap after a dot or @ (<wbr>): read them whole.
    return client.get(url).get_data(as_text=True).replace("<wbr>", "")


def test_admin_sees_states_and_filters(app, client, login_as, create_user):
    admin = create_user("admin")
    for n in range(3):
        enqueue(f"q{n}@example.org", f"待发 {n}", "正文")
    db.session.flush()
    failed = OutboxMail(
        to_address="bad@example.org",
        subject="失败的邮件",
        text_body="正文",
        status=MailStatus.FAILED,
        attempts=8,
        last_error="SMTPRecipientsRefused: 550 5.1.1 No such user",
        next_attempt_at=utcnow(),
    )
    db.session.add(failed)
    db.session.commit()
    login_as(admin)
    page = _page(client, "/admin/mail")
    assert "邮件发送队列" in page and "q0@example.org" in page and "失败的邮件" in page
    only_failed = _page(client, "/admin/mail?status=failed")
    assert (
        "550 5.1.1 No such user" in only_failed and "q0@example.org" not in only_failed
    )
    assert client.get("/admin/mail?status=bogus&page=x").status_code == 200


def test_paged(app, client, login_as, create_user):
    admin = create_user("admin")
    for n in range(55):
        enqueue(f"p{n}@example.org", f"第 {n} 封", "正文")
    db.session.commit()
    login_as(admin)
    first = _page(client, "/admin/mail")
    assert "p54@example.org" in first and "p0@example.org" not in first
    second = _page(client, "/admin/mail?page=2")
    assert "p0@example.org" in second


def test_not_for_moderators_or_orgs(app, client, login_as, create_user, create_org):
    for user in (create_user("moderator"), create_user("org_admin", org=create_org())):
        login_as(user)
        assert client.get("/admin/mail").status_code == 403
