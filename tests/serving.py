"""Serving the test app with the real gunicorn (gunicorn.conf.py) on a free
loopback port, against the test's database and instance folder."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from charitylink.extensions import db

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def gunicorn(app: Any, workers: int = 2, **env: str) -> Iterator[subprocess.Popen]:
    """Yield the running master (its ``.port`` set) once it answers ``/login``."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    full_env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "platform"),
        "CHARITYLINK_ENV": "production",
        "CHARITYLINK_INSTANCE": app.config["INSTANCE_PATH"],
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "DATA_KEY": app.config["DATA_KEY"],
        "BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_ACCESSLOG": "/dev/null",
        **env,
    }
    db.engine.dispose()  # the server gets the database without our connections
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "-c",
            "gunicorn.conf.py",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server.port = port  # type: ignore[attr-defined]
    try:
        deadline = time.time() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/login")
                conn.getresponse().read()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-3000:]
                assert time.time() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        yield server
    finally:
        server.terminate()
        server.wait(20)
