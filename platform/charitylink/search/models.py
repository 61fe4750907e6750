from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from charitylink.core.timeutil import utcnow
from charitylink.extensions import Model


class SearchOutbox(Model):
    """A searchable object changed: written in the same transaction as the change,
    deleted by the indexer only after the index committed (at-least-once)."""

    __tablename__ = "search_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    object_type: Mapped[str] = mapped_column(String(16))  # "need" | "project"
    object_id: Mapped[int] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SearchDocument(Model):
    """PostgreSQL full-text search: one row per searchable (public) object, its
    jieba-segmented text as a tsvector and the public columns that filters, sorts
    and facets read, written in the transaction that changed the object (so they
    are as exact as the object itself; no join at query time). Unused on SQLite,
    where the column is plain text."""

    __tablename__ = "search_documents"
    __table_args__ = (
        UniqueConstraint("object_type", "object_id", name="uq_search_documents_obj"),
        Index("ix_search_documents_tsv", "tsv", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    object_type: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[int]
    tsv: Mapped[str] = mapped_column(Text().with_variant(TSVECTOR(), "postgresql"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Copies of the public columns (documents.py), for filters, sorts and facets.
    region: Mapped[str | None] = mapped_column(String(12))
    category: Mapped[str | None] = mapped_column(String(32))
    need_type: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str | None] = mapped_column(String(32))
    urgency: Mapped[str | None] = mapped_column(String(16))
    amount: Mapped[int | None] = mapped_column(BigInteger)  # fen
    published: Mapped[int | None] = mapped_column(
        BigInteger
    )  # µs since epoch, 0 = none
    deadline: Mapped[int | None] = mapped_column(Integer)  # date ordinal, none = last


# The need's public columns copied into its search rows (filters, sorts, facets
# answered from the search tables alone).
COPIED = (
    "region",
    "category",
    "need_type",
    "status",
    "urgency",
    "amount",
    "published",
    "deadline",
)

# The word of a posting appears in: title, body, labels (bits of ``fields``).
# For one word, ``fields`` descending is the relevance order of Whoosh
# (2 title + 1 body + 0.5 labels): title beats body and labels together.
IN_TITLE, IN_BODY, IN_LABELS = 4, 2, 1


class SearchPosting(Model):
    """PostgreSQL: one row per (need, word) — a covering inverted index.

    GIN finds the documents of a word but keeps nothing else: counting, ranking and the
    facets of a common word visited every matching row of ``search_documents`` before
    any work (docs/search.md). Here each posting carries the word's fields and copies of
    the need's public columns, and the covering index (word, fields, id) INCLUDE (the
    rest) answers a one-word search with index-only scans: the page of the relevance
    order is the first entries of the index, the total and the facets are
    counted over the word's index entries. Written from ``search_documents``
    in the same transaction (``pg_backend.write_documents``). Needs only;
    unused on SQLite."""

    __tablename__ = "search_postings"
    __table_args__ = (
        Index(
            "ix_search_postings_word",
            "word",
            "fields",
            "object_id",  # (fields DESC, id DESC) = a backward scan
            postgresql_include=list(COPIED),
        ),
    )

    object_id: Mapped[int] = mapped_column(primary_key=True)
    word: Mapped[str] = mapped_column(Text, primary_key=True)
    fields: Mapped[int] = mapped_column(SmallInteger)  # IN_TITLE | IN_BODY | …
    region: Mapped[str | None] = mapped_column(String(12))
    category: Mapped[str | None] = mapped_column(String(32))
    need_type: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str | None] = mapped_column(String(32))
    urgency: Mapped[str | None] = mapped_column(String(16))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    published: Mapped[int | None] = mapped_column(BigInteger)
    deadline: Mapped[int | None] = mapped_column(Integer)


def _array(item: Any) -> Any:
    # Arrays on PostgreSQL; plain text elsewhere so the SQLite schema still
    # migrates (the packed tables are unused there, like the tsvector).
    return Text().with_variant(ARRAY(item), "postgresql")


class SearchPacked(Model):
    """PostgreSQL: the postings of one word packed into arrays — one row per
    word, element i of every array describing the same need, ordered by
    relevance (``fields`` descending, then newest first).

    Written by ``search rebuild`` and ``search pack`` from ``search_documents``;
    changes in between go to ``search_postings`` (one row per need and word)
    and mark the need in ``search_stale``, so its packed elements are skipped
    until the next pack. A row per posting costs ~260 bytes with its indexes
    (tuple headers, the copies in the covering index, the primary key); an
    array element costs the values alone (~40 bytes), compressed by TOAST.
    category, need type, status and urgency are small codes from
    ``search_vocab``; region the digits of the public region code."""

    __tablename__ = "search_packed"

    word: Mapped[str] = mapped_column(Text, primary_key=True)
    ids: Mapped[list[int]] = mapped_column(_array(Integer))
    fields: Mapped[list[int]] = mapped_column(_array(SmallInteger))
    region: Mapped[list[int]] = mapped_column(_array(BigInteger))
    category: Mapped[list[int]] = mapped_column(_array(SmallInteger))
    need_type: Mapped[list[int]] = mapped_column(_array(SmallInteger))
    status: Mapped[list[int]] = mapped_column(_array(SmallInteger))
    urgency: Mapped[list[int]] = mapped_column(_array(SmallInteger))
    amount: Mapped[list[int]] = mapped_column(_array(BigInteger))
    published: Mapped[list[int]] = mapped_column(_array(BigInteger))
    deadline: Mapped[list[int]] = mapped_column(_array(Integer))
    # The same word's need ids ordered by amount (largest first, then newest):
    # the first page of a search sorted by amount is their first elements.
    by_amount: Mapped[list[int] | None] = mapped_column(_array(Integer), nullable=True)
    # The same postings as bytes, for searches of several words (read whole
    # and intersected in the application): ``postings`` one big-endian int32
    # per posting, need id × 8 + fields, ascending; ``attrs`` eight bytes
    # per posting in the same order — the public region code (int32), then
    # category, need type, status and urgency codes. NULL in a pack by older code (several words then use GIN).
    postings: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    attrs: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class SearchCells(Model):
    """PostgreSQL: per word, how many packed needs fall in each cell of city
    (the first four digits of the public region code) × category × need type
    × status — parallel arrays, written by the pack with ``search_packed``.
    The word ``''`` counts every packed need (searches without words). A
    total or the facets of a search with these filters only are sums of
    cells, corrected by ``search_gone`` (minus) and the rows changed since
    the pack (plus), instead of a pass over every match."""

    __tablename__ = "search_cells"

    word: Mapped[str] = mapped_column(Text, primary_key=True)
    region: Mapped[list[int]] = mapped_column(_array(Integer))
    category: Mapped[list[int]] = mapped_column(_array(SmallInteger))
    need_type: Mapped[list[int]] = mapped_column(_array(SmallInteger))
    status: Mapped[list[int]] = mapped_column(_array(SmallInteger))
    n: Mapped[list[int]] = mapped_column(_array(Integer))


class SearchGone(Model):
    """PostgreSQL: the packed postings of needs changed since the pack, as
    they were packed (one row per word, plus word ``''`` per need), written
    when a need first becomes stale: what the cells count that no longer
    holds."""

    __tablename__ = "search_gone"

    word: Mapped[str] = mapped_column(Text, primary_key=True)
    object_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    region: Mapped[str | None] = mapped_column(String(12))
    category: Mapped[str | None] = mapped_column(String(32))
    need_type: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str | None] = mapped_column(String(32))


class SearchStale(Model):
    """PostgreSQL: needs changed since the last pack — their packed elements
    are skipped (their current postings are in ``search_postings``)."""

    __tablename__ = "search_stale"

    object_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)


class SearchVocab(Model):
    """PostgreSQL: the codes of the packed label columns (category, need
    type, status, urgency values), dense from 1."""

    __tablename__ = "search_vocab"

    code: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    value: Mapped[str] = mapped_column(Text, unique=True)


def enqueue(object_type: str, object_id: int) -> None:
    """Mark an object for (re)indexing; call inside the changing transaction.
    (Rarely needed: ``charitylink.search.sync`` enqueues every ORM change.)"""
    from charitylink.extensions import db as _db

    _db.session.add(SearchOutbox(object_type=object_type, object_id=object_id))


# Registers the flush listener that keeps search in step with every change.
from charitylink.search import sync  # noqa: E402,F401
