"""A small per-process cache for report figures.

A report is recomputed when the data changed — the *data version* is the
newest id of the audit log, the ledger, claims and needs (every state change
writes an audit event, rule 7; each is a primary-key MAX, answered from the index
end) — or after ``REPORTS_CACHE_SECONDS`` (default 300; 0 disables the cache).
So repeated views of an unchanged dashboard, and the public page under load,
cost four index lookups instead of the aggregates.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import current_app
from sqlalchemy import text

from charitylink.extensions import db

T = TypeVar("T")
MAX_ENTRIES = 64
_lock = threading.Lock()

VERSION_SQL = text(
    "SELECT (SELECT MAX(id) FROM audit_events), (SELECT MAX(id) FROM ledger_entries),"
    " (SELECT MAX(id) FROM claims), (SELECT MAX(id) FROM needs)"
)


def data_version() -> tuple[Any, ...]:
    return tuple(db.session.execute(VERSION_SQL).one())


def cached(key: Hashable, compute: Callable[[], T]) -> T:
    ttl = float(current_app.config.get("REPORTS_CACHE_SECONDS", 300))
    if ttl <= 0:
        return compute()
    store: dict[Hashable, tuple[float, tuple, Any]] = current_app.extensions.setdefault(
        "reports_cache", {}
    )
    version = data_version()
    now = time.monotonic()
    hit = store.get(key)
    if hit is not None and hit[0] > now and hit[1] == version:
        return hit[2]  # type: ignore[no-any-return]
    value = compute()
    with _lock:
        if len(store) >= MAX_ENTRIES:
            for old in sorted(store, key=lambda k: store[k][0])[: MAX_ENTRIES // 4]:
                store.pop(old, None)
        store[key] = (now + ttl, version, value)
    return value
