"""Several words: exact totals, facets and relevance order against a count
made here from the needs themselves, on both engines; on PostgreSQL also
after a pack (the intersection of the packed postings read as bytes) and
after changes since the pack (the changed needs' rows in, their packed
postings out), and equal to the GIN path it replaces (docs/search.md,
"Several words")."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from charitylink.extensions import db
from charitylink.needs.models import Need
from charitylink.search import indexer, pg_backend
from charitylink.search.analysis import index_tokens
from charitylink.search.documents import PUBLIC_NEED_STATUSES, need_document
from charitylink.search.service import search_needs

A, B = "化疗", "骨髓"
QUERY = f"{A} {B}"
FILTERS: list[dict[str, Any]] = [
    {},
    {"category": "dibao"},
    {"region": "22"},
    {"region": "2202", "need_type": "medical"},
    {"status": "published", "urgency": "high"},
    {"region": "220202"},
]


def expected(filters: dict[str, Any]) -> tuple[list[int], dict[str, Counter[str]]]:
    """The matches in order (sum over the words of 4 title + 2 text + 1
    labels, ties newest first) and the facets, from the needs' own text."""
    db.session.commit()
    scored, facets = (
        [],
        {"region": Counter(), "category": Counter(), "need_type": Counter()},
    )
    depth = 2 if not filters.get("region") else len(filters["region"]) + 2
    for n in db.session.scalars(select(Need)):
        if str(n.status) not in PUBLIC_NEED_STATUSES:
            continue
        if any(
            not (n.public_region_code or "").startswith(v)
            if k == "region"
            else str(getattr(n, k)) != v
            for k, v in filters.items()
        ):
            continue
        doc = need_document(n)
        assert doc is not None
        title, body, extra = (
            set(index_tokens(t)) for t in (doc.title, doc.body, doc.extra)
        )
        if not all(w in title | body | extra for w in (A, B)):
            continue
        points = sum(4 * (w in title) + 2 * (w in body) + (w in extra) for w in (A, B))
        scored.append((-points, -n.id))
        facets["region"][n.public_region_code[:depth]] += 1
        facets["category"][str(n.category)] += 1
        facets["need_type"][str(n.need_type)] += 1
    return [-i for _p, i in sorted(scored)], facets


def check(engine: str, ordered: bool = True) -> None:
    for filters in FILTERS:
        ids, facets = expected(filters)
        found: list[int] = []
        for page in (1, 2, 3):
            r = search_needs(QUERY, filters, page=page, per_page=2)
            assert not r.fallback
            assert r.total == len(ids), (engine, filters)
            found += [n.id for n in r.items]
            if page == 1:
                got = {
                    k: Counter({f.value: f.count for f in v})
                    for k, v in r.facets.items()
                }
                assert got == facets, (engine, filters)
        if ordered:
            assert found == ids[:6], (engine, filters)
        else:
            assert sorted(found) == sorted(ids[:6]), (engine, filters)


def test_several_words_exact_totals_facets_and_order(  # type: ignore[no-untyped-def]
    app, need, index_now, engine, monkeypatch
) -> None:
    edu = {"need_type": "education"}
    made = [
        need(f"{A}{B}求助", category="tekun", region_code="220202", **edu),  # 8
        need(f"{A}费用", f"需要{B}检查。", urgency="high"),  # 6
        need(f"{A}求助", f"还要{B}检查。", region_code="220202"),  # 6, newer
        need("家庭困难", f"孩子需要{A}，还要{B}穿刺。", **edu),  # 4
        need(f"{A}{B}求助", f"先{A}。", urgency="high"),  # 10
        need("孩子患病", f"需要{A}。"),  # A only
        need(f"{B}检查求助", category="tekun"),  # B only
        need(f"{A}求助"),  # A only
        need("老人求助", f"{B}穿刺检查。", region_code="220202"),  # B only
    ]
    index_now()
    # Both words in as many needs (7 each): Whoosh's idf weighs them alike,
    # so its order is the same sum of field weights (2 title, 1 text); equal
    # scores only from the same places (Whoosh adds rounded floats).
    check(engine)

    used: list[Any] = []
    several = pg_backend._search_words
    monkeypatch.setattr(
        pg_backend,
        "_search_words",
        lambda *a: used.append(x := several(*a)) or x,
    )
    if engine == "pg":
        check(engine)  # rows only (below the pack threshold)
        assert used and all(u is not None for u in used)
        app.config["SEARCH_PACK_MIN_NEEDS"] = 1
        db.session.commit()
        indexer.rebuild()
        used.clear()
        check(engine)  # packed
        assert used and all(u is not None for u in used)

    # Changes (after the pack on PostgreSQL): one loses a word, one gains
    # one, one is withdrawn, one moves region, and a new need.
    made[3].description = "孩子需要治疗。"
    made[5].title = f"{B}求助"
    made[0].status = "withdrawn"
    made[4].public_region_code = "220202"
    db.session.commit()
    made[1].category = "tekun"  # a second change of a changed need
    db.session.commit()
    need(f"{A}{B}新求助", region_code="220202")
    index_now()
    check(engine, ordered=engine == "pg")
    if engine != "pg":
        return
    assert all(u is not None for u in used)
    # The same matches as the GIN path (which ranks by ts_rank).
    with monkeypatch.context() as m:
        m.setattr(pg_backend, "_words_answer", lambda query: False)
        check(engine, ordered=False)
    # Packed again: the changes folded in, the same answers.
    db.session.commit()
    indexer.pack()
    used.clear()
    check(engine)
    assert used and all(u is not None for u in used)


def test_several_words_by_amount_and_county(  # type: ignore[no-untyped-def]
    app, need, index_now, engine
) -> None:
    """Sorted by amount and an amount filter (the GIN path on PostgreSQL),
    county facets: exact."""
    for i in range(4):
        need(f"{A}{B}求助{i}", amount_fen=100_000 * (i + 1), region_code="220102")
    need(f"{A}求助", amount_fen=900_000)
    index_now()
    if engine == "pg":
        app.config["SEARCH_PACK_MIN_NEEDS"] = 1
        db.session.commit()
        indexer.rebuild()
    r = search_needs(QUERY, sort="amount")
    assert [n.amount_fen for n in r.items] == [400_000, 300_000, 200_000, 100_000]
    r = search_needs(QUERY, {"min_amount": 250_000})
    assert r.total == 2
    r = search_needs(QUERY, {"region": "2201"})
    assert r.total == 4
    assert [(f.value, f.count) for f in r.facets["region"]] == [("220102", 4)]


@pytest.mark.parametrize("q", [f"{A} {A}", f"{A} 不存在的词语", "covid-19 化疗"])
def test_odd_word_lists(need, index_now, q) -> None:  # type: ignore[no-untyped-def]
    """A repeated word, a word nobody wrote, a word the parser splits."""
    one = need(f"{A}求助", "covid-19 后遗症")
    index_now()
    r = search_needs(q)
    expect = [one.id] if "不存在" not in q else []
    assert [n.id for n in r.items] == expect and r.total == len(expect)
