"""Work-area home pages: /org for charity staff, /mod for moderators and admins."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from charitylink.core.permissions import moderator_required, org_staff_required

bp = Blueprint("workspace", __name__)


@bp.get("/org")
@org_staff_required
def org_home() -> ResponseReturnValue:
    return render_template("workspace/org_home.html")


@bp.get("/mod")
@moderator_required
def mod_home() -> ResponseReturnValue:
    return render_template("workspace/mod_home.html")
