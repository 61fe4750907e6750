"""Projects: create and edit drafts, submit / approve / reject /
close, and the public list and detail. The same services as the pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request
from marshmallow import fields as mfields

from charitylink.accounts.models import User
from charitylink.api import (
    PUBLIC,
    READ_ERRORS,
    WRITE_ERRORS,
    ApiError,
    accepts,
    body,
    body_field,
    bp,
    current_user_or_none,
    operation,
    reason_body,
    require_user,
)
from charitylink.api.fields import (
    FEN_TEXT,
    PRIVACY_SCAN,
    Answer,
    Body,
    Boolean,
    Day,
    Integer,
    Text,
    Timestamp,
    choice,
    day,
    depends,
    items,
    money,
    ref_id,
    requiring,
    string,
    text,
)
from charitylink.api.needs import SearchFacetsSchema
from charitylink.api.reasons import (
    ProjectCloseSchema,
    ProjectReasonSchema,
)
from charitylink.core import params
from charitylink.core.i18n import _
from charitylink.core.permissions import require_org_can_act
from charitylink.errors import NotAllowed
from charitylink.extensions import db
from charitylink.needs.models import NeedType
from charitylink.orgs.models import Organization
from charitylink.projects import queries, services
from charitylink.projects.models import PUBLIC_PROJECT_STATUSES, Project, ProjectStatus

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
_PROGRESS = ("claimed_fen", "delivered_fen", "households")


@dataclass
class Shown:
    """A project with its progress figures, as the API shows it."""

    project: Project
    progress: queries.Progress


def shown(project: Project) -> Shown:
    return Shown(project, queries.progress_of(project))


class ProjectSchema(Answer):
    """A project with its progress figures, dumped from a ``Shown`` (amounts in
    fen, dates YYYY-MM-DD)."""

    id = Integer(required=True)
    org_id = Integer(required=True)
    fund_id = Integer(required=True)
    filing_number = Text(allow_none=True)
    title = Text(required=True)
    summary = Text(allow_none=True)
    body = Text(allow_none=True)
    need_types = mfields.List(Text())
    region_codes = mfields.List(Text())
    target_amount = Integer(
        attribute="target_fen", allow_none=True, metadata={"description": FEN_TEXT}
    )
    start_on = Day(allow_none=True)
    end_on = Day(allow_none=True)
    status = choice(ProjectStatus, required=True)
    status_reason = Text(allow_none=True)
    published_at = Timestamp(allow_none=True)
    progress_overdue = Boolean()
    last_update_on = Day(
        attribute="last_disclosed_on",
        allow_none=True,
        metadata={"description": "上次公开进展的日期（尚无进展时为发布日期）"},
    )
    update_due_on = Day(
        allow_none=True,
        metadata={"description": "下次进展应在此日期前公开（仅进行中的项目）"},
    )
    claimed_amount = Integer(
        attribute="claimed_fen", metadata={"description": FEN_TEXT}
    )
    delivered_amount = Integer(
        attribute="delivered_fen", metadata={"description": FEN_TEXT}
    )
    households_helped = Integer(attribute="households")

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        if attr in _PROGRESS:
            return getattr(obj.progress, attr)
        if attr == "progress_overdue":
            return obj.project.progress_overdue()
        return super().get_attribute(obj.project, attr, default)


class ProjectPageSchema(Answer):
    items = mfields.List(mfields.Nested(ProjectSchema), required=True)
    total = Integer(required=True)
    page = Integer(required=True)
    per_page = Integer(required=True)
    pages = Integer()
    facets = mfields.Nested(SearchFacetsSchema)


class ProjectInputSchema(Body):
    fund_id = ref_id("Fund", "基金编号", "支付项目资金的本机构基金")
    filing_number = string(
        "慈善中国备案编号",
        nullable=True,
        pattern=r"^[0-9A-Za-z０-９Ａ-Ｚａ-ｚ]{0,64}$",
        description="慈善中国备案编号（字母和数字，全角字符按半角保存）",
    )
    title = depends(text(120, "项目名称", filled=True), "privacy scan", PRIVACY_SCAN)
    summary = depends(
        text(500, "项目简介", nullable=True), "privacy scan", PRIVACY_SCAN
    )
    body = depends(
        text(20000, "项目详情", nullable=True),
        "privacy scan",
        "Markdown，保存时清洗。" + PRIVACY_SCAN,
    )
    need_types = items(choice(NeedType), "需求类型", min_items=1)
    region_codes = items(
        string(
            pattern=r"^[0-9]{6}([0-9]{3}){0,2}$",
            description="行政区划代码（须存在）",
            format="region",
        ),
        "覆盖区划",
        min_items=1,
        max_items=200,
    )
    target_amount = money("目标金额（分）")
    start_on = day("开始日期", nullable=True)
    end_on = depends(day("结束日期", nullable=True), "start_on", "不能早于 start_on")


# Creating a project needs what editing one may leave out.
ProjectCreateSchema = requiring(
    ProjectInputSchema,
    ("fund_id", "title", "need_types", "region_codes", "target_amount"),
    "ProjectCreate",
)


def _project_or_404(project_id: int, user: User | None) -> Project:
    project = db.session.get(Project, project_id)
    if project is None or not services.can_view(user, project):
        raise ApiError(404, "not_found", _("项目不存在。"))
    return project


@bp.post("/projects")
@operation(
    "createProject",
    "创建帮扶项目草稿（机构工作人员）",
    "projects",
    errors=WRITE_ERRORS,
    idempotent=True,
)
@accepts(ProjectCreateSchema)
@bp.response(201, ProjectSchema, description="成功")
def create_project() -> Shown:
    user = require_user()
    if getattr(user, "org_id", None) is None:
        raise NotAllowed(_("只有机构工作人员可以创建项目。"))
    org = db.session.get_one(Organization, user.org_id)
    require_org_can_act(user, org.id)  # who acts, before what is sent
    data = body(also=lambda d: services.clean_fields(org, d))
    project = services.create_project(org, user, data)
    return shown(project)


def _action(verb: str, summary: str) -> Any:
    return operation(
        f"{verb}Project", summary, "projects", errors=WRITE_ERRORS, idempotent=True
    )


@bp.post("/projects/<int:project_id>")
@_action("update", "修改草稿（或被驳回的）项目")
@accepts(ProjectInputSchema)
@bp.response(200, ProjectSchema, description="成功")
def update_project(project_id: int) -> Shown:
    """Edit a draft (or a rejected project, which goes back to draft). Fields
    left out keep their current values."""
    user = require_user()
    project = _project_or_404(project_id, user)
    require_org_can_act(user, project.org_id)  # who acts, before what is sent
    as_sent = ProjectSchema().dump(Shown(project, queries.Progress()))
    current = {k: v for k, v in as_sent.items() if k in EDITABLE_FIELDS}
    data = body(
        also=lambda d: services.clean_fields(project.org, {**current, **d}, project.id),
    )
    services.update_project(project, user, {**current, **data})
    return shown(project)


@bp.post("/projects/<int:project_id>/submit")
@_action("submit", "提交项目审核（机构）")
@bp.response(200, ProjectSchema, description="成功")
def submit_project(project_id: int) -> Shown:
    user = require_user()
    project = _project_or_404(project_id, user)
    services.submit_project(project, user)
    return shown(project)


@bp.post("/projects/<int:project_id>/approve")
@_action("approve", "审核通过并发布项目（审核员）")
@bp.response(200, ProjectSchema, description="成功")
def approve_project(project_id: int) -> Shown:
    user = require_user()
    project = _project_or_404(project_id, user)
    services.approve_project(project, user)
    return shown(project)


@bp.post("/projects/<int:project_id>/reject")
@_action("reject", "驳回项目（审核员，需填写原因）")
@accepts(ProjectReasonSchema)
@bp.response(200, ProjectSchema, description="成功")
def reject_project(project_id: int) -> Shown:
    user = require_user()
    project = _project_or_404(project_id, user)
    services.reject_project(project, user, reason_body())
    return shown(project)


@bp.post("/projects/<int:project_id>/close")
@_action("close", "结束项目（须附结项报告，可说明原因）")
@accepts(ProjectCloseSchema)
@bp.response(200, ProjectSchema, description="成功")
def close_project(project_id: int) -> Shown:
    """Closing needs the final report: it becomes the project's last progress
    update, shown with the final figures."""
    user = require_user()
    project = _project_or_404(project_id, user)
    services.close_project(project, user, reason_body(), body_field("final_report"))
    return shown(project)


LIST_PARAMS = [
    params.Param("q", "关键词（中文分词检索；返回 facets）", max_length=100),
    params.region_prefix("覆盖的行政区划代码前缀（2–12 位）"),
    params.Param("need_type", "需求类型", enum=params.enum_values(NeedType)),
    params.Param("org_id", "机构编号", kind="integer", minimum=1, maximum=999_999_999),
    params.Param("status", "状态", enum=PUBLIC_PROJECT_STATUSES),
    params.Param("overdue", "只看进展公开已逾期（超过90天）的项目", kind="boolean"),
    params.Param(
        "sort",
        "排序（带 q 时默认按相关度；不带 q 时 relevance 即 newest）",
        enum=queries.ACCEPTED_SORTS,
    ),
    *params.paging(),
]


@bp.get("/projects")
@operation(
    "listProjects",
    "已发布的帮扶项目",
    "projects",
    errors=("401", "422"),
    security=PUBLIC,
    params=LIST_PARAMS,
)
@bp.response(200, ProjectPageSchema, description="成功")
def list_projects() -> dict[str, Any]:
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
    answer: dict[str, Any] = {
        "items": [Shown(p, result.progress[p.id]) for p in result.items],
        "total": result.total,
        "page": result.page,
        "per_page": result.per_page,
        "pages": result.pages,
    }
    if found is not None:  # counts beside the results: region, need type
        answer["facets"] = found.facets_json()
    return answer


@bp.get("/projects/<int:project_id>")
@operation(
    "getProject",
    "项目详情及进展数字",
    "projects",
    errors=READ_ERRORS,
    security=PUBLIC,
)
@bp.response(200, ProjectSchema, description="成功")
def get_project(project_id: int) -> Shown:
    project = _project_or_404(project_id, current_user_or_none())
    return shown(project)
