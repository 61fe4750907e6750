"""Matching offers to needs (供需对接): goods and service claims, their
sessions, their delivery and 回访 (docs/matching.md).

A match is a claim of kind ``goods`` or ``service`` made from an offer. It
reserves no fund money; its value (units × months × the offer's unit value)
counts against the need exactly as money does, through the same guarded
UPDATE on the need's claimed amount (rule 1 in value). The units it takes
each month count against the offer's monthly capacity in ``offer_months``,
through a guarded UPDATE per month: the row is created if missing (an insert
that does nothing on a conflict, so two first matches of a month cannot
collide), then ``used`` grows only where the result stays within capacity.
Everything happens in the caller's transaction; a refusal anywhere rolls
back the need, every month already taken and the claim row together.

Lock order as in the cash claim: the need row (the summary tables' session
events lock a claim's need before any write to the claim, reports/summary.py),
then the claim row, then the offer's month rows in calendar order (never the
other way round), so two matches or a match and a cancellation never wait on
each other in a circle.

``offer_months.used`` is always the sum, over the claims of the offer that
still hold units, of the units each holds in that month: the full quantity
while reserved, what was delivered once delivered. Cancelling or expiring a
match gives its units back; a delivery short of the quantity gives the rest
back.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult

from charitylink.accounts.models import User
from charitylink.claims import schedule
from charitylink.claims.models import (
    Claim,
    ClaimKind,
    ClaimSession,
    ClaimStatus,
    DeliveryMethod,
)
from charitylink.core import audit
from charitylink.core.i18n import _
from charitylink.core.money import format_fen
from charitylink.core.permissions import require_org_can_act, require_org_staff
from charitylink.core.timeutil import today as china_today
from charitylink.core.timeutil import utcnow
from charitylink.errors import (
    CapacityExceeded,
    InvalidTransition,
    NotClaimable,
    OverClaim,
    ValidationFailed,
)
from charitylink.extensions import db
from charitylink.integrity import throttle
from charitylink.needs.models import Need, NeedStatus
from charitylink.notifications import events
from charitylink.offers.models import Offer, OfferKind, OfferMonth, OfferStatus
from charitylink.orgs import public_text

# A match runs for at most a year; a longer programme is matched again.
MAX_MONTHS = 12
SESSION_NOTE_MAX = 500
# A session of more than a day's work is a typing mistake.
SESSION_MAX_HOURS = 24


def claim_kind_for(offer: Offer) -> ClaimKind:
    """Goods stay goods; services and volunteer time are services."""
    return ClaimKind.GOODS if offer.kind == OfferKind.GOODS else ClaimKind.SERVICE


def is_match(claim: Claim) -> bool:
    return claim.offer_id is not None and claim.kind != ClaimKind.CASH


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def match_start(offer: Offer, today: date | None = None) -> date:
    """A match starts today, or on the offer's first day if that is later."""
    today = today or china_today()
    return max(today, offer.start_on)


def match_months(offer: Offer, months: int, today: date | None = None) -> list[date]:
    """The first days of the calendar months a match of ``months`` spans."""
    start = match_start(offer, today)
    return [schedule.month_start(d) for d in schedule.instalment_dates(start, months)]


def remaining_by_month(offer: Offer, months: list[date]) -> dict[date, int]:
    """Units still free in each month (for the match page; the guarded UPDATE
    stays the rule)."""
    used = dict(
        db.session.execute(
            select(OfferMonth.month, OfferMonth.used).where(
                OfferMonth.offer_id == offer.id, OfferMonth.month.in_(months)
            )
        ).all()
    )
    return {m: max(offer.capacity_per_month - used.get(m, 0), 0) for m in months}


def offer_refusal(offer: Offer, need: Need, today: date | None = None) -> str | None:
    """Why ``offer`` cannot serve ``need`` at all (None if it can)."""
    today = today or china_today()
    if offer.status != OfferStatus.OPEN:
        return _("该供给当前状态为「%(s)s」，不能对接。", s=offer.status_label)
    if offer.end_on is not None and offer.end_on < today:
        return _("该供给已于 %(d)s 结束，不能对接。", d=offer.end_on.isoformat())
    if offer.need_types and need.need_type not in offer.need_types:
        return _("该供给不适用于这类需求。")
    if not need.region_code.startswith(offer.region_prefix):
        return _("需求所在地区不在该供给的服务范围内。")
    return None


def check_match(
    offer: Offer, need: Need, quantity: Any, months: Any, today: date | None = None
) -> None:
    """The field checks of :func:`match` in one round; writes nothing."""
    today = today or china_today()
    fields: dict[str, str] = {}
    if not _is_int(quantity) or quantity < 1:
        fields["quantity"] = _("每月数量必须是正整数。")
    elif quantity > offer.capacity_per_month:
        fields["quantity"] = _(
            "每月数量不能超过该供给的月供给量 %(n)s%(u)s。",
            n=offer.capacity_per_month,
            u=offer.unit,
        )
    if not _is_int(months) or not 1 <= months <= MAX_MONTHS:
        fields["months"] = _("月数必须是 1 到 %(n)s 之间的整数。", n=MAX_MONTHS)
    elif offer.end_on is not None:
        last = schedule.add_months(match_start(offer, today), months - 1)
        if last > offer.end_on:
            fields["months"] = _(
                "该供给于 %(d)s 结束，对接月数不能超出供给期限。",
                d=offer.end_on.isoformat(),
            )
    if offer.unit_value_fen <= 0:
        fields["quantity"] = _(
            "该供给未估值，不能计入需求金额，请先为供给填写单位估值。"
        )
    if fields:
        raise ValidationFailed(_("对接信息有误，请检查标出的字段。"), fields)


def _ensure_month_rows(offer_id: int, months: list[date]) -> None:
    """Create the missing month rows; a row another transaction creates at the
    same moment is left as it is (no error, no duplicate), on both databases."""
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    rows = [{"offer_id": offer_id, "month": m, "used": 0} for m in months]
    db.session.execute(
        insert(OfferMonth).values(rows).on_conflict_do_nothing(),
        execution_options={"synchronize_session": False},
    )


def _take_units(offer: Offer, month: date, units: int) -> bool:
    """Add ``units`` to the month's use only while the result stays within the
    capacity of an offer that is still open (both read by the database under
    the row lock). True if taken."""
    capacity = (
        select(Offer.capacity_per_month)
        .where(Offer.id == offer.id, Offer.status == OfferStatus.OPEN)
        .scalar_subquery()
    )
    result = cast(
        CursorResult[Any],
        db.session.execute(
            update(OfferMonth)
            .where(
                OfferMonth.offer_id == offer.id,
                OfferMonth.month == month,
                OfferMonth.used + units <= capacity,
            )
            .values(used=OfferMonth.used + units)
            .execution_options(synchronize_session=False)
        ),
    )
    return result.rowcount == 1


def _give_back(offer_id: int, months: list[date], units: int) -> None:
    if units <= 0:
        return
    db.session.execute(
        update(OfferMonth)
        .where(OfferMonth.offer_id == offer_id, OfferMonth.month.in_(months))
        .values(used=OfferMonth.used - units)
        .execution_options(synchronize_session=False)
    )


def claim_months(claim: Claim) -> list[date]:
    """The months a match holds units in: those of its instalments, or the
    month it was made in."""
    from charitylink.claims.models import ClaimInstalment

    dues = list(
        db.session.scalars(
            select(ClaimInstalment.due_on)
            .where(ClaimInstalment.claim_id == claim.id)
            .order_by(ClaimInstalment.n)
        )
    )
    if dues:
        return [schedule.month_start(d) for d in dues]
    start = claim_start(claim)
    return [schedule.month_start(start)]


def claim_start(claim: Claim) -> date:
    """The day a match started: the day it was made (China time), or the
    offer's first day if that was later."""
    from charitylink.core.timeutil import to_china

    made = to_china(claim.created_at).date()
    offer = claim.offer
    return max(made, offer.start_on) if offer is not None else made


def _refuse_unfitting(offer: Offer, need: Need, today: date) -> None:
    problem = offer_refusal(offer, need, today)
    if problem is None:
        return
    if offer.status != OfferStatus.OPEN or (
        offer.end_on is not None and offer.end_on < today
    ):
        raise NotClaimable(problem)
    raise ValidationFailed(problem, {"need_code": problem})


def _add_value(need: Need, value: int) -> int:
    """Rule 1 in value: the need's claimed amount, checked and changed in one
    statement, exactly as a cash claim does. Returns the new claimed amount."""
    new_claimed = db.session.execute(
        update(Need)
        .where(
            Need.id == need.id,
            Need.status == NeedStatus.PUBLISHED,
            Need.claimed_fen + value <= Need.amount_fen,
        )
        .values(claimed_fen=Need.claimed_fen + value)
        .returning(Need.claimed_fen)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    db.session.refresh(need)
    if new_claimed is not None:
        return int(new_claimed)
    if need.status != NeedStatus.PUBLISHED:
        raise NotClaimable(
            _("需求当前状态为「%(s)s」，不能认领。", s=need.status_label)
        )
    left = need.amount_fen - need.claimed_fen
    raise OverClaim(
        _(
            "对接价值超出剩余需求：仅剩 %(left)s 可认捐，本次对接价值 %(amount)s。",
            left=format_fen(left),
            amount=format_fen(value),
        )
    )


def _take_capacity(offer: Offer, spans: list[date], quantity: int) -> None:
    """The offer's capacity, month by month in calendar order."""
    _ensure_month_rows(offer.id, spans)
    for month in spans:
        if _take_units(offer, month, quantity):
            continue
        db.session.refresh(offer)
        if offer.status != OfferStatus.OPEN:
            raise NotClaimable(
                _("该供给当前状态为「%(s)s」，不能对接。", s=offer.status_label)
            )
        left = remaining_by_month(offer, [month])[month]
        raise CapacityExceeded(
            _(
                "该供给 %(m)s 仅剩 %(left)s%(u)s 可对接，本次需要 %(q)s%(u)s。",
                m=f"{month.year}年{month.month}月",
                left=left,
                q=quantity,
                u=offer.unit,
            ),
            {"quantity": _("超出该供给的剩余月供给量。")},
        )


def match(
    offer: Offer,
    need: Need,
    quantity: Any,
    months: Any,
    actor: User,
    *,
    proposal_id: int | None = None,
) -> Claim:
    """The offering org's staff match ``quantity`` units a month of ``offer``
    to ``need`` for ``months`` months: a goods or service claim worth
    quantity × months × the unit value, counted against the need (rule 1 in
    value) and against the offer's capacity in every month it spans."""
    from charitylink.claims import services

    throttled = throttle.abandon_stats(offer.org_id).over_line
    require_org_can_act(actor, offer.org_id, for_update=throttled)
    refusal = services.claim_refusal(need, actor)
    if refusal is not None:
        raise refusal
    today = china_today()
    _refuse_unfitting(offer, need, today)
    check_match(offer, need, quantity, months, today)
    if throttled:
        throttle.hold_open_limit(offer.org_id)
    value = quantity * months * offer.unit_value_fen
    new_claimed = _add_value(need, value)
    start = match_start(offer, today)
    _take_capacity(offer, match_months(offer, months, today), quantity)
    last = schedule.add_months(start, months - 1)
    claim = Claim(
        need_id=need.id,
        org_id=offer.org_id,
        fund_id=None,
        amount_fen=value,
        status=ClaimStatus.RESERVED,
        due_on=last + timedelta(days=services._due_days()),
        created_by_id=actor.id,
        kind=claim_kind_for(offer),
        offer_id=offer.id,
        quantity=quantity,
        # A match over several months is a pairing (claims.pairing treats a
        # claim with ``months`` set as one, month by month); a single month is
        # delivered at once by its sessions.
        months=months if months > 1 else None,
    )
    db.session.add(claim)
    db.session.flush()
    if months > 1:
        schedule.create_instalments(claim, start, months, monthly_quantity=quantity)
    reason = f"供需对接：{offer.title}，每月 {quantity}{offer.unit} × {months} 个月"
    if proposal_id is not None:
        reason += f"（审核员建议 #{proposal_id}）"
    services._audit_claim(
        actor, "claim.match", claim, None, ClaimStatus.RESERVED, reason[:500]
    )
    if new_claimed == need.amount_fen:
        services._set_need_status(
            need, actor, NeedStatus.FULLY_CLAIMED, "need.fully_claimed"
        )
    db.session.flush()
    events.claim_created(claim)
    return claim


def give_back_units(claim: Claim) -> None:
    """A reserved match closed (cancelled, expired, withdrawn): every unit it
    held goes back to the offer. Called after the claim's guarded move."""
    if not is_match(claim) or claim.offer_id is None:
        return
    _give_back(claim.offer_id, claim_months(claim), claim.quantity or 0)


# --------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------


def sessions_of(claim: Claim) -> list[ClaimSession]:
    return list(
        db.session.scalars(
            select(ClaimSession)
            .where(ClaimSession.claim_id == claim.id)
            .order_by(ClaimSession.held_on, ClaimSession.id)
        )
    )


def session_totals(claim: Claim) -> dict[str, int]:
    """Units, minutes, volunteers (summed per session) and sessions."""
    row = db.session.execute(
        select(
            func.coalesce(func.sum(ClaimSession.quantity), 0),
            func.coalesce(func.sum(ClaimSession.minutes), 0),
            func.coalesce(func.sum(ClaimSession.volunteers), 0),
            func.count(ClaimSession.id),
        ).where(ClaimSession.claim_id == claim.id)
    ).one()
    return {
        "quantity": int(row[0]),
        "minutes": int(row[1]),
        "volunteers": int(row[2]),
        "sessions": int(row[3]),
    }


def _minutes(hours: Any) -> int | None:
    if isinstance(hours, bool) or not isinstance(hours, (int, float)):
        return None
    if hours < 0 or hours > SESSION_MAX_HOURS:
        return None
    return round(hours * 60)


def check_session(  # noqa: C901 — one check per field, each with its own message: one round
    claim: Claim,
    held_on: Any,
    quantity: Any,
    hours: Any,
    volunteers: Any,
    note: Any,
) -> None:
    """:func:`record_session`'s field checks in one round; writes nothing."""
    fields: dict[str, str] = {}
    if not isinstance(held_on, date):
        fields["held_on"] = _("请填写服务日期（YYYY-MM-DD）。")
    elif held_on > china_today():
        fields["held_on"] = _("服务日期不能晚于今天。")
    elif held_on < claim.created_at.date() - timedelta(days=1):
        fields["held_on"] = _("服务日期不能早于对接日期。")
    if not _is_int(quantity) or quantity < 1:
        fields["quantity"] = _("数量必须是正整数。")
    else:
        done = session_totals(claim)["quantity"]
        total = (claim.quantity or 0) * (claim.months or 1)
        if done + quantity > total:
            fields["quantity"] = _(
                "已登记 %(d)s，本次 %(q)s，合计不能超过对接的 %(t)s。",
                d=done,
                q=quantity,
                t=total,
            )
    if _minutes(hours) is None:
        fields["hours"] = _("时长必须是 0 到 24 之间的小时数。")
    if not _is_int(volunteers) or not 0 <= volunteers <= 1000:
        fields["volunteers"] = _("志愿者人数必须是 0 到 1000 之间的整数。")
    text = note.strip() if isinstance(note, str) else ""
    if len(text) > SESSION_NOTE_MAX:
        fields["note"] = _("备注不超过500字。")
    elif text:
        try:
            public_text.check_delivery_note(text, claim)
        except ValidationFailed as exc:
            fields["note"] = next(iter(exc.fields.values()), exc.message)
    if fields:
        raise ValidationFailed(_("服务记录有误，请检查标出的字段。"), fields)


def record_session(
    claim: Claim,
    user: User,
    held_on: Any,
    quantity: Any,
    hours: Any = 0,
    volunteers: Any = 0,
    note: Any = "",
) -> ClaimSession:
    """The org records one session (a delivery of goods, a visit, a class) of
    a match that is still to be delivered."""
    require_org_can_act(user, claim.org_id)
    if not is_match(claim):
        raise InvalidTransition(_("只有物资或服务对接可以登记服务记录。"))
    if claim.status != ClaimStatus.RESERVED:
        raise InvalidTransition(
            _("认领状态为「%(s)s」，不能再登记服务记录。", s=claim.status_label)
        )
    check_session(claim, held_on, quantity, hours, volunteers, note)
    text = note.strip() if isinstance(note, str) else ""
    instalment_id = None
    if (claim.months or 1) > 1:
        instalment_id = _instalment_for(claim, held_on)
    row = ClaimSession(
        claim_id=claim.id,
        instalment_id=instalment_id,
        held_on=held_on,
        quantity=quantity,
        minutes=_minutes(hours) or 0,
        volunteers=volunteers,
        note=text or None,
        created_by_id=user.id,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        user,
        "claim.session",
        claim,
        None,
        None,
        f"登记服务记录：{held_on.isoformat()}，{quantity}，"
        f"{row.minutes / 60:g} 小时，志愿者 {volunteers} 人",
        region_code=claim.need.region_code,
        org_id=claim.org_id,
    )
    db.session.flush()
    return row


def _instalment_for(claim: Claim, held_on: date) -> int | None:
    """The instalment of the month the session was held in, if any."""
    from charitylink.claims.models import ClaimInstalment

    for inst in db.session.scalars(
        select(ClaimInstalment).where(ClaimInstalment.claim_id == claim.id)
    ):
        if schedule.month_start(inst.due_on) == schedule.month_start(held_on):
            return inst.id
    return None


def delivered_value(claim: Claim, units: int) -> int:
    unit_value = claim.offer.unit_value_fen if claim.offer is not None else 0
    return min(units * unit_value, claim.amount_fen)


def delivery_preview(claim: Claim) -> dict[str, int]:
    """What marking the match delivered now would count: units and value."""
    units = session_totals(claim)["quantity"]
    return {"units": units, "value_fen": delivered_value(claim, units)}


def deliver_match(claim: Claim, user: User, note: Any = "") -> Claim:
    """The org marks a single-month match delivered with the sessions it
    recorded: the delivered value is the units delivered × the unit value
    (never more than the claim), the rest leaves the need as an undelivered
    cash rest does, and the units not delivered go back to the offer."""
    require_org_can_act(user, claim.org_id)
    if not is_match(claim):
        raise InvalidTransition(_("只有物资或服务对接可以按服务记录交付。"))
    if (claim.months or 1) > 1:
        raise InvalidTransition(_("多月结对请按月登记交付。"))
    if claim.status != ClaimStatus.RESERVED:
        raise InvalidTransition(
            _("认领状态为「%(s)s」，不能交付。", s=claim.status_label)
        )
    rows = sessions_of(claim)
    if not rows:
        raise ValidationFailed(
            _("请先登记至少一条服务记录，再标记交付。"),
            {"sessions": _("尚无服务记录。")},
        )
    units = sum(r.quantity for r in rows)
    value = delivered_value(claim, units)
    if value <= 0:
        raise ValidationFailed(
            _("交付价值必须大于零。"), {"sessions": _("交付价值为零。")}
        )
    return _deliver(claim, user, value, max(r.held_on for r in rows), note, units)


def _deliver(
    claim: Claim,
    user: User,
    value: int,
    delivered_on: date,
    note: Any,
    units: int,
) -> Claim:
    from charitylink.claims import services

    method = (
        DeliveryMethod.GOODS
        if claim.kind == ClaimKind.GOODS
        else DeliveryMethod.SERVICE
    )
    services.deliver_claim(
        claim,
        user,
        value,
        delivered_on,
        method,
        note if isinstance(note, str) else "",
        _from_sessions=True,
    )
    rest = (claim.quantity or 0) - units
    if rest > 0 and claim.offer_id is not None:
        _give_back(claim.offer_id, claim_months(claim), rest)
    return claim


def deliver_from_api(
    claim: Claim, user: User, delivered_fen: Any, note: Any = ""
) -> Claim:
    """The generic delivery endpoint on a match: the amount is the sessions'
    value, so a different figure is refused with the right one named."""
    require_org_staff(user, claim.org_id)
    if claim.status == ClaimStatus.RESERVED and (claim.months or 1) == 1:
        expected = delivery_preview(claim)["value_fen"]
        if expected > 0 and delivered_fen != expected:
            message = _(
                "物资或服务对接的交付金额按服务记录计算，应为 %(v)s（分：%(f)s）。",
                v=format_fen(expected),
                f=expected,
            )
            raise ValidationFailed(message, {"delivered_amount": message})
    return deliver_match(claim, user, note)


def confirm_sessions(claim: Claim, moderator: User) -> None:
    """回访 confirmed the match: its sessions are confirmed with it."""
    if not is_match(claim):
        return
    db.session.execute(
        update(ClaimSession)
        .where(ClaimSession.claim_id == claim.id, ClaimSession.confirmed_at.is_(None))
        .values(confirmed_at=utcnow(), confirmed_by_id=moderator.id)
        .execution_options(synchronize_session=False)
    )


def unit_label(claim: Claim) -> str:
    """「每月 4 次 × 3 个月」: what a match page and list say instead of a fund."""
    unit = claim.offer.unit if claim.offer is not None else ""
    if (claim.months or 1) > 1:
        return _(
            "每月 %(q)s%(u)s × %(m)s 个月",
            q=claim.quantity or 0,
            u=unit,
            m=claim.months,
        )
    return f"{claim.quantity or 0}{unit}"
