"""Passwords, login answers, sessions and tokens (ASVS V2, V3)."""

from __future__ import annotations

import logging

import pytest
from argon2 import PasswordHasher, Type
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from charitylink.accounts import passwords
from charitylink.accounts.models import User
from charitylink.extensions import db
from charitylink.seeding.demo import DEMO_PASSWORD
from charitylink.seeding.generated import BENCH_PASSWORD
from tests.factories import PASSWORD


def _login(client, email: str, password: str, **kw):  # type: ignore[no-untyped-def]
    return client.post("/login", data={"email": email, "password": password}, **kw)


# ---------------------------------------------------------------- passwords


@pytest.mark.parametrize(
    "legacy",
    [
        generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"),
        generate_password_hash(PASSWORD, method="scrypt:1024:8:1"),
        PasswordHasher(time_cost=1, memory_cost=256, parallelism=1).hash(PASSWORD),
        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.I).hash(
            PASSWORD
        ),  # argon2i
    ],
    ids=["pbkdf2", "scrypt", "weak-argon2id", "argon2i"],
)
def test_login_with_an_older_hash_upgrades_it(app, client, create_user, legacy):
    user = create_user("admin")
    user.password_hash = legacy
    db.session.commit()
    assert passwords.needs_rehash(legacy)

    resp = _login(client, user.email, PASSWORD)

    assert resp.status_code == 302
    db.session.expire_all()
    upgraded = db.session.get(User, user.id).password_hash
    assert upgraded.startswith("$argon2id$") and upgraded != legacy
    assert not passwords.needs_rehash(upgraded)
    assert passwords.verify_password(upgraded, PASSWORD)


def test_wrong_password_does_not_touch_a_legacy_hash(app, client, create_user):
    user = create_user("admin")
    legacy = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    user.password_hash = legacy
    db.session.commit()
    _login(client, user.email, "wrong-password-123")
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == legacy


def test_token_login_upgrades_an_older_hash_too(app, client, create_user):
    user = create_user("admin")
    user.password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    db.session.commit()
    resp = client.post(
        "/api/v1/tokens", json={"email": user.email, "password": PASSWORD}
    )
    assert resp.status_code == 201
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash.startswith("$argon2id$")


def test_production_hasher_is_argon2id_with_owasp_parameters(monkeypatch):
    import importlib

    monkeypatch.delenv("CHARITYLINK_FAST_HASH")
    try:
        importlib.reload(passwords)
        hasher = passwords._hasher
        assert hasher.type.name == "ID"
        # OWASP: argon2id with at least 19 MiB and 2 iterations.
        assert hasher.memory_cost >= 19 * 1024 and hasher.time_cost >= 2
        assert passwords.hash_password("x" * 12).startswith("$argon2id$")
    finally:
        monkeypatch.setenv("CHARITYLINK_FAST_HASH", "1")
        importlib.reload(passwords)


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("short-pw", False),  # 8 characters
        ("123456789", False),
        ("1234567890", False),  # common
        ("Password123", False),  # common (case-insensitive)
        ("qwertyuiop", False),
        ("aaaaaaaaaaaa", False),  # one repeated character
        ("x" * 129, False),
        ("长白山下的一棵老松树", True),  # 10 Chinese characters
        ("correct horse battery staple", True),
        # The pen test's weak passwords (finding 9c): long enough, still guessable.
        ("password1234", False),
        ("admin123456", False),
        ("qwerty123456", False),
        ("Passw0rd!!", False),
        ("1q2w3e4r5t6y", False),  # keyboard run
        ("woaini1314520", False),
        ("zhongguo2026", False),
        ("baobei123456", False),
        # Passwords the demo data, the benchmark, the docs and the tests use.
        (DEMO_PASSWORD, True),
        (BENCH_PASSWORD, True),
        (PASSWORD, True),
        ("spring-light-2026", True),  # docs/orgs-accounts.md
    ],
)
def test_password_policy(password, ok):
    assert (passwords.password_problem(password) is None) is ok


@pytest.mark.parametrize(
    "password", ["liu.chunhui-2026", "liuchunhui2026", "aixinjijin2026"]
)
def test_password_built_from_the_users_own_details_is_refused(password):
    # Strong enough for a stranger, guessable for whoever knows the account.
    assert passwords.password_problem(password) is None
    own = ["liu.chunhui@example.org", "Liu Chunhui", "aixinjijin"]
    problem = passwords.password_problem(password, own)
    assert problem is not None and "邮箱、姓名或机构名称" in problem


def test_a_long_password_is_judged_quickly():
    # zxcvbn's matching grows steeply with length; only the start is scored.
    import secrets
    import string
    import time

    password = "".join(secrets.choice(string.ascii_letters) for _ in range(128))
    started = time.monotonic()
    assert passwords.password_problem(password) is None
    assert time.monotonic() - started < 5


def test_registration_refuses_a_password_made_of_the_orgs_details(client):
    from tests.orgs.conftest import api_registration

    body = api_registration()
    body["admin"]["password"] = body["admin"]["email"].split("@")[0] + "-2026"
    resp = client.post("/api/v1/orgs", json=body)
    assert resp.status_code == 422
    assert (
        "邮箱、姓名或机构名称" in resp.get_json()["error"]["fields"]["admin.password"]
    )


def test_registration_refuses_a_common_password(app, client):
    resp = client.post(
        "/register",
        data={
            "name": "弱密码测试基金会",
            "uscc": "53220100MJ0000001X",
            "org_type": "foundation",
            "region_code": "220102",
            "contact_phone": "0431-88886666",
            "admin_name": "张测试",
            "admin_email": "weak@example.org",
            "admin_password": "password123",
            "admin_password2": "password123",
        },
    )
    assert resp.status_code == 200
    assert "太常见" in resp.get_data(as_text=True)
    assert (
        db.session.scalar(select(User).where(User.email == "weak@example.org")) is None
    )


# ---------------------------------------------------------------- login answers


def test_unknown_user_and_wrong_password_get_the_same_answer(app, create_user):
    user = create_user("admin")
    answers = []
    for email, password in (
        (user.email, "wrong-password-1"),
        ("nobody@x.org", "x" * 12),
    ):
        c = app.test_client()
        resp = _login(c, email, password)
        body = resp.get_data(as_text=True)
        answers.append((resp.status_code, "邮箱或密码不正确" in body))
        token = c.post("/api/v1/tokens", json={"email": email, "password": password})
        answers.append((token.status_code, token.get_json()["error"]["message"]))
    assert answers[0] == answers[2] == (200, True)
    assert answers[1] == answers[3]
    assert answers[1][0] == 401


def test_login_starts_a_new_session(app, client, create_user):
    user = create_user("admin")
    with client.session_transaction() as sess:
        sess["planted"] = "by-attacker"
    _login(client, user.email, PASSWORD)
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"] == user.get_id()


# ---------------------------------------------------------------- sessions


def _copied_cookie(app, client):  # type: ignore[no-untyped-def]
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def _is_logged_in(c) -> bool:  # type: ignore[no-untyped-def]
    from tests.security.routes import forget_user

    forget_user()
    return c.get("/account/password").status_code == 200


def test_logout_makes_a_copied_cookie_anonymous(app, client, create_user, api_token):
    user = create_user("admin")
    _login(client, user.email, PASSWORD)
    thief = _copied_cookie(app, client)
    headers = api_token(user)
    assert _is_logged_in(thief)

    client.post("/logout")

    assert not _is_logged_in(thief)
    assert not _is_logged_in(client)
    assert app.test_client().get("/api/v1/claims", headers=headers).status_code == 401


def test_password_change_ends_other_sessions_and_tokens(
    app, client, create_user, api_token
):
    user = create_user("admin")
    _login(client, user.email, PASSWORD)
    thief = _copied_cookie(app, client)
    headers = api_token(user)

    resp = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a-new-long-passphrase",
            "new_password2": "a-new-long-passphrase",
        },
    )

    assert resp.status_code == 302
    assert not _is_logged_in(thief)
    assert app.test_client().get("/api/v1/claims", headers=headers).status_code == 401
    fresh = app.test_client()
    assert _login(fresh, user.email, "a-new-long-passphrase").status_code == 302


def test_revoked_token_is_refused(app, client, create_user, api_token, login_as):
    from charitylink.accounts.models import ApiToken

    user = create_user("admin")
    headers = api_token(user)
    token = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id)
    ).one()
    login_as(user)
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 302
    assert app.test_client().get("/api/v1/stats", headers=headers).status_code == 401


def test_session_cookie_flags_in_production(tmp_path, monkeypatch, db_url):
    from charitylink import create_app

    monkeypatch.setenv("SECRET_KEY", "p" * 48)
    monkeypatch.setenv("DATA_KEY", _data_key())
    app = create_app(
        {
            "PRODUCTION": True,
            "INSTANCE_PATH": str(tmp_path),
            "SQLALCHEMY_DATABASE_URI": db_url,
        }
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["DEBUG"] is False
    c = app.test_client()
    resp = c.get("/login")
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
    # The login form sets the session cookie (CSRF token): check its attributes.
    cookie = resp.headers.get("Set-Cookie", "")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_refuses_a_short_secret_key(tmp_path, monkeypatch):
    from charitylink import create_app
    from charitylink.config import ConfigError

    monkeypatch.setenv("SECRET_KEY", "short")
    monkeypatch.setenv("DATA_KEY", _data_key())
    with pytest.raises(ConfigError):
        create_app({"PRODUCTION": True, "INSTANCE_PATH": str(tmp_path)})


def _data_key() -> str:
    from charitylink.core.crypto import generate_data_key

    return generate_data_key()


# ---------------------------------------------------------------- logs


SECRET_PASSWORD = "Zq-secret-canary-4471"
HOUSEHOLD_NAME = "金秀英"
HOUSEHOLD_PHONE = "13904315566"


def test_no_password_token_or_household_field_in_any_log(
    app, client, create_user, create_org, login_as, caplog
):
    from tests.factories import make_id_number

    id_number = make_id_number(4471)
    user = create_user("moderator", region_prefix="22", password=SECRET_PASSWORD)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # SQL + params
    try:
        _login(client, user.email, SECRET_PASSWORD)
        _login(app.test_client(), user.email, SECRET_PASSWORD + "x")
        token = client.post(
            "/api/v1/tokens", json={"email": user.email, "password": SECRET_PASSWORD}
        ).get_json()["token"]
        resp = client.post(
            "/api/v1/needs",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "title": "患病老人需要医疗费用帮扶",
                "description": "家庭成员长期患病，医疗费用负担较重。",
                "category": "dibao",
                "need_type": "medical",
                "region_code": "220102",
                "household_size": 2,
                "gov_assistance": [],
                "amount": 300_000,
                "urgency": "normal",
                "household": {
                    "name": HOUSEHOLD_NAME,
                    "id_number": id_number,
                    "phone": HOUSEHOLD_PHONE,
                    "address": "幸福街道七号院",
                    "notes": "个案备注金秀英",
                },
            },
        )
        assert resp.status_code == 201, resp.get_json()
        # A refused request logs too: the same household in a bad need.
        client.post(
            "/api/v1/needs",
            headers={"Authorization": f"Bearer {token}"},
            json={"household": {"name": HOUSEHOLD_NAME, "id_number": id_number}},
        )
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    text = "\n".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records
    )
    assert caplog.records, "nothing was logged: the test would prove nothing"
    for canary in (
        SECRET_PASSWORD,
        token,
        HOUSEHOLD_NAME,
        id_number,
        HOUSEHOLD_PHONE,
        "幸福街道七号院",
    ):
        assert canary not in text, canary
