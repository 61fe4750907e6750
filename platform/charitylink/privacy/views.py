"""Pages: a need's consent records (moderators of its region), who saw a
household's private data, and the admins' list of flagged accounts."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue

from charitylink.core.i18n import _
from charitylink.core.permissions import admin_required, moderator_required, signed_in
from charitylink.core.transaction import refused
from charitylink.errors import DomainError
from charitylink.extensions import db
from charitylink.needs import queries
from charitylink.privacy import access, consents
from charitylink.privacy.forms import ConsentFileForm, ConsentForm, WithdrawConsentForm
from charitylink.privacy.models import Consent

bp = Blueprint("privacy", __name__)

PER_PAGE = 30


def _need(code: str) -> Any:
    return queries.get_for_moderator_or_404(code, signed_in())


def _consent(consent_id: int) -> Consent:
    consent = db.session.get(Consent, consent_id)
    if consent is None:
        abort(404)
    # Outside the moderator's region: the same 404 as a missing consent.
    need = consents.consent_need(consent)
    queries.get_for_moderator_or_404(need.code, signed_in())
    return consent


def _render_consents(need: Any, form: Any = None, status: int = 200) -> Any:
    rows = consents.consents_of(need)
    return render_template(
        "privacy/consents.html",
        need=need,
        consents=rows,
        guardians={c.id: consents.guardian_name(c) for c in rows},
        form=form or ConsentForm(formdata=None),
        file_form=ConsentFileForm(formdata=None),
        withdraw_form=WithdrawConsentForm(formdata=None),
    ), status


@bp.route("/mod/needs/<code>/consents", methods=["GET", "POST"])
@moderator_required
def need_consents(code: str) -> ResponseReturnValue:
    need = _need(code)
    if request.method == "GET":
        return _render_consents(need)
    form = ConsentForm()
    if not form.validate_on_submit():
        return _render_consents(need, form, 422)
    upload = request.files.get("form")
    try:
        consents.record_consent(
            need,
            signed_in(),
            {
                "scope": form.scope.data or None,
                "method": form.method.data or None,
                "given_on": form.given_on.data or None,
                "guardian_name": form.guardian_name.data or "",
            },
            form_upload=upload if upload and upload.filename else None,
        )
    except DomainError as exc:
        refused(exc, form)
        return _render_consents(need, form, exc.status)
    flash(_("同意记录已保存。"), "success")
    return redirect(url_for(".need_consents", code=need.code))


@bp.post("/mod/consents/<int:consent_id>/form")
@moderator_required
def attach_form(consent_id: int) -> ResponseReturnValue:
    consent = _consent(consent_id)
    need = consents.consent_need(consent)
    upload = request.files.get("form")
    form = ConsentFileForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        if not upload or not upload.filename:
            from charitylink.errors import ValidationFailed

            raise ValidationFailed(_("请选择要上传的文件。"))
        consents.attach_form(consent, signed_in(), upload)
    except DomainError as exc:
        refused(exc)
    else:
        flash(_("同意书扫描件已保存（加密存储）。"), "success")
    return redirect(url_for(".need_consents", code=need.code))


@bp.get("/mod/consents/<int:consent_id>/form")
@moderator_required
def form_file(consent_id: int) -> ResponseReturnValue:
    import io

    consent = _consent(consent_id)
    found = consents.read_form(consent, signed_in())
    if found is None:
        abort(404)
    data, name, mime = found
    response = send_file(
        io.BytesIO(data), mimetype=mime, as_attachment=True, download_name=name
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/mod/consents/<int:consent_id>/withdraw")
@moderator_required
def withdraw(consent_id: int) -> ResponseReturnValue:
    consent = _consent(consent_id)
    need = consents.consent_need(consent)
    form = WithdrawConsentForm()
    try:
        if not form.validate_on_submit():
            from charitylink.errors import ValidationFailed

            raise ValidationFailed(_("请填写撤回原因。"), {"reason": _("请填写原因。")})
        consents.withdraw_consent(consent, signed_in(), form.reason.data)
    except DomainError as exc:
        refused(exc)
    else:
        flash(_("同意已撤回；此后不再向认领机构提供联系方式。"), "success")
    return redirect(url_for(".need_consents", code=need.code))


@bp.get("/mod/needs/<code>/access")
@moderator_required
def household_access(code: str) -> ResponseReturnValue:
    need = _need(code)
    page = db.paginate(
        access.household_sightings(need, signed_in()),
        per_page=PER_PAGE,
        error_out=False,
    )
    events = list(page.items)
    return render_template(
        "privacy/access.html",
        need=need,
        page=page,
        events=events,
        accounts=access.accounts_of(events),
        claim_needs=access.claim_needs(events),
        path_of=access.path_of,
        PATH_LABELS=access.PATH_LABELS,
        args=lambda n: f"page={n}",
    )


@bp.get("/admin/privacy/flags")
@admin_required
def flags() -> ResponseReturnValue:
    page = db.paginate(access.flags(), per_page=PER_PAGE, error_out=False)
    rows = list(page.items)
    from sqlalchemy import select

    from charitylink.accounts.models import User

    ids = {r.user_id for r in rows}
    users = (
        {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
        if ids
        else {}
    )
    return render_template(
        "privacy/flags.html",
        page=page,
        rows=rows,
        users=users,
        limit=int(current_app.config.get("PRIVATE_VIEW_ALERT", 50)),
        args=lambda n: f"page={n}",
    )
