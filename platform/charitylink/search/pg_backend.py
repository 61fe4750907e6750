"""PostgreSQL full-text search over jieba-segmented text (no extension needed).

jieba segments in the application; PostgreSQL stores the words as a tsvector
(``to_tsvector('simple', …)`` of the space-joined words: title weight A, labels C,
body D) in ``search_documents`` with a GIN index. The row is written in the
transaction that changed the object (``sync.py``): no lag, no indexer, shared by
every app node and read replica. The row also carries copies of the public
columns (region, category, type, status, urgency, amount, dates), written in the
same transaction, so a text search with filters, sorts and facets reads this one
table; a search without words runs on ``needs`` itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, delete, func, select, text, tuple_
from sqlalchemy.orm import Session

from charitylink.needs.models import Need
from charitylink.search.analysis import index_tokens
from charitylink.search.backend import Change, Hits, IndexUnavailable, NeedQuery
from charitylink.search.documents import NEED, Document, document_for
from charitylink.search.models import SearchDocument, SearchOutbox
from charitylink.search.sqlfilters import need_clauses, need_order, region_facet

_UPSERT = text(
    """
    INSERT INTO search_documents (object_type, object_id, tsv, updated_at,
        region, category, need_type, status, urgency, amount, published, deadline)
    VALUES (:object_type, :object_id,
            setweight(to_tsvector('simple', :title), 'A')
            || setweight(to_tsvector('simple', :extra), 'C')
            || setweight(to_tsvector('simple', :body), 'D'),
            now(), :region, :category, :need_type, :status, :urgency, :amount,
            :published, :deadline)
    ON CONFLICT (object_type, object_id)
    DO UPDATE SET tsv = EXCLUDED.tsv, updated_at = EXCLUDED.updated_at,
        region = EXCLUDED.region, category = EXCLUDED.category,
        need_type = EXCLUDED.need_type, status = EXCLUDED.status,
        urgency = EXCLUDED.urgency, amount = EXCLUDED.amount,
        published = EXCLUDED.published, deadline = EXCLUDED.deadline
    """
)
BATCH = 1000
_COPIED = (
    "region",
    "category",
    "need_type",
    "status",
    "urgency",
    "amount",
    "published",
    "deadline",
)


def _row(doc: Document) -> dict[str, Any]:
    return {
        "object_type": doc.object_type,
        "object_id": doc.object_id,
        "title": " ".join(index_tokens(doc.title)),
        "extra": " ".join(index_tokens(doc.extra)),
        "body": " ".join(index_tokens(doc.body)),
        **{name: doc.fields.get(name) for name in _COPIED},
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
        if not query.tokens:
            return self._browse_needs(session, query)
        # One table: the words (GIN) and copies of the public columns, so a
        # common word costs no join of every match to ``needs``.
        d = SearchDocument
        tsq = _tsquery(query.tokens)
        f = query.filters
        where: list[Any] = [d.object_type == NEED, d.tsv.op("@@")(tsq)]
        if f.status:
            where.append(d.status == f.status)
        if f.region:  # digits only (validated)
            where.append(d.region.startswith(f.region, autoescape=True))
        for name in ("category", "need_type", "urgency"):
            value = getattr(f, name)
            if value:
                where.append(getattr(d, name) == value)
        if f.min_amount is not None:
            where.append(d.amount >= f.min_amount)
        if f.max_amount is not None:
            where.append(d.amount <= f.max_amount)
        base = select(d.object_id).where(*where)
        sort = query.page.sort
        key: Any
        if sort == "relevance":
            key, descending = func.ts_rank(d.tsv, tsq), True
        elif sort == "deadline":
            key, descending = d.deadline, False
        elif sort == "amount":
            key, descending = d.amount, True
        elif sort == "amount_asc":
            key, descending = d.amount, False
        else:
            key, descending = d.published, True
        # The sort key is computed inside a fenced subquery (OFFSET 0), so what
        # is sorted and counted are (id, key) pairs, not rows with their whole
        # tsvector (which spilled to disk at 10,000 matches). Without facets the
        # total rides along as a window count: ranking reads every match
        # anyway, a separate count would be a second pass. With facets, the
        # facet query counts them.
        inner = base.add_columns(key.label("k")).offset(0).subquery()
        k = inner.c.k.desc() if descending else inner.c.k.asc()
        columns: list[Any] = [inner.c.object_id]
        if not query.facets:
            columns.append(func.count().over())
        rows = session.execute(
            select(*columns)
            .order_by(k, inner.c.object_id.desc())
            .limit(query.page.per_page)
            .offset(query.page.offset)
        ).all()
        ids = [int(r[0]) for r in rows]
        if not query.facets:
            if rows:
                total = int(rows[0][1])
            elif query.page.offset:  # past the last page
                total = int(session.scalar(base.with_only_columns(func.count())) or 0)
            else:
                total = 0
            return Hits(ids=ids, total=total)
        region = func.substr(d.region, 1, query.region_facet_length).label("r")
        facet_query = base.with_only_columns(
            region,
            d.category,
            d.need_type,
            func.grouping(region, d.category, d.need_type).label("g"),
            func.count().label("n"),
        ).group_by(
            text(
                "GROUPING SETS ((r), (search_documents.category), "
                "(search_documents.need_type), ())"
            )
        )
        return self._facet_hits(ids, session.execute(facet_query))

    @staticmethod
    def _facet_hits(ids: list[int], rows: Any) -> Hits:
        facets: dict[str, dict[str, int]] = {
            "region": {},
            "category": {},
            "need_type": {},
        }
        total = 0
        for r, category, need_type, g, n in rows:
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

    def _browse_needs(self, session: Session, query: NeedQuery) -> Hits:
        """No words: the filters on ``needs`` itself (its own indexes)."""
        base = select(Need.id).where(*need_clauses(query.filters))
        sort = "newest" if query.page.sort == "relevance" else query.page.sort
        ids = list(
            session.scalars(
                base.order_by(*need_order(sort))
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
        return self._facet_hits(ids, session.execute(facet_query))

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
        conn.execute(text("ANALYZE search_documents"))  # fresh statistics for plans
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
