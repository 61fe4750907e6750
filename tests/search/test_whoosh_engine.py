"""The Whoosh engine's own machinery (on either database, ``whoosh_app``):
the two-process build, a failed build, deletions in older segments, the
block-wise posting reader, an index of an older schema, and ranking."""

from __future__ import annotations

import json
import multiprocessing
from typing import Any

import pytest
from sqlalchemy.orm import Session

from charitylink.extensions import db
from charitylink.search import indexer, whoosh_backend
from charitylink.search.backend import get_backend
from charitylink.search.documents import iter_public_documents
from charitylink.search.meta import Leaf, SegmentData, posting_ids
from charitylink.search.service import search_needs
from tests.search.conftest import whoosh_keys

QUERIES: list[tuple[str, dict[str, Any], str]] = [
    ("白血病", {}, "relevance"),
    ("医疗", {"need_type": "medical"}, "amount"),
    ("需要", {"region": "22", "category": "tekun"}, "newest"),
    ("", {"urgency": "high"}, "deadline"),
    ("救助 医疗", {}, "amount_asc"),
]


def _answers() -> list[tuple[list[int], int, dict[str, Any]]]:
    out = []
    for q, filters, sort in QUERIES:
        result = search_needs(q, filters, sort=sort, per_page=100)
        assert not result.fallback
        facets = {k: [(f.value, f.count) for f in v] for k, v in result.facets.items()}
        out.append(([n.id for n in result.items], result.total, facets))
    return out


@pytest.fixture
def varied(whoosh_app, create_need) -> list[Any]:  # type: ignore[no-untyped-def]
    made = []
    for i in range(14):
        made.append(
            create_need(
                title=("白血病患儿需要医疗救助" if i % 3 == 0 else f"老人需要照护{i}"),
                description="家庭困难，医疗费用负担重。" if i % 2 else "住房困难。",
                need_type=("medical", "elderly_care", "housing")[i % 3],
                category=("dibao", "tekun")[i % 2],
                urgency=("high", "normal")[i % 2],
                amount_fen=(i + 1) * 50_000,
                region_code=("220102", "220203")[i % 2],
                status="published",
            )
        )
    db.session.commit()
    return made


def test_two_process_build_answers_like_a_single_process_build(
    varied, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    indexer.rebuild()
    single = _answers()
    assert single[0][1] == 5  # 白血病: i = 0, 3, 6, 9, 12

    monkeypatch.setattr(whoosh_backend, "PARALLEL_BUILD_FROM", 0)
    assert indexer.rebuild() == len(varied)

    assert _answers() == single
    assert sorted(whoosh_keys()) == sorted(f"need:{n.id}" for n in varied)
    assert multiprocessing.active_children() == []


def test_failed_two_process_build_stops_its_workers_and_keeps_the_index(
    varied, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    indexer.rebuild()
    backend = get_backend()
    before = backend.current()  # type: ignore[attr-defined]
    monkeypatch.setattr(whoosh_backend, "PARALLEL_BUILD_FROM", 0)

    class Boom(RuntimeError):
        pass

    def failing(session: Session) -> Any:
        for i, doc in enumerate(iter_public_documents(session)):
            if i == 5:
                raise Boom
            yield doc

    with Session(db.engine) as session, pytest.raises(Boom):
        backend.rebuild(session, failing(session), lambda _n: None)

    assert multiprocessing.active_children() == []
    assert backend.current() == before  # type: ignore[attr-defined]
    gens = sorted(p.name for p in backend.root.glob("gen-*"))  # type: ignore[attr-defined]
    assert gens == [before["generation"]]
    assert search_needs("白血病").total == 5


def test_edits_and_withdrawals_in_older_segments(varied, create_user) -> None:  # type: ignore[no-untyped-def]
    indexer.rebuild()
    assert search_needs("白血病").total == 5
    first, second = varied[0], varied[3]
    first.title = "独居老人冬季取暖困难"
    second.status = "withdrawn"
    db.session.commit()
    indexer.drain_all()

    found = search_needs("白血病", per_page=100)
    assert {n.id for n in found.items} == {varied[i].id for i in (6, 9, 12)}
    assert found.total == 3 and not found.fallback
    assert [n.id for n in search_needs("取暖").items] == [first.id]
    keys = whoosh_keys()
    assert len(keys) == len(set(keys)) == len(varied) - 1

    # The block-wise posting reader agrees with Whoosh's own, deletions included.
    searcher = get_backend().searcher()  # type: ignore[attr-defined]
    leaves = list(searcher.reader().leaf_readers())
    assert len(leaves) >= 2 and any(r.has_deletions() for r, _o in leaves)
    for reader, _offset in leaves:
        leaf = Leaf(reader, SegmentData(reader))
        for field, word in (("title", "白血病"), ("body", "医疗"), ("kind", "need")):
            if (field, word) in reader:
                assert leaf.term_docs(field, word) == set(
                    reader.postings(field, word).all_ids()
                )
                if not reader.has_deletions():  # a bare leaf matcher: same list
                    assert list(posting_ids(reader.postings(field, word))) == list(
                        reader.postings(field, word).all_ids()
                    )


def test_index_of_an_older_schema_is_not_used_and_is_rebuilt(varied, caplog) -> None:  # type: ignore[no-untyped-def]
    indexer.rebuild()
    backend = get_backend()
    pointer = backend.root / "CURRENT"  # type: ignore[attr-defined]
    info = json.loads(pointer.read_text())
    info.pop("schema")  # as written before schema versions
    pointer.write_text(json.dumps(info))
    backend.close()  # type: ignore[attr-defined]

    stale = search_needs("白血病")
    assert stale.fallback and stale.total == 5
    assert "index unavailable" in caplog.text

    indexer.drain_all()  # the indexer rebuilds a missing index

    fresh = search_needs("白血病")
    assert not fresh.fallback and fresh.total == 5


def test_relevance_title_before_body_rarer_word_first_then_newest(
    whoosh_app, create_need
) -> None:  # type: ignore[no-untyped-def]
    body_old = create_need(
        title="家庭困难", description="孩子患白血病需要帮助", status="published"
    )
    title_old = create_need(title="白血病患儿求助", status="published")
    title_new = create_need(title="白血病儿童求助", status="published")
    body_new = create_need(
        title="家庭困难", description="老人患白血病需要帮助", status="published"
    )
    for i in range(4):
        create_need(title=f"家庭困难需要帮助{i}", status="published")
    db.session.commit()
    indexer.rebuild()

    ranked = [n.id for n in search_needs("白血病").items]
    assert ranked == [title_new.id, title_old.id, body_new.id, body_old.id]
    # Two words, both required (帮助 is in every text): ranked the same way.
    mixed = [n.id for n in search_needs("白血病 帮助").items]
    assert mixed == ranked
