"""The public needs library: public half only, filters, sorting, paging, coarsening."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from charitylink.extensions import db
from charitylink.needs import privacy
from charitylink.needs.models import Need
from tests.factories import make_id_number

CANARIES = [
    ("欧阳沁蕊", make_id_number(701, birth="19480211"), "13987650001", "红旗路88号"),
    (
        "司徒梓萱",
        make_id_number(702, birth="20150506"),
        "+86 139 8765 0002",
        "幸福村3组",
    ),
    ("上官皓轩", make_id_number(703, birth="19800909"), "0431-87650003", "繁荣街12号"),
]


def canary_strings(id_number: str, phone: str) -> list[str]:
    digits = re.sub(r"\D", "", phone)[-11:]
    return [id_number, id_number[6:14], digits, digits[-8:]]


@pytest.fixture
def canary_needs(create_need):  # type: ignore[no-untyped-def]
    needs = []
    for i, (name, id_number, phone, address) in enumerate(CANARIES):
        needs.append(
            create_need(
                status=("published", "fully_claimed", "delivered")[i],
                consent_share_contact=True,
                household={
                    "name": name,
                    "id_number": id_number,
                    "phone": phone,
                    "address": address,
                    "notes": "备注：秘密备注内容",
                },
            )
        )
    return needs


def _assert_clean(text: str) -> None:
    for name, id_number, phone, address in CANARIES:
        assert name not in text
        assert address not in text
        for s in canary_strings(id_number, phone):
            assert s not in text
    assert "秘密备注" not in text
    assert '"household":' not in text


def test_public_pages_and_api_never_show_private_fields(client, canary_needs):
    urls = [
        "/needs",
        "/needs?sort=amount_desc",
        "/needs?q=医疗",
        "/needs?region=2201",
        "/api/v1/needs",
        "/api/v1/needs?per_page=100",
        "/api/v1/needs?q=欧阳沁蕊",
        "/",
        # feeds, sitemap and widgets for portals: the public half only
        "/feeds/needs.atom",
        "/feeds/needs.atom?lang=en",
        "/feeds/needs.atom?q=医疗",
        "/feeds/needs.atom?region=2201&per_page=100",
        "/sitemap.xml",
        "/embed/needs",
        "/embed/needs?lang=en&per_page=20",
        "/embed/needs?q=医疗",
    ]
    for need in canary_needs:
        urls += [f"/needs/{need.code}", f"/api/v1/needs/{need.code}"]
    for url in urls:
        resp = client.get(url)
        assert resp.status_code == 200, url
        _assert_clean(resp.get_data(as_text=True))
    body = client.get("/api/v1/needs").get_json()
    assert body["total"] == 3
    # The feed and the widget do show the three needs (so the scan above read them).
    assert all(n.code in client.get("/feeds/needs.atom").text for n in canary_needs)
    assert all(n.code in client.get("/embed/needs").text for n in canary_needs)
    # A household's name finds nothing there either.
    assert "<entry>" not in client.get("/feeds/needs.atom?q=欧阳沁蕊").text
    # Searching by a household's name finds nothing: it is stored nowhere public.
    assert client.get("/api/v1/needs?q=欧阳沁蕊").get_json()["total"] == 0


def test_age_band_is_shown_never_the_birth_date(client, canary_needs):
    page = client.get(f"/needs/{canary_needs[1].code}").get_data(as_text=True)
    assert "儿童" in page
    assert "2015" not in page
    first = client.get(f"/api/v1/needs/{canary_needs[0].code}").get_json()
    assert first["age_band"] == "70–79"


def test_non_public_needs_are_not_found(client, create_need):
    for status in ("draft", "submitted", "rejected", "withdrawn", "expired"):
        need = create_need(status=status)
        assert client.get(f"/needs/{need.code}").status_code == 404
        resp = client.get(f"/api/v1/needs/{need.code}")
        assert resp.status_code == 404
        assert resp.get_json()["error"]["code"] == "not_found"
        assert need.code not in client.get("/needs").get_data(as_text=True)
    assert client.get("/api/v1/needs").get_json()["total"] == 0


def test_detail_shows_progress_and_assistance(client, create_need):
    need = create_need(
        amount_fen=1_000_000,
        claimed_fen=400_000,
        delivered_fen=100_000,
        gov_assistance=[{"type": "dibao", "monthly_amount": 62_000}],
    )
    page = client.get(f"/needs/{need.code}").get_data(as_text=True)
    assert "¥10,000.00" in page and "¥4,000.00" in page and "¥1,000.00" in page
    assert 'aria-valuenow="40"' in page and 'aria-valuenow="10"' in page
    assert 'width="40"' in page and 'width="10"' in page
    assert 'style="width' not in page  # the CSP blocks inline style
    assert "最低生活保障金 每月 ¥620.00" in page
    assert "长春市" in page  # coarsened: fewer than 5 public needs in 南关区
    body = client.get(f"/api/v1/needs/{need.code}").get_json()
    assert body["claimed_amount"] == 400_000 and body["delivered_amount"] == 100_000
    assert body["region_code"] == "220100" and body["region_name"] == "吉林省长春市"


def test_region_is_coarsened_to_the_city_below_five_public_needs(
    client, api_token, create_need, create_user
):
    needs = [create_need(status="published") for _ in range(4)]
    draft = create_need(status="submitted")
    db.session.expire_all()
    assert {n.public_region_code for n in db.session.scalars(select(Need))} == {
        "220100"
    }
    # The region filter works on what the public sees, never the true county.
    assert client.get("/api/v1/needs?region=220102").get_json()["total"] == 0
    assert client.get("/api/v1/needs?region=2201").get_json()["total"] == 4

    reviewer = create_user("moderator", region_prefix="22")
    resp = client.post(
        f"/api/v1/needs/{draft.code}/approve", headers=api_token(reviewer)
    )
    assert resp.status_code == 200
    db.session.expire_all()
    assert {n.public_region_code for n in db.session.scalars(select(Need))} == {
        "220102"
    }
    assert client.get("/api/v1/needs?region=220102").get_json()["total"] == 5
    assert "南关区" in client.get(f"/needs/{needs[0].code}").get_data(as_text=True)

    resp = client.post(
        f"/api/v1/needs/{needs[0].code}/withdraw",
        json={"reason": "重复登记"},
        headers=api_token(reviewer),
    )
    assert resp.status_code == 200
    db.session.expire_all()
    assert {n.public_region_code for n in db.session.scalars(select(Need))} == {
        "220100"
    }


def test_recompute_public_region_is_per_county(create_need):
    for _ in range(5):
        create_need(status="published", region_code="220103")
    other = create_need(status="published", region_code="220104")
    assert privacy.recompute_public_region("220103") == "220103"
    assert privacy.recompute_public_region("220104") == "220100"
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Need, other.id).public_region_code == "220100"


def test_filters_sort_and_paging(client, create_need):
    create_need(
        amount_fen=100_000, need_type="education", category="tekun", urgency="high"
    )
    create_need(amount_fen=900_000, need_type="medical", category="dibao")
    create_need(
        amount_fen=500_000,
        need_type="medical",
        category="dibao",
        status="fully_claimed",
    )
    api = "/api/v1/needs"
    assert client.get(f"{api}?need_type=medical").get_json()["total"] == 2
    assert client.get(f"{api}?category=tekun").get_json()["total"] == 1
    assert client.get(f"{api}?urgency=high").get_json()["total"] == 1
    assert client.get(f"{api}?status=fully_claimed").get_json()["total"] == 1
    assert client.get(f"{api}?min_amount=500000").get_json()["total"] == 2
    assert client.get(f"{api}?max_amount=500000").get_json()["total"] == 2
    amounts = [
        n["amount"] for n in client.get(f"{api}?sort=amount_asc").get_json()["items"]
    ]
    assert amounts == [100_000, 500_000, 900_000]
    amounts = [
        n["amount"] for n in client.get(f"{api}?sort=amount_desc").get_json()["items"]
    ]
    assert amounts == [900_000, 500_000, 100_000]
    page = client.get(f"{api}?per_page=2&page=2").get_json()
    assert page["total"] == 3 and len(page["items"]) == 1 and page["per_page"] == 2
    # Pages take yuan: 5000 yuan = 500000 fen.
    html = client.get("/needs?min_amount=5000").get_data(as_text=True)
    assert "共 2 条需求" in html


def test_page_shows_twenty_per_page(client, create_need):
    for _ in range(21):
        create_need()
    first = client.get("/needs").get_data(as_text=True)
    assert first.count('class="card need-card"') == 20
    assert "第 1 / 2 页" in first
    second = client.get("/needs?page=2").get_data(as_text=True)
    assert second.count('class="card need-card"') == 1


@pytest.mark.parametrize(
    "query",
    [
        "status=draft",
        "status=withdrawn",
        "category=rich",
        "need_type=%01",
        "region=abc",
        "region=22010299999",
        "min_amount=-5",
        "max_amount=1e9",
        "min_amount=abc&max_amount=12.345",
        "sort=random",
        "page=0",
        "page=-1",
        "page=99999999999999999999",
        "per_page=1000",
        "urgency=panic",
        "q=" + "%25" * 300,
    ],
)
def test_bad_filter_values_are_ignored_with_a_message(client, create_need, query):
    """The page shows what it can and says what it ignored; the API refuses the
    request with a 422 naming the parameter, as its document states."""
    create_need()
    html = client.get(f"/needs?{query}")
    assert html.status_code == 200
    if not query.startswith("q="):
        assert 'class="flash flash-warning"' in html.get_data(as_text=True)
    api = client.get(f"/api/v1/needs?{query}")
    assert api.status_code == 422
    error = api.get_json()["error"]
    assert error["code"] == "validation_failed"
    named = {part.split("=")[0] for part in query.split("&")}
    assert set(error["fields"]) == named
    assert all(error["fields"].values())


def test_nul_byte_in_a_filter_is_refused_with_a_message(client, create_need):
    create_need()
    html = client.get("/needs?need_type=%00")
    assert html.status_code == 400
    assert "请求" in html.get_data(as_text=True)
    api = client.get("/api/v1/needs?need_type=%00")
    assert api.status_code == 400
    assert api.get_json()["error"]["message"]


def test_api_list_never_exceeds_100_per_page(client, create_need):
    create_need()
    resp = client.get("/api/v1/needs?per_page=101")
    assert resp.status_code == 422
    assert "1 到 100" in resp.get_json()["error"]["fields"]["per_page"]
    assert client.get("/api/v1/needs?per_page=100").get_json()["per_page"] == 100


def test_simple_text_search(client, create_need):
    create_need(title="白血病患儿需要化疗费用", description="孩子正在住院治疗。")
    create_need(title="大学新生学费", description="考上大学，学费有缺口。")
    body = client.get("/api/v1/needs?q=白血病").get_json()
    assert body["total"] == 1
    assert body["items"][0]["title"] == "白血病患儿需要化疗费用"
    assert client.get("/api/v1/needs?q=100%25").get_json()["total"] == 0


def test_recompute_all_public_regions_after_bulk_changes(create_need):
    from sqlalchemy import update

    for _ in range(5):
        create_need(status="published", region_code="220105")
    lone = create_need(status="published", region_code="220106")
    # A bulk load writes rows without coarsening them.
    db.session.execute(update(Need).values(public_region_code="000000"))
    assert privacy.recompute_all_public_regions() == 2
    db.session.commit()
    db.session.expire_all()
    shown = {
        n.region_code: n.public_region_code for n in db.session.scalars(select(Need))
    }
    assert shown == {"220105": "220105", "220106": "220100"}
    assert db.session.get(Need, lone.id).public_region_code == "220100"


def test_relevance_sort_without_query_is_accepted_as_newest(client, create_need):
    create_need()
    body = client.get("/api/v1/needs?sort=relevance").get_json()
    assert body["total"] == 1 and "warnings" not in body
