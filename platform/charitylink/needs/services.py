"""The rules of needs: entry, review, withdrawal, private access (docs/needs.md).

Plain functions: take objects and the acting user, check, change, audit, flush.
They never commit and never touch ``request``. Audit reasons carry moderator
reasons (themselves scanned for personal data) and fixed texts only, never
household data.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from charitylink.accounts.models import User
from charitylink.core import audit, text_guard
from charitylink.core.i18n import _
from charitylink.core.permissions import require_moderator
from charitylink.core.reasons import clean_reason
from charitylink.core.timeutil import InvalidDate, parse_day, today, utcnow
from charitylink.core.transitions import move_if
from charitylink.errors import (
    Conflict,
    DomainError,
    FourEyes,
    InvalidTransition,
    ValidationFailed,
)
from charitylink.extensions import db
from charitylink.needs import codes, privacy
from charitylink.needs.models import EXTENDABLE_STATUSES, Need, NeedStatus
from charitylink.needs.validation import (
    CleanNeed,
    clean_need_input,
    guard_public_text,
)
from charitylink.notifications import events

# Tries at a free code: enough for a few dozen entries in one province at once.
CODE_ATTEMPTS = 30
# Statuses of a household's needs counted as "open" for duplicate warnings.
CLOSED_FOR_DUPLICATES = (
    NeedStatus.WITHDRAWN,
    NeedStatus.EXPIRED,
    NeedStatus.CONFIRMED,
)


def _action_label(action: str) -> str:
    return {
        "update": _("修改"),
        "submit": _("提交审核"),
        "approve": _("审核通过"),
        "reject": _("驳回"),
        "to_draft": _("退回草稿"),
        "withdraw": _("撤回"),
        "extend": _("延长截止日期"),
    }[action]


def _not_now(need: Need, action: str) -> InvalidTransition:
    return InvalidTransition(
        _(
            "需求当前状态为「%(s)s」，不能%(a)s。",
            s=need.status_label,
            a=_action_label(action),
        )
    )


def _require_action(need: Need, action: str) -> NeedStatus:
    """The need's status, if NEED_ACTIONS lets ``action`` start from it."""
    if not need.can(action):
        raise _not_now(need, action)
    return NeedStatus(need.status)


def _move(need: Need, old: NeedStatus, values: dict[str, Any], *rules: Any) -> bool:
    """Change the need's row only while it still has status ``old`` and meets
    ``rules``: one guarded UPDATE, its WHERE re-checked by the database under its
    row (PostgreSQL) or write (SQLite) lock, so two requests racing cannot both
    pass a check made before the write. The object is refreshed either way:
    callers and the audit row see the stored state. True if the row moved."""
    return move_if(need, old, values, *rules)


def _changed_meanwhile() -> InvalidTransition:
    # The row left the expected state and came back between the check and the
    # write (another request); the user just tries again.
    return InvalidTransition(_("需求状态刚刚发生了变化，请刷新页面后重试。"))


def _check_external_id(external_id: str | None, need_id: int | None) -> None:
    if not external_id:
        return
    other = db.session.scalar(select(Need.id).where(Need.external_id == external_id))
    if other is not None and other != need_id:
        raise ValidationFailed(
            _("外部编号已被另一条需求使用。"),
            {"external_id": _("外部编号「%(e)s」已存在。", e=external_id)},
        )


def _apply(need: Need, clean: Any) -> None:
    for key, value in clean.public.items():
        setattr(need, key, value)
    need.private_ciphertext = privacy.encrypt_household(clean.household)
    need.household_key = privacy.household_key(clean.household["id_number"])


def _record_entry_consent(need: Need, clean: Any, moderator: User) -> None:
    # The box on the form (and the import's column) records a written
    # consent; the need's own flag column is no longer read (docs/consents.md).
    from charitylink.privacy import consents

    consents.record_from_entry(
        need, moderator, bool(clean.household.get("consent_share_contact"))
    )


def new_draft(clean: CleanNeed, moderator: User) -> Need:
    """A draft need from validated input (both halves), not yet added or coded:
    the one way a need is built, by ``create_need`` and ``create_needs``."""
    county = clean.public["region_code"]
    need = Need(
        status=NeedStatus.DRAFT,
        entered_by_id=moderator.id,
        public_region_code=privacy.coarse_region_for(county),
        claimed_fen=0,
        delivered_fen=0,
    )
    _apply(need, clean)
    return need


def create_needs(cleaned: list[CleanNeed], moderator: User) -> list[Need]:
    """Many validated drafts in one flush (the bulk import's batch): codes in
    sequence per province, one audit event each. The caller has checked the
    moderator's region and the external ids; should the batch hit a constraint
    (a colleague entering in the same province, or the same external id, at that
    moment), ``IntegrityError`` is raised for the caller to roll back its
    savepoint and replay the rows one by one through ``create_need``."""
    last: dict[str, int] = {}
    needs = []
    for clean in cleaned:
        need = new_draft(clean, moderator)
        province = codes.province_of(need.region_code)
        if province not in last:
            last[province] = codes.last_seq(province)
        last[province] += 1
        need.code = codes.format_code(province, last[province])
        needs.append(need)
    db.session.add_all(needs)
    db.session.flush()
    for need, clean in zip(needs, cleaned, strict=True):
        audit.record(moderator, "need.create", need, None, NeedStatus.DRAFT)
        _record_entry_consent(need, clean, moderator)
    db.session.flush()
    return needs


def create_need(data: dict[str, Any], moderator: User) -> Need:
    """Enter a need (both halves) as a draft; the moderator must cover its county.

    ``data`` uses the API's names with ``amount`` in fen and a ``household`` dict.
    Raises ``ValidationFailed`` (fields named), ``NotAllowed``.
    """
    require_moderator(moderator)
    clean = clean_need_input(data)
    county = clean.public["region_code"]
    require_moderator(moderator, county)
    _check_external_id(clean.public["external_id"], None)
    need = new_draft(clean, moderator)
    # The code is "XQ-<province>-<sequence>"; moderators entering in the same
    # province at once may pick the same number. The unique index refuses all
    # but one (on PostgreSQL once the holder commits); the others retry inside a
    # savepoint, each time past the number just refused, since the last one
    # committed may still be behind numbers other writers hold.
    tried = 0
    for attempt in range(CODE_ATTEMPTS):
        tried = max(codes.last_seq(county), tried) + 1
        need.code = codes.format_code(county, tried)
        try:
            with db.session.begin_nested():
                db.session.add(need)
                db.session.flush()
            break
        except IntegrityError:
            if attempt == CODE_ATTEMPTS - 1:
                raise Conflict(_("需求编号生成冲突，请重试。")) from None
    audit.record(moderator, "need.create", need, None, NeedStatus.DRAFT)
    _record_entry_consent(need, clean, moderator)
    db.session.flush()
    return need


def update_need(need: Need, data: dict[str, Any], moderator: User) -> Need:
    """Edit a draft or rejected need (a rejected one goes back to draft)."""
    require_moderator(moderator, need.region_code)
    current = _require_action(need, "update")
    clean = clean_need_input(data)
    require_moderator(moderator, clean.public["region_code"])
    _check_external_id(clean.public["external_id"], need.id)
    # Status and editor first, guarded (a submit or approval racing this edit
    # either lands before it, and the edit is refused, or waits for it); the
    # content is written while this transaction holds the row.
    values = {"status": NeedStatus.DRAFT, "last_edited_by_id": moderator.id}
    if not _move(need, current, values):
        _require_action(need, "update")
        raise _changed_meanwhile()
    old_county = need.region_code
    _apply(need, clean)
    if need.region_code != old_county:
        need.public_region_code = privacy.coarse_region_for(need.region_code)
    audit.record(moderator, "need.update", need, current, NeedStatus.DRAFT)
    _record_entry_consent(need, clean, moderator)
    db.session.flush()
    return need


def _household_name(need: Need) -> str:
    return str(privacy.decrypt_household(need).get("name", ""))


def _recheck_text(need: Need) -> None:
    guard_public_text(
        need.title,
        need.description,
        need.items,
        _household_name(need),
        external_id=need.external_id,
    )


def _clean_reason(need: Need, reason: Any, *, required: bool) -> str:
    reason = clean_reason(reason, required=required)
    # Reasons go into the audit trail: keep household data out of it.
    findings = text_guard.scan(reason, household_names=[_household_name(need)])
    if findings:
        msg = _("原因：%(m)s", m=text_guard.findings_message(findings))
        raise ValidationFailed(msg, {"reason": msg})
    return reason


def submit_need(need: Need, moderator: User) -> None:
    """draft → submitted (the public text is scanned again)."""
    require_moderator(moderator, need.region_code)
    _require_action(need, "submit")
    values = {
        "status": NeedStatus.SUBMITTED,
        "submitted_at": utcnow(),
        "status_reason": None,
    }
    if not _move(need, NeedStatus.DRAFT, values):
        _require_action(need, "submit")
        raise _changed_meanwhile()
    # Scanned after the move: the text is the one stored, and no edit can
    # change it any more (edits need a draft).
    _recheck_text(need)
    row = audit.record(
        moderator, "need.submit", need, NeedStatus.DRAFT, NeedStatus.SUBMITTED
    )
    db.session.flush()
    events.need_submitted(need, row)


def four_eyes_refusal(need: Need, moderator: User) -> FourEyes | None:
    """Rule 6: neither the moderator who entered a need nor the one who changed
    its content last (edit page, API or re-import) approves it."""
    if need.entered_by_id == moderator.id:
        return FourEyes(_("录入人不能审核自己录入的需求，请由另一位审核员审核。"))
    if need.last_edited_by_id == moderator.id:
        return FourEyes(
            _("您最后修改过这条需求，不能再审核通过它，请由另一位审核员审核。")
        )
    return None


def approval_refusal(need: Need, moderator: User) -> DomainError | None:
    """Why ``moderator`` may not approve ``need`` now (None: they may). The
    pages use it to offer the button; approve_need raises it."""
    if not need.can("approve"):
        return _not_now(need, "approve")
    refusal = four_eyes_refusal(need, moderator)
    if refusal is not None:
        return refusal
    if need.deadline_on is not None and need.deadline_on < today():
        return InvalidTransition(_("截止日期已过，请驳回后修改截止日期。"))
    return None


def approve_need(need: Need, moderator: User) -> None:
    """submitted → published, by a moderator who neither entered nor last
    edited it (rule 6), before its deadline; the rule is in the UPDATE."""
    require_moderator(moderator, need.region_code)
    refusal = approval_refusal(need, moderator)
    if refusal is not None:
        raise refusal
    values = {
        "status": NeedStatus.PUBLISHED,
        "published_at": utcnow(),
        "reviewed_by_id": moderator.id,
    }
    rules = (
        Need.entered_by_id != moderator.id,
        Need.last_edited_by_id.is_distinct_from(moderator.id),
        or_(Need.deadline_on.is_(None), Need.deadline_on >= today()),
    )
    if not _move(need, NeedStatus.SUBMITTED, values, *rules):
        raise approval_refusal(need, moderator) or _changed_meanwhile()
    _recheck_text(need)
    row = audit.record(
        moderator, "need.approve", need, NeedStatus.SUBMITTED, NeedStatus.PUBLISHED
    )
    privacy.recompute_public_region(need.region_code)
    db.session.flush()
    events.need_reviewed("need_approved", need, row)


def reject_need(need: Need, moderator: User, reason: Any) -> None:
    """submitted → rejected, with a reason the entering moderator reads."""
    require_moderator(moderator, need.region_code)
    _require_action(need, "reject")
    reason = _clean_reason(need, reason, required=True)
    values = {
        "status": NeedStatus.REJECTED,
        "status_reason": reason,
        "reviewed_by_id": moderator.id,
    }
    if not _move(need, NeedStatus.SUBMITTED, values):
        _require_action(need, "reject")
        raise _changed_meanwhile()
    row = audit.record(
        moderator,
        "need.reject",
        need,
        NeedStatus.SUBMITTED,
        NeedStatus.REJECTED,
        reason,
    )
    db.session.flush()
    events.need_reviewed("need_rejected", need, row)


def _refuse_if_purged(need: Need) -> None:
    """A need whose private half was erased cannot go back into the library:
    nobody could check or reach the household any more."""
    if need.purged_at is not None:
        raise InvalidTransition(
            _(
                "这条需求的隐私信息已按保存期限清除，不能再回到需求库；"
                "如该家庭仍有困难，请重新录入一条需求。"
            )
        )


def return_to_draft(need: Need, moderator: User) -> None:
    """rejected → draft, to edit and resubmit."""
    require_moderator(moderator, need.region_code)
    _require_action(need, "to_draft")
    _refuse_if_purged(need)
    if not _move(need, NeedStatus.REJECTED, {"status": NeedStatus.DRAFT}):
        _require_action(need, "to_draft")
        raise _changed_meanwhile()
    audit.record(
        moderator, "need.to_draft", need, NeedStatus.REJECTED, NeedStatus.DRAFT
    )
    db.session.flush()


def withdraw_need(need: Need, moderator: User, reason: Any) -> list[Any]:
    """published or fully claimed → withdrawn, with a reason. Reserved claims
    are cancelled with it (their money back to the funds, their orgs told);
    delivered and confirmed claims stay and follow their own path. Returns the
    cancelled claims.

    One transaction, in the claims' lock order (claim, need, fund): the
    reserved claims are cancelled first, which takes the need's row lock, then
    the need moves by a guarded UPDATE. A claim racing the withdrawal either
    lands before that lock (and is cancelled here: the second sweep finds one
    that committed between the two steps) or finds the need withdrawn and is
    refused (claims.services.claim_need needs ``published``)."""
    from charitylink.claims import services as claims

    require_moderator(moderator, need.region_code)
    old = _require_action(need, "withdraw")
    reason = _clean_reason(need, reason, required=True)
    cancelled = claims.cancel_reserved_for_withdrawal(need, moderator, reason)
    db.session.refresh(need)
    values = {
        "status": NeedStatus.WITHDRAWN,
        "status_reason": reason,
        "closed_at": utcnow(),
    }
    # A claim landing meanwhile may have made it fully claimed (or the reverse):
    # still withdrawable, so the move is tried again from the status it has.
    for _attempt in range(3):
        old = _require_action(need, "withdraw")
        if _move(need, old, values):
            break
    else:
        raise _changed_meanwhile()
    cancelled += claims.cancel_reserved_for_withdrawal(need, moderator, reason)
    row = audit.record(
        moderator,
        "need.withdraw",
        need,
        old,
        NeedStatus.WITHDRAWN,
        reason,
    )
    privacy.recompute_public_region(need.region_code)
    db.session.flush()
    events.need_withdrawn(need, row, sorted({c.org_id for c in cancelled}))
    return cancelled


# How far ahead a deadline may be moved at once: a need open for more than a
# year is a new case, to be entered (and reviewed) again.
MAX_EXTENSION_DAYS = 366


def _reopen_refusal() -> InvalidTransition:
    return InvalidTransition(
        _(
            "该需求已经延期重新开放过一次，不能再次重新开放；"
            "如家庭仍需帮扶，请重新录入一条需求并审核。"
        )
    )


def _clean_new_deadline(need: Need, value: Any) -> Any:
    label = _("截止日期")
    try:
        day = parse_day(value, label)
    except InvalidDate as exc:
        raise ValidationFailed(str(exc), {"deadline": str(exc)}) from None
    problem = None
    if day is None:
        problem = _("请填写新的截止日期（YYYY-MM-DD）。")
    elif day <= today():
        problem = _("新的截止日期必须晚于今天。")
    elif (
        need.status != NeedStatus.EXPIRED
        and need.deadline_on is not None
        and day <= need.deadline_on
    ):
        problem = _(
            "新的截止日期必须晚于原截止日期 %(d)s。", d=need.deadline_on.isoformat()
        )
    elif day > today() + timedelta(days=MAX_EXTENSION_DAYS):
        problem = _("截止日期最多延至一年以后；更长的帮扶请重新录入需求。")
    if problem is not None:
        raise ValidationFailed(problem, {"deadline": problem})
    return day


def extend_need(need: Need, moderator: User, deadline: Any, reason: Any) -> None:
    """Move a need's deadline later, with a reason, by a moderator of its
    region: a published or fully claimed need keeps its status; an expired one
    goes back to the library (published) — once per need (``reopened_at``),
    a second re-open is refused. Claims released at the expiry stay released."""
    require_moderator(moderator, need.region_code)
    old = NeedStatus(need.status)
    if old not in EXTENDABLE_STATUSES:
        raise _not_now(need, "extend")
    if old == NeedStatus.EXPIRED and need.reopened_at is not None:
        raise _reopen_refusal()
    if old == NeedStatus.EXPIRED:
        _refuse_if_purged(need)
    new_day = _clean_new_deadline(need, deadline)
    reason = _clean_reason(need, reason, required=True)
    old_day = need.deadline_on
    values: dict[str, Any] = {"deadline_on": new_day}
    rules: tuple[Any, ...] = ()
    new = old
    if old == NeedStatus.EXPIRED:
        new = NeedStatus.PUBLISHED
        values.update(status=new, reopened_at=utcnow(), closed_at=None)
        rules = (Need.reopened_at.is_(None),)
    if not _move(need, old, values, *rules):
        if need.status == NeedStatus.EXPIRED and need.reopened_at is not None:
            raise _reopen_refusal()
        raise _changed_meanwhile()
    was = old_day.isoformat() if old_day else "—"
    audit.record(
        moderator,
        "need.extend",
        need,
        old,
        new,
        f"截止日期 {was} → {new_day.isoformat()}：{reason}"[:500],
    )
    if new != old:
        privacy.recompute_public_region(need.region_code)
    db.session.flush()


def patch_need(need: Need, changes: dict[str, Any], moderator: User) -> Need:
    """Change some fields of a draft or rejected need (any field of the entry,
    the household's included; the rest keep their values): the edit page's
    rules, by ``update_need``. Reading the household to merge into is itself
    a view of the private half, audited like one."""
    require_moderator(moderator, need.region_code)
    _require_action(need, "update")
    household = get_private(need, moderator)
    data = editable_input(need, household)
    # The stored values as they are (the form's prefill turns "none" into "").
    data["deadline"] = need.deadline_on
    data["external_id"] = need.external_id
    for key, value in changes.items():
        if key == "household" and isinstance(value, dict):
            data["household"] = {**household, **value}
        else:
            data[key] = value
    return update_need(need, data, moderator)


# The most needs one bulk request acts on: a county's import is a few hundred;
# each need is its own transaction, so a bigger batch only holds the request.
BULK_MAX = 500
BULK_ACTIONS = ("submit", "approve", "reject")


def bulk_review(
    codes_: list[str],
    action: str,
    moderator: User,
    reason: Any = None,
    *,
    load: Any,
) -> dict[str, Any]:
    """Submit, approve or reject many needs, each on its own rules (the single
    action's service, so its audit event and notification too), each inside
    its own savepoint: a refusal rolls back that need's writes only, and the
    others stand. ``load(code)`` finds a need the moderator covers (or raises
    ``NotFound``). Returns ``{code: "ok" | {"code", "message"}}`` in the order
    given (a code given twice is acted on once)."""
    results: dict[str, Any] = {}
    for code in codes_:
        if code in results:
            continue
        try:
            with db.session.begin_nested():
                need = load(code)
                if action == "submit":
                    submit_need(need, moderator)
                elif action == "approve":
                    approve_need(need, moderator)
                else:
                    reject_need(need, moderator, reason)
        except DomainError as exc:
            results[code] = {"code": exc.code, "message": exc.message}
        else:
            results[code] = "ok"
    return results


def get_private(need: Need, moderator: User, *, api: bool = False) -> dict[str, Any]:
    """The household of a need, for a moderator of its region; audited with
    the path it was seen through (the page or the API), and counted for the
    private-view alert (privacy/access.py). ``consent_share_contact`` is
    whether an active consent exists now, not what was ticked at entry."""
    from charitylink.privacy import access, consents

    require_moderator(moderator, need.region_code)
    household = privacy.decrypt_household(need)
    household["consent_share_contact"] = consents.contact_consent_active(need)
    audit.record(
        moderator,
        "need.private_view",
        need,
        reason=access.API_REASON if api else access.PAGE_REASON,
    )
    db.session.flush()
    access.note_private_view(moderator)
    return household


def editable_input(need: Need, household: dict[str, Any]) -> dict[str, Any]:
    """A need as API input (for prefilling the edit form)."""
    return {
        "external_id": need.external_id or "",
        "title": need.title,
        "description": need.description,
        "category": need.category,
        "need_type": need.need_type,
        "region_code": need.region_code,
        "household_size": need.household_size,
        "gov_assistance": list(need.gov_assistance or []),
        "amount": need.amount_fen,
        "in_kind": need.in_kind,
        "items": list(need.items or []),
        "urgency": need.urgency,
        "deadline": need.deadline_on.isoformat() if need.deadline_on else "",
        "household": household,
    }


def duplicate_summary(household_key: str, exclude_id: int | None = None) -> dict:
    """The household's other open needs and the help it got in the last 12 months.

    ``{"open_needs": [Need...], "received_fen": int, "org_count": int}``; help
    is the delivered amount of delivered/confirmed claims on any of the
    household's needs, delivered within 365 days.
    """
    from charitylink.claims.models import Claim, ClaimStatus

    query = select(Need).where(
        Need.household_key == household_key,
        Need.status.not_in(CLOSED_FOR_DUPLICATES),
    )
    if exclude_id is not None:
        query = query.where(Need.id != exclude_id)
    open_needs = list(db.session.scalars(query.order_by(Need.created_at)))
    since = today() - timedelta(days=365)
    row = db.session.execute(
        select(
            func.coalesce(func.sum(Claim.delivered_fen), 0),
            func.count(func.distinct(Claim.org_id)),
        )
        .join(Need, Need.id == Claim.need_id)
        .where(
            Need.household_key == household_key,
            Claim.status.in_((ClaimStatus.DELIVERED, ClaimStatus.CONFIRMED)),
            Claim.delivered_on >= since,
        )
    ).one()
    return {
        "open_needs": open_needs,
        "received_fen": int(row[0] or 0),
        "org_count": int(row[1] or 0),
    }
