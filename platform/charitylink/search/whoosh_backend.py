"""Whoosh, the embedded engine: one index directory per build generation.

Layout under SEARCH_INDEX_DIR::

    CURRENT            JSON {"generation": "gen-…", "built_at": …, "schema": 2},
                       replaced atomically
    gen-20261128T…/    a complete Whoosh index
    indexer.lock       held by the one process writing (drain or rebuild)

A rebuild writes a new generation and then switches CURRENT (``os.replace``);
readers keep their open searcher on the old generation until they next look at
CURRENT. The previous generation is kept for them; older ones are removed.
Request workers only read. Searchers are reopened when stale, never
``refresh()``-ed (docs/search.md, "Measured facts": Whoosh forks' refresh bug).
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
from whoosh.columns import FixedBytesColumn
from whoosh.fields import COLUMN, ID, STORED, TEXT, Schema

from charitylink.search.analysis import ANALYZER
from charitylink.search.backend import Change, Hits, IndexUnavailable, NeedQuery
from charitylink.search.documents import Document, count_public
from charitylink.search.meta import (
    KIND_NEED,
    KINDS,
    META_SIZE,
    Leaf,
    SegmentData,
    Selection,
    key_bytes,
    pack_meta,
)

WRITER_TIMEOUT = 30.0
# Bumped when the schema changes: a generation built with another version is
# treated as missing (pages answer from the database, the indexer rebuilds).
SCHEMA_VERSION = 2
PARALLEL_BUILD_FROM = 20_000  # documents


def make_schema() -> Schema:
    """Only the words are indexed (no positions: queries never use phrases).
    Filters, sorts and facets read ``meta``, one fixed-size record per document
    (see ``search/meta.py``), loaded once per segment."""
    return Schema(
        key=ID(stored=True, unique=True),
        kind=ID(),
        oid=STORED(),
        title=TEXT(analyzer=ANALYZER, phrase=False),
        body=TEXT(analyzer=ANALYZER, phrase=False),
        extra=TEXT(analyzer=ANALYZER, phrase=False),
        meta=COLUMN(FixedBytesColumn(META_SIZE)),
    )


def _fields(doc: Document) -> dict[str, Any]:
    return {
        "key": doc.key,
        "kind": doc.object_type,
        "oid": doc.object_id,
        "title": doc.title,
        "body": doc.body,
        "extra": doc.extra,
        "meta": pack_meta(doc),
    }


class WhooshBackend:
    name = "whoosh"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._local = threading.local()
        # (generation folder, segment id) → its records; shared by threads
        self._segments: dict[tuple[str, str], SegmentData] = {}

    # -- generations --------------------------------------------------------
    @property
    def _pointer(self) -> Path:
        return self.root / "CURRENT"

    def _pointer_info(self) -> dict[str, Any] | None:
        try:
            info = json.loads(self._pointer.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(info, dict) or not info.get("generation"):
            return None
        return info

    def current(self) -> dict[str, Any] | None:
        """The current generation, unless built with another schema version
        (then there is no usable index: pages fall back, the indexer rebuilds)."""
        info = self._pointer_info()
        if info is None or info.get("schema") != SCHEMA_VERSION:
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
        tmp.write_text(
            json.dumps(
                {
                    "generation": generation,
                    "built_at": built_at,
                    "schema": SCHEMA_VERSION,
                }
            )
        )
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
        index changed (``up_to_date`` is a cheap check) or CURRENT moved."""
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

    def _leaves(self, searcher: Any) -> list[Leaf]:
        """The searcher's segments with their records (loaded once per segment)."""
        reader = searcher.reader()
        if "meta" not in reader.schema:
            raise IndexUnavailable("search index has an older schema: run rebuild")
        folder = str(self._local.searcher[0])  # the generation this searcher reads
        leaves = []
        for segreader, _offset in reader.leaf_readers():
            key = (folder, segreader.segment().segment_id())
            data = self._segments.get(key)
            if data is None or data.size != segreader.doc_count_all():
                data = SegmentData(segreader)
                self._segments[key] = data
            leaves.append(Leaf(segreader, data))
        if len(self._segments) > 4 * len(leaves) + 8:  # merged-away segments
            live = {
                (folder, r.segment().segment_id()) for r, _o in reader.leaf_readers()
            }
            for key in list(self._segments):
                if key not in live:
                    self._segments.pop(key, None)
        return leaves

    @staticmethod
    def _checks(query: NeedQuery) -> list[tuple[str, Any]]:
        f = query.filters
        checks: list[tuple[str, Any]] = []
        if f.region:
            if len(f.region) in (2, 4, 6):
                checks.append((f"region{len(f.region)}", f.region.encode()))
            else:
                checks.append(("region_prefix", f.region.encode()))
        for name in ("category", "need_type", "status", "urgency"):
            value = getattr(f, name)
            if value:
                checks.append((name, key_bytes(value, name)))
        if f.min_amount is not None:
            checks.append(("min_amount", f.min_amount))
        if f.max_amount is not None:
            checks.append(("max_amount", f.max_amount))
        return checks

    def search_needs(self, session: Session, query: NeedQuery) -> Hits:
        try:
            return self._search_needs(query)
        except IndexUnavailable:
            raise
        except Exception as exc:
            raise IndexUnavailable(f"search index unreadable: {exc}") from exc

    def _search_needs(self, query: NeedQuery) -> Hits:
        searcher = self.searcher()
        selection = Selection(
            self._leaves(searcher),
            KIND_NEED,
            query.tokens,
            searcher.doc_count_all(),
            self._checks(query),
        )
        sort = query.page.sort
        if sort == "relevance" and not query.tokens:
            sort = "newest"
        end = query.page.offset + query.page.per_page
        top = selection.top(sort, end)
        facets: dict[str, dict[str, int]] = {}
        if query.facets:
            facets = {
                "region": selection.counts("region", query.region_facet_length),
                "category": selection.counts("category"),
                "need_type": selection.counts("need_type"),
            }
        ids = [oid for _key, oid in top[query.page.offset : end]]
        return Hits(ids=ids, total=selection.total, facets=facets)

    def match(
        self, session: Session, object_type: str, tokens: list[str]
    ) -> list[tuple[int, float]]:
        try:
            searcher = self.searcher()
            kind = KINDS[object_type]
            selection = Selection(
                self._leaves(searcher), kind, tokens, searcher.doc_count_all()
            )
            return selection.scored()
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

    @staticmethod
    def _build_options(session: Session) -> dict[str, Any]:
        """A large build segments text in two processes (jieba is most of the
        cost), each writing its own segment; a small one stays in-process."""
        if (os.cpu_count() or 1) >= 2 and count_public(session) >= PARALLEL_BUILD_FROM:
            return {"procs": 2, "multisegment": True, "limitmb": 128}
        return {"limitmb": 256}

    def rebuild(self, session: Session, docs: Iterable[Document], progress: Any) -> int:
        """Build a complete new generation, then switch CURRENT to it. The caller
        holds the indexer lock."""
        self.root.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        generation = f"gen-{stamp}-{uuid.uuid4().hex[:6]}"
        path = self.root / generation
        path.mkdir()
        previous = self._pointer_info()
        try:
            ix = whoosh_index.create_in(str(path), make_schema())
            writer = ix.writer(**self._build_options(session))
            count = 0
            try:
                for doc in docs:
                    writer.add_document(**_fields(doc))
                    count += 1
                    progress(1)
            except BaseException:
                writer.cancel()
                # Whoosh's MpWriter.cancel() does not reach its worker processes
                # (they would wait on their queue forever and block our exit).
                for task in getattr(writer, "tasks", []):
                    task.terminate()
                    task.join(5)
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
