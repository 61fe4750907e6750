"""PostgreSQL: packed postings (``search_packed``, one row per word with arrays)
answer exactly as the one-row-per-posting table does, and changes after a pack
(edits, withdrawals, new needs) are seen at once through ``search_postings``
and ``search_stale``."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from charitylink.extensions import db
from charitylink.needs.models import Need
from charitylink.search import indexer, pg_backend
from charitylink.search.models import (
    SearchCells,
    SearchGone,
    SearchPacked,
    SearchPosting,
    SearchStale,
)
from charitylink.search.service import search_needs


@pytest.fixture(autouse=True)
def _pg_only(engine: str) -> None:
    if engine != "pg":
        pytest.skip("PostgreSQL-only: the packed postings are unused with Whoosh")


QUERIES: list[tuple[str, dict[str, Any], str]] = [
    ("白血病", {}, "relevance"),
    ("白血病", {"region": "2201"}, "amount"),
    ("困难", {"category": "dibao"}, "newest"),
    ("困难", {"need_type": "medical", "urgency": "high"}, "deadline"),
    ("困难", {"min_amount": 300_000, "max_amount": 900_000}, "amount_asc"),
    ("医疗", {"status": "published"}, "relevance"),
    # Answered from the ordered arrays and the cells (docs/search.md, "A
    # million needs"), then the same without words.
    ("白血病", {"region": "22", "category": "dibao"}, "relevance"),
    ("困难", {"region": "22"}, "amount"),
    ("困难", {}, "amount"),
    ("困难", {"need_type": "medical", "status": "published"}, "relevance"),
    ("", {"region": "22", "need_type": "medical"}, "amount"),
    ("", {}, "newest"),
    ("", {"region": "2201"}, "deadline"),
    ("", {"status": "published", "category": "dibao"}, "amount_asc"),
]


def answers() -> list[tuple[Any, ...]]:
    db.session.commit()
    out = []
    for q, filters, sort in QUERIES:
        for page in (1, 2):
            r = search_needs(q, filters, sort=sort, page=page, per_page=3, facets=True)
            assert not r.fallback, (q, filters, sort)
            out.append(
                (q, sort, page, r.total, [n.id for n in r.items], r.facets_json())
            )
    return out


def reference(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """The answers with every total and facet counted over the matches (the
    cells and the ordered arrays unused)."""
    with monkeypatch.context() as m:
        m.setattr(pg_backend, "_cells_answer", lambda query: False)
        return answers()


def count(model: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_packed_postings_answer_like_rows_and_follow_changes(  # type: ignore[no-untyped-def]
    app, need, index_now, monkeypatch
) -> None:
    made = []
    for i in range(9):
        made.append(
            need(
                f"白血病患儿求助{i}" if i % 3 else f"老人护理求助{i}",
                "家庭困难，孩子患白血病。" if i % 2 else "家庭困难，希望得到帮助。",
                category="dibao" if i % 2 else "tekun",
                need_type="medical" if i % 3 else "education",
                urgency="high" if i % 4 else "normal",
                amount_fen=100_000 * (i + 1),
                region_code="220102" if i % 2 else "220202",
            )
        )
    index_now()
    counted = []
    cell_counts = pg_backend._cell_counts
    monkeypatch.setattr(
        pg_backend,
        "_cell_counts",
        lambda *a: counted.append(a[2]) or cell_counts(*a),
    )
    rows = answers()
    assert "" not in counted and "白血病" in counted  # no cells for browse yet
    assert count(SearchPacked) == 0  # below the threshold: one row per posting
    assert rows == reference(monkeypatch)

    app.config["SEARCH_PACK_MIN_NEEDS"] = 1
    db.session.commit()  # no open reader: the pack's REINDEX need not wait
    indexer.rebuild()
    assert count(SearchPacked) > 0 and count(SearchPosting) == 0
    assert count(SearchCells) > 0 and count(SearchGone) == 0
    counted.clear()
    assert answers() == rows
    assert "" in counted and "困难" in counted
    # Arrays in relevance order (title first, then newest), ids by amount.
    for ids, fields, by_amount in db.session.execute(
        select(SearchPacked.ids, SearchPacked.fields, SearchPacked.by_amount)
    ):
        pairs = list(zip(fields, ids, strict=True))
        assert pairs == sorted(pairs, reverse=True)
        amount = dict(db.session.execute(select(Need.id, Need.amount_fen)).all())
        assert by_amount == sorted(ids, key=lambda i: (-amount[i], -i))

    # After the pack: an edit, a withdrawal and a new need, seen at once.
    made[1].title = "助听器求助"
    made[2].status = "withdrawn"
    made[3].category = "dibao"  # moves between cells
    made[4].amount_fen = 5_000_000  # moves to the front by amount
    db.session.commit()
    made[3].need_type = "medical"  # a second change: counted once
    db.session.commit()
    new = need("白血病新求助", "家庭困难。", category="dibao", region_code="220102")
    index_now()
    assert count(SearchStale) >= 2
    assert [n.id for n in search_needs("助听器").items] == [made[1].id]
    leukemia = search_needs("白血病", per_page=50)
    ids = {n.id for n in leukemia.items}
    assert made[2].id not in ids and new.id in ids
    assert made[1].id in ids  # still in its description
    assert leukemia.total == len(ids)
    changed = answers()
    assert changed == reference(monkeypatch)
    assert count(SearchGone) > 0

    # Packing again folds the changes in: same answers, nothing left aside.
    db.session.commit()
    indexer.pack()
    assert count(SearchPosting) == 0 and count(SearchStale) == 0
    assert count(SearchGone) == 0
    assert answers() == changed
