"""The matching pages: the org's match page, sessions on the claim page, the
delivery by sessions, the moderator's 回访; no household data on any of them;
every page that shows a claim survives a claim without a fund."""

from __future__ import annotations

from sqlalchemy import select

from charitylink.claims.models import Claim, ClaimSession
from charitylink.core.timeutil import today
from charitylink.extensions import db
from tests.factories import org_admin_of

HOUSEHOLD = {
    "name": "欧阳秀英",
    "phone": "13944441234",
    "address": "幸福路8号",
    "notes": "独居老人腿脚不便需要上门",
}


def _no_private(html: str) -> None:
    for value in HOUSEHOLD.values():
        assert value not in html


def test_match_session_deliver_confirm_on_pages(
    app, client, login_as, create_org, create_need, make_offer, create_user
):  # type: ignore[no-untyped-def]
    org = create_org(org_type="care_centre")
    admin = org_admin_of(org)
    offer = make_offer(org=org, capacity_per_month=8, unit_value_fen=5_000)
    need = create_need(amount_fen=50_000, household=HOUSEHOLD)
    login_as(admin)
    # The need page links to the match page for the org's fitting offers.
    html = client.get(f"/needs/{need.code}").get_data(as_text=True)
    assert f"/org/offers/{offer.id}/match?need={need.code}" in html
    resp = client.get(f"/org/offers/{offer.id}/match?need={need.code}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert need.code in html and "剩余供给量" in html
    _no_private(html)
    # A refusal comes back on the form with the field's message.
    resp = client.post(
        f"/org/offers/{offer.id}/match",
        data={"need": need.code, "quantity": "9", "months": "1"},
    )
    assert resp.status_code == 422
    assert "月供给量" in resp.get_data(as_text=True)
    resp = client.post(
        f"/org/offers/{offer.id}/match",
        data={"need": need.code, "quantity": "4", "months": "1"},
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    claim = db.session.scalar(select(Claim).where(Claim.offer_id == offer.id))
    assert claim is not None and claim.amount_fen == 20_000
    detail = client.get(f"/org/claims/{claim.id}").get_data(as_text=True)
    assert "登记服务记录" in detail and "上门照护服务" in detail
    _no_private(detail)
    # A session with a household's name in its note is refused on the page.
    resp = client.post(
        f"/org/claims/{claim.id}/sessions",
        data={
            "held_on": today().isoformat(),
            "quantity": "3",
            "hours": "2",
            "volunteers": "2",
            "note": "为欧阳秀英打扫",
        },
    )
    assert resp.status_code == 422
    resp = client.post(
        f"/org/claims/{claim.id}/sessions",
        data={
            "held_on": today().isoformat(),
            "quantity": "3",
            "hours": "2",
            "volunteers": "2",
            "note": "打扫卫生",
        },
    )
    assert resp.status_code == 302
    resp = client.get(f"/org/claims/{claim.id}/deliver")
    assert resp.status_code == 200 and "标记已交付" in resp.get_data(as_text=True)
    resp = client.post(f"/org/claims/{claim.id}/deliver", data={"note": ""})
    assert resp.status_code == 302
    db.session.expire_all()
    claim = db.session.get(Claim, claim.id)
    assert claim.status == "delivered" and claim.delivered_fen == 15_000
    # Every org page showing the claim, without a fund.
    for url in ("/org/claims", f"/org/claims/{claim.id}", f"/claims/{claim.id}/print"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        _no_private(resp.get_data(as_text=True))
    # The moderator's 回访.
    mod = create_user("moderator", region_prefix="22")
    login_as(mod)
    for url in (
        f"/mod/claims/{claim.id}",
        f"/mod/claims/{claim.id}/confirm",
        "/mod/claims",
    ):
        resp = client.get(url)
        assert resp.status_code == 200, url
        html = resp.get_data(as_text=True)
        _no_private(html)
    assert "服务记录" in client.get(f"/mod/claims/{claim.id}/confirm").get_data(
        as_text=True
    )
    resp = client.post(f"/mod/claims/{claim.id}/confirm", data={})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).status == "confirmed"
    assert db.session.scalar(select(ClaimSession.confirmed_at)) is not None


def test_cancel_page_and_other_orgs(
    client, login_as, create_org, create_need, make_offer
):  # type: ignore[no-untyped-def]
    from charitylink.claims import matching

    org = create_org()
    admin = org_admin_of(org)
    offer = make_offer(org=org)
    need = create_need(amount_fen=50_000)
    claim = matching.match(offer, need, 2, 1, admin)
    db.session.commit()
    login_as(admin)
    resp = client.get(f"/org/claims/{claim.id}/cancel")
    assert resp.status_code == 200 and "名额退回" in resp.get_data(as_text=True)
    # Another org sees no such offer.
    other = create_org()
    login_as(org_admin_of(other))
    assert client.get(f"/org/offers/{offer.id}/match").status_code == 404


def test_a_moderators_proposal_accepted_by_the_org(
    client, login_as, create_org, create_need, make_offer, create_user
):  # type: ignore[no-untyped-def]
    from charitylink.claims.proposals import MatchProposal
    from charitylink.notifications.models import Notification

    org = create_org()
    admin = org_admin_of(org)
    offer = make_offer(org=org, capacity_per_month=5, unit_value_fen=2_000)
    need = create_need(amount_fen=50_000, household=HOUSEHOLD)
    mod = create_user("moderator", region_prefix="22")
    login_as(mod)
    resp = client.get(f"/mod/offers/{offer.id}/propose?need={need.code}")
    assert resp.status_code == 200 and "发送对接建议" in resp.get_data(as_text=True)
    resp = client.post(
        f"/mod/offers/{offer.id}/propose",
        data={"need": need.code, "quantity": "2", "months": "2"},
    )
    assert resp.status_code == 302
    # Nothing is held until the org accepts; the same proposal twice is refused.
    assert db.session.scalar(select(Claim.id)) is None
    resp = client.post(
        f"/mod/offers/{offer.id}/propose",
        data={"need": need.code, "quantity": "2", "months": "2"},
    )
    assert resp.status_code == 422
    note = db.session.scalar(
        select(Notification).where(Notification.kind == "offer_matched")
    )
    assert note is not None and note.user_id in {admin.id}
    _no_private(str(note.__dict__))
    # Another org cannot act on it; the moderator cannot accept it.
    proposal = db.session.scalar(select(MatchProposal))
    assert client.post(f"/org/proposals/{proposal.id}/accept").status_code in (302, 403)
    login_as(org_admin_of(create_org()))
    assert client.post(f"/org/proposals/{proposal.id}/accept").status_code == 404
    login_as(admin)
    html = client.get(f"/org/offers/{offer.id}/match").get_data(as_text=True)
    assert "民政审核员的对接建议" in html
    _no_private(html)
    resp = client.post(f"/org/proposals/{proposal.id}/accept")
    assert resp.status_code == 302
    db.session.expire_all()
    claim = db.session.scalar(select(Claim))
    assert claim.amount_fen == 8_000 and claim.months == 2
    assert db.session.get(MatchProposal, proposal.id).claim_id == claim.id
    # Accepting twice: refused, no second claim.
    client.post(f"/org/proposals/{proposal.id}/accept")
    assert len(db.session.scalars(select(Claim)).all()) == 1
