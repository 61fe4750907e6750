"""A throw-away Redis on a loopback port for the tests (like .ci/pg.sh's private
PostgreSQL): Debian's ``redis-server``, no persistence, in a temp folder, stopped
at the end. Without the binary the tests that need it are skipped outside CI and
fail in CI (CI=true), where .ci/run installs it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def redis_binary() -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
    )
    if found is None:
        reason = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI requires it")
        pytest.skip(reason)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def redis_server(folder: Path, port: int | None = None) -> Iterator[str]:
    """Yield ``redis://127.0.0.1:PORT/0`` once the server answers PING (on
    ``port``, else ``REDIS_PORT``, else a free one)."""
    binary = redis_binary()
    port = port or int(os.environ.get("REDIS_PORT") or free_port())
    folder.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
            "--loglevel",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=1)
        deadline = time.time() + 15
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if server.poll() is not None:
                    out = server.stdout.read().decode() if server.stdout else ""
                    pytest.fail(f"redis-server did not start: {out[-2000:]}")
                assert time.time() < deadline, "redis-server did not answer"
                time.sleep(0.05)
        client.close()
        yield url
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
