"""Claims and pledges (认领 / 认捐): the claim loop, rules 1–5 (docs/product.md).

Every function here runs inside the caller's transaction: it checks the rules,
changes state with guarded UPDATEs, writes ledger entries and audit rows, and
flushes. It never commits; on a ``DomainError`` the caller rolls back, which
undoes every UPDATE made so far (the need's claimed amount, the fund's
reservation, the claim row).

Concurrency (docs/claims.md): ``SELECT ... FOR
UPDATE`` is silently dropped on SQLite, so nothing here reads a figure, computes
in Python and writes it back. Amounts move through conditional UPDATEs whose
WHERE clause carries the rule (``claimed_fen + :amt <= amount_fen``, ``status =
'reserved'``); the database re-checks it under its own row or file lock. The
first write of a transaction takes the lock, and every read that decides
anything afterwards happens while it is held.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult

from charitylink.accounts.models import User
from charitylink.claims.models import (
    ACTIVE_CLAIM_STATUSES,
    DISPUTE_OUTCOME_LABELS,
    Claim,
    ClaimStatus,
    DeliveryMethod,
    DisputeOutcome,
)
from charitylink.core import audit
from charitylink.core.i18n import _
from charitylink.core.money import format_fen
from charitylink.core.permissions import (
    ORG_ROLES,
    covers,
    is_moderator,
    require_moderator,
    require_org_can_act,
    require_org_staff,
    role_of,
)
from charitylink.core.reasons import clean_reason
from charitylink.core.timeutil import today as china_today
from charitylink.core.timeutil import utcnow
from charitylink.core.transitions import move_if
from charitylink.errors import (
    DomainError,
    FourEyes,
    InvalidTransition,
    NotAllowed,
    NotClaimable,
    OverClaim,
    ValidationFailed,
    gather,
)
from charitylink.extensions import db
from charitylink.funds import ledger
from charitylink.funds.models import Fund, LedgerEntry, LedgerKind
from charitylink.funds.services import check_purpose, org_funds, purpose_refusal
from charitylink.integrity import throttle
from charitylink.needs.models import PUBLIC_STATUSES, Need, NeedStatus
from charitylink.notifications import events
from charitylink.orgs import public_text
from charitylink.projects.models import Project, ProjectStatus

# Which claim transitions exist (docs/product.md, "Claim"); anything else is
# InvalidTransition.
TRANSITIONS = {
    ClaimStatus.RESERVED: (
        ClaimStatus.DELIVERED,
        ClaimStatus.CANCELLED,
        ClaimStatus.EXPIRED,
    ),
    ClaimStatus.DELIVERED: (ClaimStatus.CONFIRMED, ClaimStatus.DISPUTED),
    ClaimStatus.DISPUTED: (ClaimStatus.CONFIRMED, ClaimStatus.REVERSED),
}


def _audit_claim(
    actor: User | None, action: str, claim: Claim, old: Any, new: Any, reason: str = ""
) -> audit.AuditEvent:
    return audit.record(
        actor,
        action,
        claim,
        old,
        new,
        reason or None,
        region_code=claim.need.region_code,
        org_id=claim.org_id,
    )


def _after_need_status_change(need: Need) -> None:
    """A need entered or left the public library: re-coarsen its county's public
    region (the city where fewer than 5 public needs share a county)."""
    from charitylink.needs import privacy

    privacy.recompute_public_region(need.region_code)


def _set_need_status(
    need: Need, actor: User | None, new: NeedStatus, action: str, reason: str = ""
) -> None:
    """Move the need on from the status it has, guarded like every transition:
    the UPDATE only applies while the row still has that status."""
    old = need.status
    if old == new:
        return
    values: dict[str, Any] = {"status": new}
    now = utcnow()
    if new == NeedStatus.FULLY_CLAIMED:
        values["fully_claimed_at"] = now
    if new in (NeedStatus.CONFIRMED, NeedStatus.EXPIRED):
        values["closed_at"] = now
    if not move_if(need, old, values):
        raise InvalidTransition(
            _("需求当前状态为「%(s)s」，请刷新页面后重试。", s=need.status_label)
        )
    audit.record(actor, action, need, old, new, reason or None)
    db.session.flush()
    if (old in PUBLIC_STATUSES) != (new in PUBLIC_STATUSES):
        _after_need_status_change(need)


def _move_claim(claim: Claim, old: ClaimStatus, new: ClaimStatus) -> None:
    """Change the claim's status only if it is still ``old`` (a guarded UPDATE).

    Two clicks on "cancel", or a cancel racing the nightly expiry, cannot both
    release the same reservation: the second finds no row to update."""
    if new not in TRANSITIONS.get(ClaimStatus(claim.status), ()):
        raise InvalidTransition(_invalid_message(claim, new))
    take_claim(
        claim, old, {"status": new}, refusal=lambda: _invalid_message(claim, new)
    )


def take_claim(
    claim: Claim,
    status: ClaimStatus,
    values: dict[str, Any],
    *rules: Any,
    refusal: str | Callable[[], str],
) -> None:
    """Write ``values`` to the claim row only while it still has ``status``
    and meets ``rules`` (a guarded UPDATE through the session, so the report
    summary's events lock the claim's need first); otherwise refuse with
    ``refusal`` (a callable is asked after the claim is re-read, for a message
    that names the status it has now). The claim is re-read either way."""
    if not move_if(claim, status, values, *rules):
        raise InvalidTransition(refusal if isinstance(refusal, str) else refusal())


def _invalid_message(claim: Claim, new: ClaimStatus) -> str:
    from charitylink.claims.models import CLAIM_STATUS_LABELS

    return _(
        "认领状态为「%(old)s」，不能变为「%(new)s」。",
        old=claim.status_label,
        new=CLAIM_STATUS_LABELS.get(new, str(new)),
    )


# A need whose claims may still be delivered: money is paid out only on these
# (a withdrawn or expired need pays nothing, whatever claim rows say).
DELIVERABLE_NEED_STATUSES = (NeedStatus.PUBLISHED, NeedStatus.FULLY_CLAIMED)


def _add_to_need(
    need: Need,
    claimed_delta: int,
    delivered_delta: int = 0,
    only_if: tuple[NeedStatus, ...] | None = None,
) -> bool:
    """Adjust the need's figures atomically (another claim may be running);
    with ``only_if``, only while the need has one of those statuses. True if
    the row changed."""
    stmt = update(Need).where(Need.id == need.id)
    if only_if is not None:
        stmt = stmt.where(Need.status.in_(only_if))
    result = cast(
        CursorResult[Any],
        db.session.execute(
            stmt.values(
                claimed_fen=Need.claimed_fen + claimed_delta,
                delivered_fen=Need.delivered_fen + delivered_delta,
            ).execution_options(synchronize_session=False)
        ),
    )
    moved = result.rowcount
    db.session.refresh(need)
    return moved == 1


def _not_deliverable(need: Need) -> InvalidTransition:
    return InvalidTransition(
        _("需求当前状态为「%(s)s」，不能交付。", s=need.status_label)
    )


def _has_reserved(need: Need) -> bool:
    return (
        db.session.execute(
            select(func.count(Claim.id)).where(
                Claim.need_id == need.id, Claim.status == ClaimStatus.RESERVED
            )
        ).scalar_one()
        > 0
    )


def _reopen_if_not_full(need: Need, actor: User | None, action: str) -> None:
    """``fully_claimed → published`` when a claim is cancelled or expires."""
    if need.status == NeedStatus.FULLY_CLAIMED and need.claimed_fen < need.amount_fen:
        _set_need_status(need, actor, NeedStatus.PUBLISHED, action)


def _due_days() -> int:
    return int(current_app.config.get("CLAIM_DUE_DAYS", 30))


# --------------------------------------------------------------------------
# Claim / pledge
# --------------------------------------------------------------------------


# Needs that were never public: to an org they do not exist (404), on the page
# and in the API alike; a need that was public and no longer is (withdrawn,
# expired, claimed) is "not claimable", with the reason.
NEVER_PUBLIC = (NeedStatus.DRAFT, NeedStatus.SUBMITTED, NeedStatus.REJECTED)


def claim_refusal(need: Need, org_user: User) -> DomainError | None:
    """Why ``org_user`` may not claim ``need`` at all, whatever the fund and
    amount (None if they may): their org is not verified, or the need is not
    published or past its deadline. The claim panel shows it, ``claim_need``
    raises it: one rule, one message, on the page and in the API."""
    try:
        require_org_can_act(org_user, org_user.org_id)
    except DomainError as exc:
        return exc
    if need.status != NeedStatus.PUBLISHED:
        return NotClaimable(
            _("需求当前状态为「%(s)s」，不能认领。", s=need.status_label)
        )
    if need.deadline_on is not None and need.deadline_on < china_today():
        return NotClaimable(_("需求已过截止日期，不能认领。"))
    return throttle.refusal(org_user.org_id)  # claim_abandon: 409 claim_limit


def can_pay(fund: Fund, need: Need) -> bool:
    """May ``fund`` pay for (part of) ``need``: it fits the need (rule 3,
    ``funds.services.purpose_refusal``, which ``claim_need`` raises) and has
    something available (rule 2; the exact amount is checked by the ledger)."""
    return (
        purpose_refusal(fund, need.need_type, need.region_code) is None
        and fund.available_fen > 0
    )


def funds_that_can_pay(need: Need, org_id: int) -> list[Fund]:
    """The org's funds that :func:`can_pay` for ``need``, by name: what the
    claim form offers."""
    return sorted(
        (f for f in org_funds(org_id) if can_pay(f, need)), key=lambda f: f.name
    )


def amount_problem(need: Need, amount_fen: int) -> str | None:
    """What is wrong with claiming ``amount_fen`` of ``need`` as it stands now,
    for a form that must name every problem in one round. The guarded UPDATE
    in :func:`claim_need` stays the rule; this only reads."""
    if amount_fen <= 0:
        return _("金额必须大于零。")
    left = need.amount_fen - need.claimed_fen
    if amount_fen > left:
        return _(
            "认领金额超出剩余需求：仅剩 %(left)s 可认捐，您提交了 %(amount)s。",
            left=format_fen(left),
            amount=format_fen(amount_fen),
        )
    return None


def claim_need(
    need: Need,
    org_user: User,
    fund: Fund,
    amount_fen: int,
    project: Project | None = None,
) -> Claim:
    """Claim (the whole remaining amount) or pledge (part of it) from a fund.

    Rules, all in the caller's transaction: the user is staff of the fund's org
    and the org is verified (rule 4); the project, if any, is the org's and
    published; the need is published and not past its deadline (rule 4); a
    special fund fits the need (rule 3); the need's claimed amount stays within
    its amount (rule 1, guarded UPDATE → OverClaim); the fund's available
    balance covers the amount (rule 2, guarded UPDATE → InsufficientFunds).
    An org over the claim-abandon line holds at most a few open claims
    (integrity.throttle → ClaimLimit): its row is locked exclusively from the
    first check, so parallel claims count its open claims one at a time.
    """
    throttled = throttle.abandon_stats(fund.org_id).over_line
    require_org_can_act(org_user, fund.org_id, for_update=throttled)
    refusal = claim_refusal(need, org_user)
    if refusal is not None:
        raise refusal
    org = fund.org
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int):
        raise ValidationFailed(
            _("金额必须是以分为单位的整数。"), {"amount": _("金额格式不正确。")}
        )
    if amount_fen <= 0:
        raise ValidationFailed(_("金额必须大于零。"), {"amount": _("金额必须大于零。")})
    if project is not None and (
        project.org_id != org.id or project.status != ProjectStatus.PUBLISHED
    ):
        message = _("只能选择本机构进行中的帮扶项目。")
        raise ValidationFailed(message, {"project_id": message})
    today = china_today()
    check_purpose(fund, need.need_type, need.region_code)
    if throttled:
        throttle.hold_open_limit(org.id)

    # Rule 1: the need's claimed amount, checked and changed in one statement.
    new_claimed = db.session.execute(
        update(Need)
        .where(
            Need.id == need.id,
            Need.status == NeedStatus.PUBLISHED,
            Need.claimed_fen + amount_fen <= Need.amount_fen,
        )
        .values(claimed_fen=Need.claimed_fen + amount_fen)
        .returning(Need.claimed_fen)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    db.session.refresh(need)
    if new_claimed is None:
        if need.status != NeedStatus.PUBLISHED:
            raise NotClaimable(
                _("需求当前状态为「%(s)s」，不能认领。", s=need.status_label)
            )
        left = need.amount_fen - need.claimed_fen
        raise OverClaim(
            _(
                "认领金额超出剩余需求：仅剩 %(left)s 可认捐，您提交了 %(amount)s。",
                left=format_fen(left),
                amount=format_fen(amount_fen),
            )
        )

    claim = Claim(
        need_id=need.id,
        org_id=org.id,
        fund_id=fund.id,
        project_id=project.id if project is not None else None,
        amount_fen=amount_fen,
        status=ClaimStatus.RESERVED,
        due_on=today + timedelta(days=_due_days()),
        created_by_id=org_user.id,
    )
    db.session.add(claim)
    db.session.flush()
    # Rule 2: raises InsufficientFunds; the caller's rollback undoes the above.
    ledger.reserve(fund, amount_fen, claim.id, org_user.id)
    # 认领 takes the whole remaining amount; 认捐 pledges part of it.
    kind = "认领" if new_claimed == need.amount_fen else "认捐"
    _audit_claim(org_user, "claim.create", claim, None, ClaimStatus.RESERVED, kind)
    if new_claimed == need.amount_fen:
        _set_need_status(need, org_user, NeedStatus.FULLY_CLAIMED, "need.fully_claimed")
    db.session.flush()
    events.claim_created(claim)
    return claim


# --------------------------------------------------------------------------
# Delivery, confirmation, cancellation
# --------------------------------------------------------------------------


def check_delivery(  # noqa: C901 — one check per field, each with its own message, then the file: one round
    claim: Claim,
    delivered_fen: object,
    delivered_on: object,
    method: str | None,
    note: object = "",
    evidence: Any = None,
) -> Any:
    """:func:`deliver_claim`'s field checks and the evidence file's check in
    one round (one ValidationFailed naming every field to fix); writes nothing.
    Returns the checked evidence, ready to write (or None without a file)."""
    fields: dict[str, str] = {}
    if isinstance(delivered_fen, bool) or not isinstance(delivered_fen, int):
        fields["delivered_amount"] = _("交付金额必须是以分为单位的整数。")
    elif delivered_fen <= 0:
        fields["delivered_amount"] = _("交付金额必须大于零；未能交付请取消认领。")
    elif delivered_fen > claim.amount_fen:
        fields["delivered_amount"] = _(
            "交付金额不能超过认领金额 %(a)s。", a=format_fen(claim.amount_fen)
        )
    if not isinstance(delivered_on, date):
        fields["delivered_on"] = _("请填写交付日期（YYYY-MM-DD）。")
    elif delivered_on > china_today():
        fields["delivered_on"] = _("交付日期不能晚于今天。")
    elif delivered_on < claim.created_at.date() - timedelta(days=1):
        fields["delivered_on"] = _("交付日期不能早于认领日期。")
    try:
        DeliveryMethod(method or "")  # None: refused as unknown
    except ValueError:
        fields["method"] = _("交付方式必须是资金转账、物资或服务之一。")
    if len(note.strip() if isinstance(note, str) else "") > 2000:
        fields["note"] = _("说明不超过2000字。")
    elif isinstance(note, str) and note.strip():
        gather(fields, lambda: public_text.check_delivery_note(note, claim))
    prepared = None
    if evidence is not None:
        from charitylink.claims import evidence as evidence_files

        def check_file() -> None:
            nonlocal prepared
            prepared = evidence_files.prepare(evidence)

        gather(fields, check_file)
    if fields:
        raise ValidationFailed(_("交付信息有误，请检查标出的字段。"), fields)
    return prepared


def deliver_claim(  # noqa: C901, PLR0912, PLR0915 — each field checked, then the guarded moves in their lock order (claim, need, fund); one function keeps that order in sight
    claim: Claim,
    user: User,
    delivered_fen: int,
    delivered_on: date | None,
    method: str | None,
    note: str = "",
    evidence: Any = None,
    *,
    _from_sessions: bool = False,
) -> Claim:
    """The org reports a delivery: ``delivered_fen`` (≤ the claimed amount) is
    paid out of the fund, the undelivered rest goes back to it (and off the
    need's claimed amount). ``evidence`` is an optional uploaded file
    (``werkzeug.datastructures.FileStorage`` or ``(filename, bytes)``).

    A suspended org reports no delivery: money leaves the fund here. A delivery
    it reported before the suspension stays for the moderator to confirm or not
    (``confirm_claim`` does not look at the org's status)."""
    if claim.offer_id is not None and not _from_sessions:
        # A goods or service match is delivered by its sessions (claims.matching).
        from charitylink.claims import matching

        return matching.deliver_from_api(claim, user, delivered_fen, note)
    require_org_can_act(user, claim.org_id)
    if claim.months is not None:  # a pairing: month by month (claims.pairing)
        raise InvalidTransition(_("结对认领请按月交付（逐期登记）。"))
    if claim.status != ClaimStatus.RESERVED:
        raise InvalidTransition(_invalid_message(claim, ClaimStatus.DELIVERED))
    if claim.need.status not in DELIVERABLE_NEED_STATUSES:
        raise _not_deliverable(claim.need)
    note = note.strip() if isinstance(note, str) else ""
    prepared = check_delivery(
        claim, delivered_fen, delivered_on, method, note, evidence
    )
    delivery_method = DeliveryMethod(method or "")
    stored = None
    if prepared is not None:
        from charitylink.claims import evidence as evidence_files

        stored = evidence_files.write(prepared)  # raises StorageFull
    try:
        _move_claim(claim, ClaimStatus.RESERVED, ClaimStatus.DELIVERED)
        rest = claim.amount_fen - delivered_fen
        # Lock order everywhere: need row (taken by the summary tables' session
        # events before the claim's first write), claim row, fund row (as in
        # claim_need), so two transactions never wait on each other in a circle.
        need = claim.need
        # The need's status is part of the UPDATE: nothing is paid out on a
        # need that left the library (withdrawn, expired) meanwhile.
        if not _add_to_need(
            need, -rest, delivered_fen, only_if=DELIVERABLE_NEED_STATUSES
        ):
            raise _not_deliverable(need)
        if claim.fund_id is not None:  # goods and services hold no fund money
            ledger.disburse(claim.fund_id, delivered_fen, claim.id, user.id)
            ledger.release(claim.fund_id, rest, claim.id, user.id, note="交付余额释放")
        claim.delivered_fen = delivered_fen
        claim.delivered_on = delivered_on
        claim.method = delivery_method
        claim.note = note or None
        claim.delivered_at = utcnow()
        if stored is not None:
            claim.evidence_path, claim.evidence_name, claim.evidence_mime = stored
            claim.evidence_sha256 = prepared.sha256 if prepared else None
        _audit_claim(
            user,
            "claim.deliver",
            claim,
            ClaimStatus.RESERVED,
            ClaimStatus.DELIVERED,
            f"交付 {format_fen(delivered_fen)}，释放 {format_fen(rest)}",
        )
        db.session.flush()
        _reopen_if_not_full(need, user, "need.reopen")
        if (
            need.status == NeedStatus.FULLY_CLAIMED
            and need.claimed_fen == need.amount_fen
            and not _has_reserved(need)
        ):
            _set_need_status(need, user, NeedStatus.DELIVERED, "need.delivered")
        db.session.flush()
        events.delivery_reported(claim)
    except Exception:
        if stored is not None:
            from charitylink.claims import evidence as evidence_files

            evidence_files.discard(stored[0])
        raise
    return claim


def confirm_claim(claim: Claim, moderator: User) -> Claim:
    """A moderator of the need's region confirms the delivery after the household
    confirmed receipt (回访). The need is ``confirmed`` once it was delivered and
    all its active claims are confirmed."""
    require_moderator(moderator, claim.need.region_code)
    if claim.months is not None:  # a pairing: each month is confirmed
        raise InvalidTransition(_("结对认领请逐期回访确认。"))
    _move_claim(claim, ClaimStatus.DELIVERED, ClaimStatus.CONFIRMED)
    claim.confirmed_by_id = moderator.id
    claim.confirmed_at = utcnow()
    _audit_claim(
        moderator, "claim.confirm", claim, ClaimStatus.DELIVERED, ClaimStatus.CONFIRMED
    )
    _after_match_confirmed(claim, moderator)
    db.session.flush()
    _maybe_confirm_need(claim.need, moderator)
    events.delivery_confirmed(claim)
    return claim


def _after_match_confirmed(claim: Claim, moderator: User) -> None:
    """回访 of a goods or service match confirms its sessions too."""
    if claim.offer_id is not None:
        from charitylink.claims import matching

        matching.confirm_sessions(claim, moderator)


def _after_match_closed(claim: Claim) -> None:
    """A reserved match closed: its units go back to the offer."""
    if claim.offer_id is not None:
        from charitylink.claims import matching

        matching.give_back_units(claim)


def _maybe_confirm_need(need: Need, actor: User) -> None:
    if need.status != NeedStatus.DELIVERED:
        return
    unconfirmed = db.session.scalar(
        select(func.count(Claim.id)).where(
            Claim.need_id == need.id,
            Claim.status.in_(
                [ClaimStatus.RESERVED, ClaimStatus.DELIVERED, ClaimStatus.DISPUTED]
            ),
        )
    )
    if unconfirmed == 0:
        _set_need_status(need, actor, NeedStatus.CONFIRMED, "need.confirm")


def cancel_claim(claim: Claim, user: User, reason: str = "") -> Claim:
    """Org staff withdraw a reserved claim: the reservation goes back to the fund
    and the amount back to the need.

    Allowed whatever the org's status (a suspended org may cancel): cancelling
    moves no money out and reveals nothing; it hands the reserved amount back to
    the fund and the need back to other orgs, which is what a regulator wants
    from a suspended org's open claims."""
    require_org_staff(user, claim.org_id)
    reason = clean_reason(reason, required=False)
    if claim.months is not None:  # a pairing ends: its delivered months stay
        from charitylink.claims import pairing

        pairing.end_pairing(claim, user, reason or "机构取消结对", check_actor=False)
        return claim
    _close_reserved(claim, user, ClaimStatus.CANCELLED, "claim.cancel", reason)
    events.claim_cancelled(claim)
    return claim


def _close_reserved(
    claim: Claim, actor: User | None, new: ClaimStatus, action: str, reason: str = ""
) -> None:
    _move_claim(claim, ClaimStatus.RESERVED, new)
    claim.closed_at = utcnow()
    need = claim.need
    _add_to_need(need, -claim.amount_fen)  # need before fund: see deliver_claim
    _after_match_closed(claim)
    if claim.fund_id is not None:  # goods and services hold no fund money
        ledger.release(
            claim.fund_id,
            claim.amount_fen,
            claim.id,
            getattr(actor, "id", None),
            note="认领取消" if new == ClaimStatus.CANCELLED else "认领过期",
        )
    _audit_claim(actor, action, claim, ClaimStatus.RESERVED, new, reason[:500])
    db.session.flush()
    _reopen_if_not_full(need, actor, "need.reopen")
    if new == ClaimStatus.EXPIRED:
        # Past its due date or with its need gone: both reach the org this way.
        events.claim_expired(claim)


def release_claims_of_need(need: Need, actor: User | None, reason: str = "") -> int:
    """Expire every reserved claim of a need that leaves the library (withdrawn
    or expired): the money goes back to the funds. Returns how many."""
    claims = db.session.scalars(
        select(Claim).where(
            Claim.need_id == need.id, Claim.status == ClaimStatus.RESERVED
        )
    ).all()
    for claim in claims:
        if claim.months is not None:  # a pairing ends: its delivered months stay
            from charitylink.claims import pairing

            pairing.end_pairing(claim, actor, reason or "需求关闭", check_actor=False)
            continue
        _close_reserved(claim, actor, ClaimStatus.EXPIRED, "claim.expire", reason)
    return len(claims)


# --------------------------------------------------------------------------
# Expiry (flask --app wsgi expire, from cron)
# --------------------------------------------------------------------------


def expire_overdue(
    today: date | None = None,
    actor: User | None = None,
    on_each: Callable[[], None] | None = None,
) -> dict[str, int]:
    """Expire reserved claims past their due date, then published needs past
    their deadline (releasing whatever they still had reserved). Running it
    twice changes nothing the second time. Flushes; the caller commits —
    ``on_each`` (the CLI passes ``db.session.commit``) is called after each claim
    and each need, so a long run holds no lock for long."""
    today = today or china_today()
    done = on_each or (lambda: None)
    claim_ids = db.session.scalars(
        select(Claim.id)
        .where(
            Claim.status == ClaimStatus.RESERVED,
            Claim.due_on < today,
            # A pairing's months are missed one by one, never expired at once.
            Claim.months.is_(None),
        )
        .order_by(Claim.id)
    ).all()
    expired_claims = 0
    for claim_id in claim_ids:
        claim = db.session.get_one(Claim, claim_id)  # claims are never deleted
        try:
            _close_reserved(
                claim, actor, ClaimStatus.EXPIRED, "claim.expire", "超过交付期限"
            )
        except InvalidTransition:
            continue  # delivered or cancelled meanwhile: nothing to expire
        expired_claims += 1
        done()
    need_ids = db.session.scalars(
        select(Need.id)
        .where(
            Need.status == NeedStatus.PUBLISHED,
            Need.deadline_on.is_not(None),
            Need.deadline_on < today,
        )
        .order_by(Need.id)
    ).all()
    expired_needs = 0
    for need_id in need_ids:
        need = db.session.get_one(Need, need_id)  # needs are never deleted
        db.session.refresh(need)
        if need.status != NeedStatus.PUBLISHED:
            continue
        # Claims first (lock order claim → need → fund, as everywhere) ...
        expired_claims += release_claims_of_need(need, actor, "需求已过截止日期")
        # ... then the need, only if it is still published (guarded UPDATE).
        result = cast(
            CursorResult[Any],
            db.session.execute(
                update(Need)
                .where(Need.id == need_id, Need.status == NeedStatus.PUBLISHED)
                .values(status=NeedStatus.EXPIRED, closed_at=utcnow())
                .execution_options(synchronize_session=False)
            ),
        )
        db.session.refresh(need)
        if result.rowcount == 1:
            # A claim that slipped in between the two steps goes back too.
            expired_claims += release_claims_of_need(need, actor, "需求已过截止日期")
            audit.record(
                actor,
                "need.expire",
                need,
                NeedStatus.PUBLISHED,
                NeedStatus.EXPIRED,
                "超过截止日期",
            )
            db.session.flush()
            _after_need_status_change(need)
            expired_needs += 1
        done()
    return {"claims": expired_claims, "needs": expired_needs}


# --------------------------------------------------------------------------
# Disputes (a failed 回访) and due-date extensions (docs/disputes.md)
# --------------------------------------------------------------------------

NOTE_MAX = 2000
EXTEND_MAX_DAYS = 365


def dispute_answer_days() -> int:
    """How long the org has to answer a dispute before a moderator may
    resolve it without the answer."""
    return int(current_app.config.get("DISPUTE_ANSWER_DAYS", 14))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def dispute_claim(
    claim: Claim, moderator: User, reason: Any, received_fen: Any
) -> Claim:
    """Instead of confirming, a moderator of the need's region records that the
    household did not receive (all of) the delivery: the claim becomes
    ``disputed`` and the org is asked to answer within
    :func:`dispute_answer_days`. No money moves until the dispute is resolved;
    the need is not confirmed while a claim of it is disputed."""
    require_moderator(moderator, claim.need.region_code)
    if (
        claim.months is not None
    ):  # months are confirmed one by one, or the pairing ended
        raise InvalidTransition(_("结对认领请逐期回访；有问题请结束结对并说明原因。"))
    if claim.status != ClaimStatus.DELIVERED:
        raise InvalidTransition(_invalid_message(claim, ClaimStatus.DISPUTED))
    fields: dict[str, str] = {}
    delivered = claim.delivered_fen or 0
    if not _is_int(received_fen):
        fields["received_amount"] = _("家庭实际收到的金额必须是以分为单位的整数。")
    elif received_fen < 0 or received_fen > delivered:
        fields["received_amount"] = _(
            "家庭实际收到的金额应在 0 到交付金额 %(a)s 之间。", a=format_fen(delivered)
        )
    gather(fields, lambda: clean_reason(reason, required=True))
    if fields:
        raise ValidationFailed(_("异议信息有误，请检查标出的字段。"), fields)
    reason = clean_reason(reason, required=True)
    _move_claim(claim, ClaimStatus.DELIVERED, ClaimStatus.DISPUTED)
    claim.disputed_at = utcnow()
    claim.disputed_by_id = moderator.id
    claim.dispute_reason = reason
    claim.received_fen = received_fen
    claim.dispute_due_on = china_today() + timedelta(days=dispute_answer_days())
    row = _audit_claim(
        moderator,
        "claim.dispute",
        claim,
        ClaimStatus.DELIVERED,
        ClaimStatus.DISPUTED,
        f"回访有异议：家庭称收到 {format_fen(received_fen)}"
        f"（登记交付 {format_fen(delivered)}）；{reason}",
    )
    db.session.flush()
    events.delivery_disputed(claim, row)
    return claim


def _response_checks(note: Any, evidence: Any) -> tuple[str, Any]:
    fields: dict[str, str] = {}
    text = note.strip() if isinstance(note, str) else ""
    if not text:
        fields["note"] = _("请填写答复说明。")
    elif len(text) > NOTE_MAX:
        fields["note"] = _("答复说明不超过2000字。")
    prepared = None
    if evidence is not None:
        from charitylink.claims import evidence as evidence_files

        def check_file() -> None:
            nonlocal prepared
            prepared = evidence_files.prepare(evidence)

        gather(fields, check_file)
    if fields:
        raise ValidationFailed(_("答复信息有误，请检查标出的字段。"), fields)
    return text, prepared


def respond_to_dispute(
    claim: Claim, user: User, note: Any, evidence: Any = None
) -> Claim:
    """The org's answer to a dispute: a note, and optionally a file (a receipt,
    a photo of the handover). One answer per dispute. A suspended org may
    still answer: answering moves no money."""
    require_org_staff(user, claim.org_id)
    if claim.status != ClaimStatus.DISPUTED:
        raise InvalidTransition(_("只有核实中的认领可以答复异议。"))
    if claim.responded_at is not None:
        raise InvalidTransition(_("本机构已答复过这项异议。"))
    text, prepared = _response_checks(note, evidence)
    stored = None
    if prepared is not None:
        from charitylink.claims import evidence as evidence_files

        stored = evidence_files.write(prepared)  # raises StorageFull
    try:
        values: dict[str, Any] = {
            "response_note": text,
            "responded_at": utcnow(),
            "responded_by_id": user.id,
        }
        if stored is not None:
            (
                values["response_evidence_path"],
                values["response_evidence_name"],
                values["response_evidence_mime"],
            ) = stored
        # Guarded: two answers racing, or an answer racing the resolution,
        # cannot both land.
        take_claim(
            claim,
            ClaimStatus.DISPUTED,
            values,
            Claim.responded_at.is_(None),
            refusal=_("这项异议已答复或已处理，请刷新页面。"),
        )
        row = _audit_claim(
            user,
            "claim.respond",
            claim,
            None,
            None,
            "机构答复异议（附凭证）" if stored else "机构答复异议",
        )
        db.session.flush()
    except Exception:
        if stored is not None:
            from charitylink.claims import evidence as evidence_files

            evidence_files.discard(stored[0])
        raise
    events.dispute_answered(claim, row)
    return claim


def dispute_waiting_for_answer(claim: Claim) -> bool:
    """True while the org may still answer and has not: a moderator must wait."""
    return (
        claim.status == ClaimStatus.DISPUTED
        and claim.responded_at is None
        and claim.dispute_due_on is not None
        and china_today() <= claim.dispute_due_on
    )


def _resolution_checks(
    claim: Claim, outcome: Any, confirmed_fen: Any, reason: Any
) -> tuple[DisputeOutcome, int, str]:
    fields: dict[str, str] = {}
    chosen: DisputeOutcome | None = None
    try:
        chosen = DisputeOutcome(outcome if isinstance(outcome, str) else "")
    except ValueError:
        fields["outcome"] = _(
            "处理结果必须是确认（confirm）、部分确认（partial）或撤销（reverse）。"
        )
    delivered = claim.delivered_fen or 0
    reversed_fen = 0
    if chosen == DisputeOutcome.PARTIAL:
        if not _is_int(confirmed_fen):
            fields["confirmed_amount"] = _(
                "部分确认须填写确认金额（以分为单位的整数）。"
            )
        elif confirmed_fen <= 0 or confirmed_fen > delivered:
            fields["confirmed_amount"] = _(
                "确认金额应大于零且不超过交付金额 %(a)s。", a=format_fen(delivered)
            )
        else:
            reversed_fen = delivered - confirmed_fen
    elif chosen == DisputeOutcome.REVERSE:
        reversed_fen = delivered
    gather(fields, lambda: clean_reason(reason, required=True))
    if fields:
        raise ValidationFailed(_("处理信息有误，请检查标出的字段。"), fields)
    assert chosen is not None
    return chosen, reversed_fen, clean_reason(reason, required=True)


def resolve_dispute(
    claim: Claim,
    moderator: User,
    outcome: Any,
    confirmed_fen: Any = None,
    reason: Any = "",
) -> Claim:
    """A moderator other than the one who disputed decides: ``confirm`` (the
    delivery stands), ``partial`` (``confirmed_fen`` stands, the rest is
    reversed) or ``reverse`` (the whole delivery is reversed). Reversed money
    leaves the need's claimed and delivered figures and returns to the fund's
    balance through a ``reversal`` entry against the payment; a need left short
    opens again (docs/disputes.md)."""
    require_moderator(moderator, claim.need.region_code)
    if claim.status != ClaimStatus.DISPUTED:
        raise InvalidTransition(_invalid_message(claim, ClaimStatus.CONFIRMED))
    if claim.disputed_by_id == moderator.id:
        raise FourEyes(_("提出异议的审核员不能处理同一异议，请由另一位审核员处理。"))
    if dispute_waiting_for_answer(claim):
        raise InvalidTransition(
            _(
                "机构尚未答复，答复期限至 %(d)s；期限届满前请等待机构答复。",
                d=claim.dispute_due_on.isoformat() if claim.dispute_due_on else "",
            )
        )
    chosen, reversed_fen, reason = _resolution_checks(
        claim, outcome, confirmed_fen, reason
    )
    new = (
        ClaimStatus.REVERSED
        if chosen == DisputeOutcome.REVERSE
        else ClaimStatus.CONFIRMED
    )
    delivered = claim.delivered_fen or 0
    # Lock order as everywhere: claim row, need row, fund row.
    _move_claim(claim, ClaimStatus.DISPUTED, new)
    need = claim.need
    if reversed_fen > 0:
        _add_to_need(need, -reversed_fen, -reversed_fen)
    if reversed_fen > 0 and claim.fund_id is not None:  # goods: no money to return
        payment = db.session.scalar(
            select(LedgerEntry).where(
                LedgerEntry.claim_id == claim.id,
                LedgerEntry.kind == LedgerKind.DISBURSE,
            )
        )
        if payment is None:  # a delivered claim always has its payment
            raise InvalidTransition(_("找不到这笔交付的支出记录。"))
        # A fixed text: the public fund page shows it, never the moderator's
        # own words (which may name the household).
        ledger.reverse_disbursement(
            payment,
            reversed_fen,
            moderator.id,
            f"回访核实未送达，作为挪用待追回（认领 #{claim.id}）",
        )
    now = utcnow()
    claim.resolution = chosen
    claim.resolution_reason = reason
    claim.resolved_at = now
    claim.resolved_by_id = moderator.id
    claim.reversed_fen = reversed_fen or None
    if chosen == DisputeOutcome.PARTIAL:
        claim.delivered_fen = delivered - reversed_fen
    if new == ClaimStatus.CONFIRMED:
        claim.confirmed_by_id = moderator.id
        claim.confirmed_at = now
        _after_match_confirmed(claim, moderator)
    else:
        claim.closed_at = now
    row = _audit_claim(
        moderator,
        "claim.resolve",
        claim,
        ClaimStatus.DISPUTED,
        new,
        f"{DISPUTE_OUTCOME_LABELS[chosen]}：撤销 {format_fen(reversed_fen)}；{reason}",
    )
    db.session.flush()
    if reversed_fen > 0:
        _after_reversal(need, moderator)
    else:
        _maybe_confirm_need(need, moderator)
    events.dispute_resolved(claim, row)
    return claim


def _after_reversal(need: Need, actor: User) -> None:
    """The reversed money no longer counts as help the household received, so
    the need is short again: a fully claimed or delivered need opens to other
    orgs (or expires, past its deadline); otherwise it may now be complete."""
    if need.claimed_fen >= need.amount_fen:
        _maybe_confirm_need(need, actor)
        return
    if need.status == NeedStatus.FULLY_CLAIMED:
        _set_need_status(need, actor, NeedStatus.PUBLISHED, "need.reopen")
    elif need.status == NeedStatus.DELIVERED:
        if need.deadline_on is not None and need.deadline_on < china_today():
            _set_need_status(
                need, actor, NeedStatus.EXPIRED, "need.expire", "撤销交付后已过截止日期"
            )
        else:
            _set_need_status(
                need, actor, NeedStatus.PUBLISHED, "need.reopen", "撤销交付后重新开放"
            )


def extend_claim(claim: Claim, moderator: User, due_on: Any, reason: Any) -> Claim:
    """A moderator of the need's region gives a reserved claim more time to be
    delivered (a later due date), with a reason."""
    require_moderator(moderator, claim.need.region_code)
    if claim.status != ClaimStatus.RESERVED:
        raise InvalidTransition(_("只有待交付的认领可以延长交付期限。"))
    fields: dict[str, str] = {}
    old = claim.due_on
    today = china_today()
    if not isinstance(due_on, date):
        fields["due_on"] = _("请填写新的交付期限（YYYY-MM-DD）。")
    elif due_on <= old or due_on < today:
        fields["due_on"] = _(
            "新的交付期限须晚于原期限 %(d)s，且不早于今天。", d=old.isoformat()
        )
    elif due_on > today + timedelta(days=EXTEND_MAX_DAYS):
        fields["due_on"] = _("交付期限最多延至一年以内。")
    gather(fields, lambda: clean_reason(reason, required=True))
    if fields:
        raise ValidationFailed(_("延期信息有误，请检查标出的字段。"), fields)
    reason = clean_reason(reason, required=True)
    take_claim(
        claim,
        ClaimStatus.RESERVED,
        {"due_on": due_on},
        Claim.due_on == old,
        refusal=_("认领已变化（已交付、取消或已延期），请刷新页面。"),
    )
    _audit_claim(
        moderator,
        "claim.extend",
        claim,
        None,
        None,
        f"交付期限 {old.isoformat()} → {due_on.isoformat()}：{reason}",
    )
    db.session.flush()
    return claim


def follow_up_state(need: Need) -> str:
    """What the public need page says of the follow-up visits: ``disputed``
    while any delivery is being checked, ``confirmed`` once one was confirmed,
    else "". Never the reason or the notes."""
    states = set(
        db.session.scalars(
            select(Claim.status)
            .where(
                Claim.need_id == need.id,
                Claim.status.in_([ClaimStatus.DISPUTED, ClaimStatus.CONFIRMED]),
            )
            .distinct()
        )
    )
    if ClaimStatus.DISPUTED in states:
        return "disputed"
    return "confirmed" if ClaimStatus.CONFIRMED in states else ""


def claim_timeline(claim: Claim) -> list[audit.AuditEvent]:
    """The claim's steps as the audit log holds them, oldest first (the claim
    page shows them to the org and the region's moderators)."""
    return list(
        db.session.scalars(
            select(audit.AuditEvent)
            .where(
                audit.AuditEvent.object_type == "claim",
                audit.AuditEvent.object_id == str(claim.id),
                audit.AuditEvent.action != "claim.contact_view",
            )
            .order_by(audit.AuditEvent.id)
        )
    )


# --------------------------------------------------------------------------
# Who may see a claim; contacts (rule 5)
# --------------------------------------------------------------------------


def can_view(claim: Claim, user: User) -> bool:
    """The org's staff, and moderators of the need's region."""
    if role_of(user) in ORG_ROLES:
        return getattr(user, "org_id", None) == claim.org_id
    return is_moderator(user) and covers(user, claim.need.region_code)


def civil_affairs_contact(need: Need) -> dict[str, str] | None:
    """Whom the org talks to at the civil-affairs office: the moderator who
    approved the need, else the one who entered it (name and e-mail only)."""
    for user_id in (need.reviewed_by_id, need.entered_by_id):
        if user_id is None:
            continue
        user = db.session.get(User, user_id)
        if user is not None:
            return {"name": user.name or "", "email": user.email}
    return None


def household_contact_available(claim: Claim) -> bool:
    from charitylink.privacy import consents

    return bool(
        claim.status == ClaimStatus.RESERVED
        and consents.contact_consent_active(claim.need)
    )


def reveal_household_contact(claim: Claim, user: User) -> dict[str, str]:
    """Rule 5's one exception: the household has an active share_contact
    consent (privacy/consents.py) and the org
    holds a reserved claim → its staff see the contact name and phone (never the
    ID number, address or notes). Each showing is audited. A suspended org
    sees no contact."""
    from charitylink.privacy import access, consents

    require_org_can_act(user, claim.org_id)
    if claim.status != ClaimStatus.RESERVED:
        raise NotAllowed(_("只有待交付（已认领）的认领可以查看受助家庭联系方式。"))
    # Checked at this moment and held until the release commits: a withdrawal
    # that committed first wins (privacy/consents.hold_contact_consent).
    if not consents.hold_contact_consent(claim.need):
        raise NotAllowed(
            _("受助家庭未书面同意向认领机构提供联系方式，请联系民政工作人员。")
        )
    private = _private_half(claim.need)
    contact = {
        "name": str(private.get("name") or ""),
        "phone": str(private.get("phone") or ""),
    }
    _audit_claim(
        user, "claim.contact_view", claim, None, None, "查看受助家庭联系人及电话"
    )
    db.session.flush()
    access.note_private_view(user)
    return contact


def _private_half(need: Need) -> dict[str, Any]:
    from charitylink.needs import privacy

    household = privacy.decrypt_household(need)
    return household if isinstance(household, dict) else {}


__all__ = [
    "ACTIVE_CLAIM_STATUSES",
    "claim_timeline",
    "dispute_claim",
    "extend_claim",
    "resolve_dispute",
    "respond_to_dispute",
    "TRANSITIONS",
    "can_pay",
    "can_view",
    "cancel_claim",
    "civil_affairs_contact",
    "claim_need",
    "confirm_claim",
    "check_delivery",
    "deliver_claim",
    "expire_overdue",
    "funds_that_can_pay",
    "household_contact_available",
    "release_claims_of_need",
    "reveal_household_contact",
]


# --------------------------------------------------------------------------
# A need withdrawn with open claims (needs.services.withdraw_need)
# --------------------------------------------------------------------------


def cancel_reserved_for_withdrawal(
    need: Need, moderator: User, reason: str
) -> list[Claim]:
    """Cancel every reserved claim of ``need``, which a moderator is
    withdrawing: each claim's money goes back to its fund through the same
    release a cancellation makes, the need's claimed amount drops by it, and
    each cancellation is audited with the moderator's reason. Delivered and
    confirmed claims are left as they are: their money was paid out and the
    confirmation visit still follows.

    Lock order as everywhere: the need, each claim row, then the fund.
    The need stays in its status here (no "re-opened" step for a need about
    to leave the library); the caller moves it and calls this again for a
    claim that may have landed in between. Returns the claims cancelled, for
    the caller to tell their orgs."""
    require_moderator(moderator, need.region_code)
    claims = db.session.scalars(
        select(Claim)
        .where(Claim.need_id == need.id, Claim.status == ClaimStatus.RESERVED)
        .order_by(Claim.id)
    ).all()
    cancelled = []
    for claim in claims:
        if claim.months is not None:  # a pairing ends: its delivered months stay
            from charitylink.claims import pairing

            try:
                pairing.end_pairing(
                    claim, moderator, f"需求撤回：{reason}"[:500], check_actor=False
                )
            except InvalidTransition:
                continue
            cancelled.append(claim)
            continue
        try:
            _move_claim(claim, ClaimStatus.RESERVED, ClaimStatus.CANCELLED)
        except InvalidTransition:
            continue  # delivered or cancelled by its org meanwhile
        claim.closed_at = utcnow()
        _add_to_need(need, -claim.amount_fen)
        _after_match_closed(claim)
        if claim.fund_id is not None:  # goods and services hold no fund money
            ledger.release(
                claim.fund_id,
                claim.amount_fen,
                claim.id,
                moderator.id,
                note="需求撤回，认领取消",
            )
        _audit_claim(
            moderator,
            "claim.cancel",
            claim,
            ClaimStatus.RESERVED,
            ClaimStatus.CANCELLED,
            f"需求撤回：{reason}"[:500],
        )
        cancelled.append(claim)
    db.session.flush()
    return cancelled
