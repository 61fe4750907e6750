"""Full-text search over published needs and projects (docs/search.md)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


def _after_commit(session: Session) -> None:
    if session.info.pop("search_changed", None) and has_request_context():
        g.search_drain = True


def _after_rollback(session: Session) -> None:
    session.info.pop("search_changed", None)


def init_app(app: Flask) -> None:
    """Development: drain the outbox after a request that committed a change
    (SEARCH_DRAIN_AFTER_REQUEST). It waits at most 2 s for the indexer lock and
    never loses work: rows it cannot apply stay for the next drain or the worker."""
    if app.config.get("PRODUCTION") and not app.testing:
        from charitylink.search.analysis import warm_up

        warm_up(app.instance_path)
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)

    @app.after_request
    def _drain_after_request(response: Response) -> Response:
        if not g.pop("search_drain", False):
            return response
        if not app.config.get("SEARCH_DRAIN_AFTER_REQUEST"):
            return response
        from charitylink.search.backend import backend_name

        if backend_name(app) == "pg":
            return response
        try:
            from charitylink.search.indexer import drain_all

            drain_all(lock_timeout=2.0, max_batches=4)
        except Exception as exc:  # the page must not fail for the index
            log.warning("search: drain after request failed (%s); rows kept", exc)
        return response


__all__: list[Any] = ["init_app"]
