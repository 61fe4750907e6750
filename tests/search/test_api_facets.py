"""`GET /api/v1/needs?q=` and `/api/v1/projects?q=` return facet counts beside
the results (docs/search.md): region one level below the region filter, category
(needs), need type — on both engines."""

from __future__ import annotations


def _counts(facets: list[dict]) -> dict[str, tuple[str, int]]:
    return {f["value"]: (f["label"], f["count"]) for f in facets}


def test_api_needs_search_returns_facets(need, index_now, client) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        need(f"白血病患儿{i}", need_type="medical", category="dibao")
    need("白血病老人", need_type="elderly_care", category="tekun")
    need("助学金申请", need_type="education", category="tekun")  # not a match
    index_now()

    body = client.get("/api/v1/needs?q=白血病&per_page=2").get_json()

    assert body["total"] == 4 and len(body["items"]) == 2
    facets = body["facets"]
    assert _counts(facets["need_type"]) == {
        "medical": ("医疗", 3),
        "elderly_care": ("养老服务", 1),
    }
    assert _counts(facets["category"]) == {
        "dibao": ("最低生活保障对象", 3),
        "tekun": ("特困人员", 1),
    }
    assert _counts(facets["region"]) == {"22": ("吉林省", 4)}
    # most frequent first
    assert [f["value"] for f in facets["need_type"]] == ["medical", "elderly_care"]


def test_api_needs_facets_follow_the_filters(need, index_now, client) -> None:  # type: ignore[no-untyped-def]
    need("白血病患儿", need_type="medical", category="dibao")
    need("白血病老人", need_type="elderly_care", category="tekun")
    index_now()

    body = client.get("/api/v1/needs?q=白血病&region=22&category=tekun").get_json()

    assert body["total"] == 1
    assert _counts(body["facets"]["need_type"]) == {"elderly_care": ("养老服务", 1)}
    # one level below the region filter: cities under the province
    assert _counts(body["facets"]["region"]) == {"2201": ("长春市", 1)}


def test_api_needs_facets_empty_when_nothing_matches(need, index_now, client) -> None:  # type: ignore[no-untyped-def]
    need("白血病患儿", need_type="medical")
    index_now()

    body = client.get("/api/v1/needs?q=助听器").get_json()

    assert body["total"] == 0 and body["items"] == []
    assert body["facets"] == {"region": [], "category": [], "need_type": []}


def test_api_needs_without_q_has_no_facets(need, index_now, client) -> None:  # type: ignore[no-untyped-def]
    need("白血病患儿", need_type="medical")
    index_now()

    body = client.get("/api/v1/needs").get_json()

    assert body["total"] == 1 and "facets" not in body


def test_api_projects_search_returns_facets(
    create_project, create_fund, index_now, client
) -> None:  # type: ignore[no-untyped-def]
    fund = create_fund()
    create_project(
        fund,
        title="白血病患儿医疗救助项目",
        need_types=["medical", "child"],
        region_codes=["220102", "220203"],
    )
    create_project(fund, title="白血病老人照护项目", need_types=["elderly_care"])
    create_project(fund, title="困境儿童助学帮扶项目")  # not a match
    index_now()

    body = client.get("/api/v1/projects?q=白血病").get_json()

    assert body["total"] == 2
    assert _counts(body["facets"]["need_type"]) == {
        "medical": ("医疗", 1),
        "child": ("困境儿童", 1),
        "elderly_care": ("养老服务", 1),
    }
    assert _counts(body["facets"]["region"]) == {"22": ("吉林省", 2)}
    assert "category" not in body["facets"]
    drill = client.get("/api/v1/projects?q=白血病&region=22").get_json()
    assert _counts(drill["facets"]["region"]) == {
        "2201": ("长春市", 2),
        "2202": ("吉林市", 1),
    }
    assert "facets" not in client.get("/api/v1/projects").get_json()
