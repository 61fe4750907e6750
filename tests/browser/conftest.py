"""A served app and Debian's Chromium driven by Playwright.

The app runs in a thread on a loopback port (werkzeug ``make_server``, port 0)
against the test's own fresh database. When Chromium is missing the browser
tests FAIL in CI (``CI=true``) and skip elsewhere with the reason."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _missing_browser(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI requires the browser tests: {reason}", pytrace=False)
    pytest.skip(f"{reason} (install it with: apt-get install chromium)")


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # A real browser posts real forms: CSRF on, as in production.
    return {**app_config, "WTF_CSRF_ENABLED": True}


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app served on 127.0.0.1 (a free port) from a thread; yields its URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        _missing_browser(f"Chromium not found at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a test dependency
        _missing_browser("the playwright package is not installed")
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    with sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(
                executable_path=path, args=CHROMIUM_ARGS, headless=True
            )
        except Exception as exc:  # noqa: BLE001 - any launch failure means "no browser"
            _missing_browser(f"Chromium did not start: {exc}")
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (own cookies); CSP violations and JS errors fail."""
    context = browser.new_context(locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on(
        "console",
        lambda msg: problems.append(msg.text) if msg.type == "error" else None,
    )
    page.problems = problems  # type: ignore[attr-defined]
    yield page
    context.close()
