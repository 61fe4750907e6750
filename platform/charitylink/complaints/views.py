"""Pages of complaints: the public form and tracking page, and the moderators'
queue and complaint page with accept and resolve."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from charitylink.api.complaints import SUBMIT_LIMIT
from charitylink.complaints import services
from charitylink.complaints.forms import ComplaintForm, ResolveForm
from charitylink.complaints.models import (
    COMPLAINT_STATUS_LABELS,
    CONTACT_PURGED,
    Complaint,
    ComplaintStatus,
    SubjectType,
)
from charitylink.core.i18n import _
from charitylink.core.permissions import moderator_required, signed_in
from charitylink.core.timeutil import utcnow
from charitylink.core.transaction import refused
from charitylink.errors import DomainError
from charitylink.extensions import db, limiter

bp = Blueprint("complaints", __name__)

PER_PAGE = 20


@bp.route("/complaints/new", methods=["GET", "POST"])
@limiter.shared_limit(SUBMIT_LIMIT, scope="complaints-submit", methods=["POST"])
def new() -> ResponseReturnValue:
    form = ComplaintForm()
    if request.method == "GET":
        subject_type = request.args.get("subject_type", "")
        if subject_type in {str(s) for s in SubjectType}:
            form.subject_type.data = subject_type
            form.subject_id.data = request.args.get("subject_id", "")[:40]
        return render_template("complaints/new.html", form=form)
    if form.website.data:
        # A bot filled the hidden field: answer as if received, keep nothing.
        return redirect(
            url_for(".track", tracking_code=services.new_tracking_code(), new=1)
        )
    if not form.validate():  # CSRF only: the rules are the service's
        return render_template("complaints/new.html", form=form), 400
    user = current_user if current_user.is_authenticated else None
    try:
        _complaint, code = services.submit(form.data_for_service(), user)
    except DomainError as exc:
        refused(exc, form)
        return render_template("complaints/new.html", form=form), 422
    # The code goes into the address of the tracking page, shown at once: the
    # platform keeps only its hash, so this is the one time it is shown.
    return redirect(url_for(".track", tracking_code=code, new=1))


@bp.get("/complaints/track")
def find() -> ResponseReturnValue:
    code = request.args.get("code", "").strip()
    if code:
        return redirect(url_for(".track", tracking_code=code))
    return render_template("complaints/find.html")


@bp.get("/complaints/<tracking_code>")
def track(tracking_code: str) -> ResponseReturnValue:
    complaint = services.by_tracking_code(tracking_code)
    if complaint is None:
        # The same page for a wrong, a random and a malformed code.
        return render_template("complaints/find.html", not_found=True), 404
    return render_template(
        "complaints/track.html",
        complaint=complaint,
        code=tracking_code,
        new=request.args.get("new") == "1",
    )


# --------------------------------------------------------------------------
# Moderators
# --------------------------------------------------------------------------


def _pager_args(params: dict[str, Any]) -> Any:
    clean = {k: v for k, v in params.items() if v}

    def args(page: int) -> str:
        return urlencode({**clean, "page": page})

    return args


@bp.get("/mod/complaints")
@moderator_required
def queue() -> ResponseReturnValue:
    status = request.args.get("status", "")
    status = status if status in {str(s) for s in ComplaintStatus} else ""
    try:
        page = max(1, min(int(request.args.get("page", 1)), 100_000))
    except ValueError:
        page = 1
    pagination = db.paginate(
        services.queue(signed_in(), status or None),
        page=page,
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "complaints/queue.html",
        pagination=pagination,
        status=status,
        statuses=COMPLAINT_STATUS_LABELS,
        now=utcnow(),
        overdue=services.overdue,
        subject_label=services.subject_label,
        page_args=_pager_args({"status": status}),
    )


def _handled(complaint_id: int) -> Complaint:
    complaint = services.for_moderator(complaint_id, signed_in())
    if complaint is None:
        abort(404)
    return complaint


def _detail(complaint: Complaint, form: ResolveForm, contact: str | None = None) -> str:
    """``contact``: the revealed contact (None: not revealed on this page)."""
    return render_template(
        "complaints/detail.html",
        complaint=complaint,
        form=form,
        has_contact=services.has_contact(complaint),
        contact_purged=complaint.contact_ciphertext == CONTACT_PURGED,
        contact=contact,
        overdue=services.overdue(complaint),
        actions=services.follow_up_links(complaint),
        subject_url=services.subject_url,
        subject_label=services.subject_label,
        findings=services.findings_label(complaint),
    )


@bp.get("/mod/complaints/<int:complaint_id>")
@moderator_required
def detail(complaint_id: int) -> ResponseReturnValue:
    return _detail(_handled(complaint_id), ResolveForm())


@bp.route("/mod/complaints/<int:complaint_id>/contact", methods=["GET", "POST"])
@moderator_required
def contact(complaint_id: int) -> ResponseReturnValue:
    """POST: show the complainant's contact (audited). A GET (the result
    reloaded later) goes back to the complaint's page, without it."""
    complaint = _handled(complaint_id)
    if request.method == "GET":
        return redirect(url_for(".detail", complaint_id=complaint.id))
    shown = services.reveal_contact(complaint, signed_in())
    # The contact must not linger in shared caches or the back button.
    return _detail(complaint, ResolveForm(), shown), 200, {"Cache-Control": "no-store"}


@bp.route("/mod/complaints/<int:complaint_id>/accept", methods=["GET", "POST"])
@moderator_required
def accept(complaint_id: int) -> ResponseReturnValue:
    complaint = _handled(complaint_id)
    if request.method == "POST":
        try:
            services.accept(complaint, signed_in())
        except DomainError as exc:
            refused(exc)
        else:
            flash(_("已受理，请在办结期限内核查并办结。"), "success")
    return redirect(url_for(".detail", complaint_id=complaint.id))


@bp.route("/mod/complaints/<int:complaint_id>/resolve", methods=["GET", "POST"])
@moderator_required
def resolve(complaint_id: int) -> ResponseReturnValue:
    complaint = _handled(complaint_id)
    if request.method == "GET":
        return redirect(url_for(".detail", complaint_id=complaint.id))
    form = ResolveForm()
    if not form.validate():
        return _detail(complaint, form), 400
    try:
        services.resolve(
            complaint,
            signed_in(),
            form.outcome.data,
            form.note.data,
            form.published_text.data,
        )
    except DomainError as exc:
        refused(exc, form)
        return _detail(complaint, form), exc.status
    flash(_("举报已办结。"), "success")
    return redirect(url_for(".detail", complaint_id=complaint.id))
