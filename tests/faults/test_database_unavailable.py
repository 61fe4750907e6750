"""The database briefly unavailable: a clear 503 (page and JSON), never a
traceback, and the app recovers by itself when the database is back.

SQLite stands in for the outage (stopping PostgreSQL takes too long for a unit
test): the database file is moved away and a directory put in its place, so a
new connection cannot open it — what a restarted or unreachable server looks
like to the app after its pool was dropped. The test builds its own SQLite
database, so it runs the same under the PostgreSQL suite."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from charitylink import create_app
from charitylink.extensions import db
from tests.conftest import _migrate, base_config


@pytest.fixture
def sqlite_app(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "outage.db"
    url = f"sqlite:///{path}"
    _migrate(url, tmp_path)
    app = create_app({**base_config(tmp_path, url), "CACHE_DISABLED": True})
    with app.app_context():
        yield app, path
        db.session.remove()
        db.engine.dispose()


def _take_down(path: Path) -> list[tuple[Path, Path]]:
    db.session.remove()  # the shared app context keeps the last request's session
    db.engine.dispose()  # the server went away: pooled connections are gone
    moved = []
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if p.exists():
            aside = p.with_name(p.name + ".aside")
            p.rename(aside)
            moved.append((aside, p))
    path.mkdir()  # cannot be opened as a database
    return moved


def _bring_back(path: Path, moved: list[tuple[Path, Path]]) -> None:
    shutil.rmtree(path)
    for aside, original in moved:
        aside.rename(original)


def test_outage_gives_a_clear_503_and_the_app_recovers(sqlite_app, caplog):
    app, path = sqlite_app
    client = app.test_client()
    assert client.get("/needs").status_code == 200

    moved = _take_down(path)
    try:
        page = client.get("/needs")
        api = client.get("/api/v1/needs")
        home = client.get("/")
    finally:
        _bring_back(path, moved)

    for resp in (page, home):
        body = resp.get_data(as_text=True)
        assert resp.status_code == 503
        assert "服务暂时不可用" in body
        for leak in ("Traceback", "sqlite", "OperationalError", str(path)):
            assert leak not in body
    assert api.status_code == 503
    assert api.get_json()["error"]["code"] == "unavailable"
    assert "database unavailable" in caplog.text

    # Back again: the next request is served, nothing restarted.
    assert client.get("/needs").status_code == 200
    assert client.get("/api/v1/needs").status_code == 200


def test_postgres_engine_checks_connections_before_use(app_config):
    """On PostgreSQL a connection killed by a server restart is replaced instead
    of failing the next request (pool_pre_ping)."""
    from charitylink.config import load_config

    cfg = load_config(
        {**app_config, "SQLALCHEMY_DATABASE_URI": "postgresql://u@127.0.0.1:1/x"}
    )
    assert cfg["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
