"""PostgreSQL full-text search over jieba-segmented text (no extension needed).

jieba segments in the application; PostgreSQL stores the words as a tsvector
(``to_tsvector('simple', …)`` of the space-joined words: title weight A, labels C,
body D) in ``search_documents`` with a GIN index. The row is written in the
transaction that changed the object (``sync.py``): no lag, no indexer, shared by
every app node and read replica. The row also carries copies of the public
columns (region, category, type, status, urgency, amount, dates), written in the
same transaction, so a text search with filters, sorts and facets reads this one
table; a search without words runs on ``needs`` itself.

A one-word search (most searches) reads the word's postings instead, with the
same copies (GIN keeps no per-match data, so counting a common word's 12,000
matches meant visiting 12,000 table rows): packed into arrays, one row per word
(``search_packed``, written by a rebuild or ``search pack``), plus one row per
need and word for the needs changed since (``search_postings``, written from
the ``search_documents`` row in the same transaction; the changed needs are
listed in ``search_stale`` so their packed elements are skipped).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    SmallInteger,
    Text,
    delete,
    func,
    literal,
    null,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session

from charitylink.needs.models import Need
from charitylink.search.analysis import index_tokens
from charitylink.search.backend import Change, Hits, IndexUnavailable, NeedQuery
from charitylink.search.documents import (
    NEED,
    OFFER,
    PUBLIC_NEED_STATUSES,
    Document,
    document_for,
    offer_documents,
)
from charitylink.search.models import (
    COPIED,
    IN_BODY,
    IN_LABELS,
    IN_TITLE,
    SearchCells,
    SearchDocument,
    SearchGone,
    SearchOutbox,
    SearchPacked,
    SearchPosting,
    SearchStale,
)
from charitylink.search.sqlfilters import need_clauses, need_order, region_facet

log = logging.getLogger(__name__)

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
# The postings of needs, from their ``search_documents`` rows: one row per
# word, ``fields`` from the word's weights (title A, labels C, body D).
_POSTINGS_SQL = f"""
    INSERT INTO search_postings (word, object_id, fields, region, category,
        need_type, status, urgency, amount, published, deadline)
    SELECT u.lexeme, d.object_id,
           CASE WHEN 'A' = ANY(u.weights) THEN {IN_TITLE} ELSE 0 END
           + CASE WHEN 'D' = ANY(u.weights) THEN {IN_BODY} ELSE 0 END
           + CASE WHEN 'C' = ANY(u.weights) THEN {IN_LABELS} ELSE 0 END,
           d.region, d.category, d.need_type, d.status, d.urgency, d.amount,
           d.published, d.deadline
    FROM search_documents AS d CROSS JOIN LATERAL unnest(d.tsv) AS u
    WHERE d.object_type = '{NEED}'
"""
_POSTINGS = text(_POSTINGS_SQL + " AND d.object_id = ANY(:ids)")
# A rebuild writes them all at once in index order: appended to the covering
# index instead of split into it, which is quicker and leaves a smaller index
# (docs/search.md, "Measured facts").
_ALL_POSTINGS = text(_POSTINGS_SQL + " ORDER BY 1, 3, 2")
BATCH = 1000
# A rebuild of at least this many needs packs their postings (search_packed);
# below it, one row per posting is small enough and simplest to read.
PACK_MIN_NEEDS = 5000
# The packed label columns: category, need type, status, urgency as codes.
_LABELS = ("category", "need_type", "status", "urgency")
_VOCAB_SQL = text(
    """
    INSERT INTO search_vocab (code, value)
    SELECT (SELECT coalesce(max(code), 0) FROM search_vocab)
           + row_number() OVER (ORDER BY v), v
    FROM (SELECT DISTINCT unnest(ARRAY[category, need_type, status, urgency]) AS v
          FROM search_documents WHERE object_type = 'need') AS d
    WHERE v IS NOT NULL AND v NOT IN (SELECT value FROM search_vocab)
    """
)
# Every need's postings, grouped by word into arrays, element i of each array
# from the same posting, in relevance order (fields descending, then newest):
# the first page of a relevance search is the first matching elements. The
# rows come sorted from the subquery and the grouping keeps that order (a
# sorted group, not a hash table: the caller turns hash aggregation off for
# the statement). ``by_amount``: the same ids ordered by amount (largest
# first, then newest), for a search sorted by amount.
# Region codes are digits: stored as numbers.
_PACK_SQL = text(
    f"""
    INSERT INTO search_packed (word, ids, fields, region, category, need_type,
        status, urgency, amount, published, deadline, by_amount)
    SELECT word,
           array_agg(object_id),
           array_agg(fields),
           array_agg(region),
           array_agg(category),
           array_agg(need_type),
           array_agg(status),
           array_agg(urgency),
           array_agg(amount),
           array_agg(published),
           array_agg(deadline),
           array_agg(object_id ORDER BY amount DESC NULLS LAST, object_id DESC)
    FROM (
        SELECT u.lexeme AS word, d.object_id,
               (CASE WHEN 'A' = ANY(u.weights) THEN {IN_TITLE} ELSE 0 END
                + CASE WHEN 'D' = ANY(u.weights) THEN {IN_BODY} ELSE 0 END
                + CASE WHEN 'C' = ANY(u.weights) THEN {IN_LABELS} ELSE 0 END
               )::smallint AS fields,
               d.region::bigint AS region,
               coalesce(c.code, 0) AS category, coalesce(t.code, 0) AS need_type,
               coalesce(s.code, 0) AS status, coalesce(g.code, 0) AS urgency,
               d.amount, d.published, d.deadline
        FROM search_documents AS d
        CROSS JOIN LATERAL unnest(d.tsv) AS u
        LEFT JOIN search_vocab AS c ON c.value = d.category
        LEFT JOIN search_vocab AS t ON t.value = d.need_type
        LEFT JOIN search_vocab AS s ON s.value = d.status
        LEFT JOIN search_vocab AS g ON g.value = d.urgency
        WHERE d.object_type = '{NEED}'
        ORDER BY 1, 3 DESC, 2 DESC
    ) AS p
    GROUP BY word
    """
)
# The packed postings again as bytes, for searches of several words (read
# whole and intersected in the application, ``_search_words``): ``postings``
# one big-endian int32 per posting, need id × 8 + fields, ascending; ``attrs``
# eight bytes per posting in the same order: the public region code (a
# county: six digits) as int32, then the category, need type, status and
# urgency codes. A byte string is sent as it is stored; an array is converted
# element by element on the way out. (The migration 0022 keeps a copy.)
_BYTES_SQL = text(
    """
    UPDATE search_packed AS p SET
        postings = (SELECT string_agg(int4send(u.i * 8 + u.f), ''::bytea ORDER BY u.i)
                    FROM unnest(p.ids, p.fields) AS u(i, f)),
        attrs = (SELECT string_agg(
                        int4send(coalesce(left(u.r::text, 6), '0')::integer)
                        || set_byte(set_byte(set_byte(set_byte(
                               '\\x00000000'::bytea, 0, u.c), 1, u.t), 2, u.s), 3, u.g),
                        ''::bytea ORDER BY u.i)
                 FROM unnest(p.ids, p.region, p.category, p.need_type, p.status,
                             p.urgency) AS u(i, r, c, t, s, g))
    """
)
# Per word, the packed needs per city × category × need type × status; the
# word '' counts every packed need (a search without words).
_CELLS_SQL = text(
    f"""
    INSERT INTO search_cells (word, region, category, need_type, status, n)
    SELECT word, array_agg(r), array_agg(c), array_agg(t), array_agg(s),
           array_agg(n)
    FROM (
        SELECT p.word, left(u.region::text, 4)::integer AS r, u.category AS c,
               u.need_type AS t, u.status AS s, count(*)::integer AS n
        FROM search_packed AS p
        CROSS JOIN LATERAL unnest(p.region, p.category, p.need_type, p.status)
            AS u(region, category, need_type, status)
        GROUP BY 1, 2, 3, 4, 5
        UNION ALL
        SELECT '', left(d.region, 4)::integer, coalesce(c.code, 0),
               coalesce(t.code, 0), coalesce(s.code, 0), count(*)::integer
        FROM search_documents AS d
        LEFT JOIN search_vocab AS c ON c.value = d.category
        LEFT JOIN search_vocab AS t ON t.value = d.need_type
        LEFT JOIN search_vocab AS s ON s.value = d.status
        WHERE d.object_type = '{NEED}' AND EXISTS (SELECT 1 FROM search_packed)
        GROUP BY 1, 2, 3, 4, 5
    ) AS g
    GROUP BY word
    """
)
# When a packed need changes for the first time since the pack: its packed
# postings (the search_documents row is still the packed one), and the word
# '' for the need itself — what the cells count that holds no longer.
_GONE_SQL = text(
    f"""
    INSERT INTO search_gone (word, object_id, region, category, need_type, status)
    SELECT u.word, d.object_id, d.region, d.category, d.need_type, d.status
    FROM search_documents AS d
    CROSS JOIN LATERAL unnest(array_append(tsvector_to_array(d.tsv), ''))
        AS u(word)
    WHERE d.object_type = '{NEED}' AND d.object_id = ANY(CAST(:ids AS integer[]))
      AND d.object_id NOT IN (SELECT object_id FROM search_stale)
      AND EXISTS (SELECT 1 FROM search_packed)
    ON CONFLICT DO NOTHING
    """
)
# The matches of one word (``_word_source``): the packed elements of needs
# unchanged since the pack, and the rows of the needs changed since. NOT IN
# over the stale set is a hashed subplan whatever the estimate (NOT EXISTS
# was planned as a nested loop over an empty table's statistics: a scan of
# the set per match). The labels are decoded through one array of the codes
# (read once per statement), so the filters, sorts and facets see the same
# columns as in search_postings.
_PACKED_COLUMNS = {
    "region": ("u.region::text", "text"),
    "category": ("v.labels[u.category]", "text"),
    "need_type": ("v.labels[u.need_type]", "text"),
    "status": ("v.labels[u.status]", "text"),
    "urgency": ("v.labels[u.urgency]", "text"),
    "amount": ("u.amount", "bigint"),
    "published": ("u.published", "bigint"),
    "deadline": ("u.deadline", "integer"),
}


def _word_source(needed: set[str]) -> str:
    """The SQL of a word's matches, unnesting only the arrays the search
    reads: each array is decompressed in full, so a plain search by relevance
    reads two of the ten (ids, fields) and one with facets five."""
    arrays = ["ids", "fields", *[c for c in _PACKED_COLUMNS if c in needed]]
    names = ["object_id", "fields", *arrays[2:]]
    columns = ", ".join(
        f"{expr} AS {name}" if name in needed else f"NULL::{kind} AS {name}"
        for name, (expr, kind) in _PACKED_COLUMNS.items()
    )
    return f"""
    SELECT u.object_id, u.fields, {columns}
    FROM search_packed AS p
    CROSS JOIN LATERAL unnest({", ".join(f"p.{a}" for a in arrays)})
        AS u({", ".join(names)})
    CROSS JOIN (SELECT array_agg(value ORDER BY code) AS labels
                FROM search_vocab) AS v
    WHERE p.word = (:word)
      AND u.object_id NOT IN (SELECT object_id FROM search_stale)
    UNION ALL
    SELECT object_id, fields, {", ".join(_PACKED_COLUMNS)}
    FROM search_postings WHERE word = (:word)
"""


_MARK_STALE = text(
    "INSERT INTO search_stale (object_id) "
    "SELECT unnest(CAST(:ids AS integer[])) "
    "WHERE EXISTS (SELECT 1 FROM search_packed) "
    "ON CONFLICT (object_id) DO NOTHING"
)


@lru_cache(maxsize=50_000)
def _words(text_: str) -> str:
    # Many needs share a title, a label line or a standard description (a
    # bulk load, a rebuild): each distinct text is segmented once.
    return " ".join(index_tokens(text_))


def _row(doc: Document) -> dict[str, Any]:
    return {
        "object_type": doc.object_type,
        "object_id": doc.object_id,
        "title": _words(doc.title),
        "extra": _words(doc.extra),
        "body": _words(doc.body),
        **{name: doc.fields.get(name) for name in COPIED},
    }


def write_documents(
    conn: Connection, changes: Iterable[Change], postings: bool = True
) -> None:
    """Upsert or delete ``search_documents`` rows, and the needs' postings, on
    this connection (in the caller's transaction). Idempotent."""
    changes = list(changes)
    if postings:
        # Before the rows change: what the pack counted of these needs.
        need_ids = sorted({i for t, i, _d in changes if t == NEED})
        for start in range(0, len(need_ids), BATCH):
            conn.execute(_GONE_SQL, {"ids": need_ids[start : start + BATCH]})
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
    if not postings:
        return
    # The needs' postings follow their rows, in the same transaction.
    need_ids = sorted({i for t, i, _d in changes if t == NEED})
    for start in range(0, len(need_ids), BATCH):
        ids = need_ids[start : start + BATCH]
        conn.execute(delete(SearchPosting).where(SearchPosting.object_id.in_(ids)))
        conn.execute(_POSTINGS, {"ids": ids})
        # Their packed elements (if any) are out of date from now on.
        conn.execute(_MARK_STALE, {"ids": ids})


def write_objects(conn: Connection, changed: dict[tuple[str, int], Any]) -> None:
    """From a flush: the changed ORM objects (None = deleted). Names are read on
    the connection: nothing may lazy-load inside a flush."""
    from charitylink.orgs.models import Organization
    from charitylink.projects.models import Project
    from charitylink.regions.models import Region

    # Offers come as ids (value OFFER): documents read back from their rows.
    offers = [i for (t, i), o in changed.items() if t == OFFER and o is not None]
    offer_docs = offer_documents(conn, offers) if offers else {}
    changed = {k: o for k, o in changed.items() if not (k[0] == OFFER and o)}
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
        )
        if codes
        else {}
    )
    org_names = (
        dict(
            conn.execute(
                select(Organization.id, Organization.name).where(
                    Organization.id.in_(org_ids)
                )
            ).all()
        )
        if org_ids
        else {}
    )
    write_documents(
        conn,
        [
            *(
                (t, i, None if o is None else document_for(o, names, org_names))
                for (t, i), o in changed.items()
            ),
            *((OFFER, i, d) for i, d in offer_docs.items()),
        ],
    )


# The matches counted from the cells of a word (:word; '' = every need): the
# packed cells, minus the packed postings of needs changed since the pack,
# plus their current postings ({rows}). The labels are decoded through one
# array of the codes, an uncorrelated subquery: computed once per statement
# (joined instead, it was rebuilt for every cell: 80 of 109 ms at 1,000,000).
_CELL_COUNTS = """
    WITH c(region, category, need_type, status, n) AS (
        SELECT x.region::text, ({labels})[x.category], ({labels})[x.need_type],
               ({labels})[x.status], x.n
        FROM search_cells AS p
        CROSS JOIN LATERAL unnest(p.region, p.category, p.need_type, p.status, p.n)
            AS x(region, category, need_type, status, n)
        WHERE p.word = :word
        UNION ALL
        SELECT left(region, 4), category, need_type, status, -1
        FROM search_gone WHERE word = :word
        UNION ALL
        SELECT left(region, 4), category, need_type, status, 1 {rows}
    )
    SELECT {groups}, sum(n) FROM c WHERE {where} {group_by}
"""
_WORD_ROWS = "FROM search_postings WHERE word = :word"
_NEED_ROWS = (
    f"FROM search_documents WHERE object_type = '{NEED}'"
    " AND object_id IN (SELECT object_id FROM search_stale)"
)
# The cells answer only these filters, and region prefixes up to a city.
CELL_REGION = 4
# One word's page in relevance order: the first matching packed elements
# (stored in that order; the select-list unnest yields them in order and
# stops at the limit) merged with the rows of needs changed since the pack.
_RANKED_PAGE = """
    SELECT object_id FROM (
        (SELECT u.object_id, u.fields FROM (
            SELECT unnest(p.ids) AS object_id, unnest(p.fields) AS fields{columns}
            FROM search_packed AS p WHERE p.word = :word) AS u
         WHERE u.object_id NOT IN (SELECT object_id FROM search_stale){packed}
         LIMIT :k)
        UNION ALL
        (SELECT object_id, fields FROM search_postings WHERE word = :word{rows})
    ) AS m
    ORDER BY fields DESC, object_id DESC LIMIT :limit OFFSET :offset
"""
# Sorted by amount (no filters): the first ids of ``by_amount``, their
# amounts from search_documents (unchanged since the pack), merged likewise.
_AMOUNT_PAGE = f"""
    SELECT object_id FROM (
        (SELECT d.object_id, d.amount FROM (
            SELECT u.object_id FROM (
                SELECT unnest(p.by_amount) AS object_id
                FROM search_packed AS p WHERE p.word = :word) AS u
            WHERE u.object_id NOT IN (SELECT object_id FROM search_stale)
            LIMIT :k) AS f
         JOIN search_documents AS d
           ON d.object_type = '{NEED}' AND d.object_id = f.object_id)
        UNION ALL
        (SELECT object_id, amount FROM search_postings WHERE word = :word)
    ) AS m
    ORDER BY amount DESC, object_id DESC LIMIT :limit OFFSET :offset
"""
# The word's lexemes, and whether the pack (if any) wrote the cells: a pack
# by older code has none, and then the ranked path must not answer.
_LEXEMES = text(
    "SELECT tsvector_to_array(to_tsvector('simple', CAST(:token AS text))),"
    " NOT EXISTS (SELECT 1 FROM search_packed)"
    " OR EXISTS (SELECT 1 FROM search_cells WHERE word = '')"
)
_HAS_CELLS = text("SELECT EXISTS (SELECT 1 FROM search_cells WHERE word = '')")
_LABEL_FILTERS = ("category", "need_type", "status", "urgency")


def _cells_answer(query: NeedQuery) -> bool:
    """Whether the cells can give this search's total and facets exactly."""
    f = query.filters
    if f.urgency or f.min_amount is not None or f.max_amount is not None:
        return False
    if f.status and f.status not in PUBLIC_NEED_STATUSES:
        return False
    if f.region and len(f.region) > CELL_REGION:
        return False
    return not (query.facets and query.region_facet_length > CELL_REGION)


def _cell_counts(
    session: Session, query: NeedQuery, word: str, rows: str
) -> tuple[int, dict[str, dict[str, int]]]:
    """The total and (asked for) the facets of ``word``'s matches under the
    query's filters (``_cells_answer`` must hold), from the cells."""
    f = query.filters
    where = ["TRUE"]
    params: dict[str, Any] = {"word": word}
    if f.region:  # digits only (validated)
        where.append("region LIKE :region_like")
        params["region_like"] = f.region + "%"
    for name in ("category", "need_type", "status"):
        if getattr(f, name):
            where.append(f"{name} = :{name}")
            params[name] = getattr(f, name)
    if query.facets:
        groups, group_by = (
            "left(region, :length), category, need_type",
            "GROUP BY 1, 2, 3",
        )
        params["length"] = query.region_facet_length
    else:
        groups, group_by = "NULL, NULL, NULL", ""
    sql = _CELL_COUNTS.format(
        rows=rows,
        groups=groups,
        where=" AND ".join(where),
        group_by=group_by,
        labels="SELECT array_agg(value ORDER BY code) FROM search_vocab",
    )
    facets: dict[str, dict[str, int]] = {"region": {}, "category": {}, "need_type": {}}
    total = 0
    for region, category, need_type, n in session.execute(text(sql), params):
        n = int(n or 0)
        total += n
        for name, value in (
            ("region", region),
            ("category", category),
            ("need_type", need_type),
        ):
            facets[name][value] = facets[name].get(value, 0) + n
    if not query.facets:
        return total, {}
    # A value whose needs all changed since the pack sums to 0: not a facet.
    return total, {k: {v: n for v, n in d.items() if n} for k, d in facets.items()}


def _ranked_page(session: Session, query: NeedQuery, word: str) -> list[int] | None:
    """The page of one word in relevance order or by amount from the ordered
    arrays (None: this sort is not stored in order)."""
    f = query.filters
    params: dict[str, Any] = {
        "word": word,
        "k": query.page.offset + query.page.per_page,
        "limit": query.page.per_page,
        "offset": query.page.offset,
    }
    sort = query.page.sort
    if sort == "amount":
        if any(getattr(f, n) for n in ("region", *_LABEL_FILTERS)) or (
            f.min_amount is not None or f.max_amount is not None
        ):
            return None
        return [int(i) for i in session.scalars(text(_AMOUNT_PAGE), params)]
    if sort != "relevance":
        return None
    columns, packed, rows = [], [], []
    if f.region:  # digits only (validated)
        columns.append(", unnest(p.region) AS region")
        packed.append(" AND u.region::text LIKE :region_like")
        rows.append(" AND region LIKE :region_like")
        params["region_like"] = f.region + "%"
    for name in _LABEL_FILTERS:
        if getattr(f, name):
            columns.append(f", unnest(p.{name}) AS {name}")
            packed.append(
                f" AND u.{name} = (SELECT code FROM search_vocab WHERE value = :{name})"
            )
            rows.append(f" AND {name} = :{name}")
            params[name] = getattr(f, name)
    if f.min_amount is not None or f.max_amount is not None:
        columns.append(", unnest(p.amount) AS amount")
    for bound, op in (("min_amount", ">="), ("max_amount", "<=")):
        if getattr(f, bound) is not None:
            packed.append(f" AND u.amount {op} :{bound}")
            rows.append(f" AND amount {op} :{bound}")
            params[bound] = getattr(f, bound)
    sql = _RANKED_PAGE.format(
        columns="".join(columns), packed="".join(packed), rows="".join(rows)
    )
    return [int(i) for i in session.scalars(text(sql), params)]


# Several words (``_search_words``), in one statement so that the packed
# postings, the rows changed since the pack and the list of those needs come
# from one snapshot: g = 0 the query's lexemes and the label codes; g = 1
# each packed word's postings, with ``attrs`` for the word with the fewest
# postings (every match is among them) when filters or facets need them
# (b'' if not needed or held here; NULL for the other words);
# g = 2 the rows of the needs changed since the pack; g = 3 those needs.
# A word's bytes are not sent again when this process holds them decoded
# (``_Decoded``; its key: the word, the row's version and the bytes' size).
# Run on the driver's cursor in binary: a byte string then arrives as it is
# stored (as text it is sent in hex and decoded again: ~6× slower).
_WORDS_SQL = """
    WITH w AS (
        SELECT tsvector_to_array(to_tsvector('simple', CAST(%(q)s AS text))) AS words)
    SELECT 0 AS g, NULL::text AS word, NULL::bytea AS postings,
           NULL::bytea AS attrs, (SELECT words FROM w) AS words,
           (SELECT array_agg(value ORDER BY code) FROM search_vocab) AS labels,
           NULL::integer AS object_id, NULL::integer AS fields,
           NULL::text AS region, NULL::text AS category, NULL::text AS need_type,
           NULL::text AS status, NULL::text AS urgency, NULL::text AS version,
           NULL::integer[] AS ids
    UNION ALL
    SELECT 1, p.word,
           CASE WHEN p.postings IS NULL THEN NULL::bytea
                WHEN p.word || ' ' || p.xmin::text || ' '
                     || octet_length(p.postings)::text
                     = ANY(CAST(%(cached)s AS text[])) THEN ''::bytea
                ELSE p.postings END,
           CASE WHEN p.word <> (
                    SELECT q.word FROM search_packed AS q
                    WHERE q.word IN (SELECT unnest(words) FROM w)
                    ORDER BY octet_length(q.postings), q.word LIMIT 1) THEN NULL
                WHEN CAST(%(attrs)s AS boolean) AND NOT p.word || ' ' || p.xmin::text
                     || ' ' || octet_length(p.postings)::text
                     = ANY(CAST(%(cached_attrs)s AS text[])) THEN p.attrs
                ELSE ''::bytea END,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           p.xmin::text || ' ' || octet_length(p.postings)::text, NULL
    FROM search_packed AS p WHERE p.word IN (SELECT unnest(words) FROM w)
    UNION ALL
    SELECT 2, word, NULL, NULL, NULL, NULL, object_id, fields, region, category,
           need_type, status, urgency, NULL, NULL
    FROM search_postings WHERE word IN (SELECT unnest(words) FROM w)
    UNION ALL
    SELECT 3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           NULL, NULL, array_agg(object_id)
    FROM search_stale
"""
# Eight bytes per posting in ``search_packed.attrs``; public region codes
# are counties (six digits).
COUNTY = 6
_ATTRS = np.dtype(
    [
        ("region", ">i4"),
        ("category", "u1"),
        ("need_type", "u1"),
        ("status", "u1"),
        ("urgency", "u1"),
    ]
)
_LABELLED = ("category", "need_type", "status", "urgency")


def _words_answer(query: NeedQuery) -> bool:
    """Whether ``_search_words`` can answer: relevance order, filters on
    region, category, need type, status and urgency, any facets."""
    f = query.filters
    if query.page.sort != "relevance":
        return False
    if f.min_amount is not None or f.max_amount is not None:
        return False
    if f.region and (len(f.region) > COUNTY or f.region.startswith("0")):
        return False
    return not (query.facets and query.region_facet_length > COUNTY)


@dataclass
class _Decoded:
    """A packed word's postings as arrays: need ids (ascending) and fields;
    ``dense``, made when first needed, has the fields at each need id (0: the
    need lacks the word; one zero past the largest id, for lookups of larger
    ids with ``mode="clip"``)."""

    ids: Any
    fields: Any
    dense: Any = None
    attrs: bytes | None = None  # read when a search first needs them
    decoded: dict[str, Any] | None = None  # attrs as one array per column

    @property
    def nbytes(self) -> int:
        dense = 0 if self.dense is None else self.dense.nbytes
        attrs = 3 * len(self.attrs or b"")  # the bytes and their columns
        return int(self.ids.nbytes + self.fields.nbytes + dense + attrs)

    def columns(self) -> dict[str, Any]:
        """The attrs as native arrays, one per column (decoded once)."""
        if self.decoded is None:
            rec = np.frombuffer(self.attrs or b"", dtype=_ATTRS)
            self.decoded = {n: rec[n].astype(np.intp) for n in _ATTRS.names or ()}
            _DECODED.grew()
        return self.decoded

    def spread(self) -> Any:
        if self.dense is None:
            dense = np.zeros(int(self.ids[-1]) + 2 if len(self.ids) else 1, np.uint8)
            dense[self.ids] = self.fields  # fields ≥ 1
            self.dense = dense
            _DECODED.grew()
        return self.dense


class _DecodedCache:
    """Per process, the decoded postings of the words searched last, up to
    ``limit`` bytes (least recently used first out). An entry is valid while
    its row is: the key holds the row's version (``xmin``, new with every
    pack) and the bytes' size, and the statement sends the bytes only for
    the words whose current key this process does not hold."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.entries: OrderedDict[str, _Decoded] = OrderedDict()
        self.lock = threading.Lock()

    def held(self) -> dict[str, _Decoded]:
        """The entries now, marked as just used (the caller keeps them,
        whatever is evicted meanwhile)."""
        with self.lock:
            return dict(self.entries)

    def used(self, key: str) -> None:
        with self.lock:
            if key in self.entries:
                self.entries.move_to_end(key)

    def put(self, key: str, postings: bytes) -> _Decoded:
        # As the platform's index type: numpy converts any other index
        # array on every scatter or gather.
        v = np.frombuffer(postings, dtype=">i4").astype(np.intp)
        found = _Decoded(v >> 3, (v & 7).astype(np.uint8))
        with self.lock:
            self.entries[key] = found
        self.grew()
        return found

    def grew(self) -> None:
        with self.lock:
            total = sum(d.nbytes for d in self.entries.values())
            while len(self.entries) > 1 and total > self.limit:
                _key, old = self.entries.popitem(last=False)
                total -= old.nbytes


# ~5 MB per word in a tenth of a million needs (ids, fields and the dense
# array): the commonest words of a search box fit.
_DECODED = _DecodedCache(96 << 20)


@dataclass
class _Words:
    """What ``_WORDS_SQL`` read for one search."""

    words: list[str]
    labels: list[str]  # code i is labels[i - 1]; 0 = none
    packed: dict[str, _Decoded] = field(default_factory=dict)
    first: str | None = None  # the word whose attrs were read
    attrs: dict[str, Any] | None = None  # columns of ``first``'s attrs
    live: dict[str, dict[int, int]] = field(default_factory=dict)  # word: id: fields
    live_attrs: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    stale: list[int] = field(default_factory=list)
    old_pack: bool = False  # a pack by older code: no bytes


def _read_words(session: Session, query: NeedQuery, want: bool) -> _Words:
    from psycopg.rows import namedtuple_row

    driver = session.connection().connection.driver_connection
    assert driver is not None
    held = _DECODED.held()
    with driver.cursor(binary=True, row_factory=namedtuple_row) as cur:
        cur.execute(
            _WORDS_SQL,
            {
                "q": " ".join(query.tokens),
                "attrs": want,
                "cached": list(held),
                "cached_attrs": [k for k, d in held.items() if d.attrs is not None],
            },
        )
        rows = cur.fetchall()
    words = sorted(set(rows[0].words or []))
    data = _Words(words, list(rows[0].labels or []), live={w: {} for w in words})
    for r in rows[1:]:
        if r.g == 1:
            if r.postings is None:
                data.old_pack = True
                continue
            key = f"{r.word} {r.version}"
            if r.postings:
                data.packed[r.word] = _DECODED.put(key, bytes(r.postings))
            else:  # this process holds them (the statement sent b'')
                data.packed[r.word] = held[key]
                _DECODED.used(key)
            if r.attrs is not None:  # the word with the fewest postings
                data.first = r.word
                if r.attrs:
                    data.packed[r.word].attrs = bytes(r.attrs)
                if want and data.packed[r.word].attrs is not None:
                    data.attrs = data.packed[r.word].columns()
        elif r.g == 2:
            data.live[r.word][r.object_id] = r.fields
            data.live_attrs[r.object_id] = (
                r.region,
                r.category,
                r.need_type,
                r.status,
                r.urgency,
            )
        elif r.g == 3:
            data.stale = list(r.ids or [])
    return data


def _intersect(data: _Words, want: bool) -> tuple[Any, Any, Any]:
    """The packed needs unchanged since the pack having every word: ids,
    summed fields and (``want``) their attrs records."""
    packed, stale, words = data.packed, data.stale, data.words
    # Driven by the word with the fewest postings (the one whose attrs were
    # read): each other word's fields are looked up by need id.
    first = data.first or min(words, key=lambda w: (len(packed[w].ids), w))
    hit, fields = packed[first].ids, packed[first].fields
    sel = np.arange(len(hit)) if want else hit  # positions in ``attrs``
    if stale:
        # Their packed postings are out of date (their rows count instead).
        gone = np.zeros(max(stale) + 2, dtype=bool)
        gone[stale] = True
        keep = ~np.take(gone, hit, mode="clip")
        hit, fields, sel = hit[keep], fields[keep], sel[keep]
    score = fields.astype(np.int32)
    for w in words:
        if w == first:
            continue
        got = np.take(packed[w].spread(), hit, mode="clip")
        keep = got > 0
        hit, sel, score = hit[keep], sel[keep], score[keep] + got[keep]
    return hit, score, sel


def _filter_packed(
    query: NeedQuery,
    labels: list[str],
    columns: dict[str, Any],
    found: tuple[Any, Any, Any],
    facets: Any,
) -> tuple[Any, Any] | None:
    """The packed matches passing the filters (from the attrs of the
    word with the fewest postings, ``columns``; ``sel``: the matches'
    positions in them), counted into ``facets``; None if a region code is
    not a county's (six digits)."""
    f = query.filters
    hit, score, sel = found
    if len(sel) == 0:
        return hit, score
    region = columns["region"][sel]
    if region.min() < 10 ** (COUNTY - 1):
        return None
    keep = None
    if f.region:
        keep = region // 10 ** (COUNTY - len(f.region)) == int(f.region)
    for name in _LABELLED:
        value = getattr(f, name)
        if value:
            code = labels.index(value) + 1 if value in labels else -1
            same = columns[name][sel] == code
            keep = same if keep is None else keep & same
    if keep is not None:
        hit, score, sel, region = hit[keep], score[keep], sel[keep], region[keep]
    if query.facets and len(sel):
        _count_facets(query, labels, columns, sel, region, facets)
    return hit, score


def _count_facets(
    query: NeedQuery,
    labels: list[str],
    columns: dict[str, Any],
    sel: Any,
    region: Any,
    facets: Any,
) -> None:
    counted = np.bincount(region // 10 ** (COUNTY - query.region_facet_length))
    for v in np.flatnonzero(counted):
        facets["region"][str(v)] = int(counted[v])
    for name in ("category", "need_type"):
        counted = np.bincount(columns[name][sel], minlength=len(labels) + 1)
        for code in np.flatnonzero(counted):
            facets[name][labels[code - 1] if code else None] = int(counted[code])


def _filter_rows(
    query: NeedQuery, data: _Words, row_hits: list[tuple[int, int]], facets: Any
) -> list[tuple[int, int]]:
    """The matches among the needs changed since the pack passing the
    filters, counted into ``facets``."""
    f = query.filters
    kept = []
    for points, i in row_hits:
        region, category, need_type, status, urgency = data.live_attrs[i]
        current = dict(
            zip(_LABELLED, (category, need_type, status, urgency), strict=True)
        )
        if f.region and not (region or "").startswith(f.region):
            continue
        if any(getattr(f, n) and current[n] != getattr(f, n) for n in _LABELLED):
            continue
        kept.append((points, i))
        if query.facets:
            r = region[: query.region_facet_length] if region else region
            for name, value in (
                ("region", r),
                ("category", category),
                ("need_type", need_type),
            ):
                facets[name][value] = facets[name].get(value, 0) + 1
    return kept


def _search_words(session: Session, query: NeedQuery) -> Hits | None:
    """Several words (or one word the parser splits into several lexemes)
    without a pass over the documents: each word's postings are read as bytes
    (the packed ones of needs unchanged since the pack, plus the rows of the
    needs changed since) and intersected here, exactly, so the total is
    exact. Relevance is the sum over the words of ``fields`` (4 title, 2
    body, 1 labels: the one-word order, added up), ties newest first. None:
    not answerable this way (a pack by older code, a region code that is not
    a county's six digits)."""
    f = query.filters
    want = bool(query.facets or f.region or any(getattr(f, n) for n in _LABELLED))
    data = _read_words(session, query, want)
    if not data.words or data.old_pack:
        return None
    words, live = data.words, data.live
    # The needs changed since the pack (or all, without a pack): their rows.
    in_rows = set.intersection(*(set(live[w]) for w in words))
    row_hits = [(sum(live[w][i] for w in words), i) for i in in_rows]
    found = None
    if all(w in data.packed for w in words):  # else only changed needs match
        if want and data.attrs is None:
            return None
        found = _intersect(data, want)
    facets: dict[str, dict[str, int]] = {"region": {}, "category": {}, "need_type": {}}
    if want:
        if found is not None:
            assert data.attrs is not None
            kept = _filter_packed(query, data.labels, data.attrs, found, facets)
            if kept is None:
                return None
            found = (*kept, None)
        row_hits = _filter_rows(query, data, row_hits, facets)
    # The page: highest score first, ties newest first — one key per match
    # (score × 2^32 + id), the top of which is found without sorting them all.
    keys = np.array([(p << 32) + i for p, i in row_hits], dtype=np.int64)
    if found is not None:
        hit, score, _sel = found
        keys = np.concatenate([keys, (score.astype(np.int64) << 32) + hit])
    total, end = len(keys), query.page.offset + query.page.per_page
    if total > end:
        keys = keys[np.argpartition(keys, total - end)[total - end :]]
    page = np.sort(keys)[::-1][query.page.offset : end] & 0xFFFFFFFF
    return Hits(
        ids=[int(i) for i in page],
        total=total,
        facets=facets if query.facets else {},
    )


def _tsquery(tokens: list[str]) -> Any:
    # plainto_tsquery takes any text (no syntax): the words AND-ed, nothing parsed.
    return func.plainto_tsquery("simple", " ".join(tokens))


def _filters(table: Any, f: Any) -> list[Any]:
    """The search filters on the copies of the public columns (the same
    names in ``search_documents`` and ``search_postings``)."""
    where: list[Any] = []
    if f.status:
        where.append(table.status == f.status)
    if f.region:  # digits only (validated)
        where.append(table.region.startswith(f.region, autoescape=True))
    for name in ("category", "need_type", "urgency"):
        value = getattr(f, name)
        if value:
            where.append(getattr(table, name) == value)
    if f.min_amount is not None:
        where.append(table.amount >= f.min_amount)
    if f.max_amount is not None:
        where.append(table.amount <= f.max_amount)
    return where


def _sort_key(table: Any, sort: str, relevance: Any) -> tuple[Any, bool]:
    """The column a sort orders by, and whether descending (ties: newest
    first, added by the caller). Deadline ascending puts needs without one
    last (NULLS LAST is PostgreSQL's default for ASC)."""
    if sort == "relevance":
        return relevance, True
    if sort == "deadline":
        return table.deadline, False
    if sort == "amount":
        return table.amount, True
    if sort == "amount_asc":
        return table.amount, False
    return table.published, True


_TABLES = (
    "search_documents, search_postings, search_packed, search_stale, search_vocab,"
    " search_cells, search_gone"
)


def _pack(conn: Connection) -> int:
    """Every need's postings from ``search_documents`` into ``search_packed``
    (empty on entry); ``search_postings`` and ``search_stale`` emptied."""
    conn.execute(_VOCAB_SQL)
    # The arrays keep the order of the sorted subquery only through a sorted
    # grouping; a larger sort memory keeps the sort of every posting off disk
    # for longer.
    conn.execute(text("SET LOCAL enable_hashagg = off"))
    conn.execute(text("SET LOCAL work_mem = '256MB'"))
    words = conn.execute(_PACK_SQL).rowcount
    conn.execute(_BYTES_SQL)
    conn.execute(delete(SearchCells))
    conn.execute(_CELLS_SQL)
    conn.execute(text("RESET enable_hashagg"))
    conn.execute(text("RESET work_mem"))
    conn.execute(delete(SearchPosting))
    conn.execute(delete(SearchStale))
    conn.execute(delete(SearchGone))
    return int(words or 0)


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
        if len(query.tokens) == 1 and self._counted(query):
            # The common case, whatever the number of matches: the page from
            # the first elements of the word's arrays, the total and the
            # facets from its cells (None: not answerable this way).
            fast = self._search_word_ranked(session, query, query.tokens[0])
            if fast is not None:
                return fast
        if len(query.tokens) == 1:
            # One jieba word is nearly always one lexeme (the documents'
            # parser and dictionary may split it: "covid-19" gives three).
            # Its postings are read in the same statement that counts its
            # lexemes; only if that is not 1 does the GIN path run instead.
            hits, lexemes = self._search_word(session, query, query.tokens[0])
            if lexemes <= 1:  # 0: nothing to search for, nothing found
                return hits
        if _words_answer(query):
            words = _search_words(session, query)
            if words is not None:
                return words
        # One table: the words (GIN) and copies of the public columns, so a
        # common word costs no join of every match to ``needs``. The tsquery is
        # computed once per statement (a scalar subquery): in a prepared
        # statement's generic plan ``plainto_tsquery(:words)`` is not folded
        # into a constant and ``ts_rank`` would compute it again for every
        # match.
        d = SearchDocument
        tsq = select(_tsquery(query.tokens)).scalar_subquery()
        where: list[Any] = [
            d.object_type == NEED,
            d.tsv.op("@@")(tsq),
            *_filters(d, query.filters),
        ]
        # Relevance here stays ts_rank: the sum of the words' places that
        # ``_search_words`` ranks by, computed from each matching tsvector,
        # cost 5-10 times as much at 1,000,000 needs (docs/search.md).
        rank = func.ts_rank(d.tsv, tsq)
        key, descending = _sort_key(d, query.page.sort, rank)
        # One pass over the matches: a MATERIALIZED CTE holds (id, sort key,
        # facet columns) of every match — small rows, not the tsvectors — and
        # the page, the total and the facet counts are all read from it.
        columns: list[Any] = [d.object_id.label("object_id"), key.label("k")]
        if query.facets:
            columns += [
                func.substr(d.region, 1, query.region_facet_length).label("r"),
                d.category.label("category"),
                d.need_type.label("need_type"),
            ]
        m = select(*columns).where(*where).cte("m").prefix_with("MATERIALIZED")
        return self._page_and_counts(session, query, m, [], [(m.c.k, descending)])

    @staticmethod
    def _counted(query: NeedQuery) -> bool:
        return query.page.sort in ("relevance", "amount") and _cells_answer(query)

    def _search_word_ranked(
        self, session: Session, query: NeedQuery, token: str
    ) -> Hits | None:
        """One word without a pass over its matches: the page from the
        ordered arrays, the total and the facets from the cells (both
        corrected for the needs changed since the pack). None when the word
        is not one lexeme or the pack predates the cells."""
        lexemes, ready = session.execute(_LEXEMES, {"token": token}).one()
        if len(lexemes or []) != 1 or not ready:
            return None
        word = lexemes[0]
        ids = _ranked_page(session, query, word)
        if ids is None:
            return None
        total, facets = _cell_counts(session, query, word, _WORD_ROWS)
        return Hits(ids=ids, total=total, facets=facets)

    def _search_word(
        self, session: Session, query: NeedQuery, token: str
    ) -> tuple[Hits, int]:
        """One word: its postings — the packed arrays of needs unchanged since
        the last pack, and the rows of those changed since — and the number of
        lexemes of ``token`` (the hits are right only if 1).

        Relevance is ``fields`` descending (title, then body, then labels — the
        order of Whoosh's 2 title + 1 body + 0.5 labels for one word), ties
        newest first. The matches are read once (a CTE, never the needs or the
        documents table); the page, the total and the facets come from them."""
        lexemes = select(
            func.unnest(
                func.tsvector_to_array(func.to_tsvector("simple", token))
            ).label("x")
        ).subquery("lexemes")
        word = (
            "(SELECT min(x) FROM unnest(tsvector_to_array("
            "to_tsvector('simple', CAST(:token AS text)))) AS x)"
        )
        f = query.filters
        needed = {
            name
            for name in ("region", "category", "need_type", "status", "urgency")
            if getattr(f, name)
        }
        if f.min_amount is not None or f.max_amount is not None:
            needed.add("amount")
        if query.facets:
            needed |= {"region", "category", "need_type"}
        sort = query.page.sort
        needed.add(
            {"deadline": "deadline", "amount": "amount", "amount_asc": "amount"}.get(
                sort, "published" if sort != "relevance" else "fields"
            )
        )
        m = (
            text(_word_source(needed).replace("(:word)", word))
            .bindparams(token=token)
            .columns(
                object_id=Integer,
                fields=SmallInteger,
                region=Text,
                category=Text,
                need_type=Text,
                status=Text,
                urgency=Text,
                amount=BigInteger,
                published=BigInteger,
                deadline=Integer,
            )
            .cte("m")
        )
        where = _filters(m.c, query.filters)
        key, descending = _sort_key(m.c, query.page.sort, m.c.fields)
        count = select(
            literal(-2), null(), null(), null(), null(), func.count()
        ).select_from(lexemes)
        hits, extra = self._page_and_counts(
            session, query, m, where, [(key, descending)], count
        )
        return hits, int(extra[0][5]) if extra else 0

    @classmethod
    def _page_and_counts(
        cls,
        session: Session,
        query: NeedQuery,
        source: Any,
        where: list[Any],
        keys: list[tuple[Any, bool]],
        extra: Any = None,
    ) -> Any:
        """The page, the total and (asked for) the facet counts of the matches
        in ``source`` (a table or CTE with object_id, region or r, category,
        need_type), in one statement: UNION ALL of the page rows (g = -1, n =
        position) and the counts (g = 0: the number of matches per region,
        category and need type — summed here into the three facets and the
        total, one hash table in PostgreSQL instead of three). Ties newest first
        (object_id descending). With ``extra`` (a select of the same six
        columns and g < -1), returns (hits, its rows)."""
        c = source.c
        page = (
            select(c.object_id, *[k.label(f"k{i}") for i, (k, _d) in enumerate(keys)])
            .where(*where)
            .order_by(
                *[k.desc() if d else k.asc() for k, d in keys], c.object_id.desc()
            )
            .limit(query.page.per_page)
            .offset(query.page.offset)
            .subquery("page")
        )
        order = [
            page.c[f"k{i}"].desc() if d else page.c[f"k{i}"].asc()
            for i, (_k, d) in enumerate(keys)
        ]
        page_rows = select(
            literal(-1).label("g"),
            page.c.object_id,
            null().label("r"),
            null().label("c"),
            null().label("t"),
            func.row_number().over(order_by=(*order, page.c.object_id.desc())),
        )
        counts: Any
        if query.facets:
            r = c.r if "r" in c else func.substr(c.region, 1, query.region_facet_length)
            counts = (
                select(literal(0), null(), r, c.category, c.need_type, func.count())
                .where(*where)
                .group_by(r, c.category, c.need_type)
            )
        else:
            counts = select(literal(0), null(), null(), null(), null(), func.count())
            counts = counts.select_from(source).where(*where)
        parts = [page_rows, counts] if extra is None else [page_rows, counts, extra]
        rows = session.execute(union_all(*parts)).all()
        page_ids = sorted((int(n), int(i)) for g, i, _r, _c, _t, n in rows if g == -1)
        facets: dict[str, dict[str, int]] = {
            "region": {},
            "category": {},
            "need_type": {},
        }
        total = 0
        for g, _i, region, category, need_type, n in rows:
            if g == 0:
                total += n
                if query.facets:
                    for name, value in (
                        ("region", region),
                        ("category", category),
                        ("need_type", need_type),
                    ):
                        facets[name][value] = facets[name].get(value, 0) + n
        hits = Hits(
            ids=[i for _n, i in page_ids],
            total=total,
            facets=facets if query.facets else {},
        )
        if extra is None:
            return hits
        return hits, [r for r in rows if r[0] < -1]

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
        page = base.order_by(*need_order(sort)).limit(query.page.per_page)
        page = page.offset(query.page.offset)
        if _cells_answer(query) and session.scalar(_HAS_CELLS):
            # The search tables hold exactly the public needs, changed in
            # the same transactions: the total and the facets are sums of
            # the cells of every packed need (word ''), corrected for the
            # needs changed since the pack, instead of a pass over every
            # match; the page walks an index in the sort order.
            found = [int(i) for i in session.scalars(page)]
            counted, facets = _cell_counts(session, query, "", _NEED_ROWS)
            return Hits(ids=found, total=counted, facets=facets)
        if not query.facets and sort != "newest":
            # Sorted by amount or deadline every match is read to sort it: the
            # total rides along as a window count (one pass instead of one for
            # the page and a second for the count). Newest first stops early on
            # the publication-order index, so there a separate count is cheaper.
            rows = session.execute(page.add_columns(func.count().over())).all()
            if rows or not query.page.offset:
                return Hits(
                    ids=[int(r[0]) for r in rows],
                    total=int(rows[0][1]) if rows else 0,
                )
        ids = list(session.scalars(page))
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
        conn.execute(text(f"LOCK TABLE {_TABLES} IN EXCLUSIVE MODE"))
        conn.execute(delete(SearchDocument))
        conn.execute(delete(SearchPosting))
        conn.execute(delete(SearchPacked))
        conn.execute(delete(SearchStale))
        conn.execute(delete(SearchCells))
        conn.execute(delete(SearchGone))
        count = 0
        batch: list[Change] = []
        for doc in docs:
            batch.append((doc.object_type, doc.object_id, doc))
            if len(batch) >= BATCH:
                write_documents(conn, batch, postings=False)
                progress(len(batch))
                count += len(batch)
                batch = []
        if batch:
            write_documents(conn, batch, postings=False)
            progress(len(batch))
            count += len(batch)
        needs = conn.scalar(
            select(func.count()).where(SearchDocument.object_type == NEED)
        )
        if (needs or 0) >= self.pack_min_needs():
            _pack(conn)
        else:
            conn.execute(_ALL_POSTINGS)
        # fresh statistics for plans
        conn.execute(text(f"ANALYZE {_TABLES}"))
        return count

    @staticmethod
    def pack_min_needs() -> int:
        from flask import current_app

        return int(current_app.config.get("SEARCH_PACK_MIN_NEEDS", PACK_MIN_NEEDS))

    def pack(self, session: Session) -> int:
        """Fold the postings written since the last pack (``search_postings``)
        into the packed arrays, in the caller's transaction; returns the
        number of words. Changes wait for it (the same lock as a rebuild);
        readers see the old rows until it commits."""
        conn = session.connection()
        conn.execute(text(f"LOCK TABLE {_TABLES} IN EXCLUSIVE MODE"))
        conn.execute(delete(SearchPacked))
        words = _pack(conn)
        conn.execute(text(f"ANALYZE {_TABLES}"))
        return words

    @staticmethod
    def after_rebuild(engine: Any) -> None:
        """After the rebuild committed: VACUUM sets the visibility map of the
        new postings; without it every index-only scan visits the table for
        each entry until autovacuum comes by. Outside a transaction, as VACUUM
        must be. Right after the bulk insert VACUUM skips pages other
        processes still pin (the background writer flushing them): measured,
        a first pass left a fifth of the pages unmarked, a second none."""
        try:
            with engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            ) as conn:
                for _attempt in range(3):
                    conn.execute(text("VACUUM (ANALYZE) search_postings"))
                    pages, visible = conn.execute(
                        text(
                            "SELECT relpages, relallvisible FROM pg_class "
                            "WHERE relname = 'search_postings'"
                        )
                    ).one()
                    if visible >= pages * 0.98:
                        break
                if conn.scalar(text("SELECT EXISTS (SELECT 1 FROM search_packed)")):
                    # The pack emptied search_postings; VACUUM gave its table
                    # pages back but a B-tree keeps its size: rebuilt while the
                    # table holds only the few changes since the pack (a short
                    # lock), so the space returns to the disk.
                    conn.execute(
                        text(
                            "VACUUM (ANALYZE) search_stale, search_packed,"
                            " search_cells, search_gone"
                        )
                    )
                    # REINDEX waits for every open reader of the index and
                    # holds up new ones meanwhile: give up after 2 s (a long
                    # report or an idle transaction), the next pack retries.
                    conn.execute(text("SET lock_timeout = '2s'"))
                    try:
                        conn.execute(text("REINDEX TABLE search_postings"))
                    except Exception:
                        log.info("search: REINDEX after the pack skipped (busy)")
                    conn.execute(text("RESET lock_timeout"))
        except Exception:  # the rebuild is committed: searches are right, slower
            log.warning("search: VACUUM after the rebuild failed", exc_info=True)

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
