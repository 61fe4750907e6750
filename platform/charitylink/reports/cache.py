"""A small per-process cache for report figures, refreshed in the background.

A report is recomputed when the data changed — the *data version* is the
newest id of the audit log, the ledger, claims and needs (every state change
writes an audit event, rule 7; each is a primary-key MAX, answered from the index
end) — or after ``REPORTS_CACHE_SECONDS`` (default 300; 0 disables the cache).

Computing a whole province's figures at 100,000 needs takes seconds (nine passes
over the needs and claims; bench/reports.py, docs/reports.md). So a request never
waits for a recomputation it can avoid (*stale-while-revalidate*): when the data
changed since the figures were computed, the request gets the figures it already
has at once — the page says when they were computed — and one background thread
per report recomputes them; the next request gets the new ones. Only figures
computed in the last ``REPORTS_STALE_SECONDS`` (default 900; 0 turns this off and
every change makes the next request wait) are served this way; older ones, or a
report nobody has asked for in this process yet, are computed while the request
waits. ``warm_start()`` computes the public figures and every moderator region's
default dashboard when a gunicorn worker starts (gunicorn.conf.py), so
``/transparency``, ``/api/v1/stats`` and the first view of ``/mod/reports`` do not
wait either.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import Flask, current_app
from sqlalchemy import text

from charitylink.extensions import db

T = TypeVar("T")
MAX_ENTRIES = 64
_lock = threading.Lock()
_refreshing: dict[Hashable, threading.Thread] = {}
_warming: set[threading.Thread] = set()  # start-up computations (warm_start)
log = logging.getLogger(__name__)

VERSION_SQL = text(
    "SELECT (SELECT MAX(id) FROM audit_events), (SELECT MAX(id) FROM ledger_entries),"
    " (SELECT MAX(id) FROM claims), (SELECT MAX(id) FROM needs)"
)


class _Entry:
    __slots__ = ("expires", "version", "value", "computed", "computed_at")

    def __init__(self, ttl: float, version: tuple, value: Any) -> None:
        self.computed = time.monotonic()
        self.expires = self.computed + ttl
        self.version = version
        self.value = value
        self.computed_at = datetime.now(UTC)


def data_version() -> tuple[Any, ...]:
    return tuple(db.session.execute(VERSION_SQL).one())


def _store(app: Flask) -> dict[Hashable, _Entry]:
    return app.extensions.setdefault("reports_cache", {})  # type: ignore[no-any-return]


def _put(app: Flask, key: Hashable, entry: _Entry) -> None:
    store = _store(app)
    with _lock:
        if len(store) >= MAX_ENTRIES and key not in store:
            for old in sorted(store, key=lambda k: store[k].computed)[
                : MAX_ENTRIES // 4
            ]:
                store.pop(old, None)
        store[key] = entry


def _refresh_later(app: Flask, key: Hashable, compute: Callable[[], Any]) -> None:
    """Recompute ``key`` in a background thread (at most one per key)."""
    ttl = float(app.config.get("REPORTS_CACHE_SECONDS", 300))

    def run() -> None:
        try:
            with app.app_context():
                try:
                    version = data_version()
                    _put(app, key, _Entry(ttl, version, compute()))
                finally:
                    db.session.remove()
                if key == ("public",):
                    # /transparency is kept whole for visitors (core/page_cache.py)
                    # and was rendered with the old figures: drop it on this node.
                    from charitylink.core import cache as page_stamp

                    page_stamp.bump()
        except Exception:  # logged; the stale figures stay until the next try
            log.exception("reports: background refresh failed")
        finally:
            with _lock:
                _refreshing.pop(key, None)

    with _lock:
        if key in _refreshing:
            return
        thread = threading.Thread(target=run, name="reports-refresh", daemon=True)
        _refreshing[key] = thread
    thread.start()


def wait_for_refreshes(timeout: float = 60.0) -> None:
    """Block until the background recomputations started so far are done (tests,
    the benchmark)."""
    deadline = time.monotonic() + timeout
    while True:
        with _lock:
            threads = [*_refreshing.values(), *_warming]
        if not threads:
            return
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if time.monotonic() >= deadline:
            return


def cached(key: Hashable, compute: Callable[[], T]) -> T:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    ttl = float(app.config.get("REPORTS_CACHE_SECONDS", 300))
    if ttl <= 0:
        return compute()
    stale_for = float(app.config.get("REPORTS_STALE_SECONDS", 900))
    version = data_version()
    now = time.monotonic()
    hit = _store(app).get(key)
    if hit is not None:
        if hit.expires > now and hit.version == version:
            return hit.value  # type: ignore[no-any-return]
        if stale_for > 0 and now - hit.computed < stale_for:
            _refresh_later(app, key, compute)
            return hit.value  # type: ignore[no-any-return]
    with _lock:
        running = _refreshing.get(key)
    if running is not None:
        # Already being computed (a worker's start-up warm-up): wait for that
        # instead of computing the same figures a second time beside it.
        running.join(120)
        hit = _store(app).get(key)
        if hit is not None:
            return hit.value  # type: ignore[no-any-return]
    value = compute()
    _put(app, key, _Entry(ttl, version, value))
    return value


def computed_at(key: Hashable) -> datetime | None:
    """When the figures served for ``key`` were computed (UTC), if cached."""
    hit = _store(current_app).get(key)  # type: ignore[arg-type]
    return hit.computed_at if hit is not None else None


def refreshing(key: Hashable) -> bool:
    with _lock:
        return key in _refreshing


def dashboard_key(f: Any) -> tuple:
    from charitylink.core.timeutil import today

    return ("dashboard", f, today())


def _warm_keys(app: Flask) -> list[tuple[Hashable, Callable[[], Any]]]:
    """The public figures, then the default dashboard of every active moderator's
    region and the admins' (what each sees first on /mod/reports)."""
    from sqlalchemy import select

    from charitylink.accounts.models import User
    from charitylink.reports import dashboard, filters, transparency

    keys: list[tuple[Hashable, Callable[[], Any]]] = [
        (("public",), transparency.figures)
    ]
    prefixes = db.session.scalars(
        select(User.region_prefix)
        .where(User.role == "moderator", User.active.is_(True))
        .distinct()
    ).all()
    scopes: list[str | None] = [None, *sorted({p or "__none__" for p in prefixes})]
    for scope in scopes:
        f, _errors = filters.parse({}, scope)
        key = dashboard_key(f)
        keys.append((key, lambda f=f, day=key[2]: dashboard.build(f, day)))
    return keys


def warm_start(app: Flask) -> None:
    """A worker just started: compute, one after the other in one background
    thread, the figures its first requests will ask for (gunicorn.conf.py)."""
    ttl = float(app.config.get("REPORTS_CACHE_SECONDS", 300))
    if ttl <= 0:
        return

    def run() -> None:
        me = threading.current_thread()
        try:
            with app.test_request_context():
                try:
                    for key, compute in _warm_keys(app):
                        with _lock:
                            if key in _refreshing or key in _store(app):
                                continue
                            _refreshing[key] = me
                        try:
                            version = data_version()
                            _put(app, key, _Entry(ttl, version, compute()))
                        finally:
                            with _lock:
                                _refreshing.pop(key, None)
                finally:
                    db.session.remove()
        except Exception:
            log.exception("reports: start-up computation failed")
        finally:
            with _lock:
                _warming.discard(me)

    thread = threading.Thread(target=run, name="reports-warm", daemon=True)
    with _lock:
        _warming.add(thread)
    thread.start()
