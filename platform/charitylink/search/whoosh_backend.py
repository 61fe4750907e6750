"""Whoosh, the embedded engine: one index directory per build generation.

Layout under SEARCH_INDEX_DIR::

    CURRENT            JSON {"generation": "gen-…", "built_at": …}, replaced atomically
    gen-20261128T…/    a complete Whoosh index
    indexer.lock       held by the one process writing (drain or rebuild)

A rebuild writes a new generation and then switches CURRENT (``os.replace``);
readers keep their open searcher on the old generation until they next look at
CURRENT. The previous generation is kept for them; older ones are removed.
Request workers only read. Searchers are reopened when stale, never
``refresh()``-ed (see notes §1).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session
from whoosh import index as whoosh_index
from whoosh import sorting
from whoosh.fields import ID, NUMERIC, TEXT, Schema
from whoosh.query import (
    And,
    NumericRange,
    Or,
    Prefix,
    Query,
    Term,
)

from charitylink.search.analysis import ANALYZER
from charitylink.search.backend import Change, Hits, IndexUnavailable, NeedQuery
from charitylink.search.documents import NEED, Document

WRITER_TIMEOUT = 30.0
_FACETS = ("category", "need_type")


def make_schema() -> Schema:
    return Schema(
        key=ID(stored=True, unique=True),
        kind=ID(),
        oid=NUMERIC(int, bits=64, stored=True, sortable=True),
        title=TEXT(analyzer=ANALYZER, field_boost=2.0),
        body=TEXT(analyzer=ANALYZER),
        extra=TEXT(analyzer=ANALYZER, field_boost=0.5),
        region=ID(sortable=True),
        region2=ID(sortable=True),
        region4=ID(sortable=True),
        category=ID(sortable=True),
        need_type=ID(sortable=True),
        status=ID(sortable=True),
        urgency=ID(sortable=True),
        amount=NUMERIC(int, bits=64, sortable=True),
        published=NUMERIC(int, bits=64, sortable=True),
        deadline=NUMERIC(int, bits=32, sortable=True),
    )


def _fields(doc: Document) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "key": doc.key,
        "kind": doc.object_type,
        "oid": doc.object_id,
        "title": doc.title,
        "body": doc.body,
        "extra": doc.extra,
    }
    fields.update({k: v for k, v in doc.fields.items() if v is not None})
    return fields


def text_query(tokens: list[str]) -> Query:
    """Every token must appear in the title, body or labels. Built from Term
    objects, never from a query parser: user text has no syntax here."""
    return And(
        [Or([Term("title", t), Term("body", t), Term("extra", t)]) for t in tokens]
    )


class WhooshBackend:
    name = "whoosh"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._local = threading.local()

    # -- generations --------------------------------------------------------
    @property
    def _pointer(self) -> Path:
        return self.root / "CURRENT"

    def current(self) -> dict[str, Any] | None:
        try:
            info = json.loads(self._pointer.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(info, dict) or not info.get("generation"):
            return None
        return info

    def current_dir(self) -> Path | None:
        info = self.current()
        if info is None:
            return None
        path = self.root / str(info["generation"])
        return path if path.is_dir() else None

    def exists(self) -> bool:
        path = self.current_dir()
        return path is not None and whoosh_index.exists_in(str(path))

    def open_index(self) -> Any:
        path = self.current_dir()
        if path is None:
            raise IndexUnavailable(f"no search index under {self.root}")
        try:
            return whoosh_index.open_dir(str(path))
        except Exception as exc:  # any corruption: the caller falls back
            raise IndexUnavailable(f"cannot open search index {path}: {exc}") from exc

    def _switch(self, generation: str) -> None:
        tmp = self.root / f".CURRENT.{uuid.uuid4().hex}"
        built_at = datetime.now(UTC).isoformat()
        tmp.write_text(json.dumps({"generation": generation, "built_at": built_at}))
        os.replace(tmp, self._pointer)

    def _remove_old_generations(self, keep: set[str]) -> None:
        gens = sorted(p for p in self.root.glob("gen-*") if p.is_dir())
        for path in gens:
            if path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)

    @contextlib.contextmanager
    def lock(self, timeout: float) -> Iterator[bool]:
        """The indexer lock: one process writes (drain or rebuild) at a time.
        Yields False when it could not be taken within ``timeout`` seconds."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "indexer.lock", "a+") as fh:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(0.05)
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- reading ------------------------------------------------------------
    def searcher(self) -> Any:
        """This thread's searcher on the current generation, reopened when the
        index changed (``up_to_date`` costs ~0.07 ms) or CURRENT moved."""
        path = self.current_dir()
        if path is None:
            raise IndexUnavailable(f"no search index under {self.root}")
        cached = getattr(self._local, "searcher", None)
        if cached is not None:
            cached_path, searcher = cached
            try:
                if cached_path == path and searcher.up_to_date():
                    return searcher
            except Exception:  # noqa: S110 - a broken searcher is simply replaced
                pass
            with contextlib.suppress(Exception):
                searcher.close()
            self._local.searcher = None
        try:
            searcher = whoosh_index.open_dir(str(path)).searcher()
        except Exception as exc:
            raise IndexUnavailable(f"cannot open search index {path}: {exc}") from exc
        self._local.searcher = (path, searcher)
        return searcher

    def close(self) -> None:
        cached = getattr(self._local, "searcher", None)
        if cached is not None:
            with contextlib.suppress(Exception):
                cached[1].close()
            self._local.searcher = None

    def _need_filter(self, query: NeedQuery) -> Query:
        f = query.filters
        parts: list[Query] = [Term("kind", NEED)]
        if f.region:
            if len(f.region) == 2:
                parts.append(Term("region2", f.region))
            elif len(f.region) == 4:
                parts.append(Term("region4", f.region))
            elif len(f.region) == 6:
                parts.append(Term("region", f.region))
            else:
                parts.append(Prefix("region", f.region))
        for name in ("category", "need_type", "status", "urgency"):
            value = getattr(f, name)
            if value:
                parts.append(Term(name, value))
        if f.min_amount is not None or f.max_amount is not None:
            parts.append(NumericRange("amount", f.min_amount, f.max_amount))
        return And(parts)

    def search_needs(self, session: Session, query: NeedQuery) -> Hits:
        try:
            return self._search_needs(query)
        except IndexUnavailable:
            raise
        except Exception as exc:
            raise IndexUnavailable(f"search index unreadable: {exc}") from exc

    def _search_needs(self, query: NeedQuery) -> Hits:
        searcher = self.searcher()
        # Filters go into the query, not ``filter=``: Whoosh turns a filter query
        # into a Python set of every matching docnum on each search (all 100k
        # needs for kind=need), and at 20k needs some filtered searches ran for
        # over a minute. Inside an And they are intersected by skipping; their
        # terms add the same score to every hit, so ranking is unchanged.
        # (Not ConstantScoreQuery: intersected, Whoosh 2.7.4 drops hits with it —
        # measured 101 of 126 on the benchmark index.)
        flt = self._need_filter(query)
        q: Query = And([text_query(query.tokens), flt]) if query.tokens else flt
        sort = query.page.sort
        if sort == "relevance" and not query.tokens:
            sort = "newest"
        sortedby: Any = None
        newest_first = sorting.FieldFacet("oid", reverse=True)  # ties, as in SQL
        if sort == "newest":
            sortedby = [sorting.FieldFacet("published", reverse=True), newest_first]
        elif sort == "deadline":
            sortedby = [sorting.FieldFacet("deadline"), newest_first]
        elif sort == "amount":
            sortedby = [sorting.FieldFacet("amount", reverse=True), newest_first]
        elif sort == "amount_asc":
            sortedby = [sorting.FieldFacet("amount"), newest_first]
        region_field = {2: "region2", 4: "region4"}.get(
            query.region_facet_length, "region"
        )
        groups = {
            "region": sorting.FieldFacet(region_field),
            **{name: sorting.FieldFacet(name) for name in _FACETS},
        }
        end = query.page.offset + query.page.per_page
        if not query.facets:
            groups = {}
        results = searcher.search(
            q,
            limit=end,
            sortedby=sortedby,
            groupedby=groups or None,
            maptype=sorting.Count,
            terms=False,
        )
        ids = [hit["oid"] for hit in results[query.page.offset : end]]
        facets = {
            name: {str(k): int(v) for k, v in results.groups(name).items() if k}
            for name in groups
        }
        return Hits(ids=ids, total=len(results), facets=facets)

    def match(
        self, session: Session, object_type: str, tokens: list[str]
    ) -> list[tuple[int, float]]:
        try:
            searcher = self.searcher()
            kind = Term("kind", object_type)
            q = And([text_query(tokens), kind]) if tokens else kind
            results = searcher.search(q, limit=None, terms=False)
            return [(hit["oid"], float(hit.score or 0.0)) for hit in results]
        except IndexUnavailable:
            raise
        except Exception as exc:
            raise IndexUnavailable(f"search index unreadable: {exc}") from exc

    # -- writing ------------------------------------------------------------
    def apply(self, session: Session, changes: list[Change]) -> None:
        """Update or delete each document and commit once. Raises on failure
        (the caller keeps its outbox rows and retries)."""
        ix = self.open_index()
        writer = ix.writer(timeout=WRITER_TIMEOUT, delay=0.05)
        try:
            for object_type, object_id, doc in changes:
                if doc is None:
                    writer.delete_by_term("key", f"{object_type}:{object_id}")
                else:
                    writer.update_document(**_fields(doc))
        except BaseException:
            writer.cancel()
            raise
        writer.commit()

    def rebuild(self, session: Session, docs: Iterable[Document], progress: Any) -> int:
        """Build a complete new generation, then switch CURRENT to it. The caller
        holds the indexer lock."""
        self.root.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        generation = f"gen-{stamp}-{uuid.uuid4().hex[:6]}"
        path = self.root / generation
        path.mkdir()
        previous = self.current()
        try:
            ix = whoosh_index.create_in(str(path), make_schema())
            writer = ix.writer(limitmb=256)
            count = 0
            try:
                for doc in docs:
                    writer.add_document(**_fields(doc))
                    count += 1
                    progress(1)
            except BaseException:
                writer.cancel()
                raise
            writer.commit()
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        self._switch(generation)
        keep = {generation}
        if previous:
            keep.add(str(previous["generation"]))  # readers may still use it
        self._remove_old_generations(keep)
        return count

    def status(self, session: Session) -> dict[str, Any]:
        info = self.current()
        path = self.current_dir()
        if info is None or path is None:
            return {"backend": self.name, "exists": False, "documents": 0}
        try:
            ix = whoosh_index.open_dir(str(path))
            with ix.searcher() as s:
                documents = s.doc_count()
            toc = max(path.glob("_MAIN_*.toc"), key=lambda p: p.stat().st_mtime)
            changed_at = datetime.fromtimestamp(toc.stat().st_mtime, UTC)
        except Exception as exc:
            return {"backend": self.name, "exists": False, "error": str(exc)}
        return {
            "backend": self.name,
            "exists": True,
            "path": str(path),
            "documents": documents,
            "built_at": info.get("built_at"),
            "changed_at": changed_at.isoformat(),
        }
