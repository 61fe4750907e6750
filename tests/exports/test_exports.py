"""Exports (docs/integration.md): the right rows, private data for moderators only."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from charitylink.claims import services as claim_services
from charitylink.core.audit import AuditEvent
from charitylink.core.timeutil import today
from charitylink.extensions import db
from tests.factories import make_id_number, org_admin_of

CANARY_NAME = "金丝雀户主"
CANARY_ID = make_id_number(777, birth="19620101")
CANARY_PHONE = "13877770001"
CANARY_ADDRESS = "金丝雀路金丝雀小区"
CANARY_NOTES = "金丝雀备注"


def _sheet(resp) -> list[list]:
    wb = load_workbook(io.BytesIO(resp.data), read_only=True)
    return [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]


def private_export(client, fmt: str = "xlsx", reason: str = "年度核对"):  # type: ignore[no-untyped-def]
    """The needs with their private half: the reasoned form, then the one-time
    link it shows; returns the download's response."""
    import re

    page = client.post("/mod/exports/needs", data={"fmt": fmt, "reason": reason})
    assert page.status_code == 200, page.data.decode()[:500]
    link = re.search(
        r'href="(http://[^"]+/mod/exports/download/[^"]+)"', page.data.decode()
    )
    assert link is not None
    return client.get(link.group(1))


def _claimed_world(create_need, create_fund, create_org):
    org = create_org()
    admin = org_admin_of(org)
    fund = create_fund(org=org, donations_fen=10_000_000)
    need = create_need(
        status="published",
        amount_fen=300_000,
        household={
            "name": CANARY_NAME,
            "id_number": CANARY_ID,
            "phone": CANARY_PHONE,
            "address": CANARY_ADDRESS,
            "notes": CANARY_NOTES,
        },
    )
    claim = claim_services.claim_need(need, admin, fund, 100_000)
    claim_services.deliver_claim(
        claim, admin, 100_000, today() - timedelta(days=1), "cash", "已转账"
    )
    db.session.commit()
    return org, admin, fund, need, claim


def test_moderator_exports_needs_of_region_with_private_half_audited(
    client, login_as, create_user, create_need
) -> None:
    mod = create_user("moderator", region_prefix="2201")
    mine = create_need(
        region_code="220102",
        household={"name": CANARY_NAME, "id_number": CANARY_ID},
    )
    create_need(region_code="220203")  # 吉林市: another moderator's region
    login_as(mod)
    resp = private_export(client)
    assert resp.status_code == 200
    rows = _sheet(resp)
    # Who exported, when and why on the first line; then a blank line.
    assert rows[0][0] == "导出人" and mod.email in rows[0][1]
    assert rows[0][5] == "年度核对"
    header, body = rows[2], rows[3:]
    assert "身份证号" in header and "姓名" in header
    assert [r[0] for r in body] == [mine.code]
    assert body[0][header.index("姓名")] == CANARY_NAME
    assert body[0][header.index("身份证号")] == CANARY_ID
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "export.needs_private")
    )
    assert event is not None and event.actor_id == mod.id
    assert CANARY_NAME not in (event.reason or "")


@pytest.mark.parametrize("prefix", ["", None])
def test_moderator_without_a_region_exports_no_household(
    client, login_as, create_user, create_need, prefix
) -> None:
    """A moderator whose scope is empty covers nothing (it used to export every
    region's private half: an empty prefix read as "no filter")."""
    create_need(region_code="220102", household={"name": CANARY_NAME})
    login_as(create_user("moderator", region_prefix=prefix))
    resp = private_export(client)
    assert resp.status_code == 200
    assert _sheet(resp)[3:] == []
    csv_resp = client.get("/mod/exports/claims.csv")
    assert csv_resp.status_code == 200
    assert len(list(csv.reader(io.StringIO(csv_resp.data.decode("utf-8-sig"))))) == 1


def test_moderator_exports_claims_deliveries_ledger_csv(
    client, login_as, create_user, create_need, create_fund, create_org
) -> None:
    _org, _admin, fund, need, claim = _claimed_world(
        create_need, create_fund, create_org
    )
    login_as(create_user("moderator", region_prefix="22"))
    for kind in ("claims", "deliveries"):
        resp = client.get(f"/mod/exports/{kind}.csv")
        assert resp.status_code == 200
        assert resp.data.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
        assert [r[1] for r in rows[1:]] == [need.code]
        assert rows[1][rows[0].index("交付金额(元)")] == "1000.00"
    ledger = _sheet(client.get("/mod/exports/ledger.xlsx"))
    kinds = sorted(r[3] for r in ledger[1:])
    assert kinds == ["交付支出", "认领预留"]
    assert all(r[6] == need.code for r in ledger[1:])


def test_org_export_has_no_private_data(
    client, login_as, create_need, create_fund, create_org
) -> None:
    _org, admin, fund, need, _claim = _claimed_world(
        create_need, create_fund, create_org
    )
    login_as(admin)
    for kind in ("claims", "ledger"):
        for fmt in ("csv", "xlsx"):
            resp = client.get(f"/org/exports/{kind}.{fmt}")
            assert resp.status_code == 200, (kind, fmt)
            csv_text = resp.data.decode("utf-8-sig") if fmt == "csv" else ""
            text = csv_text or repr(_sheet(resp))
            for canary in (
                CANARY_NAME,
                CANARY_ID,
                CANARY_PHONE,
                CANARY_ADDRESS,
                CANARY_NOTES,
                need.household_key,
            ):
                assert canary not in text, (kind, fmt)
    claims = _sheet(client.get("/org/exports/claims.xlsx"))
    assert [r[1] for r in claims[1:]] == [need.code]
    ledger = _sheet(client.get("/org/exports/ledger.xlsx"))
    assert sorted(r[3] for r in ledger[1:]) == ["交付支出", "捐赠入账", "认领预留"]


def test_export_pages_and_access(client, login_as, create_user, create_org) -> None:
    org = create_org()
    login_as(org_admin_of(org))
    assert "/org/exports" in client.get("/org").get_data(as_text=True)
    page = client.get("/org/exports")
    assert page.status_code == 200 and "基金流水" in page.get_data(as_text=True)
    assert client.get("/mod/exports/needs.csv").status_code == 403
    member = create_user("org_member", org=org)
    login_as(member)
    assert client.get("/org/exports/claims.csv").status_code == 403
    assert "/org/exports" not in client.get("/org").get_data(as_text=True)
    login_as(create_user("moderator"))
    home = client.get("/mod").get_data(as_text=True)
    assert "/mod/exports" in home and "/mod/needs/import" in home
    page = client.get("/mod/exports")
    assert "含隐私信息" in page.get_data(as_text=True)
    assert client.get("/mod/exports/nothing.csv").status_code == 404
    assert client.get("/org/exports/claims.csv").status_code == 403
