"""A small per-process cache for public figures, dropped when the data changes.

The home page's headline figures are aggregates over every need, fund and org:
cheap to keep, costly to recompute on each request (100,000 needs). Each gunicorn
worker keeps its own copy; a commit that changed a watched table through the ORM (objects
flushed, or ``update()``/``insert()``/``delete()`` statements; every table but the
accounts' and the audit's, see ``UNWATCHED``) bumps a *generation
stamp* — the modification time of a file in the
instance folder — and every worker drops its copy when it sees the stamp move
(one ``stat()`` per lookup). Several app nodes do not share that file: with
``REDIS_URL`` set the stamp also carries a version key in Redis that every commit
moves and lookups read (a worker reuses what it read for at most
``REDIS_VERSION_MAX_AGE``, 0.25 s: core/shared.py, docs/multi-node.md), so a
change on one node reaches every node within that. While Redis cannot be read the
stamp is unknown and nothing is served from or kept in the cache. A TTL bounds
staleness anyway.

Only plain values (numbers, dicts of numbers) belong here, never ORM objects.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from charitylink.core import shared

T = TypeVar("T")

DEFAULT_TTL = 60.0
MAX_ENTRIES = 5000
STAMP_NAME = "cache-generation"

_lock = threading.Lock()
# key → (stored at, stamp, value)
_store: dict[str, tuple[float, Hashable, Any]] = {}


def stamp_path_for(app: Flask) -> Path:
    return Path(app.config["INSTANCE_PATH"]) / STAMP_NAME


def _stamp_path() -> Path:
    return stamp_path_for(current_app)


def stamp_at(path: Path) -> int:
    """The generation stamp stored at ``path`` (0 before the first change)."""
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return 0


def generation(app: Flask) -> Hashable | None:
    """What a cached value or page must have been stored under to be served:
    the node's stamp file, and with ``REDIS_URL`` the shared version too.
    ``None`` when the shared version cannot be read: serve nothing cached."""
    local = stamp_at(stamp_path_for(app))
    shared_version = shared.version_of(app)
    if shared_version is None:
        return local
    version = shared_version.read()
    return None if version is None else (local, version)


def _stamp() -> Hashable | None:
    return generation(current_app)


def bump() -> None:
    """Move the generation stamp: every worker drops its cached values."""
    path = _stamp_path()
    try:
        path.touch()
        # Two commits within the file system's timestamp granularity must still
        # move the stamp: set it to now, or one tick past the old value.
        now = time.time_ns()
        old = os.stat(path).st_mtime_ns
        new = max(now, old + 1_000_000)
        os.utime(path, ns=(new, new))
    except OSError:
        # A read-only instance folder: fall back to this process and the TTL.
        pass
    shared_version = shared.version_of(current_app)
    if shared_version is not None:
        shared_version.bump()  # the other nodes (failing safe: core/shared.py)
    with _lock:
        _store.clear()


def get_or_set(key: str, compute: Callable[[], T], ttl: float | None = None) -> T:
    """The cached value for ``key``, computed (and kept) if missing or stale."""
    if current_app.config.get("CACHE_DISABLED"):
        return compute()
    ttl = current_app.config.get("CACHE_TTL", DEFAULT_TTL) if ttl is None else ttl
    # One process may serve several apps (the tests): keep their values apart.
    key = f"{current_app.config['SQLALCHEMY_DATABASE_URI']}|{key}"
    stamp = _stamp()
    if stamp is None:
        return compute()  # the shared version is unknown: trust nothing kept
    now = time.monotonic()
    with _lock:
        hit = _store.get(key)
    if hit is not None and hit[1] == stamp and now - hit[0] < ttl:
        return hit[2]
    value = compute()
    with _lock:
        if len(_store) >= MAX_ENTRIES and key not in _store:
            # Keys can come from visitors' filters (list counts): a bound, so no
            # sequence of query strings grows a worker without limit.
            _store.clear()
        _store[key] = (now, stamp, value)
    return value


def clear() -> None:
    with _lock:
        _store.clear()


# Tables whose changes never show on a public page or in a public figure. Every
# other table (needs, projects and their updates, funds, the ledger, orgs, claims,
# regions, the search outbox and documents — a new table too) drops the cache: a
# spare recompute is cheap, a stale public page is not.
UNWATCHED = frozenset({"users", "audit_events", "api_tokens", "idempotency_records"})


def _touches_watched(tables: set[str]) -> bool:
    return bool(tables - UNWATCHED)


def _after_flush(session: Session, _ctx: Any) -> None:
    tables = {
        getattr(obj, "__tablename__", "?")
        for obj in (*session.new, *session.dirty, *session.deleted)
    }
    if _touches_watched(tables):
        session.info["cache_dirty"] = True


def _do_orm_execute(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_insert or state.is_delete):
        return
    # ``update(Need)`` and ``insert(Need)`` (bulk) carry the table on the statement.
    table = getattr(getattr(state.statement, "table", None), "name", "?")
    if _touches_watched({table}):
        state.session.info["cache_dirty"] = True


def _after_commit(session: Session) -> None:
    # A flag left by a rolled-back transaction only causes one spare recompute.
    if session.info.pop("cache_dirty", False):
        from flask import has_app_context

        if has_app_context():
            bump()
        else:  # pragma: no cover - sessions outside an app
            clear()


_listening = False


def init_app(app: Flask) -> None:
    """Listen to every ORM session (once per process)."""
    global _listening
    if _listening:
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "do_orm_execute", _do_orm_execute)
    event.listen(Session, "after_commit", _after_commit)
    _listening = True
