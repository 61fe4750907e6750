"""The public transparency page and GET /api/v1/stats: figures equal a direct
computation, small cells are suppressed in every cut, no private data leaks."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from tests.reports import expect
from tests.reports.conftest import (
    SECRET_ID,
    SECRET_NAME,
    SECRET_PHONE,
    add_published_need,
)

PUB_FIELDS = ("needs_published", "households", "amount_requested", "amount_claimed")
DLV_FIELDS = ("households_reached", "amount_delivered")


def _api_row(m: dict) -> dict:
    return {
        "needs_published": m["needs"],
        "households": m["households"],
        "amount_requested": m["requested"],
        "amount_claimed": m["claimed"],
        "households_reached": m["households_reached"],
        "amount_delivered": m["delivered"],
    }


def _check_row(got: dict, want: dict) -> None:
    """Visible figures equal the direct computation; a family whose households
    are 1–4 is null."""
    w = _api_row(want)
    for fields, n in (
        (PUB_FIELDS, want["households"]),
        (DLV_FIELDS, want["households_reached"]),
    ):
        if 0 < n < 5:
            assert all(got[f] is None for f in fields), (got, want)
        for f in fields:
            assert got[f] is None or got[f] == w[f], (f, got, want)


def _check_group(total: dict, rows: list[dict], fields: tuple[str, ...]) -> None:
    """Derivation from totals: with a visible total, never exactly one row null."""
    for f in fields:
        if total[f] is None:
            continue
        nulls = [r for r in rows if r[f] is None]
        assert len(nulls) != 1, (f, nulls)


def test_stats_api_equals_direct_computation(app, seeded, client):  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/stats").get_json()
    needs = expect.needs_in(seeded)
    total = expect.measures(seeded, needs)
    assert body["needs_published"] == total["needs"]
    assert body["needs_fully_claimed"] == total["fully_claimed"]
    assert body["households_reached"] == total["households_reached"]
    assert body["amount_requested"] == total["requested"]
    assert body["amount_claimed"] == total["claimed"]
    assert body["amount_delivered"] == total["delivered"]
    assert body["amount_confirmed"] == total["confirmed"]
    assert body["orgs_verified"] == 3
    assert body["funds"] == 3
    assert body["donations_total"] == 3 * 50_000_000


def test_stats_by_need_type_and_month_are_suppressed_and_correct(app, seeded, client):  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/stats").get_json()
    needs = expect.needs_in(seeded)
    want = expect.grouped(seeded, needs, lambda n: n["need_type"])
    got = {r["need_type"]: r for r in body["by_need_type"]}
    assert set(got) == set(want)
    for t in want:
        _check_row(got[t], want[t])
    _check_group(body, list(got.values()), ("amount_requested", "amount_delivered"))

    months = {r["month"]: r for r in body["by_month"]}
    published = expect.grouped(
        seeded, needs, lambda n: n["published_at"].strftime("%Y-%m")
    )
    for m, w in published.items():
        if 0 < w["households"] < 5:
            assert months[m]["needs_published"] is None
        elif months[m]["needs_published"] is not None:
            assert months[m]["needs_published"] == w["needs"]
            assert months[m]["amount_requested"] == w["requested"]
    for m, w in expect.delivered_by_month(seeded, needs).items():
        if 0 < w["households_reached"] < 5:
            assert months[m]["amount_delivered"] is None
        elif months[m]["amount_delivered"] is not None:
            assert months[m]["amount_delivered"] == w["delivered"]
    _check_group(body, list(months.values()), ("amount_requested", "amount_delivered"))
    # The seed has small months: suppression is exercised, not vacuous.
    assert any(r["suppressed"] for r in body["by_month"])


def test_stats_by_region_uses_public_regions_and_protects_every_level(
    app, seeded, client
):  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/stats").get_json()
    needs = expect.needs_in(seeded)
    rows = body["by_region"]
    codes = {r["region_code"] for r in rows}
    # 220203's needs are published under their city only.
    assert "220203" not in codes and "220200" in codes
    by_level = {
        lvl: {r["region_code"]: r for r in rows if r["level"] == lvl}
        for lvl in ("province", "city", "county")
    }
    assert set(by_level["province"]) == {"220000", "110000"}
    leaves = expect.grouped(seeded, needs, lambda n: n["public_region_code"])
    assert set(by_level["county"]) == set(leaves)
    for code, w in leaves.items():
        _check_row(by_level["county"][code], w)
    cities = expect.grouped(seeded, needs, lambda n: n["public_region_code"][:4])
    for code4, w in cities.items():
        _check_row(by_level["city"][code4.ljust(6, "0")], w)
    fields = ("amount_requested", "amount_delivered")
    _check_group(body, list(by_level["province"].values()), fields)
    for city_code, city in by_level["city"].items():
        members = [r for c, r in by_level["county"].items() if c[:4] == city_code[:4]]
        _check_group(city, members, fields)
    for prov_code, prov in by_level["province"].items():
        members = [r for c, r in by_level["city"].items() if c[:2] == prov_code[:2]]
        _check_group(prov, members, fields)
    assert any(r["suppressed"] for r in rows)


def test_public_page_and_api_never_show_private_data(app, seeded, client):  # type: ignore[no-untyped-def]
    page = client.get("/transparency")
    assert page.status_code == 200
    api = client.get("/api/v1/stats")
    exports = [
        client.get(f"/transparency/export/{name}.csv").data.decode("utf-8-sig")
        for name in ("totals", "by_region", "by_need_type", "by_month", "orgs", "funds")
    ]
    for text in (page.get_data(as_text=True), api.get_data(as_text=True), *exports):
        for secret in (
            SECRET_NAME,
            SECRET_ID,
            SECRET_PHONE,
            "幸福路",
            "个案备注",
            "hk00",
        ):
            assert secret not in text
        # The true county of coarsened needs never appears.
        assert "220203" not in text and "龙潭区" not in text


def test_transparency_page_shows_suppression_marks_and_charts(app, seeded, client):  # type: ignore[no-untyped-def]
    html = client.get("/transparency").get_data(as_text=True)
    assert "&lt;5" in html and "不足5户" in html
    assert html.count("<svg") >= 3 and "查看数据表" in html
    assert "<script" not in html
    for org in seeded.orgs:
        assert org.name in html
    for fund in seeded.funds:
        assert fund.name in html


@pytest.mark.parametrize(
    "name", ["totals", "by_region", "by_need_type", "by_month", "orgs", "funds"]
)
def test_public_exports_match_the_api_with_the_same_suppression(
    app, seeded, client, name
):  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/stats").get_json()
    resp = client.get(f"/transparency/export/{name}.xlsx")
    assert resp.status_code == 200
    rows = list(load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))
    header = rows[0]
    data = [
        dict(zip(header, r, strict=False)) for r in rows[1:] if r and r[0] is not None
    ]
    note = [r for r in rows[1:] if r and r[0] and str(r[0]).startswith("说明")]
    data = [r for r in data if not str(r[header[0]]).startswith("说明")]
    if name == "by_region":
        assert len(data) == len(body["by_region"])
        for row, api in zip(data, body["by_region"], strict=True):
            if api["amount_delivered"] is None:
                assert row["已交付金额（元）"] in ("<5", "—")
            else:
                assert round(row["已交付金额（元）"] * 100) == api["amount_delivered"]
        assert note, "an export with suppressed cells explains the marks"
    elif name == "by_need_type":
        assert len(data) == len(body["by_need_type"])
    elif name == "by_month":
        assert [r["月份"] for r in data] == [m["month"] for m in body["by_month"]]
    elif name == "totals":
        assert round(data[0]["需求金额（元）"] * 100) == body["amount_requested"]
    elif name == "funds":
        assert len(data) == 3
    csv_resp = client.get(f"/transparency/export/{name}.csv")
    assert csv_resp.data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(csv_resp.data.decode("utf-8-sig"))))
    assert tuple(lines[0]) == header


def test_few_households_suppress_the_headline_figures_too(app, client, create_user):  # type: ignore[no-untyped-def]
    mod = create_user("moderator", region_prefix="22")
    for i in range(3):
        add_published_need(
            mod,
            i,
            category="dibao",
            need_type="medical",
            region_code="220102",
            public_region_code="220100",
            age_band="60–69",
            amount_fen=100_000,
            household_key=f"k{i}",
        )
    body = client.get("/api/v1/stats").get_json()
    assert body["needs_published"] is None and body["amount_requested"] is None
    assert body["suppressed"]["published"] == "lt5"
    assert all(r["needs_published"] is None for r in body["by_region"])
    html = client.get("/transparency").get_data(as_text=True)
    assert "¥3,000.00" not in html and "&lt;5" in html
    assert client.get("/transparency/export/nope.csv").status_code == 404


def test_cached_figures_follow_new_data(app, client, create_user):  # type: ignore[no-untyped-def]
    """The report cache is keyed by the data version: a new need shows at once."""
    from tests.reports.conftest import add_living_need

    mod = create_user("moderator", region_prefix="22")

    def add(i: int) -> None:
        add_living_need(mod, i)

    for i in range(5):
        add(i)
    assert client.get("/api/v1/stats").get_json()["needs_published"] == 5
    assert client.get("/api/v1/stats").get_json()["needs_published"] == 5
    add(5)
    assert client.get("/api/v1/stats").get_json()["needs_published"] == 6
    assert "¥3,000.00" in client.get("/transparency").get_data(as_text=True)


def test_long_tables_show_their_first_rows_and_download_whole(
    app, client, create_org, create_fund
):  # type: ignore[no-untyped-def]
    """Thousands of funds would make a page of megabytes on a phone: the page shows
    the first 30 rows and says so; the CSV keeps every row."""
    org = create_org()
    for _ in range(35):
        create_fund(org=org, donations_fen=100_000)
    html = client.get("/transparency").get_data(as_text=True)
    assert "共 35 行，此处显示前 30 行；完整表格请下载。" in html
    csv = client.get("/transparency/export/funds.csv").get_data(as_text=True)
    assert len([line for line in csv.splitlines() if line.strip()]) == 1 + 35
