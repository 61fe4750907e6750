"""Pages of the claims feature: the claim form on a need, the org's claims, the
moderators' queues, the evidence download. Thin: load, authorize, call the
service, commit once, flash, redirect."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import case, select

from charitylink.claims import evidence, services
from charitylink.claims.forms import ClaimForm, DeliverForm, ReasonForm
from charitylink.claims.models import Claim, ClaimStatus
from charitylink.core.i18n import _
from charitylink.core.money import InvalidAmount, fen_to_yuan_str, parse_yuan
from charitylink.core.permissions import (
    in_scope,
    moderator_required,
    org_staff_required,
    signed_in,
)
from charitylink.core.timeutil import today
from charitylink.core.transaction import refused
from charitylink.errors import DomainError
from charitylink.extensions import db
from charitylink.funds.models import Fund
from charitylink.needs.models import Need
from charitylink.projects.models import Project, ProjectStatus

bp = Blueprint("claims", __name__)

NEAR_EXPIRY_DAYS = 7


def _org_funds(org_id: int | None) -> list[Fund]:
    return list(
        db.session.scalars(
            select(Fund).where(Fund.org_id == org_id).order_by(Fund.name)
        )
    )


def _org_projects(org_id: int | None) -> list[Project]:
    return list(
        db.session.scalars(
            select(Project)
            .where(Project.org_id == org_id, Project.status == ProjectStatus.PUBLISHED)
            .order_by(Project.title)
        )
    )


def _fill_choices(form: ClaimForm, org_id: int | None) -> None:
    form.fund_id.choices = [
        (
            f.id,
            _(
                "%(name)s（%(kind)s，可用 %(a)s）",
                name=f.name,
                kind=f.kind_label,
                a=f"¥{fen_to_yuan_str(f.available_fen)}",
            ),
        )
        for f in _org_funds(org_id)
    ]
    form.project_id.choices = [(0, _("不关联项目"))] + [
        (p.id, p.title) for p in _org_projects(org_id)
    ]


@bp.app_context_processor
def _claim_panel() -> dict[str, Any]:
    return {"claim_panel": claim_panel}


def claim_panel(need: Need) -> dict[str, Any]:
    """What ``claims/_need_actions.html`` shows on a need's page for this user."""
    user = current_user
    panel: dict[str, Any] = {"show": False}
    if not getattr(user, "is_authenticated", False) or not user.is_org_staff:
        return panel
    panel["show"] = True
    panel["own_claims"] = list(
        db.session.scalars(
            select(Claim)
            .where(Claim.need_id == need.id, Claim.org_id == user.org_id)
            .order_by(Claim.id.desc())
        )
    )
    refusal = services.claim_refusal(need, user)
    if refusal is not None:
        panel["reason"] = refusal.message
    else:
        form = ClaimForm()
        _fill_choices(form, user.org_id)
        if not form.fund_id.choices:
            panel["reason"] = _("本机构还没有基金，请先由机构管理员设立基金。")
        else:
            form.amount.data = form.amount.data or fen_to_yuan_str(need.remaining_fen)
            panel["form"] = form
    return panel


def _need_url(need: Need) -> str:
    return url_for("needs.detail", code=need.code)


@bp.post("/needs/<code>/claim")
@org_staff_required
def claim(code: str) -> ResponseReturnValue:
    user = signed_in()
    need = db.session.scalar(select(Need).where(Need.code == code))
    if need is None or need.status in services.NEVER_PUBLIC:
        abort(404)
    if not need.is_public:  # withdrawn or expired: its page is gone, say why here
        refusal = services.claim_refusal(need, user)
        flash(refusal.message if refusal else _("该需求当前不可认领。"), "error")
        return redirect(url_for("needs.index"))
    form = ClaimForm()
    _fill_choices(form, user.org_id)
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "error")
        return redirect(_need_url(need))
    try:
        amount = parse_yuan(form.amount.data)
    except InvalidAmount as exc:
        flash(_("金额：%(m)s", m=str(exc)), "error")
        return redirect(_need_url(need))
    fund = db.session.get(Fund, form.fund_id.data)
    project = (
        db.session.get(Project, form.project_id.data) if form.project_id.data else None
    )
    if fund is None:
        abort(404)
    try:
        claim = services.claim_need(need, user, fund, amount, project)
    except DomainError as exc:
        refused(exc)
        return redirect(_need_url(need))
    flash(
        _(
            "已认领 %(a)s，请在 %(d)s 前完成交付。",
            a=f"¥{fen_to_yuan_str(claim.amount_fen)}",
            d=claim.due_on.isoformat(),
        ),
        "success",
    )
    return redirect(url_for(".org_detail", claim_id=claim.id))


# --------------------------------------------------------------------------
# The org's work area
# --------------------------------------------------------------------------


def _own_claim(claim_id: int) -> Claim:
    claim = db.session.get(Claim, claim_id)
    if claim is None or claim.org_id != current_user.org_id:
        abort(404)  # other tenants' objects do not exist
    return claim


@bp.get("/org/claims")
@org_staff_required
def org_index() -> ResponseReturnValue:
    status = request.args.get("status", "")
    query = select(Claim).where(Claim.org_id == current_user.org_id)
    if status in {s.value for s in ClaimStatus}:
        query = query.where(Claim.status == status)
    else:
        status = ""
    # Open claims first, soonest due first; then the rest, newest first.
    open_first = case((Claim.status == ClaimStatus.RESERVED, 0), else_=1)
    claims = list(
        db.session.scalars(
            query.order_by(open_first, Claim.due_on, Claim.id.desc()).limit(500)
        )
    )
    return render_template(
        "claims/org_index.html",
        claims=claims,
        status=status,
        today=today(),
        totals=services.summary(claims),
    )


def _render_org_detail(claim: Claim, household: dict[str, str] | None = None) -> str:
    return render_template(
        "claims/org_detail.html",
        claim=claim,
        need=claim.need,
        office=services.civil_affairs_contact(claim.need),
        can_reveal=services.household_contact_available(claim),
        household=household,
        cancel_form=ReasonForm(),
        today=today(),
    )


@bp.get("/org/claims/<int:claim_id>")
@org_staff_required
def org_detail(claim_id: int) -> ResponseReturnValue:
    return _render_org_detail(_own_claim(claim_id))


@bp.post("/org/claims/<int:claim_id>/contact")
@org_staff_required
def contact(claim_id: int) -> ResponseReturnValue:
    """Show the household's contact (rule 5): a POST, audited each time."""
    claim = _own_claim(claim_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        household = services.reveal_household_contact(claim, signed_in())
    except DomainError as exc:
        refused(exc)
        return redirect(url_for(".org_detail", claim_id=claim.id))
    return _render_org_detail(claim, household)


@bp.route("/org/claims/<int:claim_id>/deliver", methods=["GET", "POST"])
@org_staff_required
def deliver(claim_id: int) -> ResponseReturnValue:  # noqa: C901 — the form's two faces (amount in yuan, optional evidence file) each with its message; splitting hides the order
    claim = _own_claim(claim_id)
    if claim.status != ClaimStatus.RESERVED:
        flash(_("只有待交付的认领可以登记交付。"), "error")
        return redirect(url_for(".org_detail", claim_id=claim.id))
    form = DeliverForm()
    if request.method == "GET":
        form.delivered_amount.data = fen_to_yuan_str(claim.amount_fen)
        form.delivered_on.data = today()
    elif form.validate_on_submit():
        try:
            amount = parse_yuan(form.delivered_amount.data)
        except InvalidAmount as exc:
            form.delivered_amount.errors = [str(exc)]
        else:
            upload = form.evidence.data
            if upload is not None and not getattr(upload, "filename", ""):
                upload = None
            try:
                services.deliver_claim(
                    claim,
                    signed_in(),
                    amount,
                    form.delivered_on.data,
                    form.method.data,
                    form.note.data or "",
                    evidence=upload,
                )
            except DomainError as exc:
                refused(exc, form)
                db.session.refresh(claim)
            else:
                flash(_("交付已登记，等待民政部门回访确认。"), "success")
                return redirect(url_for(".org_detail", claim_id=claim.id))
    status = 422 if request.method == "POST" else 200
    return render_template("claims/deliver.html", claim=claim, form=form), status


@bp.post("/org/claims/<int:claim_id>/cancel")
@org_staff_required
def cancel(claim_id: int) -> ResponseReturnValue:
    claim = _own_claim(claim_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("原因不超过500字。"), "error")
        return redirect(url_for(".org_detail", claim_id=claim.id))
    try:
        services.cancel_claim(claim, signed_in(), form.reason.data or "")
    except DomainError as exc:
        refused(exc)
    else:
        flash(_("认领已取消，预留资金已退回基金。"), "success")
    return redirect(url_for(".org_detail", claim_id=claim.id))


# --------------------------------------------------------------------------
# Moderators' queues
# --------------------------------------------------------------------------


def _in_region(query: Any) -> Any:
    return query.join(Need, Need.id == Claim.need_id).where(
        in_scope(current_user, Need.region_code)
    )


@bp.get("/mod/claims")
@moderator_required
def mod_index() -> ResponseReturnValue:
    day = today()
    to_confirm = db.session.scalars(
        _in_region(select(Claim))
        .where(Claim.status == ClaimStatus.DELIVERED)
        .order_by(Claim.delivered_at)
        .limit(200)
    ).all()
    near = db.session.scalars(
        _in_region(select(Claim))
        .where(
            Claim.status == ClaimStatus.RESERVED,
            Claim.due_on >= day,
            Claim.due_on <= day + timedelta(days=NEAR_EXPIRY_DAYS),
        )
        .order_by(Claim.due_on)
        .limit(200)
    ).all()
    overdue = db.session.scalars(
        _in_region(select(Claim))
        .where(Claim.status == ClaimStatus.RESERVED, Claim.due_on < day)
        .order_by(Claim.due_on)
        .limit(200)
    ).all()
    return render_template(
        "claims/mod_index.html",
        to_confirm=to_confirm,
        near=near,
        overdue=overdue,
        today=day,
        near_days=NEAR_EXPIRY_DAYS,
    )


@bp.post("/mod/claims/<int:claim_id>/confirm")
@moderator_required
def confirm(claim_id: int) -> ResponseReturnValue:
    claim = db.session.get(Claim, claim_id)
    if claim is None or not services.can_view(claim, signed_in()):
        abort(404)
    if not ReasonForm().validate_on_submit():
        abort(400)
    try:
        services.confirm_claim(claim, signed_in())
    except DomainError as exc:
        refused(exc)
    else:
        flash(_("已确认交付（回访完成）。"), "success")
    return redirect(url_for(".mod_index"))


# --------------------------------------------------------------------------
# Evidence files: the org's staff and the region's moderators only
# --------------------------------------------------------------------------


@bp.get("/claims/<int:claim_id>/evidence")
def evidence_file(claim_id: int) -> ResponseReturnValue:
    if not current_user.is_authenticated:
        from charitylink.extensions import login_manager

        return login_manager.unauthorized()
    claim = db.session.get(Claim, claim_id)
    if claim is None or not services.can_view(claim, current_user):
        abort(404)
    path = evidence.path_of(claim.evidence_path or "")
    if path is None:
        abort(404)
    response = send_file(
        path,
        mimetype=claim.evidence_mime or "application/octet-stream",
        as_attachment=True,
        download_name=claim.evidence_name or path.name,
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
