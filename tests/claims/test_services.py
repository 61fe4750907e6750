"""Claim services: rules 1–4, every transition allowed and refused, with the
ledger rows and audit rows each one writes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from charitylink.claims import services
from charitylink.claims.models import Claim, ClaimStatus
from charitylink.core.audit import AuditEvent
from charitylink.core.timeutil import today
from charitylink.errors import (
    FundPurpose,
    InsufficientFunds,
    InvalidTransition,
    NotAllowed,
    NotClaimable,
    OverClaim,
    ValidationFailed,
)
from charitylink.extensions import db
from charitylink.funds import ledger
from charitylink.funds.models import FundKind
from charitylink.needs.models import NeedStatus
from charitylink.orgs.models import OrgStatus
from tests.claims.conftest import audit_actions, ledger_rows


def _claim(world, need, amount, fund=None, user=None, project=None):  # type: ignore[no-untyped-def]
    claim = services.claim_need(
        need, user or world["member"], fund or world["fund"], amount, project
    )
    db.session.commit()
    return claim


def _refused(exc_type, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    with pytest.raises(exc_type) as info:
        fn(*args, **kwargs)
    db.session.rollback()
    return info.value


def _reconciled(fund) -> None:  # type: ignore[no-untyped-def]
    db.session.refresh(fund)
    sums = ledger.sums(fund.id)
    assert sums["reserved_fen"] == fund.reserved_fen
    assert sums["disbursed_fen"] == fund.disbursed_fen
    assert sums["available_fen"] == fund.available_fen >= 0


def test_pledge_reserves_part_and_claim_takes_the_rest(org_world, create_need, app):
    need = create_need(amount_fen=100_000)
    pledge = _claim(org_world, need, 30_000)
    assert pledge.status == ClaimStatus.RESERVED
    assert pledge.due_on == today() + timedelta(days=app.config["CLAIM_DUE_DAYS"])
    assert need.claimed_fen == 30_000 and need.status == NeedStatus.PUBLISHED
    full = _claim(org_world, need, 70_000)
    assert need.status == NeedStatus.FULLY_CLAIMED
    assert need.fully_claimed_at is not None
    assert ledger_rows(org_world["fund"].id)[1:] == [
        ("reserve", 30_000, pledge.id),
        ("reserve", 70_000, full.id),
    ]
    reasons = db.session.scalars(
        select(AuditEvent.reason)
        .where(AuditEvent.action == "claim.create")
        .order_by(AuditEvent.id)
    ).all()
    assert reasons == ["认捐", "认领"]
    assert audit_actions("need", need.code)[-1] == "need.fully_claimed"
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.object_id == str(full.id))
    )
    assert event.org_id == org_world["org"].id
    assert event.region_code == need.region_code
    _reconciled(org_world["fund"])


def test_over_claim_says_how_much_is_left_and_changes_nothing(org_world, create_need):
    need = create_need(amount_fen=100_000)
    _claim(org_world, need, 80_000)
    exc = _refused(
        OverClaim,
        services.claim_need,
        need,
        org_world["member"],
        org_world["fund"],
        30_000,
    )
    assert "仅剩 ¥200.00" in exc.message
    db.session.refresh(need)
    assert need.claimed_fen == 80_000
    assert db.session.scalar(select(func.count(Claim.id))) == 1


def test_insufficient_funds_rolls_back_the_need_increment(
    org_world, create_need, create_fund
):
    poor = create_fund(org=org_world["org"], donations_fen=5_000)
    need = create_need(amount_fen=100_000)
    exc = _refused(
        InsufficientFunds,
        services.claim_need,
        need,
        org_world["member"],
        poor,
        6_000,
    )
    assert "可用余额不足" in exc.message
    db.session.refresh(need)
    assert need.claimed_fen == 0
    assert ledger_rows(poor.id) == [("donation", 5_000, None)]


def test_special_fund_pays_only_for_its_need_types_and_region(
    org_world, create_need, create_fund
):
    special = create_fund(
        org=org_world["org"],
        donations_fen=1_000_000,
        kind=FundKind.SPECIAL,
        purpose_need_types=["education"],
        purpose_region_prefix="2201",
    )
    medical = create_need(need_type="medical")
    exc = _refused(
        FundPurpose, services.claim_need, medical, org_world["member"], special, 100
    )
    assert "教育" in exc.message
    elsewhere = create_need(need_type="education", region_code="220202")
    _refused(
        FundPurpose, services.claim_need, elsewhere, org_world["member"], special, 100
    )
    fitting = create_need(need_type="education", region_code="220102")
    assert _claim(org_world, fitting, 100, fund=special).status == "reserved"


@pytest.mark.parametrize("status", [OrgStatus.PENDING, OrgStatus.SUSPENDED])
def test_only_verified_orgs_claim(org_world, create_need, status):
    need = create_need()
    org_world["org"].status = status
    db.session.commit()
    exc = _refused(
        NotAllowed, services.claim_need, need, org_world["member"], org_world["fund"], 1
    )
    assert "认证" in exc.message


@pytest.mark.parametrize(
    "status", ["draft", "submitted", "withdrawn", "expired", "fully_claimed"]
)
def test_only_published_needs_are_claimable(org_world, create_need, status):
    need = create_need(status=status)
    _refused(
        NotClaimable,
        services.claim_need,
        need,
        org_world["member"],
        org_world["fund"],
        100,
    )


def test_nobody_claims_after_the_deadline(org_world, create_need):
    need = create_need()
    need.deadline_on = today() - timedelta(days=1)
    db.session.commit()
    exc = _refused(
        NotClaimable,
        services.claim_need,
        need,
        org_world["member"],
        org_world["fund"],
        100,
    )
    assert "截止" in exc.message
    need.deadline_on = today()  # the deadline day itself still counts
    db.session.commit()
    assert _claim(org_world, need, 100).status == "reserved"


def test_staff_of_another_org_cannot_use_the_fund(org_world, create_need, create_org):
    other = create_org()
    from tests.factories import org_admin_of

    _refused(
        NotAllowed,
        services.claim_need,
        create_need(),
        org_admin_of(other),
        org_world["fund"],
        100,
    )


def test_project_must_be_the_orgs_and_published(
    org_world, create_need, create_project, create_fund
):
    need = create_need()
    foreign = create_project()
    draft = create_project(fund=org_world["fund"], status="draft")
    for project in (foreign, draft):
        exc = _refused(
            ValidationFailed,
            services.claim_need,
            need,
            org_world["member"],
            org_world["fund"],
            100,
            project,
        )
        assert "project_id" in exc.fields
    ok = create_project(fund=org_world["fund"])
    assert _claim(org_world, need, 100, project=ok).project_id == ok.id


def test_partial_delivery_disburses_releases_and_reopens_the_need(
    org_world, create_need
):
    need = create_need(amount_fen=100_000)
    claim = _claim(org_world, need, 100_000)
    assert need.status == NeedStatus.FULLY_CLAIMED
    services.deliver_claim(
        claim, org_world["member"], 60_000, today(), "goods", "米面油"
    )
    db.session.commit()
    assert claim.status == ClaimStatus.DELIVERED
    assert (claim.delivered_fen, claim.method, claim.note) == (
        60_000,
        "goods",
        "米面油",
    )
    assert need.claimed_fen == 60_000 and need.delivered_fen == 60_000
    assert need.status == NeedStatus.PUBLISHED
    assert ledger_rows(org_world["fund"].id)[-2:] == [
        ("disburse", 60_000, claim.id),
        ("release", 40_000, claim.id),
    ]
    assert audit_actions("claim", claim.id) == ["claim.create", "claim.deliver"]
    assert audit_actions("need", need.code)[-1] == "need.reopen"
    _reconciled(org_world["fund"])


def test_need_is_delivered_then_confirmed_when_all_claims_are(
    org_world, create_need, create_user
):
    need = create_need(amount_fen=100_000, region_code="220102")
    a = _claim(org_world, need, 40_000)
    b = _claim(org_world, need, 60_000)
    services.deliver_claim(a, org_world["member"], 40_000, today(), "cash")
    db.session.commit()
    assert need.status == NeedStatus.FULLY_CLAIMED  # b still reserved
    services.deliver_claim(b, org_world["admin"], 60_000, today(), "service")
    db.session.commit()
    assert need.status == NeedStatus.DELIVERED
    moderator = create_user("moderator", region_prefix="2201")
    services.confirm_claim(a, moderator)
    db.session.commit()
    assert a.status == ClaimStatus.CONFIRMED and a.confirmed_by_id == moderator.id
    assert need.status == NeedStatus.DELIVERED
    services.confirm_claim(b, moderator)
    db.session.commit()
    assert need.status == NeedStatus.CONFIRMED
    assert audit_actions("need", need.code)[-2:] == ["need.delivered", "need.confirm"]
    _reconciled(org_world["fund"])


def test_refused_transitions(org_world, create_need, create_user):
    need = create_need(amount_fen=100_000)
    claim = _claim(org_world, need, 50_000)
    moderator = create_user("moderator", region_prefix="22")
    # reserved → confirmed is not a transition
    _refused(InvalidTransition, services.confirm_claim, claim, moderator)
    exc = _refused(
        ValidationFailed,
        services.deliver_claim,
        claim,
        org_world["member"],
        50_001,
        today(),
        "cash",
    )
    assert "delivered_amount" in exc.fields
    services.deliver_claim(claim, org_world["member"], 50_000, today(), "cash")
    db.session.commit()
    _refused(InvalidTransition, services.cancel_claim, claim, org_world["member"])
    _refused(
        InvalidTransition,
        services.deliver_claim,
        claim,
        org_world["member"],
        1,
        today(),
        "cash",
    )
    services.confirm_claim(claim, moderator)
    db.session.commit()
    _refused(InvalidTransition, services.confirm_claim, claim, moderator)
    other = _claim(org_world, need, 10_000)
    services.cancel_claim(other, org_world["admin"], "资金调整")
    db.session.commit()
    assert other.status == ClaimStatus.CANCELLED and other.closed_at is not None
    _refused(InvalidTransition, services.cancel_claim, other, org_world["admin"])
    _refused(
        InvalidTransition,
        services.deliver_claim,
        other,
        org_world["member"],
        1,
        today(),
        "cash",
    )
    assert audit_actions("claim", other.id) == ["claim.create", "claim.cancel"]
    assert need.claimed_fen == 50_000
    _reconciled(org_world["fund"])


def test_confirm_needs_a_moderator_of_the_region(org_world, create_need, create_user):
    need = create_need(region_code="220102")
    claim = _claim(org_world, need, 1_000)
    services.deliver_claim(claim, org_world["member"], 1_000, today(), "cash")
    db.session.commit()
    for user in (create_user("moderator", region_prefix="2202"), org_world["admin"]):
        _refused(NotAllowed, services.confirm_claim, claim, user)


def test_cancel_by_another_org_is_refused(org_world, create_need, create_org):
    from tests.factories import org_admin_of

    claim = _claim(org_world, create_need(), 1_000)
    _refused(NotAllowed, services.cancel_claim, claim, org_admin_of(create_org()))


def test_cancel_reopens_a_fully_claimed_need(org_world, create_need):
    need = create_need(amount_fen=10_000)
    claim = _claim(org_world, need, 10_000)
    services.cancel_claim(claim, org_world["member"])
    db.session.commit()
    assert need.status == NeedStatus.PUBLISHED and need.claimed_fen == 0
    assert ledger_rows(org_world["fund"].id)[-1] == ("release", 10_000, claim.id)
    _reconciled(org_world["fund"])


def test_expire_overdue_claims_and_needs_and_twice_is_the_same(
    org_world, create_need, app
):
    due_days = app.config["CLAIM_DUE_DAYS"]
    late_need = create_need(amount_fen=10_000)
    late_need.deadline_on = today() + timedelta(days=due_days + 30)
    short_need = create_need(amount_fen=10_000)
    short_need.deadline_on = today() + timedelta(days=3)
    db.session.commit()
    overdue = _claim(org_world, late_need, 10_000)  # need fully claimed
    open_pledge = _claim(org_world, short_need, 4_000)
    delivered = _claim(org_world, short_need, 1_000)
    services.deliver_claim(delivered, org_world["member"], 1_000, today(), "cash")
    db.session.commit()

    later = today() + timedelta(days=due_days + 1)
    counts = services.expire_overdue(later)
    db.session.commit()
    assert counts == {"claims": 2, "needs": 1}
    db.session.expire_all()
    assert overdue.status == ClaimStatus.EXPIRED
    assert late_need.status == NeedStatus.PUBLISHED  # reopened, deadline not passed
    assert late_need.claimed_fen == 0
    assert open_pledge.status == ClaimStatus.EXPIRED
    assert delivered.status == ClaimStatus.DELIVERED
    assert short_need.status == NeedStatus.EXPIRED
    assert short_need.claimed_fen == 1_000 and short_need.delivered_fen == 1_000
    assert audit_actions("claim", overdue.id)[-1] == "claim.expire"
    assert audit_actions("need", short_need.code)[-1] == "need.expire"

    rows = len(ledger_rows(org_world["fund"].id))
    events = db.session.scalar(select(func.count(AuditEvent.id)))
    assert services.expire_overdue(later) == {"claims": 0, "needs": 0}
    db.session.commit()
    assert len(ledger_rows(org_world["fund"].id)) == rows
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events
    _reconciled(org_world["fund"])


def test_expire_cli_prints_counts_and_is_idempotent(org_world, create_need, runner):
    need = create_need(amount_fen=10_000)
    _claim(org_world, need, 5_000)
    later = (today() + timedelta(days=200)).isoformat()
    first = runner.invoke(args=["expire", "--today", later])
    assert first.exit_code == 0, first.output
    assert "已过期认领 1 条；已过期需求 1 条" in first.output
    second = runner.invoke(args=["expire", "--today", later])
    assert "已过期认领 0 条；已过期需求 0 条" in second.output
    bad = runner.invoke(args=["expire", "--today", "明天"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output


def test_expiring_a_need_recoarsens_its_county(org_world, create_need):
    needs = [create_need(region_code="220103") for _ in range(5)]
    db.session.expire_all()
    assert {n.public_region_code for n in needs} == {"220103"}
    needs[0].deadline_on = today() - timedelta(days=1)
    db.session.commit()
    assert services.expire_overdue() == {"claims": 0, "needs": 1}
    db.session.commit()
    db.session.expire_all()
    assert needs[0].status == NeedStatus.EXPIRED
    # Four public needs left in the county: shown as the city from now on.
    assert {n.public_region_code for n in needs[1:]} == {"220100"}


def _withdraw_behind_the_sessions_back(need) -> None:  # type: ignore[no-untyped-def]
    """The need becomes withdrawn in another connection while our session
    still holds it as published (as a withdrawal racing a claim left it)."""
    from sqlalchemy import update

    from charitylink.needs.models import Need

    with db.engine.begin() as conn:
        conn.execute(
            update(Need).where(Need.id == need.id).values(status=NeedStatus.WITHDRAWN)
        )


@pytest.mark.parametrize("seen_by_session", [True, False])
def test_a_withdrawn_need_pays_nothing_out(org_world, create_need, seen_by_session):
    """A reserved claim on a withdrawn need is never delivered: whether the
    need's status is known before the delivery starts (the early check) or
    changes under it (the need's status is in the delivery's UPDATE)."""
    need = create_need(amount_fen=100_000)
    claim = _claim(org_world, need, 50_000)
    _withdraw_behind_the_sessions_back(need)
    if seen_by_session:
        db.session.expire_all()
    else:
        assert claim.need.status == NeedStatus.PUBLISHED  # the stale copy
    exc = _refused(
        InvalidTransition,
        services.deliver_claim,
        claim,
        org_world["member"],
        50_000,
        today(),
        "cash",
    )
    assert "已撤回" in exc.message and "不能交付" in exc.message
    db.session.expire_all()
    assert claim.status == ClaimStatus.RESERVED and claim.need.delivered_fen == 0
    kinds = [kind for kind, _amount, _claim_id in ledger_rows(org_world["fund"].id)]
    assert "disburse" not in kinds
    assert "claim.deliver" not in audit_actions("claim", claim.id)
    _reconciled(org_world["fund"])
