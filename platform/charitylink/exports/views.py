"""Data exports for moderators and org admins (docs/integration.md).

The import pages (``/mod/needs/import``) belong to the needs feature:
``needs/import_views.py``.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    url_for,
)
from flask.typing import ResponseReturnValue

from charitylink.core.i18n import _
from charitylink.core.permissions import (
    moderator_required,
    org_admin_required,
    signed_in,
)
from charitylink.core.timeutil import today
from charitylink.core.transaction import refused
from charitylink.errors import DomainError
from charitylink.exports import services, writers

bp = Blueprint("exports", __name__)


def _render_mod(form: Any = None, link: str = "", status: int = 200) -> Any:
    from charitylink.privacy import exports as private
    from charitylink.privacy.forms import PrivateExportForm

    private.sweep_expired()
    return render_template(
        "exports/mod.html",
        sheets=services.MODERATOR_SHEETS,
        form=form or PrivateExportForm(formdata=None),
        link=link,
        pending=private.pending(signed_in()),
    ), status


@bp.get("/mod/exports")
@moderator_required
def mod_exports() -> ResponseReturnValue:
    return _render_mod()


@bp.post("/mod/exports/needs")
@moderator_required
def mod_private_export() -> ResponseReturnValue:
    """The needs with their private half: a stated reason, then a link that
    works once within 24 hours (privacy/exports.py)."""
    from charitylink.privacy import exports as private
    from charitylink.privacy.forms import PrivateExportForm

    form = PrivateExportForm()
    if not form.validate_on_submit():
        return _render_mod(form, status=422)
    try:
        _row, raw = private.create_needs_export(
            signed_in(), form.fmt.data, form.reason.data
        )
    except DomainError as exc:
        refused(exc, form)
        return _render_mod(form, status=exc.status)
    link = url_for("exports.mod_private_download", token=raw, _external=True)
    flash(_("导出文件已生成：下载链接只能使用一次，24 小时内有效。"), "success")
    resp = make_response(_render_mod(link=link))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/mod/exports/download/<token>")
@moderator_required
def mod_private_download(token: str) -> ResponseReturnValue:
    from charitylink.privacy import exports as private

    data, filename, mime = private.download(token, signed_in())
    resp = writers.download_bytes(data, mime, filename)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/mod/exports/<kind>.<any(csv, xlsx):fmt>")
@moderator_required
def mod_export(kind: str, fmt: str) -> ResponseReturnValue:
    if kind in services.PRIVATE_SHEETS:
        # No direct download of private data: a reason and a one-time link.
        flash(_("导出含隐私信息的需求须填写原因，并通过一次性下载链接获取。"), "info")
        return redirect(url_for(".mod_exports", _anchor="private-export"))
    build = services.MODERATOR_SHEETS.get(kind)
    if build is None:
        abort(404)
    sheet = build(signed_in())
    resp = writers.download(
        fmt,
        f"charitylink-{sheet.key}-{today().isoformat()}",
        sheet.title,
        sheet.header,
        sheet.rows,
    )
    return resp


@bp.get("/org/exports")
@org_admin_required
def org_exports() -> ResponseReturnValue:
    return render_template("exports/org.html", sheets=services.ORG_SHEETS)


@bp.get("/org/exports/<kind>.<any(csv, xlsx):fmt>")
@org_admin_required
def org_export(kind: str, fmt: str) -> ResponseReturnValue:
    build = services.ORG_SHEETS.get(kind)
    if build is None:
        abort(404)
    sheet = build(signed_in())
    return writers.download(
        fmt,
        f"charitylink-org-{sheet.key}-{today().isoformat()}",
        sheet.title,
        sheet.header,
        sheet.rows,
    )
