"""The printable pages: a donation receipt and a claim's record."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from charitylink.claims import services as claims
from charitylink.core.timeutil import today
from charitylink.extensions import db
from charitylink.funds import services as funds
from charitylink.funds.models import LedgerEntry, LedgerKind
from charitylink.orgs.models import OrgStatus
from charitylink.printing.services import receipt_number
from tests.factories import org_admin_of


def _donate(fund, donor="长春某某爱心企业", amount=123456, reference="ZZ-2026-0042"):
    admin = org_admin_of(fund.org)
    entry = funds.record_donation(
        fund, admin, amount_fen=amount, donor_name=donor, reference=reference
    )
    db.session.commit()
    return entry


def test_receipt_shows_everything_a_receipt_needs(client, login_as, create_fund):
    fund = create_fund(name="春晖助学冠名基金")
    entry = _donate(fund)
    html = (
        login_as(org_admin_of(fund.org))
        .get(f"/org/funds/{fund.id}/receipts/{entry.id}")
        .get_data(as_text=True)
    )
    assert "捐赠收据" in html
    assert receipt_number(entry) in html
    assert receipt_number(entry).endswith(f"-{entry.id:06d}")
    for text in (
        fund.org.name,
        fund.org.uscc,
        "春晖助学冠名基金",
        "长春某某爱心企业",
        "¥1,234.56",
        "人民币壹仟贰佰叁拾肆元伍角陆分",
        "ZZ-2026-0042",
        f"http://localhost/funds/{fund.id}",
    ):
        assert text in html, text
    assert '<svg viewBox="' in html and 'class="qr"' in html
    assert 'media="print"' in html and "css/print.css" in html
    assert "<script" not in html


def test_receipt_for_an_anonymous_donor_and_an_unverified_org(
    client, login_as, create_fund, create_org
):
    fund = create_fund()
    entry = _donate(fund, donor=None, amount=50, reference=None)
    html = (
        login_as(org_admin_of(fund.org))
        .get(f"/org/funds/{fund.id}/receipts/{entry.id}")
        .get_data(as_text=True)
    )
    assert "匿名捐赠人" in html and "人民币伍角整" in html
    fund.org.status = OrgStatus.SUSPENDED
    db.session.commit()
    html = client.get(f"/org/funds/{fund.id}/receipts/{entry.id}").get_data(
        as_text=True
    )
    assert 'class="qr"' not in html and "暂无公开页面" in html


def test_only_the_funds_own_donations_have_receipts(
    client, login_as, create_fund, create_need, create_user
):
    fund = create_fund(donations_fen=1_000_000)
    admin = org_admin_of(fund.org)
    claims.claim_need(create_need(amount_fen=100_000), admin, fund, 100_000)
    db.session.commit()
    reserve = db.session.scalar(
        select(LedgerEntry).where(
            LedgerEntry.fund_id == fund.id, LedgerEntry.kind == LedgerKind.RESERVE
        )
    )
    c = login_as(admin)
    assert c.get(f"/org/funds/{fund.id}/receipts/{reserve.id}").status_code == 404
    other = create_fund(donations_fen=1_000)
    other_entry = db.session.scalar(
        select(LedgerEntry).where(LedgerEntry.fund_id == other.id)
    )
    # Another org's fund, and another fund's entry under one's own fund: 404.
    assert c.get(f"/org/funds/{other.id}/receipts/{other_entry.id}").status_code == 404
    assert c.get(f"/org/funds/{fund.id}/receipts/{other_entry.id}").status_code == 404
    # The ledger offers the receipt next to each donation.
    page = c.get(f"/org/funds/{fund.id}").get_data(as_text=True)
    assert f"/org/funds/{fund.id}/receipts/" in page and "打印收据" in page


def test_claim_record_with_delivery_and_confirmation(
    client, login_as, create_fund, create_need, create_user
):
    fund = create_fund(donations_fen=1_000_000)
    staff = org_admin_of(fund.org)
    entered = create_user("moderator", region_prefix="22")
    need = create_need(
        amount_fen=300_000,
        entered_by=entered,
        household={"name": "王秀兰", "phone": "13912345678"},
    )
    claim = claims.claim_need(need, staff, fund, 300_000)
    claims.deliver_claim(
        claim, staff, 250_000, today() - timedelta(days=1), "goods", note="已送达"
    )
    confirmer = create_user("moderator", region_prefix="2201", name="长春回访员")
    claims.confirm_claim(claim, confirmer)
    db.session.commit()

    html = login_as(staff).get(f"/claims/{claim.id}/print").get_data(as_text=True)
    for text in (
        "认领与交付记录",
        need.code,
        "¥3,000.00",
        "¥2,500.00",
        "余额 ¥500.00 已退回基金",
        "物资",
        "已送达",
        "长春回访员",
        "吉林省长春市",
    ):
        assert text in html, text
    assert "王秀兰" not in html and "13912345678" not in html  # no household data
    # The region's moderators print it too; others do not see it.
    assert login_as(confirmer).get(f"/claims/{claim.id}/print").status_code == 200
    gansu = create_user("moderator", region_prefix="62")
    assert login_as(gansu).get(f"/claims/{claim.id}/print").status_code == 404
    # The claim's page links to its record.
    body = login_as(staff).get(f"/org/claims/{claim.id}").get_data(as_text=True)
    assert f"/claims/{claim.id}/print" in body


def test_claim_record_of_an_open_claim_says_what_is_pending(
    client, login_as, create_fund, create_need
):
    fund = create_fund(donations_fen=1_000_000)
    staff = org_admin_of(fund.org)
    claim = claims.claim_need(create_need(amount_fen=100_000), staff, fund, 100_000)
    db.session.commit()
    html = login_as(staff).get(f"/claims/{claim.id}/print").get_data(as_text=True)
    assert "尚未登记交付" in html and "尚未回访确认" in html
