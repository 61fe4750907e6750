"""Whoosh: filters, sorts, facets and ranking without Whoosh's query engine.

Whoosh scores and collects every matching document in Python, through a chain
of matcher objects, so a common word is slow at a province's scale, and slower
with filters and facet counts (docs/search.md, "Measured facts"). Here the
index is used only for what it is fast at — the posting list of each word —
and everything else runs over one fixed-size record per document (``meta``, a
Whoosh column), read once per segment into plain Python lists:

- matching: per word, the set of documents having it in the title, the body or
  the labels; every word is required (set intersection, in C);
- filters: list comprehensions over the records (region prefix, category, need
  type, status, urgency, amount range);
- facets: ``Counter`` over the matching documents (region one level below the
  region filter, category, need type);
- sorts: precomputed orders per segment (newest, deadline, amount) scanned
  until a page is full; relevance = sum over the words of
  idf × (2 title + 1 body + 0.5 labels), ties newest first.

Segments never change once written (deletions are kept beside them), so a
segment's records are loaded once per process and reused after every index
update; only new, small segments are read.
"""

from __future__ import annotations

import heapq
import itertools
import math
import struct
import threading
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher

from charitylink.search.documents import NEED, OFFER, PROJECT, Document

# kind, region, category, need_type, status, urgency, amount, published,
# deadline, object id
_RECORD = struct.Struct("<B12s16s16s16s16sqqqq")
META_SIZE = _RECORD.size
KIND_NEED = 1
KIND_PROJECT = 2
KIND_OFFER = 3
KINDS = {NEED: KIND_NEED, PROJECT: KIND_PROJECT, OFFER: KIND_OFFER}
_WIDTHS = {"region": 12, "category": 16, "need_type": 16, "status": 16, "urgency": 16}
_ORDERS = ("newest", "deadline", "amount", "amount_asc")


def _enc(value: Any, width: int) -> bytes:
    data = str(value or "").encode()
    if len(data) > width:
        raise ValueError(f"search meta: {value!r} is longer than {width} bytes")
    return data


def pack_meta(doc: Document) -> bytes:
    f = doc.fields
    return _RECORD.pack(
        KINDS[doc.object_type],
        *(_enc(f.get(name), width) for name, width in _WIDTHS.items()),
        int(f.get("amount") or 0),
        int(f.get("published") or 0),
        int(f.get("deadline") or 0),
        int(doc.object_id),
    )


def key_bytes(value: str, name: str) -> bytes:
    """A filter value as stored (NUL-padded to the field's width)."""
    return _enc(value, _WIDTHS[name]).ljust(_WIDTHS[name], b"\0")


def posting_ids(matcher: Any) -> Iterable[int]:
    """Every document id of a term's posting list, a block at a time.

    Whoosh's ``all_ids()`` makes three method calls per posting; a whoosh 2.7.4
    leaf matcher (``W3LeafMatcher``, pinned version) keeps each block as a
    pickled tuple whose first item is the delta-encoded ids, decoded here with
    ``itertools.accumulate`` (C). Any other matcher uses ``all_ids()``.
    """
    if not isinstance(matcher, W3LeafMatcher) or matcher._byteids:
        return matcher.all_ids()
    ids: list[int] = []
    matcher.reset()  # from the first block, wherever a wrapper left it
    while matcher.is_active():
        if matcher._data is None:
            matcher._read_data()
        ids.extend(itertools.accumulate(matcher._data[0]))
        if matcher._lastblock:
            break
        matcher._goto(matcher._nextoffset)
    return ids


def _label(value: bytes) -> str:
    return value.rstrip(b"\0").decode()


class SegmentData:
    """The records of one Whoosh segment, as columns (lists indexed by docnum)."""

    def __init__(self, segreader: Any) -> None:
        n = segreader.doc_count_all()
        raw = b""
        if n and segreader.has_column("meta"):
            col = segreader.column_reader("meta", translate=False)
            # One read of the whole column (FixedBytesColumn: records back to
            # back; documents after the last written one have the default).
            raw = col._dbfile.get(col._basepos, col._fixedlen * col._count)
        raw += bytes(META_SIZE * n - len(raw))
        rows = list(zip(*_RECORD.iter_unpack(raw), strict=True)) if n else []
        if not rows:
            rows = [()] * 10
        seen: dict[bytes, bytes] = {}
        intern = seen.setdefault

        def strings(values: Iterable[bytes]) -> list[bytes]:
            values = list(values)
            return list(map(intern, values, values))

        self.size = n
        self.kind = bytes(rows[0])
        self.region = strings(rows[1])
        self.category = strings(rows[2])
        self.need_type = strings(rows[3])
        self.status = strings(rows[4])
        self.urgency = strings(rows[5])
        self.amount = array("q", rows[6])
        self.published = array("q", rows[7])
        self.deadline = array("q", rows[8])
        self.oid = array("q", rows[9])
        self._docs: dict[int, list[int]] = {}
        self._sets: dict[int, frozenset[int]] = {}
        self._prefixes: dict[int, list[bytes]] = {}
        self._orders: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    def docs(self, kind: int) -> list[int]:
        """Every docnum of this kind (deleted ones included)."""
        found = self._docs.get(kind)
        if found is None:
            found = [d for d, k in enumerate(self.kind) if k == kind]
            self._docs[kind] = found
        return found

    def doc_set(self, kind: int) -> frozenset[int]:
        found = self._sets.get(kind)
        if found is None:
            found = frozenset(self.docs(kind))
            self._sets[kind] = found
        return found

    def region_prefix(self, length: int) -> list[bytes]:
        found = self._prefixes.get(length)
        if found is None:
            seen: dict[bytes, bytes] = {}
            intern = seen.setdefault
            cut = [r[:length] for r in self.region]
            found = list(map(intern, cut, cut))
            self._prefixes[length] = found
        return found

    def sort_key(self, sort: str) -> Callable[[int], tuple[int, int]]:
        """Ascending key: the first documents of the order sort lowest."""
        oid, pub, dl, amt = self.oid, self.published, self.deadline, self.amount
        if sort == "newest":
            return lambda d: (-pub[d], -oid[d])
        if sort == "deadline":
            return lambda d: (dl[d], -oid[d])
        if sort == "amount":
            return lambda d: (-amt[d], -oid[d])
        if sort == "amount_asc":
            return lambda d: (amt[d], -oid[d])
        raise ValueError(sort)

    def order(self, sort: str, kind: int) -> list[int]:
        """Every docnum of this kind in ``sort`` order, computed once."""
        found = self._orders.get(f"{sort}:{kind}")
        if found is None:
            with self._lock:
                found = sorted(self.docs(kind), key=self.sort_key(sort))
                self._orders[f"{sort}:{kind}"] = found
        return found


class Leaf:
    """One segment of an open searcher: its reader, deletions and records."""

    def __init__(self, reader: Any, data: SegmentData) -> None:
        self.reader = reader
        self.data = data
        self.deleted: frozenset[int] = (
            frozenset(reader.segment().deleted_docs())
            if reader.has_deletions()
            else frozenset()
        )

    def term_docs(self, field: str, word: str) -> set[int]:
        if (field, word) not in self.reader:
            return set()
        matcher = self.reader.postings(field, word)
        if isinstance(matcher, FilterMatcher):  # excludes deleted documents
            matcher = matcher.child
        docs = set(posting_ids(matcher))
        return docs - self.deleted if self.deleted else docs

    def word_docs(self, word: str) -> dict[str, set[int]]:
        return {f: self.term_docs(f, word) for f in ("title", "body", "extra")}


FIELD_WEIGHTS = {"title": 2.0, "body": 1.0, "extra": 0.5}
_SCAN_ORDER_ABOVE = 2000  # more candidates than this: scan the precomputed order


class Selection:
    """The documents of one kind matching every word and the filters, per leaf."""

    def __init__(
        self,
        leaves: list[Leaf],
        kind: int,
        tokens: list[str],
        total_docs: int,
        checks: list[tuple[str, Any]] | None = None,
    ) -> None:
        self.leaves = leaves
        self.kind = kind
        self.tokens = tokens
        per_leaf_sets = [[leaf.word_docs(t) for t in tokens] for leaf in leaves]
        # idf over the whole index, so every segment ranks alike
        self.idf: list[float] = []
        for i, _t in enumerate(tokens):
            df = sum(len(set().union(*sets[i].values())) for sets in per_leaf_sets)
            self.idf.append(math.log(1 + total_docs / (1 + df)))
        self.word_sets = per_leaf_sets
        self.candidates: list[list[int]] = []
        for leaf, sets in zip(leaves, per_leaf_sets, strict=True):
            self.candidates.append(self._match(leaf, sets, checks or []))

    def _match(
        self, leaf: Leaf, sets: list[dict[str, set[int]]], checks: list[tuple[str, Any]]
    ) -> list[int]:
        data = leaf.data
        if self.tokens:
            found: set[int] | None = None
            for by_field in sets:
                union = set().union(*by_field.values())
                found = union if found is None else found & union
                if not found:
                    return []
            docs = list((found or set()) & data.doc_set(self.kind))
        else:
            docs = data.docs(self.kind)
            if leaf.deleted:
                deleted = leaf.deleted
                docs = [d for d in docs if d not in deleted]
        for name, value in checks:
            if not docs:
                break
            if name == "region_prefix":
                region = data.region
                docs = [d for d in docs if region[d].startswith(value)]
            elif name == "min_amount":
                amount = data.amount
                docs = [d for d in docs if amount[d] >= value]
            elif name == "max_amount":
                amount = data.amount
                docs = [d for d in docs if amount[d] <= value]
            else:
                column = (
                    data.region_prefix(int(name[6:]))
                    if name.startswith("region")
                    else getattr(data, name)
                )
                docs = [d for d in docs if column[d] == value]
        return docs

    @property
    def total(self) -> int:
        return sum(len(c) for c in self.candidates)

    def counts(self, name: str, region_length: int = 2) -> dict[str, int]:
        counter: Counter[bytes] = Counter()
        for leaf, docs in zip(self.leaves, self.candidates, strict=True):
            column = (
                leaf.data.region_prefix(region_length)
                if name == "region"
                else getattr(leaf.data, name)
            )
            counter.update(map(column.__getitem__, docs))
        return {_label(k): v for k, v in counter.items() if k.strip(b"\0")}

    def _scorer(self, i: int) -> Callable[[int], float]:
        weighted = [
            (idf, [(sets[f], w) for f, w in FIELD_WEIGHTS.items() if sets[f]])
            for idf, sets in zip(self.idf, self.word_sets[i], strict=True)
        ]

        def score(d: int) -> float:
            total = 0.0
            for idf, fields in weighted:
                for docs, weight in fields:
                    if d in docs:
                        total += idf * weight
            return total

        return score

    def _ranked(
        self, i: int, docs: list[int], end: int
    ) -> list[tuple[tuple[float, ...], int]]:
        """The best ``end`` of one leaf by relevance, without scoring documents
        one by one: the matches are split into groups of equal score by set
        operations (a word in the title or not, in the body or not, …), and
        only the groups needed to fill the page are ordered (newest first)."""
        groups: dict[float, set[int]] = {0.0: set(docs)}
        for idf, sets in zip(self.idf, self.word_sets[i], strict=True):
            for field, weight in FIELD_WEIGHTS.items():
                having = sets[field]
                if not having:
                    continue
                split: dict[float, set[int]] = {}
                for score, group in groups.items():
                    inside = group & having
                    if inside:
                        split.setdefault(round(score + idf * weight, 9), set()).update(
                            inside
                        )
                        group = group - inside
                    if group:
                        split.setdefault(score, set()).update(group)
                groups = split
        oid = self.leaves[i].data.oid
        out: list[tuple[tuple[float, ...], int]] = []
        for score in sorted(groups, reverse=True):
            group = groups[score]
            wanted = end - len(out)
            best = (
                group
                if len(group) <= wanted
                else heapq.nlargest(wanted, group, key=oid.__getitem__)
            )
            out.extend(((-score, -oid[d]), oid[d]) for d in best)
            if len(out) >= end:
                break
        return out

    def top(self, sort: str, end: int) -> list[tuple[tuple[float, ...], int]]:
        """The first ``end`` matches in ``sort`` order: (key, object id)."""
        picked: list[tuple[tuple[float, ...], int]] = []
        for i, (leaf, docs) in enumerate(
            zip(self.leaves, self.candidates, strict=True)
        ):
            if not docs:
                continue
            data = leaf.data
            oid = data.oid
            if sort == "relevance":
                picked.extend(self._ranked(i, docs, end))
                continue
            key = data.sort_key(sort)
            if len(docs) > _SCAN_ORDER_ABOVE:
                wanted = set(docs)
                best = list(
                    itertools.islice(
                        filter(wanted.__contains__, data.order(sort, self.kind)), end
                    )
                )
            else:
                best = heapq.nsmallest(end, docs, key=key)
            picked.extend((key(d), oid[d]) for d in best)
        picked.sort()
        return picked[:end]

    def scored(self) -> list[tuple[int, float]]:
        """Every match as (object id, score), best first, ties newest first."""
        out: list[tuple[int, float]] = []
        for i, (leaf, docs) in enumerate(
            zip(self.leaves, self.candidates, strict=True)
        ):
            score = self._scorer(i) if self.tokens else (lambda _d: 0.0)
            oid = leaf.data.oid
            out.extend((oid[d], score(d)) for d in docs)
        out.sort(key=lambda pair: (-pair[1], -pair[0]))
        return out
