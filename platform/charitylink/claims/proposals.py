"""A moderator's proposed match (供需对接建议): a moderator of the need's
region suggests that an org's offer serve a need; the offering org accepts
it on its match page (the claim is created then, by the org's staff, through
``claims.matching.match``) or declines it. No units or value are held while
a proposal waits: the guarded writes happen at acceptance."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ForeignKey, Index, String, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Mapped, mapped_column, relationship

from charitylink.accounts.models import User
from charitylink.core import audit
from charitylink.core.i18n import N_, _
from charitylink.core.permissions import require_moderator, require_org_can_act
from charitylink.core.timeutil import utcnow
from charitylink.errors import Conflict, InvalidTransition, NotClaimable
from charitylink.extensions import Model, db


class ProposalStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


PROPOSAL_STATUS_LABELS = {
    ProposalStatus.PENDING: N_("待机构确认"),
    ProposalStatus.ACCEPTED: N_("已接受"),
    ProposalStatus.DECLINED: N_("已婉拒"),
}


class MatchProposal(Model):
    __tablename__ = "match_proposals"
    __audit_type__ = "match_proposal"
    __table_args__ = (Index("ix_match_proposals_offer_status", "offer_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"))
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), index=True)
    quantity: Mapped[int]
    months: Mapped[int]
    status: Mapped[ProposalStatus] = mapped_column(
        String(12), default=ProposalStatus.PENDING
    )
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"))

    offer = relationship("Offer", lazy="joined")
    need = relationship("Need", lazy="joined")

    @property
    def status_label(self) -> str:
        return _(PROPOSAL_STATUS_LABELS.get(ProposalStatus(self.status), self.status))


def _audit(
    actor: User, action: str, proposal: MatchProposal, old: Any, new: Any
) -> None:
    audit.record(
        actor,
        action,
        proposal,
        old,
        new,
        f"{proposal.need.code} ← {proposal.offer.title}，每月 {proposal.quantity}"
        f"{proposal.offer.unit} × {proposal.months} 个月",
        region_code=proposal.need.region_code,
        org_id=proposal.offer.org_id,
    )


def propose(
    offer: Any, need: Any, quantity: Any, months: Any, moderator: User
) -> MatchProposal:
    """A moderator of the need's region proposes the match; the offering
    org's staff are told (``offer_matched``)."""
    from charitylink.claims import matching
    from charitylink.errors import ValidationFailed
    from charitylink.needs.models import NeedStatus
    from charitylink.notifications import events

    require_moderator(moderator, need.region_code)
    if need.status != NeedStatus.PUBLISHED:
        raise NotClaimable(
            _("需求当前状态为「%(s)s」，不能对接。", s=need.status_label)
        )
    problem = matching.offer_refusal(offer, need)
    if problem is not None:
        raise ValidationFailed(problem, {"need": problem})
    matching.check_match(offer, need, quantity, months)
    waiting = db.session.scalar(
        select(MatchProposal.id).where(
            MatchProposal.offer_id == offer.id,
            MatchProposal.need_id == need.id,
            MatchProposal.status == ProposalStatus.PENDING,
        )
    )
    if waiting is not None:
        raise Conflict(_("已向该机构建议过这项对接，正在等待机构确认。"))
    proposal = MatchProposal(
        offer_id=offer.id,
        need_id=need.id,
        quantity=quantity,
        months=months,
        proposed_by_id=moderator.id,
    )
    db.session.add(proposal)
    db.session.flush()
    _audit(moderator, "claim.match_propose", proposal, None, ProposalStatus.PENDING)
    db.session.flush()
    events.offer_matched(proposal)
    return proposal


def _decide(proposal: MatchProposal, user: User, new: ProposalStatus) -> None:
    result = cast(
        CursorResult[Any],
        db.session.execute(
            update(MatchProposal)
            .where(
                MatchProposal.id == proposal.id,
                MatchProposal.status == ProposalStatus.PENDING,
            )
            .values(status=new, decided_by_id=user.id, decided_at=utcnow())
            .execution_options(synchronize_session=False)
        ),
    )
    db.session.refresh(proposal)
    if result.rowcount != 1:
        raise InvalidTransition(_("这项对接建议已处理，请刷新页面。"))


def accept(proposal: MatchProposal, user: User) -> Any:
    """The offering org's staff accept: the match is made now, under every
    rule a match of their own meets."""
    from charitylink.claims import matching

    require_org_can_act(user, proposal.offer.org_id)
    _decide(proposal, user, ProposalStatus.ACCEPTED)
    claim = matching.match(
        proposal.offer,
        proposal.need,
        proposal.quantity,
        proposal.months,
        user,
        proposal_id=proposal.id,
    )
    proposal.claim_id = claim.id
    _audit(
        user,
        "claim.match_accept",
        proposal,
        ProposalStatus.PENDING,
        ProposalStatus.ACCEPTED,
    )
    db.session.flush()
    return claim


def decline(proposal: MatchProposal, user: User) -> MatchProposal:
    require_org_can_act(user, proposal.offer.org_id)
    _decide(proposal, user, ProposalStatus.DECLINED)
    _audit(
        user,
        "claim.match_decline",
        proposal,
        ProposalStatus.PENDING,
        ProposalStatus.DECLINED,
    )
    db.session.flush()
    return proposal


def pending_for(offer_id: int) -> list[MatchProposal]:
    return list(
        db.session.scalars(
            select(MatchProposal)
            .where(
                MatchProposal.offer_id == offer_id,
                MatchProposal.status == ProposalStatus.PENDING,
            )
            .order_by(MatchProposal.id)
        )
    )
