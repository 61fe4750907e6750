"""Rule 2: after any sequence of ledger movements the fund's figures equal the
ledger's sums and the available balance never goes below zero."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charitylink.errors import InsufficientFunds
from charitylink.extensions import db
from charitylink.funds import ledger
from charitylink.funds.models import Fund, LedgerEntry
from tests.funds.claim_rows import add_claim, add_need

amounts = st.integers(min_value=1, max_value=5_000_000)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("donate"), amounts),
        st.tuples(st.just("reserve"), amounts),
        st.tuples(st.just("release"), st.integers(0, 50)),
        # deliver part of a reservation: disburse that part, release the rest
        st.tuples(st.just("deliver"), st.integers(0, 50), st.floats(0, 1)),
    ),
    min_size=1,
    max_size=25,
)


def _figures(fund: Fund) -> dict[str, int]:
    db.session.refresh(fund)
    return {
        "donations_fen": fund.donations_fen,
        "disbursed_fen": fund.disbursed_fen,
        "reserved_fen": fund.reserved_fen,
        "balance_fen": fund.balance_fen,
        "available_fen": fund.available_fen,
    }


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=steps)
def test_fund_figures_always_equal_ledger_sums(ops, create_fund, create_user):
    fund = create_fund()
    user = create_user("moderator")
    need = add_need(user.id)
    open_claims: list[tuple[int, int]] = []  # (claim id, reserved amount)
    expected = {"donations": 0, "reserved": 0, "disbursed": 0}
    for op in ops:
        if op[0] == "donate":
            ledger.add_donation(fund, op[1], donor_name="捐赠人")
            expected["donations"] += op[1]
        elif op[0] == "reserve":
            claim = add_claim(fund, need, op[1])
            available = fund.available_fen
            if op[1] > available:
                before = db.session.query(LedgerEntry).count()
                with pytest.raises(InsufficientFunds):
                    ledger.reserve(fund, op[1], claim.id, user.id)
                assert db.session.query(LedgerEntry).count() == before
            else:
                ledger.reserve(fund, op[1], claim.id, user.id)
                open_claims.append((claim.id, op[1]))
                expected["reserved"] += op[1]
        elif op[0] == "release" and open_claims:
            claim_id, amount = open_claims.pop(op[1] % len(open_claims))
            ledger.release(fund.id, amount, claim_id, user.id, note="取消")
            expected["reserved"] -= amount
        elif op[0] == "deliver" and open_claims:
            claim_id, amount = open_claims.pop(op[1] % len(open_claims))
            delivered = int(amount * op[2])
            ledger.disburse(fund.id, delivered, claim_id, user.id)
            ledger.release(fund.id, amount - delivered, claim_id, user.id)
            expected["reserved"] -= amount
            expected["disbursed"] += delivered
        figures = _figures(fund)
        assert figures == ledger.sums(fund.id)
        assert figures["available_fen"] >= 0
        assert figures["donations_fen"] == expected["donations"]
        assert figures["reserved_fen"] == expected["reserved"]
        assert figures["disbursed_fen"] == expected["disbursed"]
    db.session.commit()


def test_reserve_beyond_available_changes_nothing(create_fund, create_user):
    fund = create_fund(donations_fen=10_000)
    user = create_user("moderator")
    claim = add_claim(fund, add_need(user.id), 10_001)
    with pytest.raises(InsufficientFunds) as exc:
        ledger.reserve(fund, 10_001, claim.id, user.id)
    assert "可用余额不足" in str(exc.value)
    assert fund.available_fen == 10_000
    assert ledger.sums(fund.id)["reserved_fen"] == 0


def test_ledger_entries_cannot_be_updated_or_deleted(create_fund):
    fund = create_fund(donations_fen=500)
    entry = db.session.scalars(
        db.select(LedgerEntry).where(LedgerEntry.fund_id == fund.id)
    ).one()
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(
            db.update(LedgerEntry)
            .where(LedgerEntry.id == entry.id)
            .values(amount_fen=1)
        )
        db.session.flush()
    db.session.rollback()
    assert ledger.sums(fund.id)["donations_fen"] == 500
