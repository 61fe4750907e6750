"""PostgreSQL full-text search over jieba-segmented text (no extension needed).

jieba segments in the application; PostgreSQL stores the words as a tsvector
(``to_tsvector('simple', …)`` of the space-joined words: title weight A, labels C,
body D) in ``search_documents`` with a GIN index. The row is written in the
transaction that changed the object (``sync.py``): no lag, no indexer, shared by
every app node and read replica. Filters and sorts read the live needs/projects
rows, so they are always exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, and_, delete, func, select, text, tuple_
from sqlalchemy.orm import Session

from charitylink.needs.models import Need
from charitylink.search.analysis import index_tokens
from charitylink.search.backend import Change, Hits, IndexUnavailable, NeedQuery
from charitylink.search.documents import NEED, Document, document_for
from charitylink.search.models import SearchDocument, SearchOutbox
from charitylink.search.sqlfilters import need_clauses, need_order, region_facet

_UPSERT = text(
    """
    INSERT INTO search_documents (object_type, object_id, tsv, updated_at)
    VALUES (:object_type, :object_id,
            setweight(to_tsvector('simple', :title), 'A')
            || setweight(to_tsvector('simple', :extra), 'C')
            || setweight(to_tsvector('simple', :body), 'D'),
            now())
    ON CONFLICT (object_type, object_id)
    DO UPDATE SET tsv = EXCLUDED.tsv, updated_at = EXCLUDED.updated_at
    """
)
BATCH = 1000


def _row(doc: Document) -> dict[str, Any]:
    return {
        "object_type": doc.object_type,
        "object_id": doc.object_id,
        "title": " ".join(index_tokens(doc.title)),
        "extra": " ".join(index_tokens(doc.extra)),
        "body": " ".join(index_tokens(doc.body)),
    }


def write_documents(conn: Connection, changes: Iterable[Change]) -> None:
    """Upsert or delete ``search_documents`` rows on this connection (in the
    caller's transaction). Idempotent."""
    changes = list(changes)
    gone = [(t, i) for t, i, d in changes if d is None]
    if gone:
        conn.execute(
            delete(SearchDocument).where(
                tuple_(SearchDocument.object_type, SearchDocument.object_id).in_(gone)
            )
        )
    rows = [_row(d) for _t, _i, d in changes if d is not None]
    for start in range(0, len(rows), BATCH):
        conn.execute(_UPSERT, rows[start : start + BATCH])


def write_objects(conn: Connection, changed: dict[tuple[str, int], Any]) -> None:
    """From a flush: the changed ORM objects (None = deleted). Names are read on
    the connection: nothing may lazy-load inside a flush."""
    from charitylink.orgs.models import Organization
    from charitylink.projects.models import Project
    from charitylink.regions.models import Region

    objs = [o for o in changed.values() if o is not None]
    codes: set[str] = set()
    org_ids: set[int] = set()
    for o in objs:
        if isinstance(o, Need):
            codes.add(o.public_region_code)
        elif isinstance(o, Project):
            codes.update(o.region_codes or [])
            org_ids.add(o.org_id)
    names = (
        dict(
            conn.execute(
                select(Region.code, Region.name).where(Region.code.in_(codes))
            ).all()
        )  # type: ignore[arg-type]
        if codes
        else {}
    )
    org_names = (
        dict(
            conn.execute(
                select(Organization.id, Organization.name).where(
                    Organization.id.in_(org_ids)
                )
            ).all()  # type: ignore[arg-type]
        )
        if org_ids
        else {}
    )
    write_documents(
        conn,
        [
            (t, i, None if o is None else document_for(o, names, org_names))
            for (t, i), o in changed.items()
        ],
    )


def _tsquery(tokens: list[str]) -> Any:
    # plainto_tsquery takes any text (no syntax): the words AND-ed, nothing parsed.
    return func.plainto_tsquery("simple", " ".join(tokens))


class PgBackend:
    name = "pg"

    def search_needs(self, session: Session, query: NeedQuery) -> Hits:
        try:
            with session.begin_nested():  # a failure must not spoil the request
                return self._search_needs(session, query)
        except Exception as exc:
            raise IndexUnavailable(
                f"PostgreSQL full-text search failed: {exc}"
            ) from exc

    def _search_needs(self, session: Session, query: NeedQuery) -> Hits:
        where = need_clauses(query.filters)
        base = select(Need.id)
        tsq = None
        if query.tokens:
            tsq = _tsquery(query.tokens)
            base = base.join(
                SearchDocument,
                and_(
                    SearchDocument.object_type == NEED,
                    SearchDocument.object_id == Need.id,
                ),
            ).where(SearchDocument.tsv.op("@@")(tsq))
        base = base.where(*where)

        sort = query.page.sort
        if sort == "relevance" and tsq is not None:
            order = [func.ts_rank(SearchDocument.tsv, tsq).desc(), Need.id.desc()]
        else:
            order = need_order("newest" if sort == "relevance" else sort)
        ids = list(
            session.scalars(
                base.order_by(*order)
                .limit(query.page.per_page)
                .offset(query.page.offset)
            )
        )

        if not query.facets:
            total = session.scalar(select(func.count()).select_from(base.subquery()))
            return Hits(ids=ids, total=int(total or 0))
        region = region_facet(query.region_facet_length).label("r")
        facet_query = base.with_only_columns(
            region,
            Need.category,
            Need.need_type,
            func.grouping(region, Need.category, Need.need_type).label("g"),
            func.count().label("n"),
        ).group_by(text("GROUPING SETS ((r), (needs.category), (needs.need_type), ())"))
        facets: dict[str, dict[str, int]] = {
            "region": {},
            "category": {},
            "need_type": {},
        }
        total = 0
        for r, category, need_type, g, n in session.execute(facet_query):
            # GROUPING(): bit set = column aggregated away; 0b011 → region set.
            if g == 0b011:
                facets["region"][r] = n
            elif g == 0b101:
                facets["category"][category] = n
            elif g == 0b110:
                facets["need_type"][need_type] = n
            elif g == 0b111:
                total = n
        return Hits(ids=ids, total=total, facets=facets)

    def match(
        self, session: Session, object_type: str, tokens: list[str]
    ) -> list[tuple[int, float]]:
        try:
            with session.begin_nested():
                tsq = _tsquery(tokens)
                rows = session.execute(
                    select(
                        SearchDocument.object_id,
                        func.ts_rank(SearchDocument.tsv, tsq),
                    )
                    .where(
                        SearchDocument.object_type == object_type,
                        SearchDocument.tsv.op("@@")(tsq),
                    )
                    .order_by(func.ts_rank(SearchDocument.tsv, tsq).desc())
                ).all()
        except Exception as exc:
            raise IndexUnavailable(
                f"PostgreSQL full-text search failed: {exc}"
            ) from exc
        return [(int(i), float(s)) for i, s in rows]

    def apply(self, session: Session, changes: list[Change]) -> None:
        write_documents(session.connection(), changes)

    def rebuild(self, session: Session, docs: Iterable[Document], progress: Any) -> int:
        """Rewrite every row in the caller's transaction: readers see the old rows
        until it commits (MVCC). The table lock makes concurrent changes wait, so
        none is overwritten by an older snapshot."""
        conn = session.connection()
        conn.execute(text("LOCK TABLE search_documents IN EXCLUSIVE MODE"))
        conn.execute(delete(SearchDocument))
        count = 0
        batch: list[Change] = []
        for doc in docs:
            batch.append((doc.object_type, doc.object_id, doc))
            if len(batch) >= BATCH:
                write_documents(conn, batch)
                progress(len(batch))
                count += len(batch)
                batch = []
        if batch:
            write_documents(conn, batch)
            progress(len(batch))
            count += len(batch)
        return count

    def status(self, session: Session) -> dict[str, Any]:
        documents, changed_at = session.execute(
            select(func.count(), func.max(SearchDocument.updated_at))
        ).one()
        backlog = session.scalar(select(func.count()).select_from(SearchOutbox))
        return {
            "backend": self.name,
            "exists": True,
            "documents": int(documents or 0),
            "changed_at": changed_at.isoformat() if changed_at else None,
            "outbox": int(backlog or 0),
        }
