"""A portal's page framing the widgets in Chromium: the widget a portal listed in
EMBED_ORIGINS pastes shows its cards; a full page framed the same way is refused
by the browser (frame-ancestors 'none'). SCREENSHOTS=<dir> keeps a picture of
the portal page at both widths."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture
def portal() -> Iterator[dict[str, Any]]:
    """Another origin (its own port) serving one page, set by the test."""
    state: dict[str, Any] = {"html": b""}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(state["html"])

        def log_message(self, *args: Any) -> None:
            pass

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["origin"] = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def app_config(app_config: dict[str, Any], portal: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "EMBED_ORIGINS": portal["origin"]}


def test_a_listed_portal_frames_the_widget_and_no_full_page(
    live_server, page, portal, create_need
):
    create_need(status="published", title="独居老人冬季取暖费用")
    portal["html"] = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>门户</title></head><body><h1>某省政府门户</h1>"
        f'<iframe id="widget" src="{live_server}/embed/needs?per_page=3" '
        'title="需求" width="100%" height="420" style="border:0"></iframe>'
        f'<iframe id="full" src="{live_server}/needs" title="整页" '
        'width="100%" height="200"></iframe></body></html>'
    ).encode()
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(portal["origin"] + "/")
        widget = page.frame_locator("#widget")
        widget.get_by_text("独居老人冬季取暖费用").wait_for()
        link = widget.get_by_role("link", name="独居老人冬季取暖费用")
        assert link.get_attribute("target") == "_blank"
        full = [f for f in page.frames if f.url.endswith("/needs")]
        # The refused frame never gets the page's content.
        assert not full or "困难群众个性化需求库" not in full[0].content()
        if os.environ.get("SCREENSHOTS"):
            page.screenshot(
                path=os.path.join(os.environ["SCREENSHOTS"], f"portal-{width}.png"),
                full_page=True,
            )
    assert any("frame-ancestors" in p for p in page.problems), page.problems
