"""The indexer: drains ``search_outbox`` into the index (at-least-once).

Order matters: read outbox rows → read the objects' current state → write and
commit the index → only then delete those outbox rows. A crash anywhere before
the delete leaves the rows, and the next drain repeats the (idempotent) update:
nothing is lost, nothing is duplicated (documents are keyed ``need:7``).
One process writes at a time (the indexer lock); request workers only read.
"""

from __future__ import annotations

import logging
import signal
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from charitylink.extensions import db
from charitylink.search.backend import Change, get_backend
from charitylink.search.documents import (
    count_public,
    iter_public_documents,
    load_documents,
)
from charitylink.search.models import SearchOutbox

log = logging.getLogger(__name__)


class IndexerBusy(RuntimeError):
    """Another process holds the indexer lock."""


def _changes(session: Session, keys: set[tuple[str, int]]) -> list[Change]:
    by_type: dict[str, set[int]] = defaultdict(set)
    for object_type, object_id in keys:
        by_type[object_type].add(object_id)
    changes: list[Change] = []
    for object_type, ids in sorted(by_type.items()):
        for object_id, doc in load_documents(session, object_type, ids).items():
            changes.append((object_type, object_id, doc))
    return changes


def _delete_rows(session: Session, row_ids: list[int]) -> None:
    for start in range(0, len(row_ids), 500):
        chunk = row_ids[start : start + 500]
        session.execute(delete(SearchOutbox).where(SearchOutbox.id.in_(chunk)))


def drain(
    batch: int = 500,
    lock_timeout: float = 30.0,
    after_index_commit: Callable[[], None] | None = None,
) -> int:
    """Apply up to ``batch`` outbox rows; returns how many were consumed.
    Raises IndexerBusy when the lock cannot be had within ``lock_timeout``.
    ``after_index_commit`` is a test hook run between index commit and delete."""
    backend = get_backend()
    with Session(db.engine) as session:
        if backend.name == "pg":
            # PostgreSQL keeps documents in step inside each transaction; rows
            # here come from a Whoosh period: applied and deleted in one transaction.
            rows = _read_rows(session, batch)
            if rows:
                backend.apply(session, _changes(session, {(t, i) for _r, t, i in rows}))
                _delete_rows(session, [r for r, _t, _i in rows])
                session.commit()
            return len(rows)
        with backend.lock(lock_timeout) as locked:  # type: ignore[attr-defined]
            if not locked:
                raise IndexerBusy("another process is writing the search index")
            if not backend.exists():  # type: ignore[attr-defined]
                # No index yet: build it whole (the outbox alone would miss
                # everything written before it).
                row_ids = list(session.scalars(select(SearchOutbox.id)))
                log.warning("search index missing: rebuilding it from the database")
                backend.rebuild(
                    session, iter_public_documents(session), lambda _n: None
                )
                if after_index_commit:
                    after_index_commit()
                _delete_rows(session, row_ids)
                session.commit()
                return max(len(row_ids), 1)
            rows = _read_rows(session, batch)
            if not rows:
                return 0
            changes = _changes(session, {(t, i) for _r, t, i in rows})
            session.rollback()  # end the read transaction before writing the index
            backend.apply(session, changes)
            if after_index_commit:
                after_index_commit()
            _delete_rows(session, [r for r, _t, _i in rows])
            session.commit()
            return len(rows)


def _read_rows(session: Session, batch: int) -> list[tuple[int, str, int]]:
    return [
        (r.id, r.object_type, r.object_id)
        for r in session.execute(
            select(SearchOutbox.id, SearchOutbox.object_type, SearchOutbox.object_id)
            .order_by(SearchOutbox.id)
            .limit(batch)
        )
    ]


def drain_all(
    batch: int = 500, lock_timeout: float = 30.0, max_batches: int = 0
) -> int:
    total = 0
    batches = 0
    while True:
        n = drain(batch=batch, lock_timeout=lock_timeout)
        total += n
        batches += 1
        if n < batch or (max_batches and batches >= max_batches):
            return total


def rebuild(progress: Callable[[int], None] | None = None) -> int:
    """Rebuild the whole index from the database and switch to it atomically.
    Outbox rows present at the start are covered by the rebuild and removed."""
    backend = get_backend()
    progress = progress or (lambda _n: None)
    with Session(db.engine) as session:
        if backend.name == "pg":
            row_ids = list(session.scalars(select(SearchOutbox.id)))
            count = backend.rebuild(session, iter_public_documents(session), progress)
            _delete_rows(session, row_ids)
            session.commit()
            backend.after_rebuild(db.engine)  # type: ignore[attr-defined]
            return count
        with backend.lock(600) as locked:  # type: ignore[attr-defined]
            if not locked:
                raise IndexerBusy("another process is writing the search index")
            row_ids = list(session.scalars(select(SearchOutbox.id)))
            count = backend.rebuild(session, iter_public_documents(session), progress)
            _delete_rows(session, row_ids)
            session.commit()
            return count


def pack() -> int:
    """PostgreSQL: fold the postings changed since the last pack into the
    packed arrays (``search pack``); returns the number of words. Whoosh:
    nothing to do (0)."""
    backend = get_backend()
    if backend.name != "pg":
        return 0
    with Session(db.engine) as session:
        words = backend.pack(session)  # type: ignore[attr-defined]
        session.commit()
    backend.after_rebuild(db.engine)  # type: ignore[attr-defined]
    return int(words)


def public_count() -> int:
    with Session(db.engine) as session:
        return count_public(session)


def status() -> dict[str, Any]:
    backend = get_backend()
    with Session(db.engine) as session:
        info = backend.status(session)
        oldest = session.scalar(
            select(SearchOutbox.created_at).order_by(SearchOutbox.id).limit(1)
        )
        info["outbox"] = session.scalar(select(func.count(SearchOutbox.id))) or 0
        info["outbox_oldest"] = oldest.isoformat() if oldest else None
        info["public_objects"] = count_public(session)
    return info


def run_worker(poll: float = 1.0, batch: int = 500, once: bool = False) -> None:
    """The one indexer process: drain, sleep ``poll`` seconds when idle. SIGTERM
    and SIGINT stop it between batches."""
    stopping = False

    def stop(_sig: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        try:
            n = drain(batch=batch)
        except IndexerBusy:
            n = 0
        except Exception:
            log.exception("search indexer: drain failed; retrying")
            n = 0
        if once and n < batch:
            return
        if n < batch:
            time.sleep(poll)
