"""Headers on every response, error pages without internals, safe redirects,
proxy trust, upload size (ASVS V14, V5.1.5, V12)."""

from __future__ import annotations

import pytest
from flask import Flask

from charitylink.core.security import CSP
from charitylink.core.urls import safe_next
from tests.factories import PASSWORD
from tests.security.routes import Caller, methods, rules, url_for_rule

REQUIRED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _check_headers(resp, where: str) -> None:  # type: ignore[no-untyped-def]
    csp = resp.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp, where
    script = next(
        (d for d in csp.split(";") if d.strip().startswith("script-src")),
        "default-src",
    )
    assert "unsafe-inline" not in script and "unsafe-eval" not in script, where
    assert "'self'" in script or "default-src" in script, where
    for name, value in REQUIRED_HEADERS.items():
        assert resp.headers.get(name) == value, (where, name)


def test_csp_forbids_inline_script_and_framing():
    assert "script-src 'self'" in CSP
    assert "unsafe-inline" not in CSP.split("style-src")[0]
    assert "object-src 'none'" in CSP and "frame-ancestors 'none'" in CSP


def test_every_get_route_sends_the_security_headers(app, world, login_as):
    """Each GET rule as the public and as an org admin: headers on 200s, 302s,
    403s and 404s alike."""
    caller = Caller(app, world, login_as)
    seen = 0
    for rule in rules(app):
        if "GET" not in methods(rule):
            continue
        url = url_for_rule(app, rule, world)
        for role in ("public", "admin_a", "mod_in"):
            resp = caller.request(role, "GET", url)
            _check_headers(resp, f"{role} GET {url} → {resp.status_code}")
            seen += 1
    assert seen > 30


def test_error_pages_send_the_headers_too(client):
    for url in ("/no-such-page", "/api/v1/no-such-thing"):
        resp = client.get(url)
        assert resp.status_code == 404
        _check_headers(resp, url)


def test_work_area_answers_are_not_cached(app, world, login_as):
    caller = Caller(app, world, login_as)
    for role, url in (
        ("admin_a", "/org"),
        ("mod_in", f"/mod/needs/{world.need.code}"),
        ("mod_in", f"/api/v1/needs/{world.need.code}/private"),
    ):
        resp = caller.request(role, "GET", url)
        assert resp.status_code == 200, url
        assert "no-store" in resp.headers.get("Cache-Control", ""), url


def test_the_public_org_directory_is_not_a_work_area(app, world, login_as):
    """The public directory /orgs is not the /org workspace it shares letters with."""
    caller = Caller(app, world, login_as)
    for url in ("/orgs", f"/orgs/{world.org_a.id}"):
        resp = caller.request("public", "GET", url)
        assert resp.status_code == 200, url
        assert "no-store" not in resp.headers.get("Cache-Control", ""), url


# ---------------------------------------------------------------- error pages


@pytest.fixture
def crashing_app(app: Flask) -> Flask:
    """The app with test-only routes that fail the way real code can."""
    from sqlalchemy import text

    from charitylink.extensions import db

    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internals: /srv/app/settings.py line 42")

    def bad_sql():  # type: ignore[no-untyped-def]
        db.session.execute(text("SELECT password_hash FROM no_such_table_xyz"))
        return "unreachable"

    def key_error():  # type: ignore[no-untyped-def]
        return {}["missing-key"]

    app.add_url_rule("/__test__/boom", "test_boom", boom)
    app.add_url_rule("/__test__/sql", "test_sql", bad_sql)
    app.add_url_rule("/__test__/key", "test_key", key_error)
    app.add_url_rule("/api/v1/__test__/boom", "test_api_boom", boom)
    app.add_url_rule("/api/v1/__test__/sql", "test_api_sql", bad_sql)
    return app


@pytest.mark.parametrize(
    "url",
    [
        "/__test__/boom",
        "/__test__/sql",
        "/__test__/key",
        "/api/v1/__test__/boom",
        "/api/v1/__test__/sql",
    ],
)
def test_no_traceback_or_sql_in_any_error_page(crashing_app, url, caplog):
    resp = crashing_app.test_client().get(url)
    body = resp.get_data(as_text=True)
    # SQLite reports a missing table as OperationalError, answered as 503.
    assert resp.status_code in (500, 503)
    for leak in (
        "Traceback",
        "secret internals",
        "settings.py",
        "SELECT",
        "no_such_table",
        "password_hash",
        "missing-key",
        "sqlalchemy",
        "Werkzeug Debugger",
    ):
        assert leak not in body, leak
    if url.startswith("/api/"):
        assert resp.get_json()["error"]["code"] in ("server_error", "unavailable")
    else:
        assert "服务器内部错误" in body or "服务暂时不可用" in body
    _check_headers(resp, url)
    # ... while the operators get told in the log.
    assert any(r.levelname == "ERROR" for r in caplog.records)


def test_debug_is_off_and_exceptions_are_not_propagated(app):
    assert app.debug is False
    assert not app.config.get("PROPAGATE_EXCEPTIONS")


# ---------------------------------------------------------------- redirects


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "///evil.example",
        "https://evil.example/",
        "http:evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " //evil.example",
        "/\t/evil.example",
        "/%0d%0aSet-Cookie:x=1",
        "data:text/html,<script>alert(1)</script>",
        "evil.example",
        "",
    ],
)
def test_safe_next_refuses_hostile_targets(target):
    result = safe_next(target, "/home")
    assert result == "/home" or (
        result.startswith("/") and not result.startswith(("//", "/\\"))
    )
    assert result in ("/home", "/%0d%0aSet-Cookie:x=1")


def test_safe_next_keeps_a_path_on_this_site():
    assert safe_next("/needs?region=2201&page=2", "/") == "/needs?region=2201&page=2"


@pytest.mark.parametrize(
    "target", ["//evil.example", "https://evil.example/", "/\\evil.example"]
)
def test_login_never_redirects_off_site(app, client, create_user, target):
    user = create_user("admin")
    resp = client.post(
        "/login?next=" + target, data={"email": user.email, "password": PASSWORD}
    )
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert "evil" not in location, location


# ---------------------------------------------------------------- proxy trust


def test_forwarded_headers_are_ignored_without_proxy_hops(app, client):
    from flask import request

    seen = {}

    def where():  # type: ignore[no-untyped-def]
        seen["ip"], seen["scheme"] = request.remote_addr, request.scheme
        return "ok"

    app.add_url_rule("/__test__/where", "test_where", where)
    client.get(
        "/__test__/where",
        headers={"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https"},
    )
    assert seen == {"ip": "127.0.0.1", "scheme": "http"}


def test_forwarded_headers_are_trusted_with_one_hop(app_config):
    from flask import request

    from charitylink import create_app

    app = create_app({**app_config, "PROXY_FIX_HOPS": 1})
    seen = {}

    def where():  # type: ignore[no-untyped-def]
        seen["ip"], seen["scheme"] = request.remote_addr, request.scheme
        return "ok"

    app.add_url_rule("/__test__/where", "test_where", where)
    app.test_client().get(
        "/__test__/where",
        headers={"X-Forwarded-For": "6.6.6.6, 10.0.0.7", "X-Forwarded-Proto": "https"},
    )
    # One hop: only the address the (single) proxy saw is believed.
    assert seen == {"ip": "10.0.0.7", "scheme": "https"}


# ---------------------------------------------------------------- body size


def test_oversized_body_gets_413_in_html_and_json(app, client, world, login_as):
    limit = app.config["MAX_CONTENT_LENGTH"]
    blob = b"x" * (limit + 1)
    login_as(world.user("member_a"))
    resp = client.post(
        f"/org/claims/{world.claim.id}/deliver",
        data=blob,
        content_type="application/octet-stream",
    )
    assert resp.status_code == 413
    assert "上传的内容过大" in resp.get_data(as_text=True)
    resp = client.post("/api/v1/tokens", data=blob, content_type="application/json")
    assert resp.status_code == 413
    assert resp.get_json()["error"]["code"] == "too_large"
