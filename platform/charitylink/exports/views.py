"""Data exports for moderators and org admins (docs/integration.md).

The import pages (``/mod/needs/import``) belong to the needs feature:
``needs/import_views.py``.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue

from charitylink.core.permissions import (
    moderator_required,
    org_admin_required,
    signed_in,
)
from charitylink.core.timeutil import today
from charitylink.exports import services, writers

bp = Blueprint("exports", __name__)


@bp.get("/mod/exports")
@moderator_required
def mod_exports() -> ResponseReturnValue:
    return render_template("exports/mod.html", sheets=services.MODERATOR_SHEETS)


@bp.get("/mod/exports/<kind>.<any(csv, xlsx):fmt>")
@moderator_required
def mod_export(kind: str, fmt: str) -> ResponseReturnValue:
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
