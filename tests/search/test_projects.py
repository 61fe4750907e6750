"""Finding published projects by text, with region, need-type and amount filters."""

from __future__ import annotations

from charitylink.extensions import db
from charitylink.search.service import search_projects


def ids(result) -> set[int]:  # type: ignore[no-untyped-def]
    return {p.id for p in result.items}


def test_projects_found_by_text_and_filtered(
    create_project, create_fund, index_now
) -> None:  # type: ignore[no-untyped-def]
    fund = create_fund()
    school = create_project(
        fund,
        title="困境儿童助学帮扶项目",
        summary="为困难家庭学生提供助学金。",
        need_types=["education"],
        region_codes=["220102"],
        target_fen=5_000_000,
    )
    clinic = create_project(
        fund,
        title="白血病患儿医疗救助项目",
        summary="资助白血病患儿化疗。",
        need_types=["medical", "child"],
        region_codes=["220203", "220102"],
        target_fen=20_000_000,
    )
    create_project(fund, title="助学草稿项目", status="draft")
    create_project(fund, title="被驳回的助学项目", status="rejected")
    index_now()

    assert ids(search_projects("助学")) == {school.id}
    assert ids(search_projects("白血病")) == {clinic.id}
    assert ids(search_projects("")) == {school.id, clinic.id}
    assert ids(search_projects("", {"region": "2202"})) == {clinic.id}
    assert ids(search_projects("", {"need_type": "education"})) == {school.id}
    assert ids(search_projects("", {"min_amount": 10_000_000})) == {clinic.id}
    assert ids(search_projects("白血病", {"need_type": "education"})) == set()

    facets = search_projects("").facets
    assert {f.value: f.count for f in facets["need_type"]} == {
        "education": 1,
        "medical": 1,
        "child": 1,
    }
    assert {f.value: f.count for f in facets["region"]} == {"22": 2}
    result = search_projects("助学")
    assert "<mark>助学</mark>" in str(result.highlights[school.id]["title"])


def test_rejected_or_redrafted_project_leaves_search(create_project, index_now) -> None:  # type: ignore[no-untyped-def]
    project = create_project(title="独居老人冬季取暖项目")
    index_now()
    assert ids(search_projects("取暖")) == {project.id}

    project.status = "draft"
    db.session.commit()
    index_now()

    assert search_projects("取暖").total == 0
