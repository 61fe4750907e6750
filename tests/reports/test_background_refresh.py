"""Stale-while-revalidate (reports/frame.py, reports/cache.py): after a change,
the figures are answered at once from the report frame in hand, with the time
its data was read, while one background thread reads a new frame; the next
request gets the new figures. A new worker reads the frame and computes the
default reports before its first request."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from charitylink.reports import cache, frame
from tests.reports.conftest import add_living_need


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "REPORTS_STALE_SECONDS": 900}


def _published(client: Any) -> int:
    return client.get("/api/v1/stats").get_json()["needs_published"]  # type: ignore[no-any-return]


def _counting_loads(monkeypatch: Any, gate: threading.Event | None = None) -> list[str]:
    """Record each frame read (by thread name); with ``gate``, background
    reads wait for it."""
    calls: list[str] = []
    real = frame.load

    def spy() -> frame.Frame:
        name = threading.current_thread().name
        calls.append(name)
        if gate is not None and name == "reports-frame":
            gate.wait(10)
        return real()

    monkeypatch.setattr(frame, "load", spy)
    return calls


def test_a_change_is_served_stale_once_then_fresh(
    app, client, create_user, monkeypatch
):  # type: ignore[no-untyped-def]
    mod = create_user("moderator", region_prefix="22")
    for i in range(5):
        add_living_need(mod, i)
    assert _published(client) == 5  # first frame: the request waits for it
    calls = _counting_loads(monkeypatch)
    add_living_need(mod, 5)
    assert _published(client) == 5  # at once, from the frame in hand
    cache.wait_for_refreshes()
    assert calls == ["reports-frame"]  # and a new frame was read behind it
    assert _published(client) == 6  # the next request: the new figures
    assert calls == ["reports-frame"]  # nothing more to read


def test_any_dashboard_cut_is_computed_from_the_frame_without_reading_again(  # type: ignore[no-untyped-def]
    app, client, create_user, login_as, monkeypatch
):
    mod = create_user("moderator", region_prefix="22")
    for i in range(5):
        add_living_need(mod, i)
    login_as(mod)
    assert client.get("/mod/reports").status_code == 200
    calls = _counting_loads(monkeypatch)
    for query in ("?level=county", "?region=2201", "?from=2025-01-01&to=2025-03-31"):
        resp = client.get("/mod/reports" + query)
        assert resp.status_code == 200, query
        assert "数据计算于" in resp.get_data(as_text=True)
    assert calls == []  # new cuts, the same frame


def test_the_page_says_when_its_data_was_read(app, client, create_user, monkeypatch):  # type: ignore[no-untyped-def]
    mod = create_user("moderator", region_prefix="22")
    for i in range(5):
        add_living_need(mod, i)
    html = client.get("/transparency").get_data(as_text=True)
    assert "数据计算于" in html and "正在重新计算" not in html
    gate = threading.Event()  # hold the new frame's read so the page is seen meanwhile
    _counting_loads(monkeypatch, gate)
    add_living_need(mod, 5)
    try:
        html = client.get("/transparency").get_data(as_text=True)
        assert "正在重新计算" in html
    finally:
        gate.set()
        cache.wait_for_refreshes()
    html = client.get("/transparency").get_data(as_text=True)
    assert "正在重新计算" not in html
    assert _published(client) == 6


def test_a_frame_older_than_the_stale_window_is_read_again_while_waiting(
    app, client, create_user
):  # type: ignore[no-untyped-def]
    app.config["REPORTS_STALE_SECONDS"] = 0.01
    mod = create_user("moderator", region_prefix="22")
    for i in range(5):
        add_living_need(mod, i)
    assert _published(client) == 5
    import time

    time.sleep(0.05)
    add_living_need(mod, 5)
    assert _published(client) == 6  # too old to serve: read in the request


def test_a_failing_read_keeps_the_frame_in_hand_and_is_logged(
    app, client, create_user, caplog, monkeypatch
):  # type: ignore[no-untyped-def]
    mod = create_user("moderator", region_prefix="22")
    for i in range(5):
        add_living_need(mod, i)
    assert _published(client) == 5
    real = frame.load

    def fail() -> frame.Frame:
        raise RuntimeError("database went away")

    monkeypatch.setattr(frame, "load", fail)
    add_living_need(mod, 5)
    assert _published(client) == 5
    cache.wait_for_refreshes()
    assert "background refresh failed" in caplog.text
    monkeypatch.setattr(frame, "load", real)
    # The frame in hand is served again, and a new read starts behind it.
    assert _published(client) == 5
    cache.wait_for_refreshes()
    assert _published(client) == 6


def test_worker_start_reads_the_frame_and_computes_the_defaults(  # type: ignore[no-untyped-def]
    app, client, create_user, login_as, monkeypatch
):
    mod = create_user("moderator", region_prefix="2201")
    for i in range(5):
        add_living_need(mod, i)
    app.extensions.pop("reports_cache", None)
    app.extensions.pop("reports_frame", None)
    cache.warm_start(app)
    with app.app_context():
        cache.wait_for_refreshes()
    assert ("public",) in app.extensions["reports_cache"]

    from charitylink.reports import dashboard, transparency

    def not_again(*a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError("computed in the request")

    monkeypatch.setattr(dashboard, "build", not_again)
    monkeypatch.setattr(transparency, "figures", not_again)
    calls = _counting_loads(monkeypatch)
    assert _published(client) == 5
    login_as(mod)
    resp = client.get("/mod/reports")
    assert resp.status_code == 200
    assert "数据计算于" in resp.get_data(as_text=True)
    assert calls == []


def test_a_request_waits_for_the_frame_a_worker_start_is_reading(  # type: ignore[no-untyped-def]
    app, client, create_user, monkeypatch
):
    """A new worker's start-up read is running: a request waits for it rather
    than reading a second frame beside it."""
    mod = create_user("moderator", region_prefix="22")
    for i in range(5):
        add_living_need(mod, i)
    app.extensions.pop("reports_cache", None)
    app.extensions.pop("reports_frame", None)
    gate, reading = threading.Event(), threading.Event()
    calls: list[str] = []
    real = frame.load

    def slow() -> frame.Frame:
        calls.append(threading.current_thread().name)
        reading.set()
        gate.wait(10)
        return real()

    monkeypatch.setattr(frame, "load", slow)
    cache.warm_start(app)
    assert reading.wait(10)
    threading.Timer(0.3, gate.set).start()
    assert _published(client) == 5
    assert calls == ["reports-warm"]
    with app.app_context():
        cache.wait_for_refreshes()


def test_new_frames_are_read_at_most_every_refresh_interval(  # type: ignore[no-untyped-def]
    app, client, create_user, monkeypatch
):
    import time

    app.config["REPORTS_REFRESH_SECONDS"] = 0.8
    mod = create_user("moderator", region_prefix="22")
    for i in range(5):
        add_living_need(mod, i)
    assert _published(client) == 5
    first_read = time.monotonic()
    reads: list[float] = []
    real = frame.load

    def spy() -> frame.Frame:
        reads.append(time.monotonic())
        return real()

    monkeypatch.setattr(frame, "load", spy)
    add_living_need(mod, 5)
    assert _published(client) == 5  # the frame in hand, a read scheduled
    html = client.get("/transparency").get_data(as_text=True)
    assert "正在重新计算" in html  # the page says newer figures are coming
    cache.wait_for_refreshes()
    assert len(reads) == 1 and reads[0] - first_read >= 0.7
    assert _published(client) == 6


def test_a_background_read_gives_way_to_requests_being_served(  # type: ignore[no-untyped-def]
    app, client, create_user, monkeypatch
):
    """A sync worker serves one request at a time: the read waits while one is
    in flight (at most PAUSE_MAX at each pause) and goes on when it ends."""
    mod = create_user("moderator", region_prefix="22")
    for i in range(5):
        add_living_need(mod, i)
    assert _published(client) == 5
    add_living_need(mod, 5)
    monkeypatch.setattr(frame, "_FETCH", 2)  # many pauses
    monkeypatch.setattr(frame, "PAUSE_MAX", 5.0)
    frame.request_started()  # a request is being served
    try:
        assert _published(client) == 5  # schedules the read behind it
        import time

        time.sleep(0.5)
        assert frame.loading(app)  # still waiting for the request to end
    finally:
        frame.request_ended()
    cache.wait_for_refreshes(timeout=10)
    assert not frame.loading(app)
    assert _published(client) == 6
