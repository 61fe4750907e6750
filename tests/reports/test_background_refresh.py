"""Stale-while-revalidate (reports/cache.py): after a change, the figures already
computed are served at once, with the time they were computed, while one
background thread recomputes them; the next request gets the new figures."""

from __future__ import annotations

from typing import Any

import pytest

from charitylink.reports import cache
from tests.reports.conftest import add_living_need


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "REPORTS_STALE_SECONDS": 900}


def _add_need(mod: Any, i: int) -> None:
    add_living_need(mod, i)


def _published(client: Any) -> int:
    return client.get("/api/v1/stats").get_json()["needs_published"]  # type: ignore[no-any-return]


def test_a_change_is_served_stale_once_then_fresh(app, client, create_user):  # type: ignore[no-untyped-def]
    mod = create_user("moderator", region_prefix="22")
    for i in range(5):
        _add_need(mod, i)
    assert _published(client) == 5  # first computation: the request waits

    calls: list[int] = []
    real = cache._refresh_later

    def spy(app_, key, compute):  # type: ignore[no-untyped-def]
        calls.append(1)
        real(app_, key, compute)

    cache._refresh_later = spy  # type: ignore[assignment]
    try:
        _add_need(mod, 5)
        assert _published(client) == 5  # at once, the figures computed before
        assert calls == [1]  # and a recomputation started behind it
        cache.wait_for_refreshes()
        assert _published(client) == 6  # the next request: the new figures
        assert calls == [1]  # nothing more to do
    finally:
        cache._refresh_later = real  # type: ignore[assignment]


def test_the_page_says_when_its_figures_were_computed(app, client, create_user):  # type: ignore[no-untyped-def]
    mod = create_user("moderator", region_prefix="22")
    for i in range(5):
        _add_need(mod, i)
    html = client.get("/transparency").get_data(as_text=True)
    assert "数据计算于" in html and "正在重新计算" not in html
    _add_need(mod, 5)
    # Hold the recomputation so the page is seen while it runs.
    import threading

    gate = threading.Event()
    real = cache._refresh_later

    def slow(app_, key, compute):  # type: ignore[no-untyped-def]
        def waiting():  # type: ignore[no-untyped-def]
            gate.wait(10)
            return compute()

        real(app_, key, waiting)

    cache._refresh_later = slow  # type: ignore[assignment]
    try:
        html = client.get("/transparency").get_data(as_text=True)
        assert "正在重新计算" in html
    finally:
        gate.set()
        cache._refresh_later = real  # type: ignore[assignment]
        cache.wait_for_refreshes()
    assert _published(client) == 6


def test_figures_older_than_the_stale_window_are_recomputed_while_waiting(
    app, client, create_user
):  # type: ignore[no-untyped-def]
    app.config["REPORTS_STALE_SECONDS"] = 0.01
    mod = create_user("moderator", region_prefix="22")
    for i in range(5):
        _add_need(mod, i)
    assert _published(client) == 5
    import time

    time.sleep(0.05)
    _add_need(mod, 5)
    assert _published(client) == 6  # too old to serve: computed in the request


def test_a_failing_refresh_keeps_the_old_figures_and_is_logged(
    app, client, create_user, caplog
):  # type: ignore[no-untyped-def]
    mod = create_user("moderator", region_prefix="22")
    for i in range(5):
        _add_need(mod, i)
    assert _published(client) == 5
    real = cache._refresh_later

    def broken(app_, key, compute):  # type: ignore[no-untyped-def]
        def fail():  # type: ignore[no-untyped-def]
            raise RuntimeError("database went away")

        real(app_, key, fail)

    cache._refresh_later = broken  # type: ignore[assignment]
    try:
        _add_need(mod, 5)
        assert _published(client) == 5
        cache.wait_for_refreshes()
    finally:
        cache._refresh_later = real  # type: ignore[assignment]
    assert "background refresh failed" in caplog.text
    assert _published(client) == 5  # served again; a new refresh starts
    cache.wait_for_refreshes()
    assert _published(client) == 6


def test_worker_start_computes_the_public_figures(app, create_user):  # type: ignore[no-untyped-def]
    mod = create_user("moderator", region_prefix="22")
    for i in range(5):
        _add_need(mod, i)
    app.extensions.pop("reports_cache", None)
    cache.warm_start(app)
    cache.wait_for_refreshes()
    assert ("public",) in app.extensions["reports_cache"]
    from charitylink.extensions import db as _db

    calls: list[int] = []
    real = cache._refresh_later
    cache._refresh_later = lambda *a: calls.append(1)  # type: ignore[assignment]
    try:
        with app.test_request_context():
            figures = cache.cached(("public",), lambda: calls.append(2) or {})
    finally:
        cache._refresh_later = real  # type: ignore[assignment]
        _db.session.rollback()
    assert calls == []  # served from what the worker start computed
    assert figures


def test_a_request_waits_for_a_computation_already_running(app):  # type: ignore[no-untyped-def]
    """A new worker's start-up computation is running: a request for the same
    figures waits for it rather than computing them a second time beside it."""
    import threading

    gate = threading.Event()
    calls: list[str] = []

    def slow() -> dict:
        calls.append("background")
        gate.wait(10)
        return {"n": 1}

    cache._refresh_later(app, ("k",), slow)
    threading.Timer(0.2, gate.set).start()
    with app.test_request_context():
        value = cache.cached(("k",), lambda: calls.append("request") or {"n": 2})
    assert value == {"n": 1}
    assert calls == ["background"]


def test_worker_start_computes_each_moderators_default_dashboard(  # type: ignore[no-untyped-def]
    app, client, create_user, login_as, monkeypatch
):
    mod = create_user("moderator", region_prefix="2201")
    for i in range(5):
        _add_need(mod, i)
    app.extensions.pop("reports_cache", None)
    cache.warm_start(app)
    cache.wait_for_refreshes()

    from charitylink.reports import dashboard

    def not_again(*a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError("computed in the request")

    monkeypatch.setattr(dashboard, "build", not_again)
    login_as(mod)
    resp = client.get("/mod/reports")
    assert resp.status_code == 200
    assert "数据计算于" in resp.get_data(as_text=True)
