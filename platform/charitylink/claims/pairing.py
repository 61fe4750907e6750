"""Pairing (结对关爱): a claim with a schedule of monthly instalments.

A cash pairing reserves its whole amount (months × monthly amount) through the
ordinary claim path (``services.claim_need``: rule 1 and rule 2 hold under
concurrency as for any claim). Each month is a ``ClaimInstalment``, delivered
by the org and confirmed (回访) by a moderator of the need's region on its own.

How the figures stay equal to the ledger (docs/pairing.md):

* while the claim is ``reserved`` it counts its whole ``amount_fen`` against
  the need (as every reserved claim does); ``claim.delivered_fen`` is the sum
  of the months delivered so far, which were disbursed from the fund one by
  one, so the fund holds ``amount_fen - delivered_fen`` for it;
* when no month is left to deliver (all delivered, confirmed or cancelled) the
  claim becomes ``delivered`` exactly as a one-off claim does: whatever was not
  delivered is released to the fund and leaves the need's claimed amount; it is
  ``confirmed`` once every delivered month is;
* ending early cancels the months still pending or missed and completes the
  claim that way (or cancels it when nothing was delivered).

Lock order as in ``claims.services``: the need row (the summary tables'
session events lock a claim's need before the first write to the claim,
reports/summary.py), then the claim row (a guarded UPDATE of it is the first
write of every step here), then instalments, then the fund. Two requests on
one pairing therefore run one after the other, and each re-reads what it
decides on after taking the claim row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult

from charitylink.accounts.models import User
from charitylink.claims import services
from charitylink.claims.models import (
    Claim,
    ClaimInstalment,
    ClaimKind,
    ClaimSession,
    ClaimStatus,
    DeliveryMethod,
    InstalmentStatus,
)
from charitylink.claims.schedule import create_instalments, month_start
from charitylink.core import audit
from charitylink.core.i18n import _
from charitylink.core.money import format_fen
from charitylink.core.permissions import (
    covers,
    is_moderator,
    require_moderator,
    require_org_can_act,
)
from charitylink.core.reasons import clean_reason
from charitylink.core.timeutil import today as china_today
from charitylink.core.timeutil import utcnow
from charitylink.errors import (
    DomainError,
    InvalidTransition,
    NotAllowed,
    ValidationFailed,
)
from charitylink.extensions import db
from charitylink.funds import ledger
from charitylink.funds.models import Fund
from charitylink.needs.models import Need, NeedStatus
from charitylink.notifications import events
from charitylink.orgs import public_text
from charitylink.projects.models import Project

MIN_MONTHS = 2
MAX_MONTHS = 36
# A month not delivered this many days after its date is ``missed``.
MISS_AFTER_DAYS = 10
# The org is reminded of a month this many days before its date.
DUE_NOTICE_DAYS = 3

OPEN = (InstalmentStatus.PENDING, InstalmentStatus.MISSED)
DONE = (InstalmentStatus.DELIVERED, InstalmentStatus.CONFIRMED)


def is_pairing(claim: Claim) -> bool:
    return claim.months is not None


# --------------------------------------------------------------------------
# Creating a cash pairing
# --------------------------------------------------------------------------


def schedule_problems(amount_fen: Any, months: Any, monthly_fen: Any) -> dict[str, str]:
    """Every problem of a schedule, by field (the form and the API name all)."""
    fields: dict[str, str] = {}

    def whole(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    if not whole(months) or not MIN_MONTHS <= months <= MAX_MONTHS:
        fields["schedule.months"] = _(
            "结对月数须为 %(lo)d 至 %(hi)d 之间的整数。", lo=MIN_MONTHS, hi=MAX_MONTHS
        )
    if not whole(monthly_fen) or monthly_fen <= 0:
        fields["schedule.monthly_amount"] = _("每月金额必须是大于零的整数（分）。")
    if not fields and whole(amount_fen) and amount_fen != months * monthly_fen:
        fields["amount"] = _(
            "认领金额应等于月数 × 每月金额：%(m)d × %(each)s = %(total)s，您提交了 %(amount)s。",
            m=months,
            each=format_fen(monthly_fen),
            total=format_fen(months * monthly_fen),
            amount=format_fen(amount_fen),
        )
    return fields


def claim_with_schedule(
    need: Need,
    org_user: User,
    fund: Fund,
    amount_fen: Any,
    months: Any,
    monthly_amount_fen: Any,
    project: Project | None = None,
) -> Claim:
    """A cash pairing: reserve the whole amount as one claim, then write one
    instalment a month from today. In the caller's transaction."""
    fields = schedule_problems(amount_fen, months, monthly_amount_fen)
    if fields:
        raise ValidationFailed(_("结对计划有误，请检查标出的字段。"), fields)
    claim = services.claim_need(need, org_user, fund, amount_fen, project)
    start = china_today()
    claim.months = months
    claim.monthly_amount_fen = monthly_amount_fen
    # The claim-wide due date: after the last month's grace; the nightly expiry
    # never closes a pairing (its months are missed one by one instead).
    claim.due_on = _last_due(start, months) + timedelta(days=MISS_AFTER_DAYS)
    db.session.flush()
    create_instalments(claim, start, months, monthly_amount_fen=monthly_amount_fen)
    services._audit_claim(
        org_user,
        "claim.schedule",
        claim,
        None,
        None,
        f"结对 {months} 个月，每月 {format_fen(monthly_amount_fen)}",
    )
    db.session.flush()
    return claim


def _last_due(start: date, months: int) -> date:
    from charitylink.claims.schedule import add_months

    return add_months(start, months - 1)


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def instalments(claim: Claim) -> list[ClaimInstalment]:
    return list(
        db.session.scalars(
            select(ClaimInstalment)
            .where(ClaimInstalment.claim_id == claim.id)
            .order_by(ClaimInstalment.n)
            # Guarded UPDATEs change rows behind the session's back.
            .execution_options(populate_existing=True)
        )
    )


def instalment(claim: Claim, n: int) -> ClaimInstalment | None:
    return db.session.scalar(
        select(ClaimInstalment).where(
            ClaimInstalment.claim_id == claim.id, ClaimInstalment.n == n
        )
    )


def month_value(claim: Claim, inst: ClaimInstalment) -> int:
    """What one month counts against the need, in fen: its own amount for cash,
    else an even share of the claim's value (the last month takes the rest)."""
    if inst.amount_fen is not None:
        return inst.amount_fen
    months = claim.months or 1
    base = claim.amount_fen // months
    return claim.amount_fen - base * (months - 1) if inst.n == months else base


@dataclass
class Progress:
    months: int
    delivered: int
    confirmed: int
    missed: int
    cancelled: int

    @property
    def done(self) -> int:
        return self.delivered + self.confirmed


def progress(rows: list[ClaimInstalment]) -> Progress:
    count = {s: 0 for s in InstalmentStatus}
    for row in rows:
        count[InstalmentStatus(row.status)] += 1
    return Progress(
        months=len(rows),
        delivered=count[InstalmentStatus.DELIVERED],
        confirmed=count[InstalmentStatus.CONFIRMED],
        missed=count[InstalmentStatus.MISSED],
        cancelled=count[InstalmentStatus.CANCELLED],
    )


def deliverable_n(rows: list[ClaimInstalment]) -> int | None:
    """The month the org may deliver next: the first one still open."""
    for row in rows:
        if row.status in OPEN:
            return row.n
    return None


def household_pairings(
    household_key: str | None, exclude_need_id: int | None = None
) -> list[tuple[Claim, list[ClaimInstalment]]]:
    """The pairings of a household's needs (by its key), newest first: what a
    moderator of its region sees so the platform knows who is already
    accompanied. Never shown on a public page."""
    if not household_key:
        return []
    query = (
        select(Claim)
        .join(Need, Need.id == Claim.need_id)
        .where(Need.household_key == household_key, Claim.months.is_not(None))
        .order_by(Claim.id.desc())
    )
    if exclude_need_id is not None:
        query = query.where(Claim.need_id != exclude_need_id)
    return [(c, instalments(c)) for c in db.session.scalars(query.limit(50))]


# --------------------------------------------------------------------------
# Taking the claim row
# --------------------------------------------------------------------------


def _take(claim: Claim, **values: Any) -> None:
    """The first write of every step: the claim row, only while it is still a
    running pairing (reserved, not ended). Re-reads the claim."""
    services.take_claim(
        claim,
        ClaimStatus.RESERVED,
        values or {"ended_at": None},
        Claim.ended_at.is_(None),
        refusal=lambda: _(
            "结对已结束或已完成（当前状态「%(s)s」），请刷新页面。",
            s=claim.status_label,
        ),
    )


def _require_pairing(claim: Claim) -> None:
    if not is_pairing(claim):
        raise InvalidTransition(_("这条认领没有按月计划。"))


# --------------------------------------------------------------------------
# Delivering a month
# --------------------------------------------------------------------------


def _check_delivery(  # noqa: C901, PLR0912 — one check per field, one round
    claim: Claim,
    inst: ClaimInstalment,
    delivered_fen: Any,
    delivered_quantity: Any,
    delivered_on: Any,
    note: str,
    hours: Any,
    volunteers: Any,
) -> tuple[int, int | None]:
    fields: dict[str, str] = {}
    value = month_value(claim, inst)
    amount = value
    quantity = None
    if claim.kind in (None, ClaimKind.CASH):
        if delivered_fen is not None:
            if isinstance(delivered_fen, bool) or not isinstance(delivered_fen, int):
                fields["delivered_amount"] = _("交付金额必须是以分为单位的整数。")
            elif not 0 < delivered_fen <= value:
                fields["delivered_amount"] = _(
                    "本月交付金额应大于零且不超过本月金额 %(a)s。", a=format_fen(value)
                )
            else:
                amount = delivered_fen
    else:
        planned = inst.quantity or 0
        if (
            isinstance(delivered_quantity, bool)
            or not isinstance(delivered_quantity, int)
            or not 0 < delivered_quantity <= max(planned, 1)
        ):
            fields["delivered_quantity"] = _(
                "本月交付数量应为 1 至 %(q)d 之间的整数。", q=max(planned, 1)
            )
        else:
            quantity = delivered_quantity
            amount = value * delivered_quantity // max(planned, 1)
    if not isinstance(delivered_on, date):
        fields["delivered_on"] = _("请填写交付日期（YYYY-MM-DD）。")
    elif delivered_on > china_today():
        fields["delivered_on"] = _("交付日期不能晚于今天。")
    elif delivered_on < claim.created_at.date() - timedelta(days=1):
        fields["delivered_on"] = _("交付日期不能早于认领日期。")
    if hours is not None and (
        isinstance(hours, bool)
        or not isinstance(hours, int | float)
        or not 0 <= hours <= 1000
    ):
        fields["hours"] = _("服务时长应为 0 至 1000 小时。")
    if volunteers is not None and (
        isinstance(volunteers, bool)
        or not isinstance(volunteers, int)
        or not 0 <= volunteers <= 1000
    ):
        fields["volunteers"] = _("志愿者人数应为 0 至 1000 的整数。")
    if len(note) > 2000:
        fields["note"] = _("说明不超过2000字。")
    elif note:
        try:
            public_text.check_delivery_note(note, claim)
        except ValidationFailed as exc:
            fields["note"] = str(exc)
    if fields:
        raise ValidationFailed(_("交付信息有误，请检查标出的字段。"), fields)
    return amount, quantity


def deliver_instalment(  # noqa: PLR0913 — the fields of one month's delivery
    claim: Claim,
    n: int,
    user: User,
    delivered_on: Any,
    *,
    delivered_fen: Any = None,
    delivered_quantity: Any = None,
    note: Any = "",
    hours: Any = None,
    volunteers: Any = None,
) -> ClaimInstalment:
    """The org reports month ``n`` delivered (pending, or missed and late).
    Months are delivered in order: an earlier month still open must be
    delivered (or the pairing ended) first. Cash: the month's amount (or less)
    is disbursed from the fund now; goods/service: the quantity given, valued
    pro rata. The last open month completes the claim."""
    require_org_can_act(user, claim.org_id)  # who may act, before what state
    _require_pairing(claim)
    inst = instalment(claim, n)
    if inst is None:
        raise InvalidTransition(_("没有第 %(n)d 期。", n=n))
    note = note.strip() if isinstance(note, str) else ""
    amount, quantity = _check_delivery(
        claim,
        inst,
        delivered_fen,
        delivered_quantity,
        delivered_on,
        note,
        hours,
        volunteers,
    )
    need = claim.need
    if need.status not in services.DELIVERABLE_NEED_STATUSES:
        raise services._not_deliverable(need)
    # Concurrent steps on this pairing queue here (on the need's lock, taken
    # by the summary events just before, then the claim row's).
    _take(claim, delivered_fen=func.coalesce(Claim.delivered_fen, 0) + amount)
    earlier_open = db.session.scalar(
        select(func.count(ClaimInstalment.id)).where(
            ClaimInstalment.claim_id == claim.id,
            ClaimInstalment.n < n,
            ClaimInstalment.status.in_(OPEN),
        )
    )
    if earlier_open:
        raise InvalidTransition(_("请按顺序交付：前面还有未交付的月份。"))
    now = utcnow()
    moved = cast(
        CursorResult[Any],
        db.session.execute(
            update(ClaimInstalment)
            .where(ClaimInstalment.id == inst.id, ClaimInstalment.status.in_(OPEN))
            .values(
                status=InstalmentStatus.DELIVERED,
                delivered_fen=amount,
                delivered_quantity=quantity,
                delivered_on=delivered_on,
                delivered_at=now,
                delivered_by_id=user.id,
                note=note or None,
            )
            .execution_options(synchronize_session=False)
        ),
    )
    db.session.refresh(inst)
    if moved.rowcount != 1:
        raise InvalidTransition(
            _("第 %(n)d 期当前为「%(s)s」，不能交付。", n=n, s=inst.status_label)
        )
    if not services._add_to_need(
        need, 0, amount, only_if=services.DELIVERABLE_NEED_STATUSES
    ):
        raise services._not_deliverable(need)
    if claim.fund_id is not None:
        ledger.disburse(claim.fund_id, amount, claim.id, user.id)
    if claim.kind in (ClaimKind.GOODS, ClaimKind.SERVICE) and quantity:
        db.session.add(
            ClaimSession(
                claim_id=claim.id,
                instalment_id=inst.id,
                held_on=delivered_on,
                quantity=quantity,
                minutes=int(round((hours or 0) * 60)),
                volunteers=volunteers or 0,
                note=note or None,
                created_by_id=user.id,
            )
        )
    audit.record(
        user,
        "instalment.deliver",
        inst,
        InstalmentStatus.PENDING,
        InstalmentStatus.DELIVERED,
        f"认领 #{claim.id} 第 {n} 期交付 {format_fen(amount)}",
        region_code=need.region_code,
        org_id=claim.org_id,
    )
    db.session.flush()
    _complete_if_done(claim, user)
    return inst


def _complete_if_done(
    claim: Claim, actor: User | None, *, ended: bool = False, need_moves: bool = True
) -> None:
    """No month left to deliver: the claim leaves ``reserved`` as a one-off
    claim does (delivered with the rest released, or cancelled if nothing
    was delivered)."""
    rows = instalments(claim)
    if any(r.status in OPEN for r in rows):
        return
    need = claim.need
    delivered = claim.delivered_fen or 0
    done = [r for r in rows if r.status in DONE]
    if not done:
        services._move_claim(claim, ClaimStatus.RESERVED, ClaimStatus.CANCELLED)
        claim.closed_at = utcnow()
        services._add_to_need(need, -claim.amount_fen)
        if claim.fund_id is not None:
            ledger.release(
                claim.fund_id,
                claim.amount_fen,
                claim.id,
                getattr(actor, "id", None),
                note="结对提前结束",
            )
        services._audit_claim(
            actor,
            "claim.cancel",
            claim,
            ClaimStatus.RESERVED,
            ClaimStatus.CANCELLED,
            "结对提前结束，未交付任何月份",
        )
        db.session.flush()
        if need_moves:
            services._reopen_if_not_full(need, actor, "need.reopen")
        return
    rest = claim.amount_fen - delivered
    services._move_claim(claim, ClaimStatus.RESERVED, ClaimStatus.DELIVERED)
    services._add_to_need(need, -rest, 0)
    if claim.fund_id is not None:
        ledger.release(
            claim.fund_id,
            rest,
            claim.id,
            getattr(actor, "id", None),
            note="结对结束余额释放" if ended else "结对交付余额释放",
        )
    last = max(done, key=lambda r: r.n)
    claim.delivered_on = last.delivered_on
    claim.delivered_at = utcnow()
    claim.method = DeliveryMethod(
        claim.kind if claim.kind in ("goods", "service") else "cash"
    )
    services._audit_claim(
        actor,
        "claim.deliver",
        claim,
        ClaimStatus.RESERVED,
        ClaimStatus.DELIVERED,
        f"结对 {len(done)} 期已交付 {format_fen(delivered)}，释放 {format_fen(rest)}",
    )
    db.session.flush()
    if need_moves:
        services._reopen_if_not_full(need, actor, "need.reopen")
    if (
        need_moves
        and need.status == NeedStatus.FULLY_CLAIMED
        and need.claimed_fen == need.amount_fen
        and not services._has_reserved(need)
    ):
        services._set_need_status(need, actor, NeedStatus.DELIVERED, "need.delivered")
    db.session.flush()
    events.delivery_reported(claim)
    if all(r.status == InstalmentStatus.CONFIRMED for r in done):
        _confirm_claim(claim, actor)


def _confirm_claim(claim: Claim, actor: User | None) -> None:
    services._move_claim(claim, ClaimStatus.DELIVERED, ClaimStatus.CONFIRMED)
    claim.confirmed_by_id = getattr(actor, "id", None)
    claim.confirmed_at = utcnow()
    services._audit_claim(
        actor,
        "claim.confirm",
        claim,
        ClaimStatus.DELIVERED,
        ClaimStatus.CONFIRMED,
        "结对各期均已回访确认",
    )
    db.session.flush()
    if actor is not None:
        services._maybe_confirm_need(claim.need, actor)
    events.delivery_confirmed(claim)


# --------------------------------------------------------------------------
# Confirming a month (回访)
# --------------------------------------------------------------------------


def confirm_instalment(claim: Claim, n: int, moderator: User) -> ClaimInstalment:
    """A moderator of the need's region confirms month ``n`` after the visit;
    months are confirmed in any order once delivered. The org reports and a
    moderator confirms: two people by construction. The claim is confirmed
    with its last delivered month once no month is left to deliver."""
    require_moderator(moderator, claim.need.region_code)
    _require_pairing(claim)
    inst = instalment(claim, n)
    if inst is None:
        raise InvalidTransition(_("没有第 %(n)d 期。", n=n))
    # Take the claim row (whatever its status) so two confirmations of the
    # last two months cannot both miss the claim's own confirmation.
    db.session.execute(
        update(Claim)
        .where(Claim.id == claim.id)
        .values(confirmed_at=Claim.confirmed_at)
        .execution_options(synchronize_session=False)
    )
    moved = cast(
        CursorResult[Any],
        db.session.execute(
            update(ClaimInstalment)
            .where(
                ClaimInstalment.id == inst.id,
                ClaimInstalment.status == InstalmentStatus.DELIVERED,
            )
            .values(
                status=InstalmentStatus.CONFIRMED,
                confirmed_at=utcnow(),
                confirmed_by_id=moderator.id,
            )
            .execution_options(synchronize_session=False)
        ),
    )
    db.session.refresh(inst)
    db.session.refresh(claim)
    if moved.rowcount != 1:
        raise InvalidTransition(
            _("第 %(n)d 期当前为「%(s)s」，不能回访确认。", n=n, s=inst.status_label)
        )
    db.session.execute(
        update(ClaimSession)
        .where(
            ClaimSession.instalment_id == inst.id, ClaimSession.confirmed_at.is_(None)
        )
        .values(confirmed_at=utcnow(), confirmed_by_id=moderator.id)
        .execution_options(synchronize_session=False)
    )
    audit.record(
        moderator,
        "instalment.confirm",
        inst,
        InstalmentStatus.DELIVERED,
        InstalmentStatus.CONFIRMED,
        f"认领 #{claim.id} 第 {n} 期回访确认",
        region_code=claim.need.region_code,
        org_id=claim.org_id,
    )
    db.session.flush()
    if claim.status == ClaimStatus.DELIVERED:
        rows = instalments(claim)
        if not any(r.status == InstalmentStatus.DELIVERED for r in rows):
            _confirm_claim(claim, moderator)
    return inst


# --------------------------------------------------------------------------
# Ending early
# --------------------------------------------------------------------------


def end_pairing(
    claim: Claim,
    user: User | None,
    reason: Any,
    *,
    check_actor: bool = True,
) -> Claim:
    """End a running pairing early (the org's staff or a moderator of the
    region): the months still pending or missed are cancelled, what they held
    goes back to the fund and off the need, service units back to the offer.
    ``check_actor=False`` for the platform's own paths (a withdrawn or expired
    need)."""
    if check_actor:
        assert user is not None
        _require_may_end(claim, user)
    _require_pairing(claim)
    text = clean_reason(reason, required=check_actor)
    now = utcnow()
    _take(
        claim,
        ended_at=now,
        ended_by_id=getattr(user, "id", None),
        end_reason=text or None,
    )
    open_rows = list(
        db.session.scalars(
            select(ClaimInstalment).where(
                ClaimInstalment.claim_id == claim.id,
                ClaimInstalment.status.in_(OPEN),
            )
        )
    )
    if open_rows:
        db.session.execute(
            update(ClaimInstalment)
            .where(
                ClaimInstalment.claim_id == claim.id,
                ClaimInstalment.status.in_(OPEN),
            )
            .values(status=InstalmentStatus.CANCELLED)
            .execution_options(synchronize_session=False)
        )
        _give_back_units(claim, open_rows)
    audit.record(
        user,
        "claim.end",
        claim,
        ClaimStatus.RESERVED,
        None,
        f"提前结束结对，取消 {len(open_rows)} 期：{text}"[:500],
        region_code=claim.need.region_code,
        org_id=claim.org_id,
    )
    db.session.flush()
    # The platform's own paths (a need withdrawn or expiring) move the need
    # themselves.
    _complete_if_done(claim, user, ended=True, need_moves=check_actor)
    events.pairing_ended(claim, len(open_rows))
    return claim


def _require_may_end(claim: Claim, user: User) -> None:
    if is_moderator(user) and covers(user, claim.need.region_code):
        return
    if getattr(user, "org_id", None) == claim.org_id:
        from charitylink.core.permissions import require_org_staff

        require_org_staff(user, claim.org_id)
        return
    raise NotAllowed(_("只有认领机构或需求所在地区的审核员可以结束结对。"))


def _give_back_units(claim: Claim, rows: list[ClaimInstalment]) -> None:
    """Goods/service months cancelled: their units go back to the offer's
    capacity for those months (guarded, never below zero)."""
    if claim.offer_id is None:
        return
    from charitylink.offers.models import OfferMonth

    for row in rows:
        if not row.quantity:
            continue
        db.session.execute(
            update(OfferMonth)
            .where(
                OfferMonth.offer_id == claim.offer_id,
                OfferMonth.month == month_start(row.due_on),
                OfferMonth.used >= row.quantity,
            )
            .values(used=OfferMonth.used - row.quantity)
            .execution_options(synchronize_session=False)
        )


# --------------------------------------------------------------------------
# Misses and reminders (flask --app wsgi claims instalments-check, from cron)
# --------------------------------------------------------------------------


def check_instalments(
    today: date | None = None, on_each: Callable[[], None] | None = None
) -> dict[str, int]:
    """Mark months not delivered ``MISS_AFTER_DAYS`` after their date as
    missed (audited, the org and the region's moderators told), and remind the
    org of months falling due within ``DUE_NOTICE_DAYS``. Safe to run again:
    the guarded UPDATE and the notifications' event keys tell nobody twice."""
    today = today or china_today()
    done = on_each or (lambda: None)
    late = db.session.scalars(
        select(ClaimInstalment)
        .join(Claim, Claim.id == ClaimInstalment.claim_id)
        .where(
            ClaimInstalment.status == InstalmentStatus.PENDING,
            ClaimInstalment.due_on < today - timedelta(days=MISS_AFTER_DAYS),
            Claim.status == ClaimStatus.RESERVED,
        )
        .order_by(ClaimInstalment.id)
    ).all()
    missed = 0
    for inst in late:
        result = cast(
            CursorResult[Any],
            db.session.execute(
                update(ClaimInstalment)
                .where(
                    ClaimInstalment.id == inst.id,
                    ClaimInstalment.status == InstalmentStatus.PENDING,
                )
                .values(status=InstalmentStatus.MISSED, missed_at=utcnow())
                .execution_options(synchronize_session=False)
            ),
        )
        if result.rowcount != 1:
            continue
        db.session.refresh(inst)
        claim = db.session.get_one(Claim, inst.claim_id)
        audit.record(
            None,
            "instalment.miss",
            inst,
            InstalmentStatus.PENDING,
            InstalmentStatus.MISSED,
            f"认领 #{claim.id} 第 {inst.n} 期逾期 {MISS_AFTER_DAYS} 天未交付",
            region_code=claim.need.region_code,
            org_id=claim.org_id,
        )
        db.session.flush()
        events.instalment_missed(claim, inst)
        missed += 1
        done()
    soon = db.session.scalars(
        select(ClaimInstalment)
        .join(Claim, Claim.id == ClaimInstalment.claim_id)
        .where(
            ClaimInstalment.status == InstalmentStatus.PENDING,
            ClaimInstalment.due_on <= today + timedelta(days=DUE_NOTICE_DAYS),
            ClaimInstalment.due_on >= today - timedelta(days=MISS_AFTER_DAYS),
            Claim.status == ClaimStatus.RESERVED,
        )
        .order_by(ClaimInstalment.id)
    ).all()
    reminded = 0
    for inst in soon:
        claim = db.session.get_one(Claim, inst.claim_id)
        if events.instalment_due(claim, inst):
            reminded += 1
    db.session.flush()
    done()
    return {"missed": missed, "reminded": reminded}


def missed_count(region_prefix: str | None) -> int:
    """Months missed on running pairings in a moderator's region (work list)."""
    query = (
        select(func.count(ClaimInstalment.id))
        .join(Claim, Claim.id == ClaimInstalment.claim_id)
        .join(Need, Need.id == Claim.need_id)
        .where(
            ClaimInstalment.status == InstalmentStatus.MISSED,
            Claim.status == ClaimStatus.RESERVED,
        )
    )
    if region_prefix:
        query = query.where(Need.region_code.startswith(region_prefix))
    return int(db.session.scalar(query) or 0)


__all__ = [
    "DomainError",
    "MAX_MONTHS",
    "MIN_MONTHS",
    "MISS_AFTER_DAYS",
    "check_instalments",
    "claim_with_schedule",
    "confirm_instalment",
    "deliver_instalment",
    "end_pairing",
    "household_pairings",
    "instalments",
    "missed_count",
    "schedule_problems",
]
