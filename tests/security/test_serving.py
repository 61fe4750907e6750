"""gunicorn.conf.py: preload with a per-worker database pool, workers from the
core count, an access log that never records query strings."""

from __future__ import annotations

import runpy
from pathlib import Path
from types import SimpleNamespace

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


def _conf(monkeypatch, **env: str) -> dict:  # type: ignore[no-untyped-def]
    for key in ("GUNICORN_WORKERS", "BIND", "GUNICORN_BIND"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return runpy.run_path(str(CONF))


def test_access_log_has_no_query_string_or_referer(monkeypatch):
    fmt = _conf(monkeypatch)["access_log_format"]
    assert "%(U)s" in fmt
    for leaky in ("%(r)s", "%(q)s", "%(f)s", "%({"):
        assert leaky not in fmt, leaky


def test_workers_bind_and_preload(monkeypatch):
    import multiprocessing

    conf = _conf(monkeypatch)
    assert conf["workers"] == multiprocessing.cpu_count() + 1
    assert conf["bind"] == "127.0.0.1:8000"
    assert conf["preload_app"] is True
    assert conf["timeout"] > 0 and conf["graceful_timeout"] > 0
    conf = _conf(monkeypatch, GUNICORN_WORKERS="5", BIND="0.0.0.0:9000")
    assert (conf["workers"], conf["bind"]) == (5, "0.0.0.0:9000")


def test_post_fork_disposes_the_inherited_pool_without_closing_it(app, monkeypatch):
    from charitylink.extensions import db

    calls = []
    monkeypatch.setattr(
        type(db.engine), "dispose", lambda self, close=True: calls.append(close)
    )
    conf = _conf(monkeypatch)
    server = SimpleNamespace(app=SimpleNamespace(wsgi=lambda: app))
    worker = SimpleNamespace(pid=1, log=SimpleNamespace(debug=lambda *a: None))
    conf["post_fork"](server, worker)
    assert calls == [False]


def test_post_fork_ignores_an_app_without_a_database(monkeypatch):
    from flask import Flask

    conf = _conf(monkeypatch)
    hello = Flask("hello")
    server = SimpleNamespace(app=SimpleNamespace(wsgi=lambda: hello))
    conf["post_fork"](server, SimpleNamespace(pid=1))  # no error


def test_creating_the_app_opens_no_database_connection(app_config):
    """Nothing to share across the fork: create_app checks out no connection."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from charitylink import create_app

    opened = []

    def on_connect(*_a):  # type: ignore[no-untyped-def]
        opened.append(1)

    event.listen(Engine, "connect", on_connect)
    try:
        create_app(app_config)
    finally:
        event.remove(Engine, "connect", on_connect)
    assert opened == []


def test_development_server_log_has_no_query_string(app, caplog):
    """``make run`` serves with Werkzeug, whose request log line would carry
    ``?q=张三 110101…``: the filter in core/security.py keeps the path only."""
    import http.client
    import logging
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.handle_request)
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        thread.start()
        conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        conn.request("GET", "/needs?q=%E5%BC%A0%E4%B8%89+110101199003071234")
        assert conn.getresponse().status == 200
        thread.join(10)
    server.server_close()
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("GET /needs HTTP/1.1" in line for line in lines), lines
    assert not any("?" in line or "110101" in line for line in lines), lines
