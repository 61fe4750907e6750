"""Random sequences of claim / cancel / deliver / confirm / expire / donate,
and of dispute / resolve (confirm, partial, reverse) / donation reversal, on a
small world (2 needs, 2 funds of which one is special): after every step the
ledger and need invariants hold (rules 1–3, the figures equal the ledger's
sums), and each refusal is the one the rules predict. Runs on SQLite and
PostgreSQL like every other test."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from charitylink.claims import services
from charitylink.claims.models import ACTIVE_CLAIM_STATUSES, Claim, ClaimStatus
from charitylink.core.timeutil import today
from charitylink.errors import (
    DomainError,
    FourEyes,
    FundPurpose,
    InsufficientFunds,
    InvalidTransition,
    NotClaimable,
    OverClaim,
)
from charitylink.extensions import db
from charitylink.funds import ledger
from charitylink.funds import services as fund_services
from charitylink.funds.models import Fund, FundKind, LedgerEntry, LedgerKind
from charitylink.needs.models import Need, NeedStatus
from tests.factories import org_admin_of


class ClaimLoop(RuleBasedStateMachine):
    factories: ClassVar[dict[str, Any]] = {}

    def __init__(self) -> None:
        super().__init__()
        f = self.factories
        org = f["create_org"]()
        self.admin = org_admin_of(org)
        self.moderator = f["create_user"]("moderator", region_prefix="22")
        # Resolves disputes: never the moderator who raised them (four eyes).
        self.second = f["create_user"]("moderator", region_prefix="22")
        self.funds = [
            f["create_fund"](org=org, donations_fen=50_000),
            f["create_fund"](
                org=org,
                donations_fen=30_000,
                kind=FundKind.SPECIAL,
                purpose_need_types=["medical"],
            ),
        ]
        self.needs = [
            f["create_need"](
                amount_fen=40_000,
                need_type="medical",
                deadline_on=today() + timedelta(days=10),
                entered_by=self.moderator,
            ),
            f["create_need"](
                amount_fen=25_000,
                need_type="education",
                deadline_on=today() + timedelta(days=40),
                entered_by=self.moderator,
            ),
        ]
        self.fund_ids = [x.id for x in self.funds]
        self.need_ids = [x.id for x in self.needs]
        self.claim_ids: list[int] = []

    # -- helpers -----------------------------------------------------------

    def _claim(self, index: int) -> Claim | None:
        if not self.claim_ids:
            return None
        return db.session.get(Claim, self.claim_ids[index % len(self.claim_ids)])

    def _attempt(self, fn: Any, *args: Any, expect: type[Exception] | None) -> Any:
        """Run one step: refused with ``expect`` (rolled back), or done when
        nothing is expected (committed; its result returned)."""
        try:
            result = fn(*args)
        except DomainError as exc:
            db.session.rollback()
            assert expect is not None and isinstance(exc, expect), (exc, expect)
            return None
        db.session.commit()
        assert expect is None, f"expected {expect.__name__}"
        return result

    def _move(self, ok: bool, fn: Any, *args: Any) -> None:
        """A status change the rules allow (``ok``) or refuse as invalid."""
        self._attempt(fn, *args, expect=None if ok else InvalidTransition)

    @staticmethod
    def _closed(need: Need) -> bool:
        """Not open to claims: not published, or past its deadline."""
        return need.status != NeedStatus.PUBLISHED or bool(
            need.deadline_on and need.deadline_on < today()
        )

    def _cash_refusal(
        self, need: Need, fund: Fund, amount: int
    ) -> type[Exception] | None:
        """What a cash claim (one-off or a pairing's whole amount) is refused
        with, in the order the rules are checked: rule 1, 3, 1, 2."""
        if self._closed(need):
            return NotClaimable
        if fund.kind == FundKind.SPECIAL and need.need_type != "medical":
            return FundPurpose
        if amount > need.amount_fen - need.claimed_fen:
            return OverClaim
        if amount > fund.available_fen:
            return InsufficientFunds
        return None

    # -- rules -------------------------------------------------------------

    @rule(
        n=st.integers(0, 1),
        k=st.integers(0, 1),
        amount=st.integers(1, 15_000),
    )
    def claim(self, n: int, k: int, amount: int) -> None:
        need = db.session.get_one(Need, self.need_ids[n])
        fund = db.session.get_one(Fund, self.fund_ids[k])
        claim = self._attempt(
            services.claim_need,
            need,
            self.admin,
            fund,
            amount,
            expect=self._cash_refusal(need, fund, amount),
        )
        if claim is not None:
            self.claim_ids.append(claim.id)

    @rule(i=st.integers(0, 50))
    def cancel(self, i: int) -> None:
        claim = self._claim(i)
        if claim is None:
            return
        self._move(
            claim.status == ClaimStatus.RESERVED,
            services.cancel_claim,
            claim,
            self.admin,
        )

    @rule(i=st.integers(0, 50), percent=st.integers(1, 100))
    def deliver(self, i: int, percent: int) -> None:
        claim = self._claim(i)
        if claim is None:
            return
        # A pairing is delivered month by month (deliver_month below).
        ok = claim.status == ClaimStatus.RESERVED and claim.months is None
        amount = max(1, claim.amount_fen * percent // 100)
        self._move(
            ok, services.deliver_claim, claim, self.admin, amount, today(), "cash"
        )

    @rule(i=st.integers(0, 50))
    def confirm(self, i: int) -> None:
        claim = self._claim(i)
        if claim is None:
            return
        ok = claim.status == ClaimStatus.DELIVERED and claim.months is None
        self._move(ok, services.confirm_claim, claim, self.moderator)

    @rule(days=st.integers(0, 45))
    def expire(self, days: int) -> None:
        services.expire_overdue(today() + timedelta(days=days))
        db.session.commit()

    @rule(k=st.integers(0, 1), amount=st.integers(1, 20_000))
    def donate(self, k: int, amount: int) -> None:
        fund = db.session.get(Fund, self.fund_ids[k])
        fund_services.record_donation(fund, self.admin, amount_fen=amount)
        db.session.commit()

    @rule(i=st.integers(0, 50), percent=st.integers(0, 100))
    def dispute(self, i: int, percent: int) -> None:
        claim = self._claim(i)
        if claim is None:
            return
        ok = claim.status == ClaimStatus.DELIVERED and claim.months is None
        received = (claim.delivered_fen or 0) * percent // 100
        self._move(
            ok,
            services.dispute_claim,
            claim,
            self.moderator,
            "家庭称未足额收到",
            received,
        )
        if ok:
            # The org answers, so a moderator may resolve at once.
            services.respond_to_dispute(
                db.session.get_one(Claim, claim.id), self.admin, "已交付"
            )
            db.session.commit()

    @rule(
        i=st.integers(0, 50),
        outcome=st.sampled_from(["confirm", "partial", "reverse"]),
        percent=st.integers(1, 100),
        same=st.booleans(),
    )
    def resolve(self, i: int, outcome: str, percent: int, same: bool) -> None:
        claim = self._claim(i)
        if claim is None:
            return
        confirmed = max(1, (claim.delivered_fen or 0) * percent // 100)
        expect: type[Exception] | None = None
        if claim.status != ClaimStatus.DISPUTED:
            expect = InvalidTransition
        elif same:
            expect = FourEyes
        self._attempt(
            services.resolve_dispute,
            claim,
            self.moderator if same else self.second,
            outcome,
            confirmed if outcome == "partial" else None,
            "核实结果",
            expect=expect,
        )

    @rule(k=st.integers(0, 1), j=st.integers(0, 50))
    def reverse_donation(self, k: int, j: int) -> None:
        fund = db.session.get_one(Fund, self.fund_ids[k])
        donations = db.session.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.fund_id == fund.id,
                LedgerEntry.kind == LedgerKind.DONATION,
            )
            .order_by(LedgerEntry.id)
        ).all()
        entry = donations[j % len(donations)]
        expect: type[Exception] | None = None
        if ledger.already_reversed(entry.id):
            expect = InvalidTransition
        elif entry.amount_fen > fund.available_fen:
            expect = InsufficientFunds
        self._attempt(
            fund_services.reverse_donation,
            fund,
            self.admin,
            entry.id,
            "登记错误",
            expect=expect,
        )

    # -- matching (供需对接): goods and service claims from an offer --------
    # Kept apart from ``claim_ids`` (the cash rules' claims): a match is
    # delivered by its sessions. Figures checked by the invariants below:
    # each offer month's use equals the units the matches hold in it, and a
    # delivered match's value equals its sessions' units × the unit value.

    def _offer(self) -> Any:
        if getattr(self, "offer_id", None) is None:
            from charitylink.offers.models import Offer

            offer = Offer(
                org_id=self.admin.org_id,
                kind="service",
                title="上门照护",
                need_types=["medical"],
                region_prefix="22",
                unit="次",
                capacity_per_month=6,
                unit_value_fen=1_000,
                start_on=today(),
            )
            db.session.add(offer)
            db.session.commit()
            self.offer_id = offer.id
            self.match_ids: list[int] = []
        from charitylink.offers.models import Offer

        return db.session.get_one(Offer, self.offer_id)

    def _match(self, index: int) -> Claim | None:
        self._offer()
        if not self.match_ids:
            return None
        return db.session.get(Claim, self.match_ids[index % len(self.match_ids)])

    @rule(n=st.integers(0, 1), quantity=st.integers(1, 8), months=st.integers(1, 2))
    def match(self, n: int, quantity: int, months: int) -> None:
        from charitylink.claims import matching
        from charitylink.errors import CapacityExceeded, ValidationFailed

        offer = self._offer()
        need = db.session.get_one(Need, self.need_ids[n])
        value = quantity * months * offer.unit_value_fen
        spans = matching.match_months(offer, months)
        left = matching.remaining_by_month(offer, spans)
        expect: type[Exception] | None = None
        if self._closed(need):
            expect = NotClaimable
        elif need.need_type != "medical" or quantity > offer.capacity_per_month:
            expect = ValidationFailed
        elif value > need.amount_fen - need.claimed_fen:
            expect = OverClaim
        elif any(left[m] < quantity for m in spans):
            expect = CapacityExceeded
        claim = self._attempt(
            matching.match, offer, need, quantity, months, self.admin, expect=expect
        )
        if claim is not None:
            self.match_ids.append(claim.id)

    @rule(i=st.integers(0, 50), quantity=st.integers(1, 5))
    def session(self, i: int, quantity: int) -> None:
        from charitylink.claims import matching
        from charitylink.errors import ValidationFailed

        claim = self._match(i)
        if claim is None:
            return
        done = matching.session_totals(claim)["quantity"]
        expect: type[Exception] | None = None
        if claim.status != ClaimStatus.RESERVED:
            expect = InvalidTransition
        elif done + quantity > (claim.quantity or 0) * (claim.months or 1):
            expect = ValidationFailed
        self._attempt(
            matching.record_session,
            claim,
            self.admin,
            today(),
            quantity,
            1.5,
            2,
            "",
            expect=expect,
        )

    @rule(i=st.integers(0, 50))
    def deliver_match(self, i: int) -> None:
        from charitylink.claims import matching
        from charitylink.errors import ValidationFailed

        claim = self._match(i)
        if claim is None:
            return
        need = db.session.get_one(Need, claim.need_id)
        expect: type[Exception] | None = None
        if claim.status != ClaimStatus.RESERVED or (claim.months or 1) > 1:
            expect = InvalidTransition
        elif not matching.sessions_of(claim):
            expect = ValidationFailed
        elif need.status not in services.DELIVERABLE_NEED_STATUSES:
            expect = InvalidTransition
        self._attempt(matching.deliver_match, claim, self.admin, expect=expect)

    @rule(i=st.integers(0, 50))
    def cancel_match(self, i: int) -> None:
        claim = self._match(i)
        if claim is None:
            return
        self._move(
            claim.status == ClaimStatus.RESERVED,
            services.cancel_claim,
            claim,
            self.admin,
        )

    @rule(i=st.integers(0, 50))
    def confirm_match(self, i: int) -> None:
        claim = self._match(i)
        if claim is None:
            return
        ok = claim.status == ClaimStatus.DELIVERED
        self._move(ok, services.confirm_claim, claim, self.moderator)

    @invariant()
    def offer_months_match_their_matches(self) -> None:
        from charitylink.claims import matching
        from charitylink.claims.models import ClaimSession
        from charitylink.offers.models import OfferMonth

        if getattr(self, "offer_id", None) is None:
            return
        db.session.expire_all()
        offer = self._offer()
        held: dict[Any, int] = {}
        for claim_id in self.match_ids:
            c = db.session.get_one(Claim, claim_id)
            units = matching.session_totals(c)["quantity"]
            if c.status == ClaimStatus.RESERVED:
                hold = c.quantity or 0
            elif c.status in (ClaimStatus.CANCELLED, ClaimStatus.EXPIRED):
                hold = 0
            else:  # delivered: what its sessions gave, valued at the unit value
                hold = units
                assert c.delivered_fen == min(
                    units * offer.unit_value_fen, c.amount_fen
                )
            if c.status == ClaimStatus.CONFIRMED:
                assert all(
                    s.confirmed_at is not None
                    for s in db.session.scalars(
                        select(ClaimSession).where(ClaimSession.claim_id == c.id)
                    )
                )
            assert c.fund_id is None and c.amount_fen == (
                (c.quantity or 0) * (c.months or 1) * offer.unit_value_fen
            )
            for month in matching.claim_months(c):
                held[month] = held.get(month, 0) + hold
        rows = db.session.scalars(
            select(OfferMonth).where(OfferMonth.offer_id == offer.id)
        ).all()
        for row in rows:
            assert 0 <= row.used <= offer.capacity_per_month
            assert row.used == held.get(row.month, 0), (row.month, row.used, held)

    # -- pairing (结对关爱): schedule, months, misses, early end -------------

    @rule(
        n=st.integers(0, 1),
        k=st.integers(0, 1),
        months=st.integers(2, 4),
        monthly=st.integers(1, 4_000),
    )
    def pair(self, n: int, k: int, months: int, monthly: int) -> None:
        from charitylink.claims import pairing

        need = db.session.get_one(Need, self.need_ids[n])
        fund = db.session.get_one(Fund, self.fund_ids[k])
        amount = months * monthly
        claim = self._attempt(
            pairing.claim_with_schedule,
            need,
            self.admin,
            fund,
            amount,
            months,
            monthly,
            expect=self._cash_refusal(need, fund, amount),
        )
        if claim is not None:
            self.claim_ids.append(claim.id)

    def _months(self, claim: Claim) -> list[Any]:
        from charitylink.claims import pairing

        return pairing.instalments(claim)

    @rule(i=st.integers(0, 50), m=st.integers(1, 4), percent=st.integers(1, 100))
    def deliver_month(self, i: int, m: int, percent: int) -> None:
        from charitylink.claims import pairing

        claim = self._claim(i)
        if claim is None or claim.months is None:
            return
        rows = self._months(claim)
        inst = next((r for r in rows if r.n == m), None)
        first_open = pairing.deliverable_n(rows)
        need = db.session.get_one(Need, claim.need_id)
        ok = (
            inst is not None
            and claim.status == ClaimStatus.RESERVED
            and claim.ended_at is None
            and first_open == m
            and need.status in services.DELIVERABLE_NEED_STATUSES
        )
        amount = max(1, (claim.monthly_amount_fen or 1) * percent // 100)
        self._move(
            ok,
            lambda: pairing.deliver_instalment(
                claim, m, self.admin, today(), delivered_fen=amount
            ),
        )

    @rule(i=st.integers(0, 50), m=st.integers(1, 4))
    def confirm_month(self, i: int, m: int) -> None:
        from charitylink.claims import pairing

        claim = self._claim(i)
        if claim is None or claim.months is None:
            return
        inst = next((r for r in self._months(claim) if r.n == m), None)
        ok = inst is not None and inst.status == "delivered"
        self._move(ok, pairing.confirm_instalment, claim, m, self.moderator)

    @rule(days=st.integers(0, 80))
    def miss(self, days: int) -> None:
        from charitylink.claims import pairing

        pairing.check_instalments(today() + timedelta(days=days))
        db.session.commit()

    @rule(i=st.integers(0, 50), by_moderator=st.booleans())
    def end(self, i: int, by_moderator: bool) -> None:
        from charitylink.claims import pairing

        claim = self._claim(i)
        if claim is None or claim.months is None:
            return
        ok = claim.status == ClaimStatus.RESERVED and claim.ended_at is None
        actor = self.moderator if by_moderator else self.admin
        self._move(ok, pairing.end_pairing, claim, actor, "提前结束")

    @invariant()
    def pairings_match_their_months(self) -> None:
        from charitylink.claims import pairing

        for claim_id in self.claim_ids:
            claim = db.session.get_one(Claim, claim_id)
            if claim.months is None:
                continue
            rows = self._months(claim)
            assert len(rows) == claim.months
            assert (claim.delivered_fen or 0) == sum(r.delivered_fen or 0 for r in rows)
            still_open = [r for r in rows if r.status in pairing.OPEN]
            if claim.status == ClaimStatus.RESERVED:
                assert still_open
            else:
                assert not still_open
            if claim.status == ClaimStatus.CONFIRMED:
                assert all(r.status in ("confirmed", "cancelled") for r in rows)

    # -- invariants --------------------------------------------------------

    @invariant()
    def needs_match_their_claims(self) -> None:
        db.session.expire_all()
        for need_id in self.need_ids:
            need = db.session.get(Need, need_id)
            claims = db.session.scalars(
                select(Claim).where(Claim.need_id == need_id)
            ).all()
            active = [c for c in claims if c.status in ACTIVE_CLAIM_STATUSES]
            reserved = [c for c in claims if c.status == ClaimStatus.RESERVED]
            delivered = [
                c
                for c in claims
                if c.status
                in (ClaimStatus.DELIVERED, ClaimStatus.CONFIRMED, ClaimStatus.DISPUTED)
            ]
            # Rule 1.
            assert need.claimed_fen == sum(c.effective_fen for c in active)
            assert need.claimed_fen <= need.amount_fen
            # A running pairing has paid its delivered months already.
            assert need.delivered_fen == sum(
                c.delivered_fen or 0 for c in delivered + reserved
            )
            for c in reserved:
                assert c.delivered_fen is None or c.months is not None
            status = NeedStatus(need.status)
            if status == NeedStatus.PUBLISHED:
                assert need.claimed_fen < need.amount_fen
            elif status == NeedStatus.FULLY_CLAIMED:
                assert need.claimed_fen == need.amount_fen and reserved
            elif status == NeedStatus.DELIVERED:
                assert need.claimed_fen == need.amount_fen and not reserved
                assert any(
                    c.status in (ClaimStatus.DELIVERED, ClaimStatus.DISPUTED)
                    for c in active
                )
            elif status == NeedStatus.CONFIRMED:
                assert all(c.status == ClaimStatus.CONFIRMED for c in active)
            else:
                assert status == NeedStatus.EXPIRED and not reserved

    @invariant()
    def funds_match_their_ledger(self) -> None:
        for fund_id in self.fund_ids:
            fund = db.session.get(Fund, fund_id)
            sums = ledger.sums(fund_id)
            # Rule 2.
            assert sums["donations_fen"] == fund.donations_fen
            assert sums["reserved_fen"] == fund.reserved_fen
            assert sums["disbursed_fen"] == fund.disbursed_fen
            assert sums["balance_fen"] == fund.balance_fen
            assert sums["available_fen"] == fund.available_fen
            assert fund.available_fen >= 0 and fund.balance_fen >= 0
            claims = db.session.scalars(
                select(Claim).where(Claim.fund_id == fund_id)
            ).all()
            assert fund.reserved_fen == sum(
                c.amount_fen - (c.delivered_fen or 0)
                for c in claims
                if c.status == ClaimStatus.RESERVED
            )
            assert fund.disbursed_fen == sum(
                c.delivered_fen or 0
                for c in claims
                if c.status
                in (
                    ClaimStatus.RESERVED,
                    ClaimStatus.DELIVERED,
                    ClaimStatus.CONFIRMED,
                    ClaimStatus.DISPUTED,
                )
            )
            # Reversed deliveries went back to the balance, once each.
            reversed_total = sum(c.reversed_fen or 0 for c in claims)
            payments_back = db.session.scalars(
                select(LedgerEntry.amount_fen).where(
                    LedgerEntry.fund_id == fund_id,
                    LedgerEntry.kind == LedgerKind.REVERSAL,
                    LedgerEntry.claim_id.is_not(None),
                )
            ).all()
            assert sum(payments_back) == reversed_total
            if fund.kind == FundKind.SPECIAL:  # rule 3
                for c in claims:
                    assert db.session.get(Need, c.need_id).need_type == "medical"


def test_claim_loop_keeps_every_invariant(
    app, create_org, create_fund, create_need, create_user
):  # type: ignore[no-untyped-def]
    ClaimLoop.factories = {
        "create_org": create_org,
        "create_fund": create_fund,
        "create_need": create_need,
        "create_user": create_user,
    }
    run_state_machine_as_test(
        ClaimLoop,
        settings=settings(
            max_examples=20,
            stateful_step_count=20,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
