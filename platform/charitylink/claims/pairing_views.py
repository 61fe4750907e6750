"""Pairing pages (结对关爱): the calendar strip of a pairing's months on the
claim pages and the need's moderator page, and the forms behind it (deliver a
month, confirm a month, end early). The strip itself is ``claims/_pairing.html``
fed by :func:`pairing_panel`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from charitylink.claims import pairing, services
from charitylink.claims.models import Claim, ClaimStatus
from charitylink.core.i18n import _
from charitylink.core.money import InvalidAmount, parse_yuan
from charitylink.core.permissions import (
    MODERATION_ROLES,
    ORG_ROLES,
    covers,
    is_moderator,
    moderator_required,
    org_staff_required,
    roles_required,
    signed_in,
)
from charitylink.core.timeutil import InvalidDate, parse_day, today
from charitylink.core.transaction import refused
from charitylink.errors import DomainError, ValidationFailed
from charitylink.extensions import db
from charitylink.needs.models import Need

bp = Blueprint("pairing", __name__)


def pairing_panel(claim: Claim) -> dict[str, Any]:
    """What the strip shows for the signed-in user: the months, the progress,
    and which forms this user may use (org staff deliver and end, the
    region's moderators confirm and end)."""
    if claim.months is None:
        return {"show": False}
    user = current_user
    rows = pairing.instalments(claim)
    running = claim.status == ClaimStatus.RESERVED and claim.ended_at is None
    own_org = getattr(user, "org_id", None) == claim.org_id and user.is_org_staff
    moderator = is_moderator(user) and covers(user, claim.need.region_code)
    return {
        "show": True,
        "rows": rows,
        "progress": pairing.progress(rows),
        "next_n": pairing.deliverable_n(rows) if running and own_org else None,
        "can_confirm": moderator,
        "can_end": running and (own_org or moderator),
        "cash": claim.kind in (None, "cash"),
        "today": today(),
    }


def household_history(need: Need) -> list[Any]:
    """The household's pairings on its other needs (moderators only)."""
    return pairing.household_pairings(need.household_key, exclude_need_id=need.id)


def need_pairings(need: Need) -> list[Claim]:
    from sqlalchemy import select

    return list(
        db.session.scalars(
            select(Claim)
            .where(Claim.need_id == need.id, Claim.months.is_not(None))
            .order_by(Claim.id)
        )
    )


def public_progress(need: Need) -> list[dict[str, int]]:
    """The public need page's coarse view: per pairing, months done of all
    (no org's notes, no dates, nothing of the household)."""
    out = []
    for claim in need_pairings(need):
        if claim.status in (ClaimStatus.CANCELLED, ClaimStatus.EXPIRED):
            continue
        p = pairing.progress(pairing.instalments(claim))
        out.append({"done": p.done, "months": p.months - p.cancelled})
    return out


@bp.app_context_processor
def _pairing_helpers() -> dict[str, Any]:
    return {
        "pairing_panel": pairing_panel,
        "pairing_household_history": household_history,
        "pairing_of_need": need_pairings,
        "pairing_public_progress": public_progress,
        "in_kind_figures": _in_kind_figures,
        "in_kind_met_by": _in_kind_met_by,
        "in_kind_region_label": _region_label,
    }


def _in_kind_figures(prefix: str | None = None) -> dict[str, Any]:
    from charitylink.reports import in_kind

    return in_kind.figures(prefix)


def _in_kind_met_by(prefix: str | None = None) -> dict[str, int]:
    from charitylink.reports import in_kind

    return in_kind.met_by(prefix)


def _region_label(code: str) -> str:
    from charitylink.reports.transparency import region_label

    return str(region_label(code))


def claim_from_form(
    need: Need, user: Any, fund: Any, amount: int, project: Any, form: Any
) -> Claim:
    """The claim form with a monthly schedule: months and a monthly amount in
    yuan; their problems named on those fields (the retry shows them)."""
    fields: dict[str, str] = {}
    text = (form.months.data or "").strip()
    months: Any = int(text) if text.isdigit() else None
    monthly: Any = None
    try:
        monthly = parse_yuan(form.monthly_amount.data or "")
    except InvalidAmount as exc:
        fields["monthly_amount"] = str(exc)
    problems = pairing.schedule_problems(amount, months, monthly)
    if "schedule.months" in problems:
        fields["months"] = problems["schedule.months"]
    if "schedule.monthly_amount" in problems and "monthly_amount" not in fields:
        fields["monthly_amount"] = problems["schedule.monthly_amount"]
    if "amount" in problems:
        fields["amount"] = problems["amount"]
    if fields:
        raise ValidationFailed(_("结对计划有误，请检查标出的字段。"), fields)
    return pairing.claim_with_schedule(
        need, user, fund, amount, months, monthly, project
    )


def _claim_page(claim: Claim) -> str:
    user = signed_in()
    endpoint = "claims.org_detail" if user.is_org_staff else "claims.mod_detail"
    return url_for(endpoint, claim_id=claim.id) + "#pairing"


def _visible(claim_id: int) -> Claim:
    claim = db.session.get(Claim, claim_id)
    if claim is None or not services.can_view(claim, signed_in()):
        abort(404)
    return claim


def _refuse(exc: DomainError) -> None:
    refused(exc, flash_message=False)
    details = "；".join(str(v) for v in exc.fields.values())
    flash(f"{exc.message}{('（' + details + '）') if details else ''}", "error")


@bp.post("/org/claims/<int:claim_id>/instalments/<int:n>/deliver")
@org_staff_required
def deliver(claim_id: int, n: int) -> ResponseReturnValue:
    user = signed_in()
    claim = _visible(claim_id)
    form = request.form
    try:
        fields: dict[str, str] = {}
        delivered_on: Any = None
        try:
            delivered_on = parse_day(form.get("delivered_on", ""), _("交付日期"))
        except InvalidDate as exc:
            fields["delivered_on"] = str(exc)
        amount = None
        if form.get("delivered_amount", "").strip():
            try:
                amount = parse_yuan(form["delivered_amount"])
            except InvalidAmount as exc:
                fields["delivered_amount"] = str(exc)
        quantity: Any = None
        if form.get("delivered_quantity", "").strip():
            quantity = _whole(form["delivered_quantity"])
        hours: Any = None
        if form.get("hours", "").strip():
            try:
                hours = float(form["hours"])
            except ValueError:
                fields["hours"] = _("服务时长应为数字（小时）。")
        volunteers = (
            _whole(form["volunteers"]) if form.get("volunteers", "").strip() else None
        )
        if fields:
            raise ValidationFailed(_("交付信息有误，请检查标出的字段。"), fields)
        pairing.deliver_instalment(
            claim,
            n,
            user,
            delivered_on,
            delivered_fen=amount,
            delivered_quantity=quantity,
            note=form.get("note", ""),
            hours=hours,
            volunteers=volunteers,
        )
    except DomainError as exc:
        _refuse(exc)
        return redirect(_claim_page(claim))
    flash(_("第 %(n)d 期已登记交付，等待回访确认。", n=n), "success")
    return redirect(_claim_page(claim))


def _whole(text: str) -> Any:
    text = text.strip()
    return int(text) if text.isdigit() else text


@bp.post("/mod/claims/<int:claim_id>/instalments/<int:n>/confirm")
@moderator_required
def confirm(claim_id: int, n: int) -> ResponseReturnValue:
    user = signed_in()
    claim = _visible(claim_id)
    try:
        pairing.confirm_instalment(claim, n, user)
    except DomainError as exc:
        _refuse(exc)
        return redirect(_claim_page(claim))
    flash(_("第 %(n)d 期已回访确认。", n=n), "success")
    return redirect(_claim_page(claim))


@bp.post("/claims/<int:claim_id>/end")
@roles_required(*ORG_ROLES, *MODERATION_ROLES)
def end(claim_id: int) -> ResponseReturnValue:
    user = signed_in()
    claim = _visible(claim_id)
    try:
        pairing.end_pairing(claim, user, request.form.get("reason", ""))
    except DomainError as exc:
        _refuse(exc)
        return redirect(_claim_page(claim))
    flash(_("结对已提前结束，未交付各期的预留已退回。"), "success")
    return redirect(_claim_page(claim))
