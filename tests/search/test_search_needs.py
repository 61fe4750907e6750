"""Finding needs by Chinese text, with the search filters, sorts and facets."""

from __future__ import annotations

import itertools

import pytest

from charitylink.extensions import db
from charitylink.search.analysis import normalize
from charitylink.search.service import search_needs


def codes(result) -> set[str]:  # type: ignore[no-untyped-def]
    return {n.code for n in result.items}


def test_leukemia_finds_leukemia_child(need, index_now) -> None:  # type: ignore[no-untyped-def]
    hit = need("白血病患儿急需化疗费用", "患儿确诊急性白血病，需要长期化疗。")
    need("独居老人冬季取暖困难", "老人独自居住，冬季需要取暖费用。")
    index_now()

    result = search_needs("白血病")

    assert codes(result) == {hit.code}
    assert result.total == 1
    assert not result.fallback
    assert "<mark>白血病</mark>" in str(result.highlights[hit.id]["title"])


def test_study_aid_finds_student_grant(need, index_now) -> None:  # type: ignore[no-untyped-def]
    hit = need("困难学生申请助学金", "孩子考上高中，学费负担不起。")
    need("残疾人需要轮椅", "下肢残疾，出行困难。")
    index_now()

    assert codes(search_needs("助学")) == {hit.code}
    assert codes(search_needs("助学金")) == {hit.code}


def test_every_word_of_an_unspaced_query_must_match(need, index_now) -> None:  # type: ignore[no-untyped-def]
    hit = need("独居老人冬季取暖困难", "老人独自居住，需要取暖费用。")
    need("独居老人需要护理床", "老人行动不便。")
    index_now()

    assert codes(search_needs("独居老人取暖")) == {hit.code}


def test_full_width_and_zero_width_text_is_normalised(need, index_now) -> None:  # type: ignore[no-untyped-def]
    hit = need("白血病患儿需要ＣＴ检查", "需要做CT复查。")
    index_now()

    assert codes(search_needs("白\u200b血病")) == {hit.code}
    assert codes(search_needs("ct")) == {hit.code}
    assert codes(search_needs("ＣＴ")) == {hit.code}


def test_filters_combined_with_text_are_exact(need, index_now) -> None:  # type: ignore[no-untyped-def]
    made = []
    combos = itertools.product(
        ("220102", "220203"),
        ("medical", "education"),
        ("dibao", "tekun"),
        (100_000, 900_000),
    )
    for i, (region, need_type, category, amount) in enumerate(combos):
        urgency = "high" if i % 3 == 0 else "normal"
        made.append(
            need(
                f"患病家庭需要医疗帮扶{i}",
                "家庭成员长期患病，医疗费用负担较重。",
                region_code=region,
                need_type=need_type,
                category=category,
                amount_fen=amount,
                urgency=urgency,
            )
        )
    made.append(need("房屋漏雨需要修缮", "住房困难。", need_type="housing"))
    index_now()
    for n in made:
        db.session.refresh(n)

    cases = [
        {"need_type": "education"},
        {"category": "tekun", "need_type": "medical"},
        {"region": made[0].public_region_code[:4]},
        {"region": made[0].public_region_code},
        {"region": "22", "min_amount": 500_000},
        {"max_amount": 100_000, "urgency": "high"},
        {"min_amount": 100_000, "max_amount": 100_000, "category": "dibao"},
        {"status": "fully_claimed"},
    ]
    for filters in cases:
        expected = {
            n.code
            for n in made
            if "医疗" in n.title + n.description
            and (not filters.get("need_type") or n.need_type == filters["need_type"])
            and (not filters.get("category") or n.category == filters["category"])
            and n.public_region_code.startswith(filters.get("region", ""))
            and n.amount_fen >= filters.get("min_amount", 0)
            and n.amount_fen <= filters.get("max_amount", 10**12)
            and (not filters.get("urgency") or n.urgency == filters["urgency"])
            and n.status == filters.get("status", "published")
        }
        result = search_needs("医疗", filters, per_page=100)
        assert codes(result) == expected, filters
        assert result.total == len(expected), filters


def test_facets_count_the_matches_by_region_category_and_type(need, index_now) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        need(f"白血病患儿{i}", need_type="medical", category="dibao")
    need("白血病老人", need_type="elderly_care", category="tekun")
    need("助学金申请", need_type="education", category="tekun")
    index_now()

    result = search_needs("白血病")

    assert result.total == 4
    by_type = {f.value: f.count for f in result.facets["need_type"]}
    assert by_type == {"medical": 3, "elderly_care": 1}
    by_category = {f.value: (f.label, f.count) for f in result.facets["category"]}
    assert by_category == {"dibao": ("最低生活保障对象", 3), "tekun": ("特困人员", 1)}
    regions = result.facets["region"]
    assert [(f.value, f.label, f.count) for f in regions] == [("22", "吉林省", 4)]
    drill = search_needs("白血病", {"region": "22"})
    assert [(f.value, f.label) for f in drill.facets["region"]] == [("2201", "长春市")]


def test_sorts_and_pages(need, index_now) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from charitylink.core.timeutil import today

    made = [
        need(
            f"医疗救助需求{i}",
            amount_fen=(i + 1) * 100_000,
            deadline_on=today() + timedelta(days=30 - i),
        )
        for i in range(5)
    ]
    index_now()

    by_amount = search_needs("医疗", sort="amount", per_page=2)
    assert [n.code for n in by_amount.items] == [made[4].code, made[3].code]
    assert by_amount.total == 5 and by_amount.pages == 3 and by_amount.has_next
    page3 = search_needs("医疗", sort="amount", page=3, per_page=2)
    assert [n.code for n in page3.items] == [made[0].code]
    by_deadline = search_needs("医疗", sort="deadline", per_page=5)
    assert [n.code for n in by_deadline.items] == [m.code for m in reversed(made)]
    newest = search_needs("医疗", sort="newest", per_page=5)
    assert [n.code for n in newest.items][0] == made[4].code


def test_without_words_filters_sort_and_count_every_page(need, index_now) -> None:  # type: ignore[no-untyped-def]
    made = [
        need(f"家庭困难求助{i}", amount_fen=(i + 1) * 100_000, need_type="medical")
        for i in range(5)
    ]
    need("助学金申请", need_type="education")
    index_now()

    for sort in ("amount", "amount_asc", "deadline", "newest"):
        pages = [
            search_needs("", {"need_type": "medical"}, sort=sort, page=p, per_page=2)
            for p in (1, 2, 3, 4)
        ]
        assert [r.total for r in pages] == [5, 5, 5, 5], sort
        assert [len(r.items) for r in pages] == [2, 2, 1, 0], sort
    by_amount = search_needs("", {"need_type": "medical"}, sort="amount", per_page=2)
    assert [n.code for n in by_amount.items] == [made[4].code, made[3].code]


def test_numbers_and_versions_in_the_text_are_found(need, index_now) -> None:  # type: ignore[no-untyped-def]
    """Tokens with dots or digits (the database's parser may split a token in
    several lexemes; PostgreSQL then answers through GIN)."""
    hearing = need("助听器更换", "旧助听器型号v1.2已损坏，需更换。")
    dose = need("药费求助", "每日服药3.5片，药费难以负担。")
    index_now()

    assert [n.code for n in search_needs("v1.2").items] == [hearing.code]
    assert [n.code for n in search_needs("3.5").items] == [dose.code]
    assert search_needs("v9.9").total == 0


def test_title_matches_rank_before_body_matches(need, index_now) -> None:  # type: ignore[no-untyped-def]
    body_only = need("老人需要生活帮扶", "老人患有尿毒症，需要定期透析。")
    in_title = need("尿毒症患者需要透析费用", "每周透析三次。")
    index_now()

    result = search_needs("尿毒症")

    assert [n.code for n in result.items] == [in_title.code, body_only.code]


def test_relevance_title_then_body_then_labels_ties_newest_first(
    need, index_now
) -> None:  # type: ignore[no-untyped-def]
    """Both engines: a word in the title beats one in the text, which beats one
    only in the labels (the need type 医疗); equal places, newest first."""
    edu = {"need_type": "education"}
    body_old = need("家庭困难", "孩子患白血病需要帮助", **edu)
    title_old = need("白血病患儿求助", **edu)
    title_new = need("白血病儿童求助", **edu)
    body_new = need("家庭困难", "老人患白血病需要医疗帮助", **edu)
    label_only = need("家庭困难求助", need_type="medical")
    in_title = need("医疗费用求助", **edu)
    need("家庭困难需要帮助", **edu)
    index_now()

    ranked = [n.id for n in search_needs("白血病").items]
    assert ranked == [title_new.id, title_old.id, body_new.id, body_old.id]
    medical = [n.id for n in search_needs("医疗").items]
    assert medical == [in_title.id, body_new.id, label_only.id]


def test_household_private_data_finds_nothing(need, index_now, engine) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import make_id_number

    id_number = make_id_number(4321, birth="19490101")
    n = need(
        "白血病患儿急需化疗费用",
        household={
            "name": "欧阳沁蕊",
            "id_number": id_number,
            "phone": "13987651234",
            "address": "幸福街道红旗路88号",
            "notes": "社工备注长期卧床",
        },
    )
    index_now()
    assert codes(search_needs("白血病")) == {n.code}

    for private in ("欧阳沁蕊", "沁蕊", id_number, "13987651234", "红旗路", "卧床"):
        result = search_needs(private)
        assert result.total == 0 and result.items == [], private

    # And the raw index holds none of it.
    if engine == "whoosh":
        from charitylink.search.backend import get_backend

        blob = b"".join(
            p.read_bytes()
            for p in get_backend().current_dir().iterdir()  # type: ignore[attr-defined]
        )
        for private in ("欧阳沁蕊", id_number, "13987651234"):
            assert private.encode() not in blob
    else:
        from sqlalchemy import text

        tsv = db.session.scalar(
            text("SELECT string_agg(tsv::text, ' ') FROM search_documents")
        )
        words = db.session.scalar(
            text("SELECT string_agg(word, ' ') FROM search_postings")
        )
        assert "白血病" in tsv and "白血病" in words
        for private in ("欧阳沁蕊", "沁蕊", id_number, "13987651234", "红旗路"):
            assert private not in tsv and private not in words


@pytest.mark.parametrize(
    "status", ["draft", "submitted", "rejected", "withdrawn", "expired"]
)
def test_needs_the_public_cannot_see_are_not_found(need, index_now, status) -> None:  # type: ignore[no-untyped-def]
    need("白血病患儿需要帮助", status=status)
    index_now()

    assert search_needs("白血病").total == 0


def test_withdrawn_need_disappears(need, index_now, create_user) -> None:  # type: ignore[no-untyped-def]
    from charitylink.needs import services

    n = need("白血病患儿急需化疗费用")
    index_now()
    assert codes(search_needs("白血病")) == {n.code}

    services.withdraw_need(
        n, create_user("moderator", region_prefix="22"), "家庭已获得其他救助"
    )
    db.session.commit()
    index_now()

    assert search_needs("白血病").total == 0
    assert search_needs("", {}).total == 0


def test_bulk_expiry_by_update_statement_leaves_the_index(need, index_now) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from charitylink.needs.models import Need

    n = need("白血病患儿急需化疗费用")
    keep = need("白血病老人需要护理")
    index_now()
    db.session.execute(update(Need).where(Need.id == n.id).values(status="expired"))
    db.session.commit()
    index_now()

    assert codes(search_needs("白血病")) == {keep.code}


def test_edited_text_is_found_by_its_new_words_only(need, index_now) -> None:  # type: ignore[no-untyped-def]
    n = need("患儿需要化疗费用")
    index_now()
    n.title = "患儿需要助听器"
    db.session.commit()
    index_now()

    assert search_needs("化疗").total == 0
    assert codes(search_needs("助听器")) == {n.code}


HOSTILE = [
    '"白血病',
    "白血病 AND 患儿",
    "白血病 OR NOT 患儿",
    "NOT",
    "(((",
    "title:白血病",
    "白*",
    "?",
    "* ? ~ ^ [ ] { } \\ / : ! -",
    "白血病" * 700,
    "Ｗｈｏｏｓｈ　全角字母",
    "\u200b\u200c\u200d\ufeff",
    "'; DROP TABLE needs; --",
    "& | ! <-> :* ''",
    "<script>alert(1)</script>",
    "\x00\x01控制字符",
    "😀🎉 emoji",
    "   ",
    "%_%",
]


@pytest.mark.parametrize("q", HOSTILE)
def test_any_text_gives_results_or_a_message(need, index_now, q) -> None:  # type: ignore[no-untyped-def]
    n = need("白血病患儿急需化疗费用")
    index_now()

    result = search_needs(q)

    assert result.total >= 0
    if normalize(q).strip():  # blank or invisible text is simply no query
        assert result.message or result.tokens
    else:
        assert codes(result) == {n.code}
    if "白血病" in q and "患儿" in q or q.startswith("白血病白血病"):
        assert codes(result) == {n.code}


def test_overlong_query_is_truncated_with_a_message(need, index_now) -> None:  # type: ignore[no-untyped-def]
    need("白血病患儿急需化疗费用")
    index_now()

    result = search_needs("白血病 " + "x" * 3000)

    assert "2000" in (result.message or "")


def test_highlights_escape_html_before_marking(need, index_now) -> None:  # type: ignore[no-untyped-def]
    n = need("白血病患儿", "医生说<b>白血病</b>要治疗&复查")
    index_now()

    snippet = str(search_needs("白血病").highlights[n.id]["snippet"])

    assert "&lt;b&gt;<mark>白血病</mark>&lt;/b&gt;" in snippet
    assert "&amp;" in snippet
    assert "<b>" not in snippet
