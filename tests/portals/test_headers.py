"""Who may frame what, who may read what across origins, and what the widgets
leave behind — each checked over the whole URL map, so a new route is covered
the day it is added.

- ``frame-ancestors``: 'none' (and X-Frame-Options: DENY) on every route but the
  two widgets, which name the origins in EMBED_ORIGINS;
- CORS: ``Access-Control-Allow-Origin: *`` exactly on the public reads (the API's
  anonymous GETs and the feeds), never with credentials, never when the request
  carries a token or a session, never on writes;
- the widgets set no cookie whoever asks.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import Rule

from charitylink.config import ConfigError

PORTALS = "https://www.example.gov.cn https://*.portal.example.org:8443"
EMBEDS = {"portals.embed_needs", "portals.embed_projects"}
# Endpoints another site's script may read (and nothing else).
CROSS_ORIGIN = {
    "api_v1.list_needs",
    "api_v1.get_need",
    "api_v1.list_projects",
    "api_v1.get_project",
    "api_v1.list_orgs",
    "api_v1.get_org",
    "api_v1.get_fund",
    "api_v1.stats",
    "api_v1.openapi_json",
    "portals.needs_feed",
    "portals.projects_feed",
}
ORIGIN = {"Origin": "https://www.example.gov.cn"}


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "EMBED_ORIGINS": PORTALS}


def _routes(app: Flask, method: str) -> list[tuple[Rule, str]]:
    """Each rule with ``method``, made concrete: a need code, id 1, an ``any``
    converter's first choice (the object need not exist: refusals and 404s
    carry the headers too)."""
    out = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static" or method not in (rule.methods or ()):
            continue
        values: dict[str, Any] = {}
        for arg in rule.arguments:
            conv = rule._converters[arg]
            if hasattr(conv, "items"):
                values[arg] = sorted(conv.items)[0]
            elif arg == "code":
                values[arg] = "XQ-22-000001"
            else:
                values[arg] = "1"
        with app.test_request_context():
            from flask import url_for

            out.append((rule, url_for(rule.endpoint, **values)))
    return out


def test_only_the_widgets_may_be_framed_and_only_by_the_portals(app, client):
    for rule, url in _routes(app, "GET"):
        resp = client.get(url)
        csp = resp.headers["Content-Security-Policy"]
        if rule.endpoint in EMBEDS:
            assert csp.endswith(
                "frame-ancestors https://www.example.gov.cn "
                "https://*.portal.example.org:8443"
            ), url
            assert "X-Frame-Options" not in resp.headers, url
        else:
            assert "frame-ancestors 'none'" in csp, url
            assert resp.headers["X-Frame-Options"] == "DENY", url
        assert csp.count("frame-ancestors") == 1, url


def test_without_embed_origins_the_widgets_are_not_frameable(app_config):
    from charitylink import create_app

    plain = create_app({**app_config, "EMBED_ORIGINS": ""})
    with plain.app_context():
        resp = plain.test_client().get("/embed/needs")
        assert resp.headers["Content-Security-Policy"].endswith(
            "frame-ancestors 'none'"
        )
        assert resp.headers["X-Frame-Options"] == "DENY"
        from charitylink.extensions import db

        db.session.remove()


def test_a_bad_embed_origin_stops_the_app(app_config):
    from charitylink import create_app
    from charitylink.core.security import embed_origins

    for bad in (
        "https://ok.example.cn; script-src *",
        "https://ok.example.cn/path",
        "'self'",
        "javascript:alert(1)",
        "*",
        "https://ok.example.cn 'unsafe-inline'",
    ):
        probe = Flask(__name__)
        probe.config["EMBED_ORIGINS"] = bad
        with pytest.raises(ConfigError):
            embed_origins(probe)
    probe.config["EMBED_ORIGINS"] = ["https://a.example.cn/", "http://127.0.0.1:8080"]
    assert embed_origins(probe) == ["https://a.example.cn", "http://127.0.0.1:8080"]
    with pytest.raises(ConfigError):  # and create_app checks it
        create_app({**app_config, "EMBED_ORIGINS": "https://x.cn;"})


def _cors(resp: Any) -> dict[str, str]:
    return {k: v for k, v in resp.headers.items() if k.startswith("Access-Control-")}


def test_cross_origin_reads_exactly_where_allowed(app, create_need):
    create_need(status="published")
    # No cookie jar: a work page's redirect to the login page flashes into a
    # session cookie, and a request carrying one rightly gets no CORS.
    client = app.test_client(use_cookies=False)
    for rule, url in _routes(app, "GET"):
        resp = client.get(url, headers=ORIGIN)
        cors = _cors(resp)
        if rule.endpoint in CROSS_ORIGIN:
            assert cors.get("Access-Control-Allow-Origin") == "*", url
            assert "ETag" in cors["Access-Control-Expose-Headers"], url
        else:
            assert cors == {}, url
        assert "Access-Control-Allow-Credentials" not in resp.headers, url
        # The browser's preflight: answered for the public reads only, and
        # never for a request that wants to send a token.
        pre = client.options(
            url,
            headers={
                **ORIGIN,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "if-none-match",
            },
        )
        pre_cors = _cors(pre)
        if rule.endpoint in CROSS_ORIGIN:
            assert pre.status_code == 200, url
            assert pre_cors["Access-Control-Allow-Origin"] == "*", url
            assert "GET" in pre_cors["Access-Control-Allow-Methods"], url
            assert pre_cors["Access-Control-Allow-Headers"] == "if-none-match", url
        else:
            assert pre_cors == {}, url
        token = client.options(
            url,
            headers={
                **ORIGIN,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert (
            "authorization"
            not in _cors(token).get("Access-Control-Allow-Headers", "").lower()
        ), url


def test_no_cors_with_credentials_or_on_writes(
    app, client, create_need, create_user, api_token, login_as
):
    need = create_need(status="published")
    moderator = create_user("moderator", region_prefix="22")
    reads = [
        "/api/v1/needs",
        f"/api/v1/needs/{need.code}",
        "/api/v1/projects",
        "/api/v1/stats",
        "/feeds/needs.atom",
    ]
    token = api_token(moderator)
    for url in reads:
        assert _cors(client.get(url, headers={**ORIGIN, **token})) == {}, url
    login_as(moderator)
    for url in reads:
        assert _cors(client.get(url, headers=ORIGIN)) == {}, url
    anon = app.test_client()
    for _rule, url in _routes(app, "POST"):
        resp = anon.post(url, headers=ORIGIN, json={})
        assert _cors(resp) == {}, url


@pytest.mark.parametrize(
    "url",
    [
        "/embed/needs",
        "/embed/needs?lang=en",
        "/embed/needs?need_type=bogus&region=x",  # the list would flash a warning
        "/embed/projects?lang=en&status=bogus",
        "/embed/needs?q=医疗",
    ],
)
def test_widgets_set_no_cookie(app, client, create_need, create_user, login_as, url):
    create_need(status="published")
    assert "Set-Cookie" in client.get("/needs?lang=en").headers  # what is at stake
    client.delete_cookie("lang")
    resp = client.get(url)
    assert resp.status_code == 200
    assert "Set-Cookie" not in resp.headers
    login_as(create_user("moderator"))
    signed_in = client.get(url)
    assert signed_in.status_code == 200
    assert "Set-Cookie" not in signed_in.headers


def test_widgets_are_served_from_the_page_cache(app_config, create_project):
    from charitylink import create_app
    from charitylink.extensions import db

    create_project(title="缓存里的项目")
    cached = create_app({**app_config, "PAGE_CACHE_TTL": 60})
    anon = cached.test_client(use_cookies=False)
    with cached.app_context():
        first = anon.get("/embed/projects?per_page=5")
        second = anon.get("/embed/projects?per_page=5")
        assert second.data == first.data
        assert "缓存里的项目" in second.get_data(as_text=True)
        assert cached.extensions["page_cache"].hits == 1
        assert (
            second.headers["Content-Security-Policy"]
            == (first.headers["Content-Security-Policy"])
        )
        db.session.remove()


def test_widgets_have_no_site_menu_and_open_links_in_a_new_tab(client, create_need):
    need = create_need(status="published", title="独居老人冬季取暖费用")
    page = client.get("/embed/needs?per_page=3").get_data(as_text=True)
    assert "独居老人冬季取暖费用" in page
    assert "site-header" not in page and "<nav" not in page and "<form" not in page
    assert f'href="/needs/{need.code}" target="_blank" rel="noopener"' in page
