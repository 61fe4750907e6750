"""Projects: create and edit drafts, submit / approve / reject /
close, and the public list and detail. The same services as the pages."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from charitylink.accounts.models import User
from charitylink.api import (
    ApiError,
    bp,
    created,
    current_user_or_none,
    json_body,
    reason_body,
    require_user,
)
from charitylink.core import params
from charitylink.core.i18n import _
from charitylink.core.permissions import require_org_can_act
from charitylink.core.timeutil import iso_utc
from charitylink.errors import NotAllowed
from charitylink.extensions import db
from charitylink.needs.models import NeedType
from charitylink.orgs.models import Organization
from charitylink.projects import queries, services
from charitylink.projects.models import PUBLIC_PROJECT_STATUSES, Project

EDITABLE_FIELDS = (
    "fund_id",
    "filing_number",
    "title",
    "summary",
    "body",
    "need_types",
    "region_codes",
    "target_amount",
    "start_on",
    "end_on",
)


def to_json(
    project: Project, progress: queries.Progress | None = None
) -> dict[str, Any]:
    """A project as the API shows it (amounts in fen, dates YYYY-MM-DD)."""
    progress = progress or queries.progress_of(project)
    return {
        "id": project.id,
        "org_id": project.org_id,
        "fund_id": project.fund_id,
        "filing_number": project.filing_number,
        "title": project.title,
        "summary": project.summary,
        "body": project.body,
        "need_types": list(project.need_types or []),
        "region_codes": list(project.region_codes or []),
        "target_amount": project.target_fen,
        "start_on": project.start_on.isoformat() if project.start_on else None,
        "end_on": project.end_on.isoformat() if project.end_on else None,
        "status": str(project.status),
        "status_reason": project.status_reason,
        "published_at": iso_utc(project.published_at),
        "progress_overdue": project.progress_overdue(),
        "claimed_amount": progress.claimed_fen,
        "delivered_amount": progress.delivered_fen,
        "households_helped": progress.households,
    }


def _project_or_404(project_id: int, user: User | None) -> Project:
    project = db.session.get(Project, project_id)
    if project is None or not services.can_view(user, project):
        raise ApiError(404, "not_found", _("项目不存在。"))
    return project


@bp.post("/projects")
def create_project() -> ResponseReturnValue:
    user = require_user()
    if getattr(user, "org_id", None) is None:
        raise NotAllowed(_("只有机构工作人员可以创建项目。"))
    org = db.session.get_one(Organization, user.org_id)
    require_org_can_act(user, org.id)  # who acts, before what is sent
    data = json_body("ProjectCreate", also=lambda d: services.clean_fields(org, d))
    project = services.create_project(org, user, data)
    return created(to_json(project))


@bp.post("/projects/<int:project_id>")
def update_project(project_id: int) -> ResponseReturnValue:
    """Edit a draft (or a rejected project, which goes back to draft). Fields
    left out keep their current values."""
    user = require_user()
    project = _project_or_404(project_id, user)
    require_org_can_act(user, project.org_id)  # who acts, before what is sent
    current = {
        k: v
        for k, v in to_json(project, queries.Progress()).items()
        if k in EDITABLE_FIELDS
    }
    data = json_body(
        "ProjectInput",
        also=lambda d: services.clean_fields(project.org, {**current, **d}),
    )
    services.update_project(project, user, {**current, **data})
    return jsonify(to_json(project))


@bp.post("/projects/<int:project_id>/submit")
def submit_project(project_id: int) -> ResponseReturnValue:
    user = require_user()
    project = _project_or_404(project_id, user)
    services.submit_project(project, user)
    return jsonify(to_json(project))


@bp.post("/projects/<int:project_id>/approve")
def approve_project(project_id: int) -> ResponseReturnValue:
    user = require_user()
    project = _project_or_404(project_id, user)
    services.approve_project(project, user)
    return jsonify(to_json(project))


@bp.post("/projects/<int:project_id>/reject")
def reject_project(project_id: int) -> ResponseReturnValue:
    user = require_user()
    project = _project_or_404(project_id, user)
    services.reject_project(project, user, reason_body())
    return jsonify(to_json(project))


@bp.post("/projects/<int:project_id>/close")
def close_project(project_id: int) -> ResponseReturnValue:
    user = require_user()
    project = _project_or_404(project_id, user)
    services.close_project(project, user, reason_body())
    return jsonify(to_json(project))


LIST_PARAMS = [
    params.Param("q", "关键词（中文分词检索；返回 facets）", max_length=100),
    params.region_prefix("覆盖的行政区划代码前缀（2–12 位）"),
    params.Param("need_type", "需求类型", enum=params.enum_values(NeedType)),
    params.Param("org_id", "机构编号", kind="integer", minimum=1, maximum=999_999_999),
    params.Param("status", "状态", enum=PUBLIC_PROJECT_STATUSES),
    params.Param("sort", "排序（带 q 时默认按相关度）", enum=queries.SORTS),
    *params.paging(),
]


@bp.get("/projects")
def list_projects() -> ResponseReturnValue:
    checked = params.parse(LIST_PARAMS, request.args)  # strict: bad value → 422
    args = request.args
    filters = queries.parse_filters(args)  # the values above, as the query wants
    page, per_page = checked["page"], checked["per_page"]
    q = (args.get("q") or "").strip()
    if q:  # free text: the search engine (issue 4), same filters
        from charitylink.search.service import search_projects

        sort = filters.sort if args.get("sort") else "relevance"
        found = search_projects(q, args, sort, page, per_page)
        ids = [p.id for p in found.items]
        result = queries.Page(
            found.items, found.total, page, per_page, queries.progress(ids)
        )
    else:
        found = None
        result = queries.public_page(filters, page, per_page)
    body: dict[str, Any] = {
        "items": [to_json(p, result.progress[p.id]) for p in result.items],
        "total": result.total,
        "page": result.page,
        "per_page": result.per_page,
        "pages": result.pages,
    }
    if found is not None:  # counts beside the results: region, need type
        body["facets"] = found.facets_json()
    return jsonify(body)


@bp.get("/projects/<int:project_id>")
def get_project(project_id: int) -> ResponseReturnValue:
    project = _project_or_404(project_id, current_user_or_none())
    return jsonify(to_json(project))
