"""Funds: creation rules, donations, purpose checks (rule 3), audit rows."""

from __future__ import annotations

import pytest

from charitylink.core.audit import AuditEvent
from charitylink.core.money import MAX_AMOUNT_FEN
from charitylink.errors import FundPurpose, NotAllowed, ValidationFailed
from charitylink.extensions import db
from charitylink.funds import ledger, services
from charitylink.funds.models import FundKind
from tests.factories import org_admin_of


def _audit(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == action))
    )


def test_named_fund_needs_its_naming_donor(create_org):
    org = create_org()
    admin = org_admin_of(org)
    with pytest.raises(ValidationFailed) as exc:
        services.create_fund(org, admin, name="爱心基金", kind="named", donor_name=" ")
    assert "冠名方" in exc.value.fields["donor_name"]
    fund = services.create_fund(
        org, admin, name="某某爱心冠名基金", kind="named", donor_name="某某集团"
    )
    db.session.commit()
    assert fund.donor_name == "某某集团" and fund.purpose_need_types is None
    (event,) = _audit("fund.create")
    assert event.object_id == str(fund.id) and event.org_id == org.id
    assert event.actor_id == admin.id and event.region_code == org.region_code


def test_special_fund_needs_a_purpose(create_org):
    org = create_org()
    admin = org_admin_of(org)
    with pytest.raises(ValidationFailed) as exc:
        services.create_fund(org, admin, name="医疗专项", kind="special")
    assert "需求类型" in exc.value.fields["need_types"]
    with pytest.raises(ValidationFailed) as exc:
        services.create_fund(
            org, admin, name="医疗专项", kind="special", need_types=["teeth"]
        )
    assert "未知的需求类型" in exc.value.fields["need_types"]
    with pytest.raises(ValidationFailed) as exc:
        services.create_fund(
            org,
            admin,
            name="医疗专项",
            kind="special",
            need_types=["medical"],
            region_prefix="2x",
        )
    assert "region_prefix" in exc.value.fields
    fund = services.create_fund(
        org,
        admin,
        name="医疗专项",
        kind="special",
        need_types=["medical", "medical", "disability"],
        region_prefix="2201",
    )
    assert fund.purpose_need_types == ["medical", "disability"]
    assert fund.purpose_region_prefix == "2201" and fund.donor_name is None


def test_unknown_kind_and_unhashable_values_are_refused(create_org):
    org = create_org()
    admin = org_admin_of(org)
    with pytest.raises(ValidationFailed) as exc:
        services.create_fund(org, admin, name="x", kind="loan")
    assert "kind" in exc.value.fields
    with pytest.raises(ValidationFailed):
        services.create_fund(
            org, admin, name="x", kind="special", need_types=[["medical"]]
        )


def test_only_the_org_admin_of_a_verified_org_creates_funds(create_org, create_user):
    org = create_org()
    member = create_user("org_member", org=org)
    with pytest.raises(NotAllowed):
        services.create_fund(org, member, name="x", kind="named", donor_name="y")
    other = create_org()
    with pytest.raises(NotAllowed):
        services.create_fund(
            org, org_admin_of(other), name="x", kind="named", donor_name="y"
        )
    pending = create_org(status="pending")
    with pytest.raises(NotAllowed, match="认证"):
        services.create_fund(
            pending, org_admin_of(pending), name="x", kind="named", donor_name="y"
        )
    assert _audit("fund.create") == []


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (0, "大于零"),
        (-100, "大于零"),
        (12.5, "整数"),
        ("12", "整数"),
        (True, "整数"),
        (None, "整数"),
        (MAX_AMOUNT_FEN + 1, "过大"),
    ],
)
def test_bad_donation_amounts_are_refused(create_fund, amount, message):
    fund = create_fund()
    admin = org_admin_of(fund.org)
    with pytest.raises(ValidationFailed) as exc:
        services.record_donation(fund, admin, amount_fen=amount, donor_name="张先生")
    assert message in exc.value.fields["amount"]
    assert ledger.sums(fund.id)["donations_fen"] == 0 and fund.donations_fen == 0


def test_donation_updates_figures_and_is_audited(create_fund):
    fund = create_fund()
    admin = org_admin_of(fund.org)
    services.record_donation(fund, admin, amount_fen=123_450, donor_name="张先生")
    entry = services.record_donation(fund, admin, amount_fen=50, reference="HD-1")
    db.session.commit()
    assert entry.donor_name is None and entry.reference == "HD-1"
    assert services.figures(fund) == {
        "donations_total": 123_500,
        "disbursed": 0,
        "reserved": 0,
        "balance": 123_500,
        "available": 123_500,
    }
    assert ledger.sums(fund.id)["donations_fen"] == 123_500
    assert [e.reason for e in _audit("fund.donation")] == ["+123450", "+50"]


def test_member_cannot_record_donations(create_fund, create_user):
    fund = create_fund()
    member = create_user("org_member", org=fund.org)
    with pytest.raises(NotAllowed):
        services.record_donation(fund, member, amount_fen=100)
    assert fund.donations_fen == 0


def test_check_purpose_of_special_fund(create_fund):
    fund = create_fund(
        kind=FundKind.SPECIAL,
        purpose_need_types=["medical"],
        purpose_region_prefix="2201",
    )
    services.check_purpose(fund, "medical", "220102")
    with pytest.raises(FundPurpose, match="医疗"):
        services.check_purpose(fund, "education", "220102")
    with pytest.raises(FundPurpose, match="2201"):
        services.check_purpose(fund, "medical", "620102")
    named = create_fund()
    services.check_purpose(named, "education", "620102")  # named funds pay any need
