"""The interface both engines implement, and how the engine is chosen.

Whoosh (embedded, files under SEARCH_INDEX_DIR) is the default; on a PostgreSQL
database its own full-text search over jieba-segmented text serves instead
(``SEARCH_BACKEND=auto|whoosh|pg``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import Flask, current_app
from sqlalchemy.orm import Session

from charitylink.search.documents import Document
from charitylink.search.query import Filters, Page

log = logging.getLogger(__name__)


class IndexUnavailable(RuntimeError):
    """The index is missing or unreadable: pages fall back to a database query."""


@dataclass
class NeedQuery:
    tokens: list[str]
    filters: Filters
    page: Page
    region_facet_length: int = 2
    facets: bool = True  # counting facets costs a pass over every match


@dataclass
class Hits:
    ids: list[int]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


# (object_type, object_id, document or None = remove from the index)
Change = tuple[str, int, Document | None]
Progress = Callable[[int], None]


class SearchBackend(Protocol):
    name: str

    def search_needs(self, session: Session, query: NeedQuery) -> Hits: ...

    def match(
        self, session: Session, object_type: str, tokens: list[str]
    ) -> list[tuple[int, float]]:
        """Every public object of this type matching all tokens, best first."""
        ...

    def apply(self, session: Session, changes: list[Change]) -> None:
        """Make the index reflect these changes (idempotent: safe to repeat)."""
        ...

    def rebuild(
        self, session: Session, docs: Iterable[Document], progress: Progress
    ) -> int: ...

    def status(self, session: Session) -> dict[str, Any]: ...


def backend_name(app: Flask | None = None) -> str:
    """``pg`` when configured or (auto) when the database is PostgreSQL, else
    ``whoosh``. PostgreSQL FTS cannot run on SQLite: asked for there, Whoosh serves."""
    app = app or current_app
    cache = app.extensions.setdefault("charitylink_search", {})
    if "name" not in cache:
        wanted = str(app.config.get("SEARCH_BACKEND", "auto")).lower()
        is_pg = str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("postgres")
        if wanted in ("pg", "postgres", "postgresql"):
            if not is_pg:
                log.warning(
                    "SEARCH_BACKEND=pg needs a PostgreSQL database; using Whoosh"
                )
            cache["name"] = "pg" if is_pg else "whoosh"
        elif wanted == "whoosh":
            cache["name"] = "whoosh"
        else:
            cache["name"] = "pg" if is_pg else "whoosh"
    return str(cache["name"])


def get_backend(app: Flask | None = None) -> SearchBackend:
    app = app or current_app
    cache = app.extensions.setdefault("charitylink_search", {})
    backend = cache.get("backend")
    if backend is None:
        if backend_name(app) == "pg":
            from charitylink.search.pg_backend import PgBackend

            backend = PgBackend()
        else:
            from charitylink.search.whoosh_backend import WhooshBackend

            backend = WhooshBackend(app.config["SEARCH_INDEX_DIR"])
        cache["backend"] = backend
    return backend
