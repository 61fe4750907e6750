"""The public home page: headline figures and the latest published projects."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from charitylink.core import cache, page_cache
from charitylink.extensions import db
from charitylink.funds.models import Fund
from charitylink.needs.models import PUBLIC_STATUSES, Need
from charitylink.orgs.models import Organization, OrgStatus
from charitylink.projects import queries as project_queries

bp = Blueprint("public", __name__)


def headline_figures() -> dict[str, int]:
    """Three aggregate queries (cached by ``home``, dropped on change: core/cache):
    verified orgs, their funds and donations, public needs, amount delivered."""
    verified = Organization.status == OrgStatus.VERIFIED
    orgs = db.session.scalar(select(func.count()).where(verified)) or 0
    funds, donations = db.session.execute(
        select(func.count(Fund.id), func.coalesce(func.sum(Fund.donations_fen), 0))
        .join(Organization, Organization.id == Fund.org_id)
        .where(verified)
    ).one()
    needs, delivered = db.session.execute(
        select(
            func.count(Need.id), func.coalesce(func.sum(Need.delivered_fen), 0)
        ).where(Need.status.in_(PUBLIC_STATUSES))
    ).one()
    return {
        "orgs_verified": int(orgs),
        "funds": int(funds),
        "donations_total": int(donations),
        "needs_published": int(needs),
        "amount_delivered": int(delivered),
    }


@bp.get("/")
@page_cache.cacheable
def home() -> ResponseReturnValue:
    projects = project_queries.latest_public(6)
    context: dict[str, Any] = {
        "figures": cache.get_or_set("home.figures", headline_figures),
        "projects": projects,
        "progress": project_queries.progress([p.id for p in projects]),
    }
    return render_template("public/home.html", **context)
