"""The whole-page cache for anonymous visitors (core/page_cache.py) serves public
pages without running the view, follows every change at once, and never stores or
serves a page that belongs to one person."""

from __future__ import annotations

from typing import Any

import pytest

from charitylink.core import page_cache
from charitylink.extensions import db
from tests.security.routes import forget_user
from tests.security.test_query_counts import counting


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # The indexer runs when a test says so (as the worker does in production).
    return {**app_config, "PAGE_CACHE_TTL": 60, "SEARCH_DRAIN_AFTER_REQUEST": False}


def _get(client, url: str, **kw: Any):  # type: ignore[no-untyped-def]
    forget_user()
    with counting() as statements:
        resp = client.get(url, **kw)
    return resp, len(statements)


@pytest.fixture
def anon(app):  # type: ignore[no-untyped-def]
    """A client without a cookie jar: a visitor who never signed in."""
    return app.test_client(use_cookies=False)


def test_second_anonymous_visit_is_served_from_the_cache(app, anon, create_need):
    need = create_need(status="published", title="独居老人冬季取暖")
    first, n_first = _get(anon, f"/needs/{need.code}")
    second, n_second = _get(anon, f"/needs/{need.code}")
    assert first.status_code == second.status_code == 200
    assert "独居老人冬季取暖" in second.get_data(as_text=True)
    assert n_first > 0 and n_second == 0  # no SQL: the view did not run
    assert second.data == first.data
    # The security headers travel with the cached page; the internal mark never.
    assert (
        second.headers["Content-Security-Policy"]
        == (first.headers["Content-Security-Policy"])
    )
    assert page_cache.MARK not in first.headers
    assert page_cache.MARK not in second.headers
    assert app.extensions["page_cache"].hits == 1


def test_a_withdrawn_need_leaves_the_cached_pages_at_once(
    app, anon, create_need, create_user
):
    from charitylink.needs import services

    need = create_need(status="published", title="白血病患儿化疗费用")
    assert _get(anon, f"/needs/{need.code}")[0].status_code == 200
    assert "白血病患儿化疗费用" in _get(anon, "/needs")[0].get_data(as_text=True)
    assert _get(anon, "/needs")[1] == 0  # cached

    moderator = create_user("moderator")
    services.withdraw_need(need, moderator, "家庭情况已改善")
    db.session.commit()

    assert _get(anon, f"/needs/{need.code}")[0].status_code == 404
    assert "白血病患儿化疗费用" not in _get(anon, "/needs")[0].get_data(as_text=True)


def test_signed_in_people_neither_get_nor_leave_cached_pages(
    app, client, anon, login_as, create_user
):
    _get(anon, "/")  # an anonymous copy is now cached
    admin = create_user("admin", name="页面缓存管理员")
    login_as(admin)
    resp, statements = _get(client, "/")
    assert statements > 0  # rendered for this person, not from the cache
    assert "页面缓存管理员" in resp.get_data(as_text=True)
    # The personal page was not stored: a visitor still gets the anonymous one.
    page = _get(anon, "/")[0].get_data(as_text=True)
    assert "页面缓存管理员" not in page
    assert "退出" not in page


def test_a_page_that_sets_a_cookie_is_never_stored(app, anon):
    # An ignored filter is reported with a flash message: it lives in the session,
    # so the response sets a cookie and must not be kept for other visitors.
    resp, _ = _get(anon, "/needs?category=nonsense")
    assert resp.status_code == 200
    assert "Set-Cookie" in resp.headers
    again, statements = _get(anon, "/needs?category=nonsense")
    assert statements > 0
    assert "Set-Cookie" in again.headers


def test_bearer_tokens_and_session_cookies_bypass_the_cache(
    app, anon, client, create_need
):
    need = create_need(status="published")
    url = f"/needs/{need.code}"
    _get(anon, url)
    assert _get(anon, url, headers={"Authorization": "Bearer x"})[1] > 0
    assert _get(anon, url, headers={"Cookie": "session=abc"})[1] > 0
    assert _get(anon, url, headers={"Cookie": "remember_token=abc"})[1] > 0
    # An unrelated cookie does not make the page personal.
    assert _get(anon, url, headers={"Cookie": "theme=dark"})[1] == 0


def test_only_marked_public_pages_are_cached(app, anon):
    _get(anon, "/login")
    resp, _ = _get(anon, "/login")
    assert resp.status_code == 200
    cache = app.extensions["page_cache"]
    assert cache.hits == 0
    assert not any(key[3] == "/login" for key in cache._store)
    # A 404 is not kept either.
    assert _get(anon, "/needs/NOPE")[0].status_code == 404
    assert _get(anon, "/needs/NOPE")[1] > 0


def test_the_cache_is_bounded_in_bytes(app, anon, create_need):
    cache = app.extensions["page_cache"]
    cache.max_bytes = 1  # nothing fits
    need = create_need(status="published")
    _get(anon, f"/needs/{need.code}")
    assert _get(anon, f"/needs/{need.code}")[1] > 0
    assert cache._bytes == 0 and not cache._store


def test_off_when_the_ttl_is_zero(app, anon, create_need):
    app.extensions["page_cache"].ttl = 0
    need = create_need(status="published")
    _get(anon, f"/needs/{need.code}")
    assert _get(anon, f"/needs/{need.code}")[1] > 0


def test_cached_search_results_follow_the_index(app, anon, create_need):
    """A cached results page is dropped when the indexer applies a change: its
    commit (outbox rows deleted, or the documents written on PostgreSQL) moves
    the same stamp, so a new need is found as soon as it is searchable."""
    from charitylink.search import indexer
    from charitylink.search.backend import backend_name

    first_need = create_need(status="published", title="白血病患儿化疗费用")
    db.session.commit()
    indexer.drain_all()
    first = _get(anon, "/needs?q=白血病")[0].get_data(as_text=True)
    assert first_need.code in first  # (titles come highlighted: <mark>)
    assert _get(anon, "/needs?q=白血病")[1] == 0  # cached

    second_need = create_need(status="published", title="白血病老人透析救助")
    db.session.commit()
    stale = _get(anon, "/needs?q=白血病")[0].get_data(as_text=True)
    if backend_name(app) == "whoosh":  # not yet indexed: rendered without it
        assert second_need.code not in stale
        assert _get(anon, "/needs?q=白血病")[1] == 0  # and cached
    indexer.drain_all()
    page = _get(anon, "/needs?q=白血病")[0].get_data(as_text=True)
    assert second_need.code in page
    assert first_need.code in page


def test_a_change_drops_the_page_in_every_gunicorn_worker(
    app, create_need, create_user
):
    """The real serving stack: gunicorn.conf.py, two workers, each with its own
    page cache. A need withdrawn by another process (here, the test's) leaves the
    public page of every worker at once: the shared stamp file, not the TTL."""
    import http.client

    from charitylink.needs import services
    from tests.serving import gunicorn

    need = create_need(status="published", title="独居老人冬季取暖煤")
    db.session.commit()

    # Only the stamp can drop a page in this test (TTL of ten minutes).
    with gunicorn(app, PAGE_CACHE_TTL="600") as server:

        def get(path: str) -> tuple[int, str]:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            conn.request("GET", path)  # a new connection each time: any worker
            resp = conn.getresponse()
            return resp.status, resp.read().decode()

        for _ in range(20):  # both workers render and keep the page
            status, body = get(f"/needs/{need.code}")
            assert status == 200 and "独居老人冬季取暖煤" in body

        services.withdraw_need(need, create_user("moderator"), "已由其他渠道解决")
        db.session.commit()

        statuses = {get(f"/needs/{need.code}")[0] for _ in range(20)}
        assert statuses == {404}
        assert all("独居老人冬季取暖煤" not in get("/needs")[1] for _ in range(10))


def test_transparency_is_kept_whole_and_shows_a_change_once_dropped(
    app, anon, create_need
):
    for _ in range(5):
        create_need(status="published", need_type="medical")
    db.session.commit()
    _get(anon, "/transparency")
    assert _get(anon, "/transparency")[1] == 0  # kept whole
    create_need(status="published", need_type="medical")
    db.session.commit()  # the page is dropped; the summary tables moved with it
    resp, queries = _get(anon, "/transparency")
    assert queries > 0  # rendered again, from the new figures
    assert _get(anon, "/transparency")[1] == 0
