"""Pages of the claims feature: the claim form on a need, the org's claims, the
moderators' queues, the evidence download. Thin: load, authorize, call the
service, commit once, flash, redirect."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from charitylink.claims import evidence, lists, services
from charitylink.claims.forms import (
    ClaimForm,
    DeliverForm,
    DisputeForm,
    ExtendForm,
    ReasonForm,
    ResolveForm,
    RespondForm,
)
from charitylink.claims.models import Claim, ClaimStatus
from charitylink.core.formatting import cn_date
from charitylink.core.i18n import _
from charitylink.core.money import (
    InvalidAmount,
    fen_to_yuan_str,
    format_fen,
    parse_yuan,
)
from charitylink.core.permissions import (
    moderator_required,
    org_staff_required,
    signed_in,
)
from charitylink.core.timeutil import InvalidDate, parse_day, today
from charitylink.core.transaction import refused
from charitylink.errors import DomainError, ValidationFailed
from charitylink.extensions import db
from charitylink.funds import services as funds_services
from charitylink.funds.models import Fund
from charitylink.needs.models import Need
from charitylink.projects.models import Project, ProjectStatus
from charitylink.workspace.queries import counts_for, region_filter_choices

bp = Blueprint("claims", __name__)

NEAR_EXPIRY_DAYS = 7


def _org_projects(org_id: int | None) -> list[Project]:
    return list(
        db.session.scalars(
            select(Project)
            .where(Project.org_id == org_id, Project.status == ProjectStatus.PUBLISHED)
            .order_by(Project.title)
        )
    )


def _fill_choices(form: ClaimForm, need: Need, org_id: int) -> list[Fund]:
    """Only the funds that can pay for this need (the service's own
    predicate); with more than one, none is preselected: the person chooses."""
    funds = services.funds_that_can_pay(need, org_id)
    choices: list[tuple[int, str]] = [
        (
            f.id,
            _(
                "%(name)s（%(kind)s，可用 %(a)s）",
                name=f.name,
                kind=f.kind_label,
                a=format_fen(f.available_fen),
            ),
        )
        for f in funds
    ]
    if len(choices) > 1:
        choices.insert(0, (0, _("请选择基金")))
    form.fund_id.choices = choices
    form.project_id.choices = [(0, _("不关联项目"))] + [
        (p.id, p.title) for p in _org_projects(org_id)
    ]
    return funds


# A refused claim goes back to the need's page (redirect after POST) with what
# was typed and why, shown on the form itself; kept in the session for that
# one page view.
_RETRY = "claim_retry"


def _keep_for_retry(
    need: Need, form: ClaimForm, message: str, fields: dict[str, str]
) -> ResponseReturnValue:
    errors = {name: [str(m) for m in form[name].errors] for name in form._fields}
    for name, text in fields.items():
        errors.setdefault(name, [])
        if text not in errors[name]:
            errors[name].append(text)
    session[_RETRY] = {
        "need": need.code,
        "amount": (form.amount.data or "")[:32],
        "fund_id": form.fund_id.data or 0,
        "project_id": form.project_id.data or 0,
        "months": (form.months.data or "")[:4],
        "monthly_amount": (form.monthly_amount.data or "")[:32],
        "message": message,
        "errors": {k: v for k, v in errors.items() if v and k != "csrf_token"},
    }
    return redirect(_need_url(need) + "#claim")


@bp.app_context_processor
def _claim_panel() -> dict[str, Any]:
    return {"claim_panel": claim_panel, "follow_up_state": services.follow_up_state}


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
    # Kept for the next need page shown, and only for the need it is about.
    retry = session.pop(_RETRY, None)
    if not retry or retry.get("need") != need.code:
        retry = None
    refusal = services.claim_refusal(need, user)
    if refusal is not None:
        panel["reason"] = refusal.message
        return panel
    form = ClaimForm(formdata=None)
    funds = _fill_choices(form, need, user.org_id)
    if not funds:
        panel["reason"] = (
            _("本机构的基金都不能资助此需求（专项基金用途不符，或没有可用余额）。")
            if funds_services.org_funds(user.org_id)
            else _("本机构还没有基金，请先由机构管理员设立基金。")
        )
        return panel
    if retry:
        form.amount.data = retry.get("amount", "")
        form.fund_id.data = retry.get("fund_id", 0)
        form.project_id.data = retry.get("project_id", 0)
        form.months.data = retry.get("months", "")
        form.monthly_amount.data = retry.get("monthly_amount", "")
        for name, messages in (retry.get("errors") or {}).items():
            if name in form:
                form[name].errors = list(messages)
        panel["error"] = retry.get("message", "")
    else:
        form.amount.data = fen_to_yuan_str(need.remaining_fen)
        form.fund_id.data = funds[0].id if len(funds) == 1 else 0
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
    _fill_choices(form, need, user.org_id or 0)
    checked = form.validate_on_submit()
    amount = None
    try:
        amount = parse_yuan(form.amount.data)
    except InvalidAmount as exc:
        if not form.amount.errors:
            form.amount.errors = [*form.amount.errors, str(exc)]
    if not checked or amount is None:
        # The amount is checked against what is left even when another field
        # (the fund) is missing, so every problem shows in one round.
        problem = None if amount is None else services.amount_problem(need, amount)
        if problem and problem not in form.amount.errors:
            form.amount.errors = [*form.amount.errors, problem]
        return _keep_for_retry(need, form, _("认领信息有误，请检查标出的项目。"), {})
    fund = db.session.get(Fund, form.fund_id.data)
    project = (
        db.session.get(Project, form.project_id.data) if form.project_id.data else None
    )
    if fund is None:
        abort(404)
    try:
        if (form.months.data or "").strip() or (form.monthly_amount.data or "").strip():
            from charitylink.claims import pairing_views

            claim = pairing_views.claim_from_form(
                need, user, fund, amount, project, form
            )
        else:
            claim = services.claim_need(need, user, fund, amount, project)
    except DomainError as exc:
        refused(exc, flash_message=False)
        return _keep_for_retry(need, form, exc.message, exc.fields)
    flash(
        _(
            "已认领 %(a)s，请在 %(d)s 前完成交付。",
            a=format_fen(claim.amount_fen),
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
    user = signed_in()
    org_id = user.org_id or 0
    result = lists.org_claims(org_id, user, request.args)
    for message in result.args.ignored:
        flash(message, "warning")
    counts = counts_for(user)
    return render_template(
        "claims/org_index.html",
        result=result,
        claims=result.items,
        status=result.args.get("status"),
        status_choices=lists.status_choices(),
        today=today(),
        totals=lists.summary(result),
        tabs=[
            (_("待交付"), counts.get("claims_open"), {"status": "reserved"}),
            (_("已逾期"), counts.get("claims_overdue"), {"due": "overdue"}),
            (
                _("%(d)s 天内到期", d=lists.SOON_DAYS),
                counts.get("claims_due_soon"),
                {"due": "soon"},
            ),
            (_("待回访"), counts.get("claims_delivered"), {"status": "delivered"}),
            (_("核实中"), counts.get("claims_disputed"), {"status": "disputed"}),
            (_("全部"), None, {}),
        ],
    )


def _render_org_detail(
    claim: Claim,
    household: dict[str, str] | None = None,
    respond_form: RespondForm | None = None,
) -> str:
    return render_template(
        "claims/org_detail.html",
        claim=claim,
        need=claim.need,
        office=services.civil_affairs_contact(claim.need),
        can_reveal=services.household_contact_available(claim),
        household=household,
        today=today(),
        timeline=services.claim_timeline(claim),
        respond_form=respond_form or RespondForm(formdata=None),
    )


@bp.get("/org/claims/<int:claim_id>")
@org_staff_required
def org_detail(claim_id: int) -> ResponseReturnValue:
    return _render_org_detail(_own_claim(claim_id))


@bp.route("/org/claims/<int:claim_id>/contact", methods=["GET", "POST"])
@org_staff_required
def contact(claim_id: int) -> ResponseReturnValue:
    """Show the household's contact (rule 5): a POST, audited each time. A GET
    (the result page reloaded, or its address opened again) shows nothing
    private: it goes back to the claim, whose button asks again."""
    claim = _own_claim(claim_id)
    if request.method == "GET":
        return redirect(url_for(".org_detail", claim_id=claim.id))
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        household = services.reveal_household_contact(claim, signed_in())
    except DomainError as exc:
        refused(exc)
        return redirect(url_for(".org_detail", claim_id=claim.id))
    return _render_org_detail(claim, household)


def _typed_delivery(form: DeliverForm) -> tuple[int | None, date | None]:
    """The amount and date as typed, parsed; a problem goes on its field
    (unless the form's own check already put one there)."""
    amount: int | None = None
    try:
        amount = parse_yuan(form.delivered_amount.data)
    except InvalidAmount as exc:
        if not form.delivered_amount.errors:
            form.delivered_amount.errors = [str(exc)]
    delivered_on = None
    try:
        delivered_on = parse_day(form.delivered_on.data, _("交付日期"))
    except InvalidDate as exc:
        if not form.delivered_on.errors:
            form.delivered_on.errors = [str(exc)]
    return amount, delivered_on


@bp.route("/org/claims/<int:claim_id>/deliver", methods=["GET", "POST"])
@org_staff_required
def deliver(claim_id: int) -> ResponseReturnValue:
    """The delivery form. Nothing is prefilled but the date: the amount is
    what was actually handed over, typed by the person. A submit is checked in
    one round: the form's own checks, the amount, the service's field rules
    and the evidence file, all reported together."""
    claim = _own_claim(claim_id)
    if claim.status != ClaimStatus.RESERVED:
        flash(_("只有待交付的认领可以登记交付。"), "error")
        return redirect(url_for(".org_detail", claim_id=claim.id))
    if claim.offer_id is not None:  # goods and services: delivered by sessions
        return match_views.deliver_match_page(claim)
    form = DeliverForm()
    if request.method == "GET":
        form.delivered_on.data = today().isoformat()
        return render_template("claims/deliver.html", claim=claim, form=form)
    checked = form.validate_on_submit()
    amount, delivered_on = _typed_delivery(form)
    upload = form.evidence.data
    if upload is not None and not getattr(upload, "filename", ""):
        upload = None
    try:
        if not checked or amount is None or delivered_on is None:
            # The service's rules still run on this submit, so every problem
            # is named at once (the form's own message wins on its field).
            services.check_delivery(
                claim, amount, delivered_on, form.method.data, form.note.data, upload
            )
            raise ValidationFailed(_("交付信息有误，请检查标出的字段。"))
        services.deliver_claim(
            claim,
            signed_in(),
            amount,
            delivered_on,
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
    return render_template("claims/deliver.html", claim=claim, form=form), 422


@bp.route("/org/claims/<int:claim_id>/cancel", methods=["GET", "POST"])
@org_staff_required
def cancel(claim_id: int) -> ResponseReturnValue:
    """GET: the confirmation step (what cancelling does, the reason field);
    POST: cancel."""
    claim = _own_claim(claim_id)
    form = ReasonForm()
    if request.method == "GET":
        if claim.status != ClaimStatus.RESERVED:
            flash(_("只有待交付的认领可以取消。"), "error")
            return redirect(url_for(".org_detail", claim_id=claim.id))
        return render_template(
            "confirm.html",
            title=_("取消认领 #%(id)s？", id=claim.id),
            details=[
                (_("需求"), f"{claim.need.code} {claim.need.title}"),
                (_("认领金额"), format_fen(claim.amount_fen)),
                (_("基金"), claim.fund.name if claim.fund else claim.kind_label),
            ],
            consequence=_(
                "取消后预留的 %(a)s 退回基金，需求重新开放认领。此操作不能撤销。",
                a=format_fen(claim.amount_fen),
            )
            if claim.fund_id is not None
            else _(
                "取消后对接的 %(a)s 不再计入需求，供给的名额退回，需求重新开放认领。"
                "此操作不能撤销。",
                a=format_fen(claim.amount_fen),
            ),
            action=url_for(".cancel", claim_id=claim.id),
            form=form,
            button=_("确认取消认领"),
            verb=_("取消"),
            back=url_for(".org_detail", claim_id=claim.id),
        )
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


@bp.get("/mod/claims")
@moderator_required
def mod_index() -> ResponseReturnValue:
    user = signed_in()
    result = lists.mod_claims(user, request.args)
    for message in result.args.ignored:
        flash(message, "warning")
    counts = counts_for(user)
    return render_template(
        "claims/mod_index.html",
        result=result,
        claims=result.items,
        today=today(),
        status_choices=lists.status_choices(),
        region_choices=region_filter_choices(user),
        tabs=[
            (_("待回访确认"), counts.get("claims_to_confirm"), {"status": "delivered"}),
            (
                _("%(d)s 天内到期", d=NEAR_EXPIRY_DAYS),
                counts.get("claims_due_soon"),
                {"due": "soon"},
            ),
            (_("已逾期未交付"), counts.get("claims_overdue"), {"due": "overdue"}),
            (_("核实中"), counts.get("claims_disputed"), {"status": "disputed"}),
            (_("全部"), None, {}),
        ],
    )


@bp.route("/mod/claims/<int:claim_id>/confirm", methods=["GET", "POST"])
@moderator_required
def confirm(claim_id: int) -> ResponseReturnValue:
    """GET: the confirmation step (the delivery as reported, with its
    evidence); POST: confirm the follow-up visit."""
    claim = db.session.get(Claim, claim_id)
    if claim is None or not services.can_view(claim, signed_in()):
        abort(404)
    if request.method == "GET":
        if claim.status != ClaimStatus.DELIVERED:
            flash(_("只有已登记交付的认领可以回访确认。"), "error")
            return redirect(url_for(".mod_index"))
        return render_template(
            "claims/mod_confirm.html",
            claim=claim,
            dispute_form=DisputeForm(formdata=None),
            dispute_days=services.dispute_answer_days(),
            title=_("回访确认：认领 #%(id)s", id=claim.id),
            details=[
                (_("需求"), f"{claim.need.code} {claim.need.title}"),
                (_("机构"), claim.org.name),
                (_("实际交付"), format_fen(claim.delivered_fen or 0)),
                (_("交付日期"), cn_date(claim.delivered_on)),
                (_("交付说明"), claim.note or "—"),
                (_("交付凭证"), claim.evidence_name or _("未上传")),
                *match_views.confirm_details(claim),
            ],
            download={
                "url": url_for(".evidence_file", claim_id=claim.id),
                "label": _("下载交付凭证 %(n)s", n=claim.evidence_name or ""),
            }
            if claim.evidence_path
            else None,
            consequence=_(
                "请先与受助家庭回访核实已收到帮扶。确认后交付记为已完成，不能撤销。"
            ),
            action=url_for(".confirm", claim_id=claim.id),
            form=None,
            button=_("已回访，确认交付"),
            button_class="primary",
            verb=_("确认"),
            back=url_for(".mod_index"),
        )
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


# --------------------------------------------------------------------------
# Disputes and extensions (docs/disputes.md): the moderators' claim page with
# its forms, and the org's answer
# --------------------------------------------------------------------------


def _visible_claim(claim_id: int) -> Claim:
    claim = db.session.get(Claim, claim_id)
    if claim is None or not services.can_view(claim, signed_in()):
        abort(404)
    return claim


def _render_mod_detail(claim: Claim, status: int = 200, **forms: Any) -> Any:
    return (
        render_template(
            "claims/mod_detail.html",
            claim=claim,
            need=claim.need,
            today=today(),
            timeline=services.claim_timeline(claim),
            awaiting_answer=services.dispute_waiting_for_answer(claim),
            dispute_form=forms.get("dispute_form") or DisputeForm(formdata=None),
            resolve_form=forms.get("resolve_form") or ResolveForm(formdata=None),
            extend_form=forms.get("extend_form") or ExtendForm(formdata=None),
            dispute_days=services.dispute_answer_days(),
        ),
        status,
    )


@bp.get("/mod/claims/<int:claim_id>")
@moderator_required
def mod_detail(claim_id: int) -> ResponseReturnValue:
    return _render_mod_detail(_visible_claim(claim_id))


def _typed_fen(field: Any, *, required: bool) -> int | None:
    """The yuan typed in ``field`` as fen (None, with the message on the
    field, when it does not parse)."""
    raw = (field.data or "").strip()
    if not raw and not required:
        return None
    try:
        return parse_yuan(raw)
    except InvalidAmount as exc:
        if not field.errors:
            field.errors = [str(exc)]
        return None


def _failed(form: Any, message: str) -> None:
    if form.errors.get("csrf_token"):
        message = _("表单已过期或缺少安全令牌（CSRF），请刷新页面后重试。")
    flash(message, "error")


@bp.post("/mod/claims/<int:claim_id>/dispute")
@moderator_required
def dispute(claim_id: int) -> ResponseReturnValue:
    claim = _visible_claim(claim_id)
    form = DisputeForm()
    checked = form.validate_on_submit()
    received = _typed_fen(form.received_amount, required=True)
    if checked and received is not None:
        try:
            services.dispute_claim(claim, signed_in(), form.reason.data, received)
        except DomainError as exc:
            refused(exc, form)
            db.session.refresh(claim)
        else:
            flash(_("已记录回访异议，等待机构答复。"), "success")
            return redirect(url_for(".mod_detail", claim_id=claim.id))
    else:
        _failed(form, _("异议信息有误，请检查标出的字段。"))
    return _render_mod_detail(claim, 422, dispute_form=form)


@bp.post("/mod/claims/<int:claim_id>/resolve")
@moderator_required
def resolve(claim_id: int) -> ResponseReturnValue:
    claim = _visible_claim(claim_id)
    form = ResolveForm()
    checked = form.validate_on_submit()
    confirmed = _typed_fen(form.confirmed_amount, required=False)
    if checked and not form.confirmed_amount.errors:
        try:
            services.resolve_dispute(
                claim, signed_in(), form.outcome.data, confirmed, form.reason.data
            )
        except DomainError as exc:
            refused(exc, form)
            db.session.refresh(claim)
        else:
            flash(_("异议已处理：%(o)s。", o=claim.resolution_label), "success")
            return redirect(url_for(".mod_detail", claim_id=claim.id))
    else:
        _failed(form, _("处理信息有误，请检查标出的字段。"))
    return _render_mod_detail(claim, 422, resolve_form=form)


@bp.post("/mod/claims/<int:claim_id>/extend")
@moderator_required
def extend(claim_id: int) -> ResponseReturnValue:
    claim = _visible_claim(claim_id)
    form = ExtendForm()
    checked = form.validate_on_submit()
    due_on = None
    try:
        due_on = parse_day(form.due_on.data, _("交付期限"))
    except InvalidDate as exc:
        if not form.due_on.errors:
            form.due_on.errors = [str(exc)]
    if checked and due_on is not None:
        try:
            services.extend_claim(claim, signed_in(), due_on, form.reason.data)
        except DomainError as exc:
            refused(exc, form)
            db.session.refresh(claim)
        else:
            flash(_("交付期限已延至 %(d)s。", d=cn_date(claim.due_on)), "success")
            return redirect(url_for(".mod_detail", claim_id=claim.id))
    else:
        _failed(form, _("延期信息有误，请检查标出的字段。"))
    return _render_mod_detail(claim, 422, extend_form=form)


@bp.post("/org/claims/<int:claim_id>/respond")
@org_staff_required
def respond(claim_id: int) -> ResponseReturnValue:
    claim = _own_claim(claim_id)
    form = RespondForm()
    upload = form.evidence.data
    if upload is not None and not getattr(upload, "filename", ""):
        upload = None
    if form.validate_on_submit():
        try:
            services.respond_to_dispute(claim, signed_in(), form.note.data, upload)
        except DomainError as exc:
            refused(exc, form)
            db.session.refresh(claim)
        else:
            flash(_("答复已提交，等待民政部门处理。"), "success")
            return redirect(url_for(".org_detail", claim_id=claim.id))
    else:
        _failed(form, _("答复信息有误，请检查标出的字段。"))
    return _render_org_detail(claim, respond_form=form), 422


@bp.get("/claims/<int:claim_id>/response-evidence")
def response_evidence_file(claim_id: int) -> ResponseReturnValue:
    """The org's evidence in answer to a dispute: its staff and the region's
    moderators only, as the delivery evidence."""
    if not current_user.is_authenticated:
        from charitylink.extensions import login_manager

        return login_manager.unauthorized()
    claim = db.session.get(Claim, claim_id)
    if claim is None or not services.can_view(claim, current_user):
        abort(404)
    path = evidence.path_of(claim.response_evidence_path or "")
    if path is None:
        abort(404)
    response = send_file(
        path,
        mimetype=claim.response_evidence_mime or "application/octet-stream",
        as_attachment=True,
        download_name=claim.response_evidence_name or path.name,
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# The matching pages (供需对接) register on this blueprint.
from charitylink.claims import match_views  # noqa: E402
