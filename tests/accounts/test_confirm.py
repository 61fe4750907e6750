"""E-mail confirmation of a newly registered org admin: the mailed link, the
resend button, and the moderators' queue that lists confirmed ones first."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from charitylink.accounts import links
from charitylink.accounts.models import User
from charitylink.core.audit import AuditEvent
from charitylink.core.timeutil import utcnow
from charitylink.extensions import db
from charitylink.mail.models import OutboxMail
from charitylink.orgs.models import Organization, OrgStatus
from tests.conftest import TEST_SECRET
from tests.factories import org_admin_of
from tests.orgs.conftest import registration


def mails(to: str) -> list[OutboxMail]:
    return list(
        db.session.scalars(select(OutboxMail).where(OutboxMail.to_address == to))
    )


def confirm_link(mail: OutboxMail) -> str:
    found = re.search(r"https?://\S+/confirm/(\S+)", mail.text_body)
    assert found, mail.text_body
    return found.group(1)


def audits(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == action))
    )


def test_registration_mails_a_link_that_confirms_the_address(client) -> None:
    data = registration()
    assert client.post("/register", data=data).status_code == 302
    (mail,) = mails(data["admin_email"])
    assert mail.subject == "善联：请确认您的邮箱"
    assert "7 天内有效" in mail.text_body
    token = confirm_link(mail)
    user = db.session.scalar(select(User).where(User.email == data["admin_email"]))
    assert user is not None and user.email_confirmed_at is None
    # Opening the link changes nothing (a mail scanner may open it) ...
    page = client.get(f"/confirm/{token}")
    assert page.status_code == 200
    assert "确认这是我的邮箱" in page.get_data(as_text=True)
    db.session.expire_all()
    assert user.email_confirmed_at is None
    # ... the button does.
    resp = client.post(f"/confirm/{token}")
    assert resp.status_code == 302
    db.session.expire_all()
    assert user.email_confirmed_at is not None
    assert len(audits("user.email_confirm")) == 1
    # Again: said, not written twice.
    again = client.post(f"/confirm/{token}", follow_redirects=True)
    assert "此前已经确认过" in again.get_data(as_text=True)
    assert len(audits("user.email_confirm")) == 1


def test_an_existing_address_is_told_instead_of_confirmed(client, create_user) -> None:
    """The same answer as a new registration, and the same work (a mail), but
    the mail goes to the address's owner and says nothing was created."""
    user = create_user("moderator")
    data = registration(admin_email=user.email, name="冒名登记的基金会")
    assert client.post("/register", data=data).status_code == 302
    (mail,) = mails(user.email)
    assert "/confirm/" not in mail.text_body
    assert "有人用您的邮箱注册机构" in mail.subject
    assert "冒名登记的基金会" in mail.text_body and "没有创建新账号" in mail.text_body
    assert "http://localhost:5000/forgot" in mail.text_body
    assert data["admin_password"] not in mail.text_body + mail.html_body


def _old(payload: dict[str, Any], age: int, salt: str = links.CONFIRM_SALT) -> str:
    class Earlier(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age

    return str(
        URLSafeTimedSerializer(TEST_SECRET, salt=salt, signer=Earlier).dumps(payload)
    )


def test_expired_forged_or_stale_links_are_refused(
    client, create_org, create_user
) -> None:
    user = org_admin_of(create_org())
    payload = {"u": user.id, "e": user.email}
    expired = _old(payload, 8 * 24 * 3600)
    resp = client.post(f"/confirm/{expired}")
    assert resp.status_code == 400
    assert "这个链接已过期。" in resp.get_data(as_text=True)
    for bad in (
        links.reset_token(user),  # another purpose's link
        _old({"u": user.id, "e": "someone-else@example.org"}, 0),  # old address
        "nonsense",
    ):
        resp = client.post(f"/confirm/{bad}")
        assert resp.status_code == 400
        assert "无效" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert user.email_confirmed_at is None
    assert audits("user.email_confirm") == []


def test_unconfirmed_org_admin_sees_the_banner_and_can_resend(
    client, login_as, create_org
) -> None:
    user = org_admin_of(create_org())
    login_as(user)
    page = client.get("/org/profile").get_data(as_text=True)
    assert "请确认您的邮箱" in page and "/account/confirm/resend" in page
    resp = client.post("/account/confirm/resend", data={"next": "/org/profile"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/org/profile")
    (mail,) = mails(user.email)
    client.post(f"/confirm/{confirm_link(mail)}")
    db.session.expire_all()
    assert user.email_confirmed_at is not None
    page = client.get("/org/profile").get_data(as_text=True)
    assert "请确认您的邮箱" not in page
    # Confirmed: resending sends nothing.
    client.post("/account/confirm/resend")
    assert len(mails(user.email)) == 1


def test_resend_goes_nowhere_outside_the_site(client, login_as, create_org) -> None:
    login_as(org_admin_of(create_org()))
    resp = client.post(
        "/account/confirm/resend", data={"next": "https://evil.example/"}
    )
    assert "evil.example" not in resp.headers["Location"]


def test_queue_lists_confirmed_registrations_first_and_marks_them(
    client, login_as, create_org, create_user
) -> None:
    older_confirmed = create_org(
        name="甲先注册并确认的基金会", status=OrgStatus.PENDING
    )
    newer_unconfirmed = create_org(
        name="乙后注册未确认的协会", status=OrgStatus.PENDING
    )
    verified = create_org(name="丙已认证的基金会")
    older_confirmed.created_at = utcnow() - timedelta(days=2)
    newer_unconfirmed.created_at = utcnow() - timedelta(days=1)
    admin = org_admin_of(older_confirmed)
    admin.email_confirmed_at = utcnow()
    db.session.commit()
    mod = create_user("moderator", region_prefix="22")
    login_as(mod)
    html = client.get("/mod/orgs").get_data(as_text=True)
    first = html.index(older_confirmed.name)
    second = html.index(newer_unconfirmed.name)
    third = html.index(verified.name)
    assert first < second < third
    rows = html.split("<tr>")
    row_of = {
        org.name: next(r for r in rows if org.name in r)
        for org in (older_confirmed, newer_unconfirmed)
    }
    assert "已确认" in row_of[older_confirmed.name]
    assert "未确认" in row_of[newer_unconfirmed.name]
    # The review page says it too, and an unconfirmed one may still be verified.
    review = client.get(f"/mod/orgs/{newer_unconfirmed.id}").get_data(as_text=True)
    assert "邮箱未确认" in review
    assert client.post(f"/mod/orgs/{newer_unconfirmed.id}/verify").status_code == 302
    db.session.expire_all()
    assert db.session.get(Organization, newer_unconfirmed.id).status == "verified"


def test_a_registration_through_the_api_is_asked_to_confirm_too(client) -> None:
    from tests.orgs.conftest import api_registration

    body = api_registration()
    assert client.post("/api/v1/orgs", json=body).status_code == 201
    (mail,) = mails(body["admin"]["email"])
    assert "/confirm/" in mail.text_body
