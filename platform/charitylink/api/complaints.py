"""Complaints API (举报): anyone submits and follows a complaint by its
tracking code; the moderators of the subject's region (admins for complaints
about the platform) list, accept and resolve them.

A thin adapter over ``complaints.services``. The tracking answer carries the
status, the outcome and the date only; the complainant's contact is in no
answer of this API (the handling moderator reads it on the complaint's page)."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import fields as mfields

from charitylink.api import (
    PUBLIC,
    WRITE_ERRORS,
    ApiError,
    accepts,
    body,
    bp,
    current_user_or_none,
    operation,
    require_user,
)
from charitylink.api.fields import (
    Answer,
    Body,
    Integer,
    Text,
    Timestamp,
    choice,
    depends,
)
from charitylink.api.fields import (
    text as text_field,
)
from charitylink.complaints import services
from charitylink.complaints.models import (
    Complaint,
    ComplaintCategory,
    ComplaintOutcome,
    ComplaintStatus,
    SubjectType,
)
from charitylink.core import params
from charitylink.core.i18n import _
from charitylink.core.permissions import is_moderator
from charitylink.errors import NotFound
from charitylink.extensions import db, limiter

# Per address, shared by the page and the API: one bucket for both doors.
SUBMIT_LIMIT = "10/hour;30/day"


class ComplaintInputSchema(Body):
    subject_type = choice(SubjectType, "举报对象类型", required=True)
    subject_id = mfields.Raw(
        metadata={
            "type": ["string", "integer"],
            "title": "举报对象编号",
            "description": "需求编号（如 XQ-22-000123），或项目、机构、基金、认领的 id；"
            "subject_type 为 platform 时可省略",
            "maxLength": 40,
            "x-depends-on": "subject_type",
            "x-refers-to": "一个公开的需求、项目、机构、基金，或一笔认领",
        }
    )
    category = choice(ComplaintCategory, "举报类别", required=True)
    text = text_field(
        services.TEXT_MAX,
        "举报内容",
        filled=True,
        required=True,
        description="只有负责的审核员可见；其中的个人信息会被标出",
    )
    contact = text_field(
        services.CONTACT_MAX,
        "联系方式",
        description="可选；加密保存，只有负责的审核员可见",
    )


class TrackingCodeSchema(Answer):
    tracking_code = Text(
        required=True,
        metadata={"description": "查询码（22 个字符）；请妥善保存，平台不保存原文"},
    )


class ComplaintTrackingSchema(Answer):
    status = choice(ComplaintStatus, required=True)
    outcome = choice(ComplaintOutcome, nullable=True)
    resolved_at = Timestamp(allow_none=True)


class ComplaintSchema(Answer):
    """A complaint as its handling moderators see it (no contact)."""

    id = Integer(required=True)
    ref = Text(required=True, metadata={"description": "举报编号，如 JB-000012"})
    subject_type = choice(SubjectType, required=True)
    subject_id = Text(attribute="subject_ref", required=True)
    category = choice(ComplaintCategory, required=True)
    text = Text(required=True)
    text_findings = mfields.Method(
        "_findings",
        required=True,
        metadata={
            "type": "array",
            "items": {"type": "string"},
            "description": "隐私检查在举报内容中发现的个人信息类型",
        },
    )
    status = choice(ComplaintStatus, required=True)
    outcome = choice(ComplaintOutcome, nullable=True)
    moderator_note = Text(allow_none=True)
    published_text = Text(allow_none=True)
    overdue = mfields.Method(
        "_overdue",
        metadata={
            "type": ["string", "null"],
            "enum": ["accept", "resolve", None],
            "description": "accept：超过受理期限；resolve：超过办结期限",
        },
    )
    created_at = Timestamp(required=True)
    accept_due_at = Timestamp(required=True)
    resolve_due_at = Timestamp(required=True)
    accepted_at = Timestamp(allow_none=True)
    resolved_at = Timestamp(allow_none=True)

    def _findings(self, row: Complaint) -> list[str]:
        return [k for k in (row.text_findings or "").split(",") if k]

    def _overdue(self, row: Complaint) -> str | None:
        return services.overdue(row)


class ComplaintPageSchema(Answer):
    items = mfields.List(mfields.Nested(ComplaintSchema), required=True)
    page = Integer(required=True)
    per_page = Integer(required=True)
    total = Integer(required=True)


class ResolveSchema(Body):
    outcome = choice(ComplaintOutcome, "核查结论", required=True)
    note = text_field(
        services.NOTE_MAX,
        "核查情况说明",
        filled=True,
        required=True,
        description="仅审核员可见",
    )
    published_text = depends(
        text_field(services.PUBLISHED_MAX, "公开的处理结果", nullable=True),
        "outcome, subject_type, privacy scan",
        "可选；仅限针对慈善组织且属实的举报，显示在该机构的公开页面；"
        "不得含个人信息，否则 422",
    )


LIST_PARAMS = [
    params.Param("status", "按状态筛选", enum=tuple(str(s) for s in ComplaintStatus)),
    *params.paging(default_per_page=20),
]


@bp.post("/complaints")
@limiter.shared_limit(SUBMIT_LIMIT, scope="complaints-submit")
@operation(
    "submitComplaint",
    "提交举报（无需账号；按来源地址限制频率）",
    "complaints",
    errors=("401", "409", "413", "422", "429"),
    security=PUBLIC,
    idempotent=True,
)
@accepts(ComplaintInputSchema)
@bp.response(201, TrackingCodeSchema, description="已收到；凭查询码查看处理进度")
def submit_complaint() -> dict[str, str]:
    data = body()
    _complaint, code = services.submit(data, current_user_or_none())
    return {"tracking_code": code}


@bp.get("/complaints/<tracking_code>")
@operation(
    "trackComplaint",
    "凭查询码查看举报的处理状态与结论",
    "complaints",
    errors=("401", "404"),
    security=PUBLIC,
)
@bp.response(200, ComplaintTrackingSchema, description="成功")
def track_complaint(tracking_code: str) -> Complaint:
    complaint = services.by_tracking_code(tracking_code)
    if complaint is None:
        raise NotFound(_("查询码不正确，或该举报不存在。"))
    return complaint


def _handler() -> Any:
    user = require_user()
    if not is_moderator(user):
        raise ApiError(403, "forbidden", _("只有民政审核员可以处理举报。"))
    return user


def _handled(complaint_id: int) -> tuple[Any, Complaint]:
    user = _handler()
    complaint = services.for_moderator(complaint_id, user)
    if complaint is None:
        raise NotFound(_("举报不存在。"))
    return user, complaint


@bp.get("/complaints")
@operation(
    "listComplaints",
    "本辖区的举报（审核员；管理员含针对平台的举报），最早到期的在前",
    "complaints",
    errors=("401", "403", "422"),
    params=LIST_PARAMS,
)
@bp.response(200, ComplaintPageSchema, description="成功")
def list_complaints() -> dict[str, Any]:
    user = _handler()
    args = params.parse(LIST_PARAMS, request.args)
    page, per_page = args["page"], args["per_page"]
    found = db.paginate(
        services.queue(user, args["status"] or None),
        page=page,
        per_page=per_page,
        error_out=False,
    )
    return {
        "items": found.items,
        "page": page,
        "per_page": per_page,
        "total": found.total or 0,
    }


@bp.post("/complaints/<int:complaint_id>/accept")
@operation(
    "acceptComplaint",
    "受理举报（审核员）",
    "complaints",
    errors=WRITE_ERRORS,
    idempotent=True,
)
@bp.response(200, ComplaintSchema, description="成功")
def accept_complaint(complaint_id: int) -> Complaint:
    user, complaint = _handled(complaint_id)
    services.accept(complaint, user)
    return complaint


@bp.post("/complaints/<int:complaint_id>/resolve")
@operation(
    "resolveComplaint",
    "办结举报：核查结论与说明（审核员）",
    "complaints",
    errors=WRITE_ERRORS,
    idempotent=True,
)
@accepts(ResolveSchema)
@bp.response(200, ComplaintSchema, description="成功")
def resolve_complaint(complaint_id: int) -> Complaint:
    user, complaint = _handled(complaint_id)
    data = body()
    services.resolve(
        complaint,
        user,
        data["outcome"],
        data["note"],
        data.get("published_text"),
    )
    return complaint
