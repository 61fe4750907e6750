"""Search fixtures. The engine follows the database the suite runs on: Whoosh
with SQLite, PostgreSQL full-text search with PostgreSQL (``db_backend``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from charitylink.extensions import db
from charitylink.search import indexer
from charitylink.search.backend import backend_name, get_backend


@pytest.fixture
def index_now(app):  # type: ignore[no-untyped-def]
    """Bring the index up to date now (what the worker does within a second)."""

    def run() -> None:
        db.session.commit()
        indexer.drain_all()

    return run


@pytest.fixture
def engine(app) -> str:  # type: ignore[no-untyped-def]
    return backend_name(app)


@pytest.fixture
def need(create_need) -> Callable[..., Any]:  # type: ignore[no-untyped-def]
    """``need("标题", "描述", **create_need_kwargs)``: a published need."""

    def make(title: str, description: str = "", **kwargs: Any) -> Any:
        kwargs.setdefault("status", "published")
        return create_need(
            title=title,
            description=description or "家庭困难，希望得到社会爱心人士的帮助。",
            **kwargs,
        )

    return make


def whoosh_keys() -> list[str]:
    """Every document key in the current Whoosh index (duplicates included)."""
    backend = get_backend()
    ix = backend.open_index()  # type: ignore[attr-defined]
    with ix.searcher() as s:
        return [fields["key"] for fields in s.all_stored_fields()]


@pytest.fixture
def whoosh_app(app, app_config: dict[str, Any]):  # type: ignore[no-untyped-def]
    """An app forced onto Whoosh (also on PostgreSQL) to test the outbox path;
    its context is pushed over ``app``'s, so factories run under it."""
    from charitylink import create_app

    cfg = dict(app_config, SEARCH_BACKEND="whoosh")
    app = create_app(cfg)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
