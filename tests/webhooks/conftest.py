"""A real HTTP receiver on loopback for the webhook tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    # Called with the request number (1, 2, …): the status to answer, or None
    # to hang (never answer within the sender's timeout).
    behaviour: Callable[[int], int | None] = lambda n: 200
    requests: list[Received] = field(default_factory=list)
    accepted: list[Received] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", 0))
            got = Received(dict(self.headers.items()), self.rfile.read(length))
            state.requests.append(got)
            status = state.behaviour(len(state.requests))
            if status is None:
                time.sleep(1.0)
                return
            if 200 <= status < 300:
                state.accepted.append(got)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/hook"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **app_config,
        "WEBHOOK_ALLOW_LOOPBACK": True,
        "WEBHOOK_TIMEOUT": 0.3,
        "SYNC_SETTLE_SECONDS": 0,
    }
