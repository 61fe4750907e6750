"""Password reset by e-mail: /forgot answers the same for any address, the
mailed link is signed, single use, one hour, and ends every other session and
API token; a forged or expired link changes nothing."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from charitylink.accounts import links
from charitylink.accounts.models import User
from charitylink.accounts.passwords import verify_password
from charitylink.core.audit import AuditEvent
from charitylink.extensions import db
from charitylink.mail.models import OutboxMail
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, org_admin_of

NEW = "plum-rain-over-songhua-river"


def mails(to: str | None = None) -> list[OutboxMail]:
    stmt = select(OutboxMail).order_by(OutboxMail.id)
    if to is not None:
        stmt = stmt.where(OutboxMail.to_address == to)
    return list(db.session.scalars(stmt))


def link_in(mail: OutboxMail) -> str:
    found = re.search(r"https?://\S+/reset/(\S+)", mail.text_body)
    assert found, mail.text_body
    return found.group(1)


def audits(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == action))
    )


def ask(client: Any, email: str) -> Any:
    return client.post("/forgot", data={"email": email})


def test_login_page_links_to_forgot(client) -> None:
    assert 'href="/forgot"' in client.get("/login").get_data(as_text=True)


def test_same_answer_for_known_and_unknown_address_mail_only_for_known(
    app, create_user
) -> None:
    user = create_user("moderator")
    known = ask(app.test_client(), user.email)
    unknown = ask(app.test_client(), "nobody-here@example.org")
    assert known.status_code == unknown.status_code == 302
    assert known.get_data() == unknown.get_data()
    assert known.headers["Location"] == unknown.headers["Location"]
    # The page after the redirect says the same too.
    pages = []
    for email in (user.email, "nobody-either@example.org"):
        c = app.test_client()
        pages.append(c.post("/forgot", data={"email": email}, follow_redirects=True))
    assert pages[0].status_code == pages[1].status_code == 200
    assert pages[0].get_data() == pages[1].get_data()
    assert "1 小时内有效" in pages[0].get_data(as_text=True)
    assert len(mails(user.email)) == 2
    assert len(mails()) == 2  # nothing for the unknown addresses


def test_both_branches_do_the_same_work(client, create_user, monkeypatch) -> None:
    """The mail is rendered for an unknown address too (only not queued), so
    the answer takes about as long."""
    user = create_user("moderator")
    rendered: list[str] = []
    real = links.reset_mail

    def spy(u: User, by_admin: bool = False) -> tuple[str, str, str]:
        rendered.append(u.email)
        return real(u, by_admin)

    monkeypatch.setattr(links, "reset_mail", spy)
    ask(client, user.email)
    ask(client, "unknown@example.org")
    assert len(rendered) == 2


def test_similar_timing_for_known_and_unknown(app, create_user) -> None:
    user = create_user("moderator")
    c = app.test_client()

    def median(email: str) -> float:
        times = []
        for _ in range(7):
            start = time.perf_counter()
            ask(c, email)
            times.append(time.perf_counter() - start)
        return sorted(times)[3]

    ask(c, "warm-up@example.org")
    known, unknown = median(user.email), median("unknown@example.org")
    # Loose (a shared machine): an unknown address must not answer in a
    # fraction of the time a known one takes.
    assert unknown > known / 3


def test_deactivated_account_gets_no_mail(client, create_user) -> None:
    user = create_user("moderator", active=False)
    assert ask(client, user.email).status_code == 302
    assert mails() == []


def test_bad_address_is_a_field_message(client) -> None:
    resp = client.post("/forgot", data={"email": "not-an-address"})
    assert resp.status_code == 200
    assert "邮箱格式不正确。" in resp.get_data(as_text=True)
    assert mails() == []


def test_mail_is_chinese_with_absolute_link_and_no_secret(client, create_user) -> None:
    user = create_user("moderator")
    ask(client, user.email)
    (mail,) = mails()
    assert mail.subject == "善联：重设密码"
    assert "1 小时内有效" in mail.text_body
    assert "http://localhost:5000/reset/" in mail.text_body
    assert 'href="http://localhost:5000/reset/' in mail.html_body
    assert user.password_hash not in mail.text_body + mail.html_body
    assert mail.user_id == user.id


def test_reset_sets_password_ends_other_sessions_and_tokens_link_single_use(
    app, client, login_as, api_token, create_org
) -> None:
    user = org_admin_of(create_org())
    other_device = login_as(user, app.test_client())
    assert other_device.get("/account/password").status_code == 200
    headers = api_token(user)
    assert app.test_client().get("/api/v1/claims", headers=headers).status_code == 200
    ask(client, user.email)
    token = link_in(mails(user.email)[0])

    page = client.get(f"/reset/{token}")
    assert page.status_code == 200
    assert user.email in page.get_data(as_text=True)
    resp = client.post(
        f"/reset/{token}", data={"new_password": NEW, "confirm_password": NEW}
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    db.session.expire_all()
    assert verify_password(user.password_hash, NEW)
    assert len(audits("user.password_reset")) == 1
    # Every other session and API token has ended.
    assert other_device.get("/account/password").status_code == 302
    assert app.test_client().get("/api/v1/claims", headers=headers).status_code == 401
    # The person signs in with the new password.
    ok = app.test_client().post("/login", data={"email": user.email, "password": NEW})
    assert ok.status_code == 302
    # The link was used: it is refused, and nothing changes.
    again = client.get(f"/reset/{token}")
    assert again.status_code == 400
    assert "无效或已经用过" in again.get_data(as_text=True)
    hash_after = user.password_hash
    other = "another-long-passphrase-entirely"
    reuse = client.post(
        f"/reset/{token}", data={"new_password": other, "confirm_password": other}
    )
    assert reuse.status_code == 400
    db.session.expire_all()
    assert user.password_hash == hash_after
    assert len(audits("user.password_reset")) == 1


def _token_from(secret: str, salt: str, payload: dict[str, Any], age: int) -> str:
    """A token signed ``age`` seconds ago, by the serializer's own signer."""

    class Earlier(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age

    return str(URLSafeTimedSerializer(secret, salt=salt, signer=Earlier).dumps(payload))


def _payload(user: User) -> dict[str, Any]:
    return {"u": user.id, "p": links._password_digest(user)}


def test_link_expires_after_an_hour(client, create_user) -> None:
    user = create_user("moderator")
    fresh = _token_from(TEST_SECRET, links.RESET_SALT, _payload(user), 3500)
    assert client.get(f"/reset/{fresh}").status_code == 200
    old = _token_from(TEST_SECRET, links.RESET_SALT, _payload(user), 3700)
    resp = client.get(f"/reset/{old}")
    assert resp.status_code == 400
    assert "这个链接已过期。" in resp.get_data(as_text=True)
    before = user.password_hash
    post = client.post(
        f"/reset/{old}", data={"new_password": NEW, "confirm_password": NEW}
    )
    assert post.status_code == 400
    db.session.expire_all()
    assert user.password_hash == before
    assert audits("user.password_reset") == []


@pytest.mark.parametrize(
    "forge",
    [
        "wrong_key",
        "confirm_link",
        "tampered",
        "garbage",
        "other_user",
    ],
)
def test_forged_links_are_refused_and_change_nothing(
    client, create_user, forge
) -> None:
    user = create_user("moderator")
    victim = create_user("moderator")
    good = links.reset_token(user)
    token = {
        "wrong_key": _token_from(
            "not-the-key" * 4, links.RESET_SALT, _payload(user), 0
        ),
        "confirm_link": links.confirm_token(user),
        "tampered": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),
        "garbage": "x" * 50,
        # A valid signature over the victim's id with the other's password digest.
        "other_user": _token_from(
            TEST_SECRET, links.RESET_SALT, {"u": victim.id, "p": _payload(user)["p"]}, 0
        ),
    }[forge]
    hashes = (user.password_hash, victim.password_hash)
    resp = client.post(
        f"/reset/{token}", data={"new_password": NEW, "confirm_password": NEW}
    )
    assert resp.status_code == 400
    assert "无效或已经用过" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert (user.password_hash, victim.password_hash) == hashes
    assert audits("user.password_reset") == []


def test_password_rules_and_mismatch_in_one_round(client, create_user) -> None:
    user = create_user("moderator")
    token = links.reset_token(user)
    resp = client.post(
        f"/reset/{token}",
        data={"new_password": "short", "confirm_password": "different"},
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "密码至少需要 10 个字符。" in html
    assert "两次输入的密码不一致。" in html
    weak = client.post(
        f"/reset/{token}",
        data={"new_password": "password1234", "confirm_password": "password1234"},
    )
    assert "太常见" in weak.get_data(as_text=True)
    db.session.expire_all()
    assert verify_password(user.password_hash, PASSWORD)
    # The link still works after refused tries.
    assert client.get(f"/reset/{token}").status_code == 200


def test_a_password_change_kills_an_outstanding_link(client, create_user) -> None:
    from charitylink.accounts import services

    user = create_user("moderator")
    token = links.reset_token(user)
    services.change_password(user, PASSWORD, NEW)
    db.session.commit()
    assert client.get(f"/reset/{token}").status_code == 400


def test_deactivated_account_link_is_refused(client, create_user) -> None:
    user = create_user("moderator")
    token = links.reset_token(user)
    user.active = False
    db.session.commit()
    assert client.get(f"/reset/{token}").status_code == 400


def test_link_pages_are_not_cached(client, create_user) -> None:
    user = create_user("moderator")
    for url in (
        f"/reset/{links.reset_token(user)}",
        f"/confirm/{links.confirm_token(user)}",
        "/reset/bad",
    ):
        assert client.get(url).headers["Cache-Control"] == "no-store", url


def test_links_use_base_url_never_the_requests_host(app, client, create_user) -> None:
    """A forged Host header must not put the attacker's host in the victim's
    reset link."""
    user = create_user("moderator")
    client.post(
        "/forgot",
        data={"email": user.email},
        headers={"Host": "evil.example"},
    )
    app.config["BASE_URL"] = "https://shanlian.example.cn/"
    client.post("/forgot", data={"email": user.email}, headers={"Host": "evil.example"})
    first, second = mails(user.email)
    for mail in (first, second):
        assert "evil.example" not in mail.text_body + mail.html_body
    assert "http://localhost:5000/reset/" in first.text_body
    assert "https://shanlian.example.cn/reset/" in second.text_body
