"""Fund pages: the org's work area and the public fund page."""

from __future__ import annotations

import pytest

from charitylink.core.audit import AuditEvent
from charitylink.extensions import db
from charitylink.funds import ledger
from charitylink.funds.models import Fund, LedgerEntry
from tests.factories import org_admin_of


def _text(resp) -> str:  # type: ignore[no-untyped-def]
    return resp.get_data(as_text=True)


def test_admin_creates_named_fund_records_donations_public_page_shows_them(
    create_org, login_as, client
):
    org = create_org()
    login_as(org_admin_of(org))
    resp = client.post(
        "/org/funds/new",
        data={"name": "某某爱心冠名基金", "kind": "named", "donor_name": "某某集团"},
    )
    assert resp.status_code == 302
    fund = db.session.scalars(db.select(Fund).where(Fund.org_id == org.id)).one()
    assert resp.headers["Location"].endswith(f"/org/funds/{fund.id}")

    resp = client.post(
        f"/org/funds/{fund.id}/donations",
        data={"amount": "1,234.50", "donor": "张先生", "reference": "HD-001"},
    )
    assert resp.status_code == 302
    client.post(
        f"/org/funds/{fund.id}/donations",
        data={"amount": "100", "donor": "李女士", "anonymous": "y"},
    )
    db.session.refresh(fund)
    assert fund.donations_fen == 133_450
    assert ledger.sums(fund.id)["balance_fen"] == 133_450

    page = _text(client.get(f"/org/funds/{fund.id}"))
    assert "HD-001" in page and "¥1,334.50" in page

    anon = client.application.test_client()
    page = _text(anon.get(f"/funds/{fund.id}"))
    assert "某某爱心冠名基金" in page and "某某集团" in page
    assert "张先生" in page and "匿名" in page and "李女士" not in page
    assert "¥1,334.50" in page


def test_special_fund_form_with_purpose(create_org, login_as, client):
    org = create_org()
    login_as(org_admin_of(org))
    resp = client.post(
        "/org/funds/new",
        data={
            "name": "大病医疗专项基金",
            "kind": "special",
            "need_types": ["medical", "disability"],
            "region_prefix": "2201",
        },
    )
    assert resp.status_code == 302
    fund = db.session.scalars(db.select(Fund).where(Fund.org_id == org.id)).one()
    assert fund.purpose_need_types == ["medical", "disability"]
    page = _text(client.get(f"/funds/{fund.id}"))
    assert "医疗、残疾康复" in page and "2201" in page


def test_fund_form_errors_are_shown_in_chinese(create_org, login_as, client):
    org = create_org()
    login_as(org_admin_of(org))
    resp = client.post("/org/funds/new", data={"name": "", "kind": "named"})
    assert resp.status_code == 422
    page = _text(resp)
    assert "请填写基金名称" in page and "冠名基金必须填写冠名方" in page
    resp = client.post("/org/funds/new", data={"name": "x", "kind": "special"})
    assert "专项基金必须选择至少一种" in _text(resp)
    assert db.session.scalar(db.select(db.func.count(Fund.id))) == 0


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("", "请输入金额"),
        ("0", "金额必须大于零"),
        ("-5", "金额必须大于零"),
        ("abc", "金额格式不正确"),
        ("12.345", "最多两位小数"),
        ("1e3", "金额格式不正确"),
        ("200000000", "金额过大"),
    ],
)
def test_bad_donation_amount_on_the_form(
    create_fund, login_as, client, amount, message
):
    fund = create_fund()
    login_as(org_admin_of(fund.org))
    resp = client.post(
        f"/org/funds/{fund.id}/donations", data={"amount": amount, "donor": "张先生"}
    )
    assert resp.status_code == 422
    assert message in _text(resp)
    assert db.session.scalar(db.select(db.func.count(LedgerEntry.id))) == 0


def test_donor_or_anonymous_is_required(create_fund, login_as, client):
    fund = create_fund()
    login_as(org_admin_of(fund.org))
    resp = client.post(f"/org/funds/{fund.id}/donations", data={"amount": "10"})
    assert resp.status_code == 422
    assert "匿名捐赠" in _text(resp)
    assert ledger.sums(fund.id)["donations_fen"] == 0


def test_ledger_page_is_paged(create_fund, login_as, client):
    fund = create_fund()
    for i in range(55):
        ledger.add_donation(fund, 100 + i, donor_name=f"捐赠人{i}")
    db.session.commit()
    login_as(org_admin_of(fund.org))
    first = _text(client.get(f"/org/funds/{fund.id}"))
    assert "共 55 笔" in first and "第 1 / 2 页" in first and "捐赠人54" in first
    second = _text(client.get(f"/org/funds/{fund.id}?page=2"))
    assert "捐赠人0" in second and "捐赠人54" not in second
    assert client.get(f"/org/funds/{fund.id}?page=abc").status_code == 200


def test_public_fund_page_hides_funds_of_unverified_orgs(
    create_org, create_fund, client
):
    for status in ("pending", "rejected", "suspended"):
        fund = create_fund(org=create_org(status=status), donations_fen=100)
        assert client.get(f"/funds/{fund.id}").status_code == 404
    assert client.get("/funds/999999").status_code == 404


# --- access matrix -----------------------------------------------------------


@pytest.fixture
def world(create_org, create_user, create_fund):  # type: ignore[no-untyped-def]
    org_a = create_org(region_code="220102")
    org_b = create_org(region_code="620102")
    fund = create_fund(org=org_a, donations_fen=1000)
    return {
        "fund": fund,
        "public": None,
        "member_a": create_user("org_member", org=org_a),
        "admin_a": org_admin_of(org_a),
        "admin_b": org_admin_of(org_b),
        "mod_in": create_user("moderator", region_prefix="2201"),
        "mod_out": create_user("moderator", region_prefix="62"),
        "admin": create_user("admin"),
    }


EXPECTED = {
    # role: (list, new GET, detail, donations GET, donations POST, public)
    "public": (302, 302, 302, 302, 302, 200),
    "member_a": (200, 403, 200, 403, 403, 200),
    "admin_a": (200, 200, 200, 200, 302, 200),
    "admin_b": (200, 200, 404, 404, 404, 200),
    "mod_in": (403, 403, 403, 403, 403, 200),
    "mod_out": (403, 403, 403, 403, 403, 200),
    "admin": (403, 403, 403, 403, 403, 200),
}


@pytest.mark.parametrize("role", list(EXPECTED))
def test_fund_pages_access_matrix(world, role, client, login_as):
    fund = world["fund"]
    if world[role] is not None:
        login_as(world[role])
    got = (
        client.get("/org/funds").status_code,
        client.get("/org/funds/new").status_code,
        client.get(f"/org/funds/{fund.id}").status_code,
        client.get(f"/org/funds/{fund.id}/donations").status_code,
        client.post(
            f"/org/funds/{fund.id}/donations", data={"amount": "5", "donor": "x"}
        ).status_code,
        client.get(f"/funds/{fund.id}").status_code,
    )
    assert got == EXPECTED[role]
    db.session.refresh(fund)
    expected_total = 1500 if role == "admin_a" else 1000
    assert fund.donations_fen == expected_total == ledger.sums(fund.id)["donations_fen"]
    donations = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "fund.donation")
    ).all()
    assert len(donations) == (1 if role == "admin_a" else 0)


def test_member_sees_org_funds_but_not_the_buttons(world, client, login_as):
    login_as(world["member_a"])
    page = _text(client.get("/org/funds"))
    assert world["fund"].name in page and "登记捐赠" not in page


def test_public_fund_page_lists_its_public_projects_only(
    create_fund, create_project, client
):
    fund = create_fund()
    create_project(fund=fund, title="用本基金的公开项目")
    create_project(fund=fund, title="用本基金的草稿项目", status="draft")
    create_project(fund=create_fund(org=fund.org), title="别的基金的项目")
    page = _text(client.get(f"/funds/{fund.id}"))
    assert "用本基金的公开项目" in page
    assert "用本基金的草稿项目" not in page and "别的基金的项目" not in page
