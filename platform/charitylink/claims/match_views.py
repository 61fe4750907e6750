"""Pages of matching (供需对接): the org's match page for one of its offers,
the sessions card on a match's claim page, and the delivery of a match by
its sessions. Routes on the claims blueprint; thin like its other views."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from charitylink.claims import matching, proposals
from charitylink.claims.match_forms import MatchDeliverForm, MatchForm, SessionForm
from charitylink.claims.models import Claim, ClaimStatus
from charitylink.claims.views import _own_claim, _render_org_detail, bp
from charitylink.core.i18n import _
from charitylink.core.permissions import (
    is_org_staff,
    moderator_required,
    org_staff_required,
    signed_in,
)
from charitylink.core.timeutil import InvalidDate, parse_day, today
from charitylink.core.transaction import refused
from charitylink.errors import DomainError, ValidationFailed
from charitylink.extensions import db
from charitylink.needs.models import PUBLIC_STATUSES, Need
from charitylink.offers.models import Offer, OfferStatus
from charitylink.regions.services import region_name


@bp.app_context_processor
def _match_helpers() -> dict[str, Any]:
    return {
        "match_panel": match_panel,
        "match_units": matching.unit_label,
        "match_offers": match_offers,
    }


def match_panel(claim: Claim) -> dict[str, Any]:
    """What ``claims/_match.html`` shows on a claim page: the offer, units,
    value, sessions and (for the org, while reserved) the session form."""
    if not matching.is_match(claim):
        return {"show": False}
    form = getattr(g, "session_form", None)
    if form is None:
        form = SessionForm(formdata=None)
        form.held_on.data = today().isoformat()
    may_record = claim.status == ClaimStatus.RESERVED and is_org_staff(
        current_user, claim.org_id
    )
    return {
        "show": True,
        "offer": claim.offer,
        "units": matching.unit_label(claim),
        "sessions": matching.sessions_of(claim),
        "totals": matching.session_totals(claim),
        "form": form if may_record else None,
        "single": (claim.months or 1) == 1,
    }


def match_offers(need: Need) -> list[Offer]:
    """The signed-in org's open offers that can serve ``need`` (links to the
    match page on the need's page)."""
    user = current_user
    if not getattr(user, "is_authenticated", False) or not user.is_org_staff:
        return []
    offers = db.session.scalars(
        select(Offer)
        .where(Offer.org_id == user.org_id, Offer.status == OfferStatus.OPEN)
        .order_by(Offer.id)
    )
    return [o for o in offers if matching.offer_refusal(o, need) is None]


def _own_offer(offer_id: int) -> Offer:
    offer = db.session.get(Offer, offer_id)
    if offer is None or offer.org_id != current_user.org_id:
        abort(404)  # other orgs' offers are not theirs to match
    return offer


def _public_need(code: str | None) -> Need | None:
    if not code:
        return None
    need = db.session.scalar(select(Need).where(Need.code == code.strip()))
    if need is None or need.status not in PUBLIC_STATUSES:
        return None
    return need


def _render_match(
    offer: Offer,
    form: MatchForm,
    need: Need | None,
    status: int = 200,
    *,
    proposing: bool = False,
) -> Any:
    months = matching.match_months(offer, matching.MAX_MONTHS)
    if offer.end_on is not None:
        months = [m for m in months if m <= offer.end_on]
    remaining = matching.remaining_by_month(offer, months)
    quantity = form.quantity.data if isinstance(form.quantity.data, int) else None
    span = form.months.data if isinstance(form.months.data, int) else None
    value = (
        quantity * span * offer.unit_value_fen
        if quantity and span and quantity > 0 and span > 0
        else None
    )
    return (
        render_template(
            "claims/offer_propose.html" if proposing else "claims/offer_match.html",
            offer=offer,
            form=form,
            need=need,
            need_region=region_name(need.public_region_code) if need else "",
            unfit=matching.offer_refusal(offer, need) if need else None,
            remaining=remaining,
            value=value,
            proposing=proposing,
            proposals=[] if proposing else proposals.pending_for(offer.id),
        ),
        status,
    )


@bp.route("/org/offers/<int:offer_id>/match", methods=["GET", "POST"])
@org_staff_required
def offer_match(offer_id: int) -> ResponseReturnValue:
    """GET: the form (need, units a month, months) with the value and what
    is left of the offer each month; POST: match."""
    offer = _own_offer(offer_id)
    if request.method == "GET":
        form = MatchForm(formdata=None)
        form.need.data = request.args.get("need", "")[:40]
        form.months.data = 1
        return _render_match(offer, form, _public_need(form.need.data))
    form = MatchForm()
    need = _public_need(form.need.data)
    checked = form.validate_on_submit()
    try:
        if need is None:
            message = _("需求不存在或未公开。")
            raise ValidationFailed(message, {"need": message})
        if not checked:
            raise ValidationFailed(_("对接信息有误，请检查标出的字段。"))
        claim = matching.match(
            offer, need, form.quantity.data, form.months.data, signed_in()
        )
    except DomainError as exc:
        if "need_code" in exc.fields:
            exc.fields.setdefault("need", exc.fields["need_code"])
        refused(exc, form)
        return _render_match(offer, form, need, 422)
    flash(
        _(
            "已对接：%(n)s，价值 %(v)s 计入需求。",
            n=claim.need.code,
            v=f"¥{claim.amount_fen / 100:,.2f}",
        ),
        "success",
    )
    return redirect(url_for(".org_detail", claim_id=claim.id))


@bp.post("/org/claims/<int:claim_id>/sessions")
@org_staff_required
def add_session(claim_id: int) -> ResponseReturnValue:
    """Record a session from the claim page; a refusal shows the page again
    with every field's message."""
    claim = _own_claim(claim_id)
    form = SessionForm()
    checked = form.validate_on_submit()
    held_on = None
    try:
        held_on = parse_day(form.held_on.data, _("服务日期"))
    except InvalidDate as exc:
        if not form.held_on.errors:
            form.held_on.errors = [str(exc)]
    hours: Any = None
    try:
        hours = float((form.hours.data or "0").strip())
    except ValueError:
        if not form.hours.errors:
            form.hours.errors = [_("时长必须是 0 到 24 之间的小时数。")]
    try:
        if not checked or held_on is None or hours is None:
            matching.check_session(
                claim,
                held_on,
                form.quantity.data,
                hours if hours is not None else 0,
                form.volunteers.data,
                form.note.data,
            )
            raise ValidationFailed(_("服务记录有误，请检查标出的字段。"))
        matching.record_session(
            claim,
            signed_in(),
            held_on,
            form.quantity.data,
            hours,
            form.volunteers.data,
            form.note.data or "",
        )
    except DomainError as exc:
        refused(exc, form)
        db.session.refresh(claim)
        g.session_form = form
        return _render_org_detail(claim), 422
    flash(_("服务记录已登记。"), "success")
    return redirect(url_for(".org_detail", claim_id=claim.id) + "#sessions")


def deliver_match_page(claim: Claim) -> ResponseReturnValue:
    """The delivery page of a single-month match: what its sessions add up
    to, a note, and the button (called by ``claims.deliver``)."""
    if (claim.months or 1) > 1:
        flash(_("多月结对请按月登记交付。"), "error")
        return redirect(url_for(".org_detail", claim_id=claim.id))
    form = MatchDeliverForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                matching.deliver_match(claim, signed_in(), form.note.data or "")
            except DomainError as exc:
                refused(exc, form)
                db.session.refresh(claim)
            else:
                flash(_("交付已登记，等待民政部门回访确认。"), "success")
                return redirect(url_for(".org_detail", claim_id=claim.id))
        status = 422
    else:
        status = 200
    return (
        render_template(
            "claims/deliver_match.html",
            claim=claim,
            form=form,
            sessions=matching.sessions_of(claim),
            preview=matching.delivery_preview(claim),
            units=matching.unit_label(claim),
        ),
        status,
    )


def confirm_details(claim: Claim) -> list[tuple[str, str]]:
    """The 回访 confirmation step of a match also names what was done: the
    units, sessions, hours and volunteers the org recorded."""
    if not matching.is_match(claim):
        return []
    totals = matching.session_totals(claim)
    unit = claim.offer.unit if claim.offer is not None else ""
    return [
        (_("对接内容"), f"{claim.kind_label} · {matching.unit_label(claim)}"),
        (
            _("服务记录"),
            _(
                "%(n)s 次，%(q)s%(u)s，%(h)s 小时，志愿者 %(v)s 人次",
                n=totals["sessions"],
                q=totals["quantity"],
                u=unit,
                h=f"{totals['minutes'] / 60:g}",
                v=totals["volunteers"],
            ),
        ),
    ]


# --------------------------------------------------------------------------
# A moderator's proposed match, accepted or declined by the offering org
# --------------------------------------------------------------------------


@bp.route("/mod/offers/<int:offer_id>/propose", methods=["GET", "POST"])
@moderator_required
def propose_match(offer_id: int) -> ResponseReturnValue:
    """GET: the match form as a proposal to the offering org; POST: propose."""
    offer = db.session.get(Offer, offer_id)
    if offer is None:
        abort(404)
    if request.method == "GET":
        form = MatchForm(formdata=None)
        form.need.data = request.args.get("need", "")[:40]
        form.months.data = 1
        return _render_match(offer, form, _public_need(form.need.data), proposing=True)
    form = MatchForm()
    need = _public_need(form.need.data)
    checked = form.validate_on_submit()
    try:
        if need is None:
            message = _("需求不存在或未公开。")
            raise ValidationFailed(message, {"need": message})
        if not checked:
            raise ValidationFailed(_("对接信息有误，请检查标出的字段。"))
        proposals.propose(
            offer, need, form.quantity.data, form.months.data, signed_in()
        )
    except DomainError as exc:
        refused(exc, form)
        return _render_match(offer, form, need, 422, proposing=True)
    flash(
        _("对接建议已发给「%(org)s」，待机构确认后生成认领。", org=offer.org.name),
        "success",
    )
    return redirect(url_for("needs.review", code=need.code))


def _own_proposal(proposal_id: int) -> proposals.MatchProposal:
    proposal = db.session.get(proposals.MatchProposal, proposal_id)
    if proposal is None or proposal.offer.org_id != current_user.org_id:
        abort(404)
    return proposal


@bp.post("/org/proposals/<int:proposal_id>/accept")
@org_staff_required
def accept_proposal(proposal_id: int) -> ResponseReturnValue:
    proposal = _own_proposal(proposal_id)
    try:
        claim = proposals.accept(proposal, signed_in())
    except DomainError as exc:
        refused(exc)
        return redirect(url_for(".offer_match", offer_id=proposal.offer_id))
    flash(_("已接受对接建议，认领已生成。"), "success")
    return redirect(url_for(".org_detail", claim_id=claim.id))


@bp.post("/org/proposals/<int:proposal_id>/decline")
@org_staff_required
def decline_proposal(proposal_id: int) -> ResponseReturnValue:
    proposal = _own_proposal(proposal_id)
    try:
        proposals.decline(proposal, signed_in())
    except DomainError as exc:
        refused(exc)
    else:
        flash(_("已婉拒对接建议。"), "success")
    return redirect(url_for(".offer_match", offer_id=proposal.offer_id))
