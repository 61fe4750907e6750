"""The claim-abandon throttle: an org whose recent claims are mostly cancelled
or left to expire may hold only a few open (reserved) claims at a time.

Its line is the ``claim_abandon`` signal's (:func:`abandon_stats`); the limit is
``CLAIM_ABANDON_OPEN_LIMIT``. :func:`refusal` reads (the claim form and the
workspace show it); :func:`hold_open_limit` is the rule inside ``claim_need``
and holds under concurrency: the org's row is locked (``FOR UPDATE`` on
PostgreSQL, a no-op UPDATE taking SQLite's write lock) before counting, so two
claims of one org never both see the last free place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import case, func, select, update

from charitylink.claims.models import Claim, ClaimStatus
from charitylink.core.i18n import _
from charitylink.core.timeutil import utcnow
from charitylink.errors import ClaimLimit
from charitylink.extensions import db
from charitylink.orgs.models import Organization

ABANDONED = (ClaimStatus.CANCELLED, ClaimStatus.EXPIRED)


@dataclass(frozen=True)
class AbandonStats:
    claims: int  # created in the window
    abandoned: int  # of those, cancelled or expired
    days: int
    minimum: int
    share: float

    @property
    def over_line(self) -> bool:
        return self.abandoned >= self.minimum and self.abandoned >= self.share * max(
            self.claims, 1
        )


def abandon_stats(org_id: int) -> AbandonStats:
    cfg = current_app.config
    days = int(cfg.get("INTEGRITY_ABANDON_DAYS", 90))
    since = utcnow() - timedelta(days=days)
    total, abandoned = db.session.execute(
        select(
            func.count(Claim.id),
            func.coalesce(func.sum(case((Claim.status.in_(ABANDONED), 1), else_=0)), 0),
        ).where(Claim.org_id == org_id, Claim.created_at >= since)
    ).one()
    return AbandonStats(
        int(total),
        int(abandoned),
        days,
        int(cfg.get("INTEGRITY_ABANDON_MIN", 5)),
        float(cfg.get("INTEGRITY_ABANDON_SHARE", 0.5)),
    )


def open_limit() -> int:
    return int(current_app.config.get("CLAIM_ABANDON_OPEN_LIMIT", 3))


def _reserved(org_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.count(Claim.id)).where(
                Claim.org_id == org_id, Claim.status == ClaimStatus.RESERVED
            )
        )
        or 0
    )


def _limit_error(stats: AbandonStats, reserved: int) -> ClaimLimit:
    return ClaimLimit(
        _(
            "本机构近 %(days)s 天的 %(n)s 笔认领中有 %(a)s 笔被取消或过期，"
            "暂时最多只能同时持有 %(limit)s 笔待交付的认领（当前 %(r)s 笔）。"
            "请先交付或取消已有的认领；%(days)s 天内取消和过期的认领少于一半后，"
            "限制自动解除。",
            days=stats.days,
            n=stats.claims,
            a=stats.abandoned,
            limit=open_limit(),
            r=reserved,
        )
    )


@dataclass(frozen=True)
class ThrottleState:
    stats: AbandonStats
    reserved: int
    limit: int

    @property
    def blocked(self) -> bool:
        return self.reserved >= self.limit


def state(org_id: int | None) -> ThrottleState | None:
    """The throttle on this org, if it is over the line (else None)."""
    if org_id is None:
        return None
    stats = abandon_stats(org_id)
    if not stats.over_line:
        return None
    return ThrottleState(stats, _reserved(org_id), open_limit())


def message(throttle: ThrottleState) -> str:
    return str(_limit_error(throttle.stats, throttle.reserved))


def refusal(org_id: int | None) -> ClaimLimit | None:
    """Why the org may not claim now because of the throttle (None if it may);
    reads only."""
    throttle = state(org_id)
    if throttle is None or not throttle.blocked:
        return None
    return _limit_error(throttle.stats, throttle.reserved)


def hold_open_limit(org_id: int) -> None:
    """The rule, in ``claim_need``'s transaction, before anything is written:
    lock the org row, then count its reserved claims. Raises ClaimLimit.

    On PostgreSQL the caller already holds the row exclusively
    (``require_org_can_act(..., for_update=True)``: a share lock taken first and
    upgraded here would deadlock two parallel claims); the no-op UPDATE is what
    takes SQLite's write lock before the count."""
    stats = abandon_stats(org_id)
    if not stats.over_line:
        return
    db.session.execute(
        update(Organization)
        .where(Organization.id == org_id)
        .values(id=Organization.id)
        .execution_options(synchronize_session=False)
    )
    reserved = _reserved(org_id)
    if reserved >= open_limit():
        raise _limit_error(stats, reserved)
