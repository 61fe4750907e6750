"""`/needs?q=`, `/projects?q=` and `GET /api/v1/needs?q=` go through search."""

from __future__ import annotations

import pytest

from tests.search.test_search_needs import HOSTILE


def test_needs_page_search_shows_highlights_facets_and_no_private_data(
    need, index_now, client
) -> None:  # type: ignore[no-untyped-def]
    hit = need(
        "白血病患儿急需化疗费用",
        need_type="medical",
        household={"name": "欧阳沁蕊", "phone": "13987651234"},
    )
    other = need("助学金申请", need_type="education")
    index_now()

    resp = client.get("/needs?q=白血病")
    html = resp.get_data(as_text=True)

    assert resp.status_code == 200
    assert hit.code in html and other.code not in html
    assert "<mark>白血病</mark>" in html
    assert 'class="facets"' in html and "需求类型" in html and "医疗" in html
    assert "need_type=medical" in html  # a facet links to its filter
    assert "欧阳沁蕊" not in html and "13987651234" not in html


def test_needs_page_search_keeps_filters(need, index_now, client) -> None:  # type: ignore[no-untyped-def]
    medical = need("白血病患儿急需化疗费用", need_type="medical")
    child = need("白血病儿童需要营养", need_type="child")
    index_now()

    html = client.get("/needs?q=白血病&need_type=child").get_data(as_text=True)

    assert child.code in html and medical.code not in html


def test_api_needs_search(need, index_now, client) -> None:  # type: ignore[no-untyped-def]
    hit = need("困难学生申请助学金", household={"name": "欧阳沁蕊"})
    need("独居老人冬季取暖困难")
    index_now()

    resp = client.get("/api/v1/needs?q=助学")

    assert resp.status_code == 200
    body = resp.get_json()
    assert [item["code"] for item in body["items"]] == [hit.code]
    assert body["total"] == 1
    assert "欧阳沁蕊" not in resp.get_data(as_text=True)


@pytest.mark.parametrize("q", HOSTILE[:-1:2])
def test_hostile_queries_never_break_a_page(need, index_now, client, q) -> None:  # type: ignore[no-untyped-def]
    need("白血病患儿急需化疗费用")
    index_now()

    assert client.get("/needs", query_string={"q": q}).status_code == 200
    assert client.get("/api/v1/needs", query_string={"q": q}).status_code == 200
    assert client.get("/projects", query_string={"q": q}).status_code == 200


def test_projects_page_and_api_search(
    create_project, create_fund, index_now, client
) -> None:  # type: ignore[no-untyped-def]
    fund = create_fund()
    school = create_project(
        fund, title="困境儿童助学帮扶项目", need_types=["education"]
    )
    clinic = create_project(
        fund,
        title="白血病患儿医疗救助项目",
        summary="资助化疗。",
        need_types=["medical"],
    )
    index_now()

    html = client.get("/projects?q=助学").get_data(as_text=True)
    assert "<mark>助学</mark>" in html and clinic.title not in html
    assert 'class="facets"' in html

    body = client.get("/api/v1/projects?q=白血病").get_json()
    assert [p["id"] for p in body["items"]] == [clinic.id]
    assert body["total"] == 1
    none = client.get("/api/v1/projects?q=白血病&need_type=education").get_json()
    assert none["total"] == 0 and school.id not in [p["id"] for p in none["items"]]


def test_suspended_orgs_projects_are_not_found(
    create_project, create_org, create_fund, index_now
) -> None:  # type: ignore[no-untyped-def]
    from charitylink.search.service import search_projects

    org = create_org(status="suspended")
    create_project(create_fund(org), title="困境儿童助学帮扶项目")
    index_now()

    assert search_projects("助学").total == 0
