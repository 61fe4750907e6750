"""The moderator dashboard: figures equal a direct computation over the rows,
scope holds, filters are checked, exports match."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook

from charitylink.core.timeutil import today
from charitylink.reports import dashboard
from charitylink.reports.queries import Filters
from tests.reports import expect
from tests.reports.conftest import SECRET_ID, SECRET_NAME, SECRET_PHONE, TODAY


def _fig(rows, key):  # type: ignore[no-untyped-def]
    return {r[key]: r for r in rows}


def _same(actual: dict, expected: dict) -> None:
    """Every figure the report shows equals the expected one."""
    shown = [k for k in expected if k in actual]
    assert len(shown) >= 3, shown
    for k in shown:
        assert actual[k] == expected[k], (k, actual[k], expected[k])


def test_totals_equal_direct_computation_for_the_region(app, seeded):  # type: ignore[no-untyped-def]
    data = dashboard.build(Filters(prefix="2201"), TODAY)
    needs = expect.needs_in(seeded, "2201")
    assert needs, "the seed must put published needs in 2201"
    _same(data["totals"], expect.measures(seeded, needs))


def test_breakdowns_equal_direct_computation(app, seeded):  # type: ignore[no-untyped-def]
    data = dashboard.build(Filters(prefix="22", level="city"), TODAY)
    needs = expect.needs_in(seeded, "22")
    regions = _fig(data["regions"], "region")
    want = expect.grouped(seeded, needs, lambda n: n["region_code"][:4])
    assert set(regions) == set(want) == {"2201", "2202"}
    for code, figures in want.items():
        _same(regions[code], figures)
    types = _fig(data["types"], "need_type")
    for t, figures in expect.grouped(seeded, needs, lambda n: n["need_type"]).items():
        _same(types[t], figures)
    months = _fig(data["months"], "month")
    for m, figures in expect.grouped(
        seeded, needs, lambda n: n["published_at"].strftime("%Y-%m")
    ).items():
        assert months[m]["needs"] == figures["needs"]
        assert months[m]["requested"] == figures["requested"]
    for m, figures in expect.delivered_by_month(seeded, needs).items():
        _same(months[m], figures)


def test_matrix_includes_unpublished_needs_without_a_period(app, seeded):  # type: ignore[no-untyped-def]
    data = dashboard.build(Filters(prefix="2201"), TODAY)
    in_region = [n for n in seeded.needs if n["region_code"].startswith("2201")]
    counts: dict[tuple, int] = {}
    for n in in_region:
        k = (n["category"], n["need_type"], n["status"])
        counts[k] = counts.get(k, 0) + 1
    got = {
        (r["category"], r["need_type"], r["status"]): r["needs"] for r in data["matrix"]
    }
    assert got == counts
    assert any(k[2] == "draft" for k in got)


def test_assistance_link_equals_direct_computation(app, seeded):  # type: ignore[no-untyped-def]
    data = dashboard.build(Filters(), TODAY)
    want = expect.assistance(seeded, expect.needs_in(seeded))
    got = {r["type"]: r for r in data["assistance"]}
    assert set(got) == set(want)
    assert "none" in got, "households without assistance are shown"
    for t, figures in want.items():
        _same(got[t], figures)


def test_time_to_full_claim_median_and_p90(app, seeded):  # type: ignore[no-untyped-def]
    data = dashboard.build(Filters(prefix="22"), TODAY)
    days = expect.days_to_full_claim(expect.needs_in(seeded, "22"))
    overall = data["speed"]["overall"]
    assert overall["count"] == len(days) > 2
    assert overall["median"] == pytest.approx(expect.percentile(days, 0.5), abs=1e-3)
    assert overall["p90"] == pytest.approx(expect.percentile(days, 0.9), abs=1e-3)


def test_expiring_and_overdue_claims(app, seeded):  # type: ignore[no-untyped-def]
    data = dashboard.build(Filters(prefix="22"), TODAY)
    in_region = [n for n in seeded.needs if n["region_code"].startswith("22")]
    overdue, soon = expect.expiring(seeded, in_region, TODAY)
    assert (data["expiring"]["overdue"], data["expiring"]["due_soon"]) == (
        overdue,
        soon,
    )
    assert overdue and soon
    assert all(
        r["due_on"] <= TODAY + timedelta(days=7) for r in data["expiring"]["rows"]
    )


def test_repeated_help_lists_need_codes_not_household_keys(app, seeded):  # type: ignore[no-untyped-def]
    data = dashboard.build(Filters(prefix="22"), TODAY)
    # The 12 months ending on the report day, in China time.
    since = datetime(2025, 11, 28, tzinfo=UTC) - timedelta(hours=8)
    until = datetime(2026, 11, 29, tzinfo=UTC) - timedelta(hours=8)
    want = expect.repeated(seeded, expect.needs_in(seeded, "22"), since, until)
    got = {
        frozenset(r["need_codes"].split("、")): {"orgs": r["orgs"], "needs": r["needs"]}
        for r in data["repeated"]["rows"]
    }
    assert got == want and want
    assert data["repeated"]["count"] == len(want)
    assert not any("hk" in str(v) for r in data["repeated"]["rows"] for v in r.values())


def test_org_activity_equals_direct_computation(app, seeded):  # type: ignore[no-untyped-def]
    data = dashboard.build(Filters(prefix="2201"), TODAY)
    ids = {n["id"] for n in seeded.needs if n["region_code"].startswith("2201")}
    got = _fig(data["orgs"], "org_id")
    for org in seeded.orgs:
        mine = [
            c for c in seeded.claims if c["org_id"] == org.id and c["need_id"] in ids
        ]
        assert got[org.id]["claims"] == len(mine)
        assert got[org.id]["delivered"] == sum(
            c["delivered_fen"] or 0 for c in mine if c["status"] in expect.DONE
        )
        assert got[org.id]["open"] == sum(c["status"] == "reserved" for c in mine)


def test_period_filter_selects_needs_by_publication(app, seeded):  # type: ignore[no-untyped-def]
    f = Filters(prefix="22", date_from=date(2026, 3, 1), date_to=date(2026, 6, 30))
    data = dashboard.build(f, TODAY)
    # China days: 2026-03-01 00:00 +08:00 .. 2026-07-01 00:00 +08:00.
    since = datetime(2026, 2, 28, 16, tzinfo=UTC)
    until = datetime(2026, 6, 30, 16, tzinfo=UTC)
    needs = expect.needs_in(seeded, "22", since=since, until=until)
    assert 0 < len(needs) < len(expect.needs_in(seeded, "22"))
    _same(data["totals"], expect.measures(seeded, needs))


def test_moderator_of_2201_sees_only_2201(app, seeded, client, create_user, login_as):  # type: ignore[no-untyped-def]
    mod = create_user("moderator", region_prefix="2201")
    login_as(mod)
    resp = client.get("/mod/reports?level=county")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "南关区" in html and "昌邑区" not in html and "东城区" not in html
    want = expect.measures(seeded, expect.needs_in(seeded, "2201"))
    assert f"{want['needs']:,}" in html
    # Widening the scope through the filter is refused with a message.
    resp = client.get("/mod/reports?region=220202")
    assert resp.status_code == 400
    assert "不在您负责的行政区划" in resp.get_data(as_text=True)
    resp = client.get("/mod/reports/export/by_region.xlsx?level=county")
    ws = load_workbook(io.BytesIO(resp.data)).active
    codes = [row[0] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert codes and all(c.startswith("2201") for c in codes)


def test_dashboard_page_has_charts_with_their_tables(
    app, seeded, client, create_user, login_as
):  # type: ignore[no-untyped-def]
    login_as(create_user("admin"))
    resp = client.get("/mod/reports")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert html.count("<svg") >= 5
    assert html.count("<details>") >= 5 and "查看数据表" in html
    assert "<script" not in html
    for secret in (SECRET_NAME, SECRET_ID, SECRET_PHONE):
        assert secret not in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-13-01", "开始日期格式不正确"),
        ("to=yesterday", "结束日期格式不正确"),
        ("from=2026-05-01&to=2026-04-01", "结束日期不能早于开始日期"),
        ("level=street", "统计层级应为"),
        ("region=abc", "地区应为行政区划代码"),
        ("region=229999", "找不到行政区划代码"),
        ("from=1900-01-01", "超出范围"),
    ],
)
def test_bad_filter_input_gets_a_clear_message(
    app, client, create_user, login_as, query, message
):  # type: ignore[no-untyped-def]
    login_as(create_user("moderator", region_prefix="22"))
    resp = client.get("/mod/reports?" + query)
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    resp = client.get("/mod/reports/export/totals.csv?" + query)
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)


def test_reports_need_a_moderator(app, client, create_user, create_org, login_as):  # type: ignore[no-untyped-def]
    assert client.get("/mod/reports").status_code == 302
    login_as(create_user("org_admin", org=create_org(with_admin=False)))
    assert client.get("/mod/reports").status_code == 403
    assert client.get("/mod/reports/export/totals.csv").status_code == 403


def test_every_dashboard_table_exports_as_csv_and_xlsx(
    app, seeded, client, create_user, login_as
):  # type: ignore[no-untyped-def]
    login_as(create_user("moderator", region_prefix="22"))
    # The page counts days to expiry from today's date in China, as here.
    tables = dashboard.build(Filters(prefix="22", level="city"), today())["tables"]
    for name, table in tables.items():
        resp = client.get(f"/mod/reports/export/{name}.xlsx?level=city")
        assert resp.status_code == 200, name
        ws = load_workbook(io.BytesIO(resp.data)).active
        rows = list(ws.iter_rows(values_only=True))
        assert rows[0][0].startswith(table.columns[0].label)
        assert len(rows) - 1 == len(table.rows), name
    resp = client.get("/mod/reports/export/by_need_type.csv?level=city")
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert resp.data.startswith(b"\xef\xbb\xbf")
    lines = resp.data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("需求类型,需求数,需求金额（元）,已认领（元）")
    assert len(lines) - 1 == len(tables["by_need_type"].rows)
    assert client.get("/mod/reports/export/nope.csv").status_code == 404
    assert client.get("/mod/reports/export/totals.pdf").status_code == 404


def test_region_export_rows_equal_direct_computation(
    app, seeded, client, create_user, login_as
):  # type: ignore[no-untyped-def]
    login_as(create_user("moderator", region_prefix="22"))
    resp = client.get("/mod/reports/export/by_region.xlsx?level=county")
    ws = load_workbook(io.BytesIO(resp.data)).active
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    want = expect.grouped(
        seeded, expect.needs_in(seeded, "22"), lambda n: n["region_code"]
    )
    got = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert set(got) == set(want)
    for code, figures in want.items():
        assert got[code]["需求数"] == figures["needs"]
        assert round(got[code]["已交付（元）"] * 100) == figures["delivered"]


def test_assistance_link_follows_a_new_publication(app, seeded):  # type: ignore[no-untyped-def]
    """A need published by a bulk UPDATE (not through the ORM objects) moves
    the summary tables too: the assistance figures count it at once."""
    from sqlalchemy import update

    from charitylink.extensions import db
    from charitylink.needs.models import Need

    dashboard.build(Filters(), TODAY)
    before = expect.assistance(seeded, expect.needs_in(seeded))
    for row in seeded.needs:
        if row["published_at"] is None and row["gov_assistance"]:
            status = row["status"]
            row["published_at"] = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
            row["status"] = "published"
            if expect.assistance(seeded, expect.needs_in(seeded)) != before:
                break  # a need whose publication changes the figures
            row["published_at"], row["status"] = None, status
    else:
        pytest.fail("the seed has no unpublished need that would change the figures")
    db.session.execute(
        update(Need)
        .where(Need.id == row["id"])
        .values(published_at=row["published_at"], status="published")
    )
    db.session.commit()
    data = dashboard.build(Filters(), TODAY)
    want = expect.assistance(seeded, expect.needs_in(seeded))
    got = {r["type"]: r for r in data["assistance"]}
    assert set(got) == set(want)
    for t, figures in want.items():
        _same(got[t], figures)


def test_an_empty_platform_shows_zeros_everywhere(app, client, create_user, login_as):  # type: ignore[no-untyped-def]
    """No need, no claim yet (a fresh deployment): every page and export answers."""
    mod = create_user("moderator", region_prefix="22")
    data = dashboard.build(Filters(prefix="22", level="city"), TODAY)
    assert data["totals"]["needs"] == 0 and data["totals"]["households"] == 0
    assert data["matrix"] == [] and data["regions"] == [] and data["orgs"] == []
    assert data["speed"]["overall"] == {"count": 0, "median": None, "p90": None}
    login_as(mod)
    for path in (
        "/mod/reports",
        "/mod/reports?from=2026-01-01&to=2026-03-31&level=county",
        "/mod/reports/export/totals.csv",
        "/mod/reports/export/by_month.xlsx",
    ):
        assert client.get(path).status_code == 200, path
    assert client.get("/transparency").status_code == 200
    stats = client.get("/api/v1/stats").get_json()
    assert stats["needs_published"] == 0
