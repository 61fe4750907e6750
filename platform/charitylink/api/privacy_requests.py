"""Requests from the person in the API (moderators of the household's region):
list, record, the one file with everything held, close. A thin adapter over
``privacy.requests``; correction and erasure are on the request's page, where
the moderator sees each need of the household (docs/privacy.md)."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import fields as mfields

from charitylink.api import (
    WRITE_ERRORS,
    ApiError,
    accepts,
    body,
    bp,
    operation,
    require_user,
)
from charitylink.api.fields import (
    Answer,
    Body,
    Boolean,
    Integer,
    Text,
    Timestamp,
    choice,
    day,
    string,
)
from charitylink.api.fields import text as text_field
from charitylink.core import params
from charitylink.core.i18n import _
from charitylink.core.permissions import is_moderator
from charitylink.core.timeutil import InvalidDate, parse_day, today
from charitylink.extensions import db
from charitylink.privacy import requests as services
from charitylink.privacy.purge_models import PrivacyRequest, RequestKind, RequestOutcome


class PrivacyRequestInputSchema(Body):
    kind = choice(
        RequestKind,
        "请求类型",
        required=True,
        description="access 查阅、copy 复制、correct 更正、erase 删除",
    )
    id_number = string(
        "身份证号码",
        required=True,
        pattern=r"^[0-9]{17}[0-9Xx]$",
        description="只用于找到该家庭（计算家庭标识），不会保存",
        format="cn-id-number",
    )
    note = text_field(
        1000, "请求内容", nullable=True, description="不得含个人信息，否则 422"
    )
    received_on = day("收到日期", nullable=True, description="默认今天")


class PrivacyRequestSchema(Answer):
    id = Integer(required=True)
    kind = choice(RequestKind, required=True)
    received_on = Text(required=True, metadata={"format": "date"})
    due_on = Text(required=True, metadata={"format": "date"})
    overdue = Boolean(required=True)
    note = Text(required=True)
    exported_at = Timestamp(allow_none=True)
    closed_at = Timestamp(allow_none=True)
    outcome = choice(RequestOutcome, nullable=True)
    outcome_note = Text(allow_none=True)


class PrivacyRequestPageSchema(Answer):
    items = mfields.List(mfields.Nested(PrivacyRequestSchema), required=True)
    page = Integer(required=True)
    per_page = Integer(required=True)
    total = Integer(required=True)


class CloseRequestSchema(Body):
    outcome = choice(RequestOutcome, "办理结果", required=True)
    note = text_field(1000, "说明", nullable=True, description="不予办理时必填")


class HouseholdFileSchema(Answer):
    generated_at = Timestamp(required=True)
    generated_by = Text(required=True)
    request = mfields.Dict(required=True)
    retention_days = Integer(required=True)
    needs = mfields.List(
        mfields.Dict(),
        required=True,
        metadata={
            "description": "该家庭在本辖区的每条需求：隐私信息（已清除为 null）、同意记录、认领状态、查看记录"
        },
    )


LIST_PARAMS = [
    params.Param(
        "state", "按状态筛选（默认未办结）", enum=("open", "overdue", "closed", "all")
    ),
    *params.paging(default_per_page=20),
]


def _answer(req: PrivacyRequest) -> dict[str, Any]:
    return {
        "id": req.id,
        "kind": req.kind,
        "received_on": req.received_on.isoformat(),
        "due_on": req.due_on.isoformat(),
        "overdue": req.overdue,
        "note": req.note or "",
        "exported_at": req.exported_at,
        "closed_at": req.closed_at,
        "outcome": req.outcome,
        "outcome_note": req.outcome_note,
    }


def _handler() -> Any:
    user = require_user()
    if not is_moderator(user):
        raise ApiError(403, "forbidden", _("只有民政审核员可以处理个人信息请求。"))
    return user


@bp.get("/privacy-requests")
@operation(
    "listPrivacyRequests",
    "本辖区的个人信息请求（审核员），最早到期的在前",
    "privacy",
    errors=("401", "403", "422"),
    params=LIST_PARAMS,
)
@bp.response(200, PrivacyRequestPageSchema, description="成功")
def list_privacy_requests() -> dict[str, Any]:
    user = _handler()
    args = params.parse(LIST_PARAMS, request.args)
    stmt = services.requests_query(user)
    state = args.get("state") or "open"
    if state == "open":
        stmt = stmt.where(PrivacyRequest.closed_at.is_(None))
    elif state == "overdue":
        stmt = stmt.where(
            PrivacyRequest.closed_at.is_(None), PrivacyRequest.due_on < today()
        )
    elif state == "closed":
        stmt = stmt.where(PrivacyRequest.closed_at.is_not(None))
    found = db.paginate(
        stmt.order_by(PrivacyRequest.due_on, PrivacyRequest.id),
        page=args["page"],
        per_page=args["per_page"],
        error_out=False,
    )
    return {
        "items": [_answer(r) for r in found.items],
        "page": args["page"],
        "per_page": args["per_page"],
        "total": found.total or 0,
    }


@bp.post("/privacy-requests")
@operation(
    "createPrivacyRequest",
    "登记个人信息请求（审核员；按身份证号码找到家庭，号码不保存）",
    "privacy",
    errors=WRITE_ERRORS,
    idempotent=True,
)
@accepts(PrivacyRequestInputSchema)
@bp.response(201, PrivacyRequestSchema, description="已登记")
def create_privacy_request() -> dict[str, Any]:
    user = _handler()
    data = body()
    try:
        received = parse_day(data.get("received_on"), _("收到日期"))
    except InvalidDate as exc:
        raise services._fail("received_on", str(exc)) from None
    req = services.create_request(
        user, data.get("kind"), data.get("id_number"), data.get("note"), received
    )
    return _answer(req)


@bp.get("/privacy-requests/<int:request_id>/file")
@operation(
    "getPrivacyRequestFile",
    "该家庭的全部信息（一个文件；每次导出都记入审计）",
    "privacy",
    errors=("401", "403", "404"),
)
@bp.response(200, HouseholdFileSchema, description="成功")
def get_privacy_request_file(
    request_id: int,
) -> tuple[dict[str, Any], int, dict[str, str]]:
    user = _handler()
    req = services.get_request(request_id, user)
    data = services.household_file(req, user)
    services.record_export(req, user, len(data["needs"]))
    return data, 200, {"Cache-Control": "no-store"}


@bp.post("/privacy-requests/<int:request_id>/close")
@operation(
    "closePrivacyRequest",
    "办结个人信息请求（审核员）",
    "privacy",
    errors=WRITE_ERRORS,
    idempotent=True,
)
@accepts(CloseRequestSchema)
@bp.response(200, PrivacyRequestSchema, description="已办结")
def close_privacy_request(request_id: int) -> dict[str, Any]:
    user = _handler()
    req = services.get_request(request_id, user)
    data = body()
    services.close(req, user, data.get("outcome"), data.get("note"))
    return _answer(req)
