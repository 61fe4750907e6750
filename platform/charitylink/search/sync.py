"""Keeping search in step with the database, in the transaction of the change.

Every ORM flush that inserts, changes or deletes a Need or a Project (and every
bulk ``UPDATE``/``DELETE`` on their tables through the session) is seen here, so
feature code needs no search calls:

* Whoosh: a ``search_outbox`` row per changed object, inserted on the flush's own
  connection, so it commits or rolls back with the change. The indexer drains it.
* PostgreSQL FTS: the object's ``search_documents`` row (and a need's postings,
  ``search_postings``) is written (or deleted) on the same connection:
  searchable the moment the change commits, no outbox.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from sqlalchemy import Table, event, insert, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session

log = logging.getLogger(__name__)

# Columns a document depends on; other changes (e.g. claimed_fen) need no reindex.
NEED_COLUMNS = frozenset(
    {
        "title",
        "description",
        "status",
        "category",
        "need_type",
        "public_region_code",
        "urgency",
        "amount_fen",
        "published_at",
        "deadline_on",
    }
)
PROJECT_COLUMNS = frozenset(
    {
        "title",
        "summary",
        "body",
        "status",
        "need_types",
        "region_codes",
        "target_fen",
        "published_at",
        "end_on",
        "org_id",
    }
)

# An offer's document: its public text and whether it is on the public list.
OFFER_COLUMNS = frozenset(
    {"title", "description", "status", "kind", "need_types", "unit", "org_id"}
)
# An org's name is in its offers' documents; its status decides whether they
# are public at all (a suspended org's offers leave the index).
ORG_COLUMNS = frozenset({"name", "status"})


def _org_offers(session: Session, org_ids: set[int]) -> list[int]:
    from charitylink.offers.models import Offer

    if not org_ids:
        return []
    return list(
        session.connection().scalars(
            select(Offer.id).where(Offer.org_id.in_(sorted(org_ids)))
        )
    )


def _mode() -> str:
    from flask import has_app_context

    if not has_app_context():
        return "outbox"
    from charitylink.search.backend import backend_name

    return "pg" if backend_name() == "pg" else "outbox"


def _relevant(obj: Any, columns: frozenset[str]) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in columns)


def _after_flush(session: Session, _flush_context: Any) -> None:  # noqa: C901, PLR0912 — one branch per indexed object kind and change
    from charitylink.needs.models import Need
    from charitylink.offers.models import Offer
    from charitylink.orgs.models import Organization
    from charitylink.projects.models import Project
    from charitylink.search.documents import NEED, OFFER, PROJECT

    changed: dict[tuple[str, int], Any] = {}
    orgs: set[int] = set()
    # Offers are recorded by id only (value OFFER): their documents are read
    # back from the rows the flush wrote (search.documents.offer_documents).
    for obj in session.new:
        if isinstance(obj, Need):
            changed[(NEED, obj.id)] = obj
        elif isinstance(obj, Project):
            changed[(PROJECT, obj.id)] = obj
        elif isinstance(obj, Offer):
            changed[(OFFER, obj.id)] = OFFER
    for obj in session.dirty:
        if isinstance(obj, Need) and _relevant(obj, NEED_COLUMNS):
            changed[(NEED, obj.id)] = obj
        elif isinstance(obj, Project) and _relevant(obj, PROJECT_COLUMNS):
            changed[(PROJECT, obj.id)] = obj
        elif isinstance(obj, Offer) and _relevant(obj, OFFER_COLUMNS):
            changed[(OFFER, obj.id)] = OFFER
        elif isinstance(obj, Organization) and _relevant(obj, ORG_COLUMNS):
            orgs.add(obj.id)
    for obj in session.deleted:
        if isinstance(obj, Need):
            changed[(NEED, obj.id)] = None
        elif isinstance(obj, Project):
            changed[(PROJECT, obj.id)] = None
        elif isinstance(obj, Offer):
            changed[(OFFER, obj.id)] = None
    for offer_id in _org_offers(session, orgs):
        changed.setdefault((OFFER, offer_id), OFFER)
    if changed:
        _record(session, changed)


def _record(session: Session, changed: dict[tuple[str, int], Any]) -> None:
    conn = session.connection()
    if _mode() == "pg":
        from charitylink.search import pg_backend

        pg_backend.write_objects(conn, changed)
    else:
        from charitylink.search.models import SearchOutbox

        conn.execute(
            insert(cast(Table, SearchOutbox.__table__)),  # a declarative model's Table
            [{"object_type": t, "object_id": i} for (t, i) in changed],
        )
    session.info["search_changed"] = True


_BULK_COLUMNS = {
    "needs": NEED_COLUMNS,
    "projects": PROJECT_COLUMNS,
    "offers": OFFER_COLUMNS,
    "organizations": ORG_COLUMNS,
}


def _on_execute(state: ORMExecuteState) -> Any:
    """Bulk UPDATE/DELETE on needs, projects, offers or orgs (a status move goes
    through ``move_if``): find the rows first, then record them like a flush
    would (PostgreSQL: rewrite their documents afterwards)."""
    if not (state.is_update or state.is_delete):
        return None
    stmt: Any = state.statement
    table = getattr(stmt, "table", None)
    name = getattr(table, "name", None)
    if name not in _BULK_COLUMNS or table is None:
        return None
    from charitylink.search.documents import NEED, OFFER, PROJECT

    columns = _BULK_COLUMNS[name]
    values = getattr(stmt, "_values", None)
    if state.is_update and values:
        keys = {getattr(k, "key", getattr(k, "name", str(k))) for k in values}
        if not keys & columns:
            return None
    ids_query = select(table.c.id)
    if stmt.whereclause is not None:
        ids_query = ids_query.where(stmt.whereclause)
    session = state.session
    ids = list(session.execute(ids_query).scalars())
    result = state.invoke_statement()
    if not ids:
        return result
    if name in ("offers", "organizations"):
        offer_ids = ids if name == "offers" else _org_offers(session, set(ids))
        if offer_ids:
            _record(session, dict.fromkeys(((OFFER, i) for i in offer_ids), OFFER))
        return result
    object_type = NEED if name == "needs" else PROJECT
    if _mode() == "pg":
        from charitylink.search.documents import load_documents
        from charitylink.search.pg_backend import write_documents

        docs = load_documents(session, object_type, ids, fresh=True)
        write_documents(
            session.connection(), [(object_type, i, d) for i, d in docs.items()]
        )
    else:
        _record(session, dict.fromkeys(((object_type, i) for i in ids), None))
    return result


_registered = False


def register() -> None:
    global _registered
    if not _registered:
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _on_execute)
        _registered = True


register()
