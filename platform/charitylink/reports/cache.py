"""Report figures, kept per process until the report frame they were computed
from is replaced.

Every report is computed from the process's report frame (reports/frame.py:
the needs and claims in memory as arrays): any region, period or level is a
few vectorised passes (docs/reports.md). The frame is read
again when the *data version* moved — the newest id of the audit log, the
ledger, claims and needs (every state change writes an audit event, rule 7;
each is a primary-key MAX, answered from the index end) — or after
``REPORTS_CACHE_SECONDS`` (default 300; 0 reads a new frame for every report).

While a new frame is read, requests are
answered from the frame in hand (*stale-while-revalidate*); the page says when
its data was read and that newer figures are coming. A frame older than
``REPORTS_STALE_SECONDS`` (default 900; 0 turns this off) is not served that
way: the request waits for the new one. ``warm_start()`` reads the frame and
computes the public figures and every moderator region's default dashboard when
a gunicorn worker starts (gunicorn.conf.py), so no first request waits.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any, TypeVar

from flask import Flask, current_app
from sqlalchemy import text

from charitylink.extensions import db

T = TypeVar("T")
MAX_ENTRIES = 64
_lock = threading.Lock()
_warming: set[threading.Thread] = set()  # start-up computations (warm_start)
log = logging.getLogger(__name__)

VERSION_SQL = text(
    "SELECT (SELECT MAX(id) FROM audit_events), (SELECT MAX(id) FROM ledger_entries),"
    " (SELECT MAX(id) FROM claims), (SELECT MAX(id) FROM needs)"
)


class _Entry:
    __slots__ = ("frame", "value", "used")

    def __init__(self, frame_serial: int, value: Any) -> None:
        self.frame = frame_serial
        self.value = value
        self.used = time.monotonic()


def data_version() -> tuple[Any, ...]:
    return tuple(db.session.execute(VERSION_SQL).one())


def _store(app: Flask) -> dict[Hashable, _Entry]:
    return app.extensions.setdefault("reports_cache", {})


def _put(app: Flask, key: Hashable, entry: _Entry) -> None:
    store = _store(app)
    with _lock:
        if len(store) >= MAX_ENTRIES and key not in store:
            for old in sorted(store, key=lambda k: store[k].used)[: MAX_ENTRIES // 4]:
                store.pop(old, None)
        store[key] = entry


def cached(key: Hashable, compute: Callable[[Any], T]) -> T:
    """The figures ``compute(frame)`` for ``key``, from the current frame."""
    from charitylink.reports import frame

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    fr = frame.current()
    hit = _store(app).get(key)
    if hit is not None and hit.frame == fr.serial:
        hit.used = time.monotonic()
        return hit.value
    value = compute(fr)
    _put(app, key, _Entry(fr.serial, value))
    return value


def freshness() -> dict[str, Any]:
    """When the data of the figures shown was read (UTC), and whether a newer
    reading is under way."""
    from charitylink.reports import frame

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    fr = frame.in_hand(app)
    as_of: datetime | None = fr.loaded_at if fr is not None else None
    return {"as_of": as_of, "updating": frame.loading(app)}


def wait_for_refreshes(timeout: float = 60.0) -> None:
    """Block until the start-up computations and the frame being read are done
    (tests, the benchmark)."""
    from charitylink.reports import frame

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    with _lock:
        threads = list(_warming)
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    frame.wait_for_load(app, max(0.0, deadline - time.monotonic()))


def dashboard_key(f: Any) -> tuple:
    from charitylink.core.timeutil import today

    return ("dashboard", f, today())


def _warm_keys(app: Flask) -> list[tuple[Hashable, Callable[[Any], Any]]]:
    """The public figures, then the default dashboard of every active moderator's
    region and the admins' (what each sees first on /mod/reports)."""
    from sqlalchemy import select

    from charitylink.accounts.models import User
    from charitylink.core.permissions import NO_REGION, Role
    from charitylink.reports import dashboard, filters, transparency

    keys: list[tuple[Hashable, Callable[[Any], Any]]] = [
        (("public",), transparency.figures)
    ]
    prefixes = db.session.scalars(
        select(User.region_prefix)
        .where(User.role == Role.MODERATOR, User.active.is_(True))
        .distinct()
    ).all()
    scopes: list[str | None] = [None, *sorted({p or NO_REGION for p in prefixes})]
    for scope in scopes:
        f, _errors = filters.parse({}, scope)
        key = dashboard_key(f)
        keys.append((key, functools.partial(dashboard.build, f, key[2])))
    return keys


def warm_start(app: Flask) -> None:
    """A worker just started: read the frame and compute the figures its first
    requests will ask for, in one background thread (gunicorn.conf.py). A request
    arriving meanwhile waits for the frame rather than reading a second one."""
    if float(app.config.get("REPORTS_CACHE_SECONDS", 300)) <= 0:
        return

    def run() -> None:
        me = threading.current_thread()
        try:
            with app.test_request_context():
                try:
                    for key, compute in _warm_keys(app):
                        cached(key, compute)
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
