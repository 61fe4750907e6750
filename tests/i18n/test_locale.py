"""Which language a page speaks: ``?lang=`` (remembered in a cookie), else the
cookie, else ``Accept-Language``, else Chinese; ``<html lang>`` follows, and the
footer switch is a plain link (no JavaScript)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from charitylink.core.i18n import choose_language


def _lang(resp) -> str:  # type: ignore[no-untyped-def]
    match = re.search(r'<html lang="([^"]+)"', resp.get_data(as_text=True))
    assert match, "no <html lang>"
    return match.group(1)


@pytest.mark.parametrize(
    ("query", "cookie", "accept", "expected"),
    [
        (None, None, None, "zh"),
        (None, None, "en-GB,en;q=0.9", "en"),
        (None, None, "zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        (None, None, "zh-TW", "zh"),
        (None, None, "fr-FR,en;q=0.5", "en"),
        (None, None, "fr-FR,de;q=0.5", "zh"),
        (None, "zh", "en-US", "zh"),  # the cookie beats the browser
        (None, "en", "zh-CN", "en"),
        ("zh", "en", "en-US", "zh"),  # the query beats the cookie
        ("en", "zh", "zh-CN", "en"),
        ("xx", None, "en", "en"),  # an unknown choice is ignored
        (None, "bogus", None, "zh"),
    ],
)
def test_choose_language_order(query, cookie, accept, expected):
    assert choose_language(query, cookie, accept) == expected


def test_default_is_chinese(client):
    resp = client.get("/login")
    assert _lang(resp) == "zh-CN"
    assert "登录" in resp.get_data(as_text=True)
    assert resp.headers["Content-Language"] == "zh-CN"


def test_accept_language_english(client):
    resp = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert _lang(resp) == "en"
    assert "Sign in" in resp.get_data(as_text=True)
    assert "Accept-Language" in resp.headers["Vary"]


def test_query_sets_a_cookie_that_later_pages_follow(client):
    resp = client.get("/login?lang=en", headers={"Accept-Language": "zh-CN"})
    assert _lang(resp) == "en"
    assert "lang=en" in resp.headers["Set-Cookie"]
    # No query now: the cookie wins over the browser's Chinese.
    resp = client.get("/orgs", headers={"Accept-Language": "zh-CN"})
    assert _lang(resp) == "en"
    assert "Set-Cookie" not in resp.headers  # nothing new to remember
    # Back to Chinese with the switch; the cookie follows.
    resp = client.get("/orgs?lang=zh", headers={"Accept-Language": "en"})
    assert _lang(resp) == "zh-CN"
    assert _lang(client.get("/orgs", headers={"Accept-Language": "en"})) == "zh-CN"


def test_footer_switch_links_the_same_page_in_the_other_language(client):
    body = client.get("/orgs?q=abc").get_data(as_text=True)
    assert 'href="/orgs?q=abc&amp;lang=en"' in body
    body = client.get("/orgs?q=abc&lang=en").get_data(as_text=True)
    assert 'href="/orgs?q=abc&amp;lang=zh"' in body
    assert '<strong lang="en" aria-current="true">English</strong>' in body


def test_amounts_and_dates_follow_the_locale(app):
    from charitylink.core.formatting import cn_date, cn_datetime, yuan

    moment = datetime(2026, 3, 5, 1, 2, tzinfo=UTC)  # 09:02 in Beijing
    with app.test_request_context("/"):
        assert yuan(123450) == "¥1,234.50"
        assert cn_date(date(2026, 3, 5)) == "2026年3月5日"
        assert cn_datetime(moment) == "2026年3月5日 09:02"
    with app.test_request_context("/?lang=en"):
        assert yuan(123450) == "CN¥1,234.50"
        assert yuan(-5) == "-CN¥0.05"
        assert cn_date(date(2026, 3, 5)) == "Mar 5, 2026"
        assert cn_datetime(moment) == "Mar 5, 2026 09:02"


def test_enum_labels_follow_the_locale(app):
    from flask import render_template_string

    with app.test_request_context("/?lang=en"):
        out = render_template_string(
            "{{ L.NEED_TYPE_LABELS['medical'] }}|{{ 'dibao'|label(L.CATEGORY_LABELS) }}"
        )
    assert out == "Medical care|Dibao (minimum living allowance) recipient"
    with app.test_request_context("/"):
        assert render_template_string("{{ L.NEED_TYPE_LABELS['medical'] }}") == "医疗"


def test_api_errors_follow_accept_language(client):
    resp = client.get("/api/v1/claims", headers={"Accept-Language": "en"})
    assert resp.status_code == 401
    message = resp.get_json()["error"]["message"]
    assert not re.search(r"[\u4e00-\u9fff]", message), message
    resp = client.get("/api/v1/claims")
    assert re.search(r"[\u4e00-\u9fff]", resp.get_json()["error"]["message"])


def test_page_cache_keeps_languages_apart(app_config, tmp_path):
    from charitylink import create_app

    app = create_app({**app_config, "PAGE_CACHE_TTL": 60})
    c = app.test_client()
    assert _lang(c.get("/orgs")) == "zh-CN"
    assert _lang(c.get("/orgs", headers={"Accept-Language": "en"})) == "en"
    assert _lang(c.get("/orgs")) == "zh-CN"
