"""Pairing pages: the claim form with a schedule, the calendar strip and its
forms on the claim pages, the need's moderator page with the household's
other pairings, and the public need page's coarse progress. The private half
of the household never shows on any of them, and the history never on a
public page."""

from __future__ import annotations

from sqlalchemy import select

from charitylink.claims import pairing
from charitylink.claims.models import Claim
from charitylink.core.timeutil import today
from charitylink.extensions import db
from tests.claims.conftest import HOUSEHOLD
from tests.factories import org_admin_of


def _no_private(html: str) -> None:
    for value in HOUSEHOLD.values():
        assert value not in html, value


def test_pairing_pages_for_each_role(
    client, login_as, create_org, create_fund, create_need, create_user
):  # type: ignore[no-untyped-def]
    org = create_org()
    fund = create_fund(org=org, donations_fen=1_000_000)
    admin = org_admin_of(org)
    moderator = create_user("moderator", region_prefix="22")
    need = create_need(amount_fen=120_000, household=HOUSEHOLD, entered_by=moderator)
    other = create_need(amount_fen=50_000, household=HOUSEHOLD, entered_by=moderator)
    # The claim form with a schedule; a wrong total is named on the field.
    login_as(admin)
    url = f"/needs/{need.code}/claim"
    form = {"fund_id": fund.id, "amount": "600", "months": "6", "monthly_amount": "90"}
    resp = client.post(url, data=form)
    assert resp.status_code == 302 and "#claim" in resp.location
    page = client.get(f"/needs/{need.code}").get_data(as_text=True)
    assert "月数 × 每月金额" in page
    form["monthly_amount"] = "100"
    resp = client.post(url, data=form)
    assert resp.status_code == 302 and "/org/claims/" in resp.location, resp.location
    claim = db.session.scalars(select(Claim).where(Claim.need_id == need.id)).one()
    assert claim.months == 6 and claim.monthly_amount_fen == 10_000
    # Org staff: the strip and the deliver form for month 1 only.
    html = client.get(f"/org/claims/{claim.id}").get_data(as_text=True)
    assert 'class="pair-strip"' in html and html.count("st-pending") == 6
    assert f"/org/claims/{claim.id}/instalments/1/deliver" in html
    assert "/instalments/2/deliver" not in html
    _no_private(html)
    resp = client.post(
        f"/org/claims/{claim.id}/instalments/1/deliver",
        data={"delivered_on": today().isoformat()},
    )
    assert resp.status_code == 302
    html = client.get(f"/org/claims/{claim.id}").get_data(as_text=True)
    assert "st-delivered" in html and "/instalments/2/deliver" in html
    assert "/confirm" not in html.split('id="pairing"')[1].split("</section>")[0]
    # A pairing on another need of the same household, then the moderator.
    pairing.claim_with_schedule(other, admin, fund, 20_000, 2, 10_000)
    db.session.commit()
    login_as(moderator)
    html = client.get(f"/mod/claims/{claim.id}").get_data(as_text=True)
    assert f"/mod/claims/{claim.id}/instalments/1/confirm" in html
    _no_private(html)
    resp = client.post(f"/mod/claims/{claim.id}/instalments/1/confirm")
    assert resp.status_code == 302
    db.session.expire_all()
    assert pairing.instalments(claim)[0].status == "confirmed"
    review = client.get(f"/mod/needs/{need.code}").get_data(as_text=True)
    assert 'id="household-pairings"' in review and other.code in review
    assert "pair-strip" in review
    # The public need page: months done of all, no strip, no history.
    client.get("/logout")
    with client.session_transaction() as sess:
        sess.clear()
    public = client.get(f"/needs/{need.code}").get_data(as_text=True)
    assert "已交付 1 / 6 个月" in public
    assert "pair-strip" not in public and other.code not in public
    assert "household-pairings" not in public
    _no_private(public)
    # The moderator ends it: the rest released, a reason required.
    login_as(moderator)
    resp = client.post(f"/claims/{claim.id}/end", data={"reason": ""})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get_one(Claim, claim.id).ended_at is None
    client.post(f"/claims/{claim.id}/end", data={"reason": "家庭已搬离本地"})
    db.session.expire_all()
    claim = db.session.get_one(Claim, claim.id)
    assert claim.ended_at is not None and claim.status == "confirmed"
