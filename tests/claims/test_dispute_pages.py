"""The dispute, answer, resolution, extension and donation-reversal forms on
the pages: each step and its refusals, the claim pages' record and timeline,
and what the public pages show (the state only, never the reason)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from charitylink.claims import services
from charitylink.claims.models import Claim
from charitylink.extensions import db
from charitylink.funds import services as fund_services
from charitylink.funds.models import Fund, LedgerEntry, LedgerKind
from charitylink.needs.models import Need
from tests.claims.conftest import HOUSEHOLD
from tests.claims.test_disputes import assert_fund_matches_ledger, delivered_claim


def _fresh(claim: Claim) -> Claim:
    db.session.expire_all()
    return db.session.get_one(Claim, claim.id)


def test_dispute_answer_resolve_through_the_pages(
    client, login_as, org_world, create_need, create_user
):
    need = create_need(amount_fen=40_000, region_code="220102", household=HOUSEHOLD)
    claim = delivered_claim(org_world, need, 40_000, 40_000)
    first = create_user("moderator", region_prefix="2201")
    second = create_user("moderator", region_prefix="22")

    login_as(first)
    page = client.get(f"/mod/claims/{claim.id}/confirm")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "记录异议，不予确认" in text and "已回访，确认交付" in text
    bad = client.post(
        f"/mod/claims/{claim.id}/dispute",
        data={"received_amount": "九十", "reason": ""},
    )
    assert bad.status_code == 422 and _fresh(claim).status == "delivered"
    too_much = client.post(
        f"/mod/claims/{claim.id}/dispute",
        data={"received_amount": "500", "reason": "家庭称未收到"},
    )
    assert too_much.status_code == 422
    assert "0 到交付金额" in too_much.get_data(as_text=True)
    ok = client.post(
        f"/mod/claims/{claim.id}/dispute",
        data={"received_amount": "100", "reason": "家庭称只收到一百元"},
    )
    assert ok.status_code == 302 and _fresh(claim).status == "disputed"
    own = client.get(f"/mod/claims/{claim.id}").get_data(as_text=True)
    assert "须由另一位审核员处理" in own and "家庭称只收到一百元" in own
    disputed = client.get("/mod/claims?status=disputed").get_data(as_text=True)
    assert "答复期限" in disputed and need.code in disputed

    # The public need page: the state, never the reason.
    public = client.get(f"/needs/{need.code}").get_data(as_text=True)
    assert "核实中" in public and "一百元" not in public

    login_as(second)
    waiting = client.get(f"/mod/claims/{claim.id}").get_data(as_text=True)
    assert "期限届满前请等待机构答复" in waiting
    early = client.post(
        f"/mod/claims/{claim.id}/resolve",
        data={"outcome": "partial", "confirmed_amount": "100", "reason": "核实"},
    )
    assert early.status_code == 422 and _fresh(claim).status == "disputed"

    login_as(org_world["member"])
    mine = client.get(f"/org/claims/{claim.id}").get_data(as_text=True)
    assert "答复异议" in mine and "家庭称只收到一百元" in mine
    assert (
        client.post(f"/org/claims/{claim.id}/respond", data={"note": ""}).status_code
        == 422
    )
    answered = client.post(
        f"/org/claims/{claim.id}/respond",
        data={"note": "已全额转账，附回单"},
        content_type="multipart/form-data",
    )
    assert answered.status_code == 302 and _fresh(claim).responded_at is not None

    login_as(first)  # the moderator who disputed: four eyes
    same = client.post(
        f"/mod/claims/{claim.id}/resolve",
        data={"outcome": "confirm", "reason": "核实"},
    )
    assert same.status_code == 422 and _fresh(claim).status == "disputed"

    login_as(second)
    form = client.get(f"/mod/claims/{claim.id}").get_data(as_text=True)
    assert "提交处理结果" in form and "已全额转账，附回单" in form
    missing = client.post(
        f"/mod/claims/{claim.id}/resolve",
        data={"outcome": "partial", "confirmed_amount": "", "reason": "核实"},
    )
    assert missing.status_code == 422
    done = client.post(
        f"/mod/claims/{claim.id}/resolve",
        data={"outcome": "partial", "confirmed_amount": "100", "reason": "部分到账"},
    )
    assert done.status_code == 302
    claim = _fresh(claim)
    assert claim.status == "confirmed" and claim.delivered_fen == 10_000
    assert claim.reversed_fen == 30_000
    detail = client.get(f"/mod/claims/{claim.id}").get_data(as_text=True)
    for step in ("登记交付", "回访有异议", "机构答复异议", "处理交付异议"):
        assert step in detail
    need = db.session.get_one(Need, need.id)
    assert need.claimed_fen == 10_000 and need.status == "published"
    assert_fund_matches_ledger(org_world["fund"].id)

    client.get("/logout")
    with client.session_transaction() as sess:
        sess.clear()
    public = client.get(f"/needs/{need.code}").get_data(as_text=True)
    assert "已回访确认" in public and "部分到账" not in public
    fund_page = client.get(f"/funds/{org_world['fund'].id}").get_data(as_text=True)
    assert "支出撤销（待追回）" in fund_page and "部分到账" not in fund_page
    org_page = client.get(f"/orgs/{org_world['org'].id}").get_data(as_text=True)
    assert "经回访撤销的支出" in org_page and "¥300.00" in org_page
    for value in HOUSEHOLD.values():
        assert value not in public + fund_page + org_page


def test_extend_form_and_refusals(
    client, login_as, org_world, create_need, create_user
):
    need = create_need(amount_fen=40_000, region_code="220102")
    claim = services.claim_need(need, org_world["member"], org_world["fund"], 10_000)
    db.session.commit()
    old = claim.due_on
    login_as(create_user("moderator", region_prefix="11"))
    assert client.get(f"/mod/claims/{claim.id}").status_code == 404
    login_as(create_user("moderator", region_prefix="22"))
    assert "延长期限" in client.get(f"/mod/claims/{claim.id}").get_data(as_text=True)
    bad = client.post(
        f"/mod/claims/{claim.id}/extend",
        data={"due_on": old.isoformat(), "reason": "家庭外出"},
    )
    assert bad.status_code == 422 and _fresh(claim).due_on == old
    later = old + timedelta(days=7)
    ok = client.post(
        f"/mod/claims/{claim.id}/extend",
        data={"due_on": later.isoformat(), "reason": "家庭外出"},
    )
    assert ok.status_code == 302 and _fresh(claim).due_on == later
    login_as(org_world["member"])
    mine = client.get(f"/org/claims/{claim.id}").get_data(as_text=True)
    assert "延长交付期限" in mine and "家庭外出" in mine
    assert client.post(f"/mod/claims/{claim.id}/extend", data={}).status_code == 403


def test_donation_reversal_form(client, login_as, org_world):
    fund = org_world["fund"]
    entry = fund_services.record_donation(fund, org_world["admin"], amount_fen=20_000)
    db.session.commit()
    url = f"/org/funds/{fund.id}/donations/{entry.id}/reverse"
    login_as(org_world["member"])
    assert client.get(url).status_code in (302, 403)
    login_as(org_world["admin"])
    ledger_page = client.get(f"/org/funds/{fund.id}").get_data(as_text=True)
    assert url in ledger_page
    assert "确认冲正" in client.get(url).get_data(as_text=True)
    assert client.post(url, data={"reason": ""}).status_code == 422
    ok = client.post(url, data={"reason": "重复登记"})
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get_one(Fund, fund.id).donations_fen == 1_000_000
    reversal = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.REVERSAL)
    ).one()
    assert reversal.reverses == entry.id and reversal.reason == "重复登记"
    again = client.get(url, follow_redirects=True).get_data(as_text=True)
    assert "这笔捐赠已冲正" in again
    twice = client.post(url, data={"reason": "再次"}, follow_redirects=True)
    assert "不能重复冲正" in twice.get_data(as_text=True)
    assert_fund_matches_ledger(fund.id)
