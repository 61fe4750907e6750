"""Work-area home pages: /org for charity staff, /mod for moderators and admins.

Each is a person's start page: what waits for them, counted, with a link to
where it is done (workspace/queries.py), then the area's other pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from charitylink.core.i18n import _
from charitylink.core.permissions import (
    moderator_required,
    org_staff_required,
    scope_prefix,
    signed_in,
)
from charitylink.core.timeutil import today
from charitylink.funds import services as fund_services
from charitylink.integrity import throttle
from charitylink.regions import services as regions
from charitylink.workspace import queries

bp = Blueprint("workspace", __name__)


@bp.app_context_processor
def _work_helpers() -> dict[str, Any]:
    # Functions, not values: the menu asks for its badge only for a signed-in
    # person, and the counts are computed (or read from the cache) once.
    return {
        "work_badge": _work_badge,
        "scope_name": _scope_name,
        "work_counts": _work_counts,
    }


def _work_counts() -> dict[str, int]:
    """The counts beside the work-area menu's links (one query per person a
    minute at most: queries.counts_for keeps them per request and in the cache)."""
    if not getattr(current_user, "is_authenticated", False):
        return {}
    try:
        return queries.counts_for(signed_in())
    except SQLAlchemyError:
        return {}


def _work_badge() -> int:
    if not getattr(current_user, "is_authenticated", False):
        return 0
    try:
        return queries.waiting_total(signed_in())
    except SQLAlchemyError:  # an error page while the database is away
        return 0


def _scope_name(user: Any) -> str:
    """The region a moderator covers, by name (全国 for an admin)."""
    prefix = scope_prefix(user)
    if prefix is None:
        return _("全部区划")
    return regions.scope_name(prefix) if prefix.isdigit() else _("未设置")


@bp.get("/org")
@org_staff_required
def org_home() -> ResponseReturnValue:
    user = signed_in()
    org_id = user.org_id or 0
    return render_template(
        "workspace/org_home.html",
        counts=queries.counts_for(user),
        claims_due=queries.org_claims_due(org_id),
        funds=fund_services.org_funds(org_id),
        soon_days=queries.SOON_DAYS,
        today=today(),
        claim_throttle=throttle.state(org_id),
    )


@bp.get("/mod")
@moderator_required
def mod_home() -> ResponseReturnValue:
    user = signed_in()
    return render_template(
        "workspace/mod_home.html",
        counts=queries.counts_for(user),
        expiring=queries.needs_expiring(user),
        soon_days=queries.SOON_DAYS,
    )
