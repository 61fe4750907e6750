"""Fixtures: a fresh app and database per test, on SQLite or PostgreSQL.

The schema comes from the real migrations, run once per session into a template
(a SQLite file copied per test; a PostgreSQL template database cloned per test).
Set ``TEST_DATABASE_URL`` (or a PostgreSQL ``DATABASE_URL``) to run on PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("CHARITYLINK_FAST_HASH", "1")

from flask import Flask  # noqa: E402
from flask.testing import FlaskClient, FlaskCliRunner  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from charitylink import create_app  # noqa: E402
from charitylink.core.crypto import generate_data_key  # noqa: E402

pytest_plugins = ["tests.factories"]

TEST_DATA_KEY = generate_data_key()
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


def _pg_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL") or ""
    return url if url.startswith("postgres") else None


def _normalize_pg(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@pytest.fixture(scope="session")
def db_backend() -> str:
    return "postgresql" if _pg_url() else "sqlite"


def base_config(tmp: Path, db_url: str) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SECRET_KEY": TEST_SECRET,
        "DATA_KEY": TEST_DATA_KEY,
        "INSTANCE_PATH": str(tmp / "instance"),
        "SEARCH_INDEX_DIR": str(tmp / "instance" / "search"),
        "UPLOAD_DIR": str(tmp / "instance" / "uploads"),
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        # One node unless a test says otherwise (tests/multinode/): a REDIS_URL
        # in the developer's environment is never written to by the suite.
        "REDIS_URL": "",
    }


def _migrate(db_url: str, tmp: Path) -> None:
    from charitylink.extensions import db
    from charitylink.regions.services import load_regions

    app = create_app(base_config(tmp, db_url))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        load_regions()
        db.session.commit()
        db.engine.dispose()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrate once; yields the SQLite file path or the PostgreSQL template name."""
    tmp = tmp_path_factory.mktemp("template")
    pg = _pg_url()
    if pg is None:
        path = tmp / "template.db"
        _migrate(f"sqlite:///{path}", tmp)
        yield str(path)
        return
    pg = _normalize_pg(pg)
    name = f"cl_tpl_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    _migrate(make_url(pg).set(database=name).render_as_string(hide_password=False), tmp)
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def db_url(template_db: str, tmp_path: Path) -> Iterator[str]:
    """A database of its own for this test, with the schema and the regions."""
    pg = _pg_url()
    if pg is None:
        path = tmp_path / "test.db"
        shutil.copyfile(template_db, path)
        yield f"sqlite:///{path}"
        return
    pg = _normalize_pg(pg)
    name = f"cl_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"'))
    yield make_url(pg).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def app_config(tmp_path: Path, db_url: str) -> dict[str, Any]:
    """Override in a test module to change the configuration of ``app``."""
    return base_config(tmp_path, db_url)


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(app_config)
    from charitylink.extensions import db

    @app.teardown_request
    def _forget_login(_exc: BaseException | None) -> None:
        # Requests share the test's app context and so its ``g``: drop the user
        # Flask-Login cached there, or the next request would reuse it.
        from flask import g

        g.pop("_login_user", None)

    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def login_as(client: FlaskClient):  # type: ignore[no-untyped-def]
    """``login_as(user)`` puts the user in the test client's session."""

    def login(user: Any, c: FlaskClient | None = None) -> FlaskClient:
        c = c or client
        with c.session_transaction() as sess:
            sess.clear()
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
        return c

    return login


@pytest.fixture
def api_token(app: Flask):  # type: ignore[no-untyped-def]
    """``api_token(user)`` → headers with a fresh bearer token for the user."""
    from charitylink.accounts.services import issue_token
    from charitylink.extensions import db

    def make(user: Any) -> dict[str, str]:
        raw, _ = issue_token(user, "test")
        db.session.commit()
        return {"Authorization": f"Bearer {raw}"}

    return make
