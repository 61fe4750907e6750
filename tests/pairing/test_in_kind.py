"""Help in kind in the reports: sessions, hours, goods by valuation and
pairings by region and month, suppressed below 5 households on /transparency,
/api/v1/stats and the dashboard; the dashboard's "met by" counts."""

from __future__ import annotations

from datetime import timedelta

from charitylink.claims import pairing
from charitylink.claims.models import Claim, ClaimSession, ClaimStatus
from charitylink.core.timeutil import today
from charitylink.extensions import db
from charitylink.reports import in_kind
from tests.factories import org_admin_of


def _service_claim(need, org, minutes: int) -> Claim:  # type: ignore[no-untyped-def]
    claim = Claim(
        need_id=need.id,
        org_id=org.id,
        amount_fen=5_000,
        kind="service",
        quantity=4,
        status=ClaimStatus.DELIVERED,
        delivered_fen=5_000,
        delivered_on=today(),
        due_on=today() + timedelta(days=30),
    )
    db.session.add(claim)
    db.session.flush()
    db.session.add(
        ClaimSession(claim_id=claim.id, held_on=today(), quantity=4, minutes=minutes)
    )
    return claim


def test_in_kind_figures_suppressed_below_five_households(  # type: ignore[no-untyped-def]
    client, login_as, create_org, create_fund, create_need, create_user
):
    org = create_org()
    fund = create_fund(org=org, donations_fen=1_000_000)
    admin = org_admin_of(org)
    moderator = create_user("moderator", region_prefix="22")
    needs = [create_need(amount_fen=50_000, entered_by=moderator) for _ in range(6)]
    for need in needs[:5]:
        _service_claim(need, org, 90)
    pairing.claim_with_schedule(needs[5], admin, fund, 30_000, 3, 10_000)
    db.session.commit()
    fig = in_kind.figures()
    t = fig["totals"]
    assert t["sessions"] == 5 and t["hours"] == 7.5 and t["households"] == 6
    assert t["active_pairings"] == 1 and t["households_in_pairing"] == 1
    # One city of 6 households: shown; a single month cell of 6: shown.
    assert fig["by_region"][0]["region_code"] == "2201"
    stats = client.get("/api/v1/stats").get_json()
    assert stats["in_kind"]["totals"]["sessions"] == 5
    assert stats["in_kind"]["totals"]["goods_value"] == 0
    page = client.get("/transparency").get_data(as_text=True)
    assert 'id="in-kind"' in page and "7.5" in page
    login_as(moderator)
    dash = client.get("/mod/reports").get_data(as_text=True)
    assert 'id="met-by"' in dash and 'id="in-kind"' in dash


def test_a_figure_of_fewer_than_five_households_is_hidden(  # type: ignore[no-untyped-def]
    create_org, create_need, create_user
):
    org = create_org()
    moderator = create_user("moderator", region_prefix="22")
    for _ in range(2):
        _service_claim(create_need(amount_fen=50_000, entered_by=moderator), org, 60)
    db.session.commit()
    fig = in_kind.figures()
    assert fig["totals"]["suppressed"] == "primary"
    assert fig["totals"]["sessions"] is None
    assert all(r["sessions"] is None for r in fig["by_region"] + fig["by_month"])


def test_met_by_counts_needs_by_kind(create_org, create_need, create_user):  # type: ignore[no-untyped-def]
    org = create_org()
    moderator = create_user("moderator", region_prefix="22")
    need = create_need(amount_fen=50_000, entered_by=moderator, status="delivered")
    _service_claim(need, org, 30)
    db.session.commit()
    assert in_kind.met_by("22") == {"cash": 0, "goods": 0, "service": 1, "mix": 0}
