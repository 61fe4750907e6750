"""PostgreSQL: the postings (``search_postings``, one row per need and word, with
copies of the need's public columns) answer one-word searches; they are written
with the need's ``search_documents`` row, in the same transaction."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text

from charitylink.extensions import db
from charitylink.search import indexer
from charitylink.search.models import (
    IN_BODY,
    IN_LABELS,
    IN_TITLE,
    SearchDocument,
    SearchPosting,
)
from charitylink.search.service import search_needs


@pytest.fixture(autouse=True)
def _pg_only(engine: str) -> None:
    if engine != "pg":
        pytest.skip("PostgreSQL-only: the postings table is unused with Whoosh")


def postings(need_id: int) -> dict[str, Any]:
    db.session.commit()
    rows = db.session.scalars(
        select(SearchPosting).where(SearchPosting.object_id == need_id)
    ).all()
    return {p.word: p for p in rows}


def test_postings_hold_each_word_with_its_fields_and_the_public_columns(
    need, index_now
) -> None:  # type: ignore[no-untyped-def]
    n = need(
        "白血病患儿急需化疗费用",
        "孩子患白血病，正在化疗。",
        need_type="medical",
        region_code="220102",
        amount_fen=500_000,
    )
    index_now()

    words = postings(n.id)

    assert words["白血病"].fields == IN_TITLE | IN_BODY
    assert words["费用"].fields == IN_TITLE
    assert words["孩子"].fields == IN_BODY
    assert words["医疗"].fields == IN_LABELS  # the need type's label only
    p = words["白血病"]
    assert (p.region, p.need_type, p.status, p.amount) == (
        n.public_region_code,
        "medical",
        "published",
        500_000,
    )
    doc_words = db.session.scalar(
        select(SearchDocument.tsv).where(SearchDocument.object_id == n.id)
    )
    assert len(words) == len(str(doc_words).split(" "))  # one posting per lexeme


def test_postings_follow_edits_rollbacks_and_withdrawal(need, index_now) -> None:  # type: ignore[no-untyped-def]
    n = need("白血病患儿急需化疗费用", "孩子患白血病，正在化疗。")
    index_now()

    n.title = "老人需要护理"
    db.session.commit()
    words = postings(n.id)
    assert words["白血病"].fields == IN_BODY
    assert words["护理"].fields == IN_TITLE
    assert "费用" not in words
    assert [x.code for x in search_needs("护理").items] == [n.code]
    assert search_needs("费用").total == 0

    n.title = "助听器"
    db.session.flush()
    db.session.rollback()
    assert "助听器" not in postings(n.id)
    assert search_needs("助听器").total == 0

    n.status = "withdrawn"
    db.session.commit()
    assert postings(n.id) == {}
    assert search_needs("白血病").total == 0


def test_rebuild_writes_the_same_postings_as_the_changes(need, index_now) -> None:  # type: ignore[no-untyped-def]
    made = [
        need("白血病患儿急需化疗费用", region_code="220102"),
        need("独居老人冬季取暖", need_type="elderly_care"),
        need("助学金申请", "家庭困难，孩子上学需要助学金。", category="tekun"),
    ]
    need("草稿不可见", status="draft")
    index_now()

    def snapshot() -> set[tuple[Any, ...]]:
        db.session.commit()
        return {
            (p.object_id, p.word, p.fields, p.region, p.status, p.amount)
            for p in db.session.scalars(select(SearchPosting))
        }

    written = snapshot()
    db.session.execute(SearchPosting.__table__.delete())
    db.session.commit()
    assert search_needs("白血病").total == 0  # the postings answer one word

    indexer.rebuild()

    assert snapshot() == written
    assert {i for i, *_ in written} == {m.id for m in made}
    assert search_needs("白血病").total == 1
    # VACUUM after the commit: index-only scans need not visit the table.
    pages, visible = db.session.execute(
        text(
            "SELECT relpages, relallvisible FROM pg_class "
            "WHERE relname = 'search_postings'"
        )
    ).one()
    assert pages >= 1 and visible == pages


def test_one_word_and_several_words_give_the_same_matches(need, index_now) -> None:  # type: ignore[no-untyped-def]
    """One word is answered from the postings, several from the GIN index:
    the same needs, totals and facets for the same matches."""
    for i in range(6):
        need(
            f"白血病患儿求助{i}",
            "家庭困难，希望得到帮助。",
            category="dibao" if i % 2 else "tekun",
            need_type="medical" if i % 3 else "education",
        )
    need("老人求助", "家庭困难，希望得到帮助。")
    index_now()

    one = search_needs("白血病", sort="newest")
    both = search_needs("白血病 患儿", sort="newest")  # every need has both

    assert one.total == both.total == 6
    assert [n.id for n in one.items] == [n.id for n in both.items]
    assert one.facets_json() == both.facets_json()


def test_a_token_the_database_splits_is_answered_through_gin(need, index_now) -> None:  # type: ignore[no-untyped-def]
    """One token that the database's parser splits in two lexemes (jieba never
    yields one with a space; a hyphen or a dot can split too): the postings
    statement reports 2 lexemes and the GIN path answers, every lexeme
    required."""
    from charitylink.search.backend import NeedQuery, get_backend
    from charitylink.search.query import Filters, Page

    need("白血病患儿求助")
    need("老人护理求助")
    both = need("白血病老人求助")
    index_now()

    hits = get_backend().search_needs(
        db.session, NeedQuery(["白血病 老人"], Filters(), Page())
    )

    assert hits.ids == [both.id] and hits.total == 1
    assert sum(hits.facets["need_type"].values()) == 1
