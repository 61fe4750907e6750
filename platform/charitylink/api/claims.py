"""Claims API: claim/pledge a need, deliver, confirm, cancel, read.

A thin adapter over ``claims.services``; DomainErrors become the error envelope
in ``api/__init__.py`` (which also rolls the transaction back)."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import fields as mfields
from sqlalchemy import select

from charitylink.accounts.models import User
from charitylink.api import (
    READ_ERRORS,
    WRITE_ERRORS,
    ApiError,
    accepts,
    body,
    bp,
    operation,
    reason_body,
    require_user,
)
from charitylink.api.fields import (
    FEN_TEXT,
    Answer,
    Body,
    Day,
    Integer,
    Text,
    choice,
    day,
    depends,
    money,
    ref_id,
    text,
)
from charitylink.api.reasons import ReasonOptionalSchema
from charitylink.claims import services
from charitylink.claims.models import Claim, ClaimStatus, DeliveryMethod
from charitylink.core import params
from charitylink.core.i18n import _
from charitylink.core.permissions import require_org_staff
from charitylink.core.timeutil import InvalidDate, parse_day
from charitylink.errors import NotFound, ValidationFailed
from charitylink.extensions import db
from charitylink.funds.models import Fund
from charitylink.needs.models import Need
from charitylink.projects.models import Project


class ClaimCreateSchema(Body):
    fund_id = ref_id("Fund", "基金编号", "出资的本机构基金", required=True)
    amount = money("认领金额（分）", required=True)
    project_id = ref_id(
        "Project", "项目编号", "所属的本机构项目（可选）", nullable=True
    )


class DeliverySchema(Body):
    delivered_amount = depends(
        money("交付金额（分）", required=True), "claim", "不能超过认领金额"
    )
    delivered_on = depends(
        day("交付日期", required=True),
        "today",
        "交付日期：不晚于今天，不早于认领日期的前一天",
    )
    method = choice(DeliveryMethod, "交付方式", required=True)
    note = text(2000, "说明", nullable=True)


class ClaimSchema(Answer):
    """A claim as the API shows it; nothing of the need's private half."""

    id = Integer(required=True)
    need_code = Text(attribute="need.code", required=True)
    org_id = Integer(required=True)
    fund_id = Integer(required=True)
    project_id = Integer(allow_none=True)
    amount = Integer(
        attribute="amount_fen", required=True, metadata={"description": FEN_TEXT}
    )
    status = choice(ClaimStatus, required=True)
    due_on = Day(required=True)
    delivered_amount = Integer(
        attribute="delivered_fen", allow_none=True, metadata={"description": FEN_TEXT}
    )
    delivered_on = Day(allow_none=True)
    method = choice(DeliveryMethod, nullable=True)
    note = Text(allow_none=True)


class ClaimPageSchema(Answer):
    items = mfields.List(mfields.Nested(ClaimSchema), required=True)
    page = Integer(required=True)
    per_page = Integer(required=True)


def _org_member() -> Any:
    user = require_user()
    if not user.is_org_staff:
        raise ApiError(403, "forbidden", _("只有慈善组织的工作人员可以认领需求。"))
    return user


def _claim_for(user: User, claim_id: int) -> Claim:
    claim = db.session.get(Claim, claim_id)
    if claim is None or not services.can_view(claim, user):
        raise NotFound(_("认领记录不存在。"))
    return claim


def _action(verb: str, summary: str) -> Any:
    return operation(
        f"{verb}Claim", summary, "claims", errors=WRITE_ERRORS, idempotent=True
    )


@bp.post("/needs/<code>/claims")
@_action("create", "认领（全额）或认捐（部分）一条需求（机构工作人员）")
@accepts(ClaimCreateSchema)
@bp.response(201, ClaimSchema, description="成功")
def create_claim(code: str) -> Claim:
    user = _org_member()
    data = body()
    need = db.session.scalar(select(Need).where(Need.code == code))
    if need is None or need.status in services.NEVER_PUBLIC:
        raise NotFound(_("需求不存在。"))
    fields: dict[str, str] = {}
    fund = db.session.get(Fund, data["fund_id"])
    if fund is None or fund.org_id != user.org_id:
        fields["fund_id"] = _("基金不存在或不属于本机构。")
    project = None
    if data.get("project_id") is not None:
        project = db.session.get(Project, data["project_id"])
        if project is None or project.org_id != user.org_id:
            fields["project_id"] = _("帮扶项目不存在或不属于本机构。")
    if fields or fund is None:  # no fund: fields names fund_id
        raise ValidationFailed(_("认领信息有误，请检查标出的字段。"), fields)
    return services.claim_need(need, user, fund, data["amount"], project)


@bp.post("/claims/<int:claim_id>/deliver")
@_action("deliver", "报告交付（机构；少交付的部分退回基金）")
@accepts(DeliverySchema)
@bp.response(200, ClaimSchema, description="成功")
def deliver_claim(claim_id: int) -> Claim:
    user = require_user()
    claim = _claim_for(user, claim_id)
    require_org_staff(user, claim.org_id)  # a moderator may read it, not report it
    data = body()
    try:  # the pattern bounds the form; the calendar (no 2 月 30 日) is parse_day's
        delivered_on = parse_day(data["delivered_on"], _("交付日期"))
    except InvalidDate as exc:
        raise ValidationFailed(str(exc), {"delivered_on": str(exc)}) from None
    services.deliver_claim(
        claim,
        user,
        data["delivered_amount"],
        delivered_on,
        data["method"],
        data.get("note") or "",
    )
    return claim


@bp.post("/claims/<int:claim_id>/confirm")
@_action("confirm", "回访确认交付（审核员）")
@bp.response(200, ClaimSchema, description="成功")
def confirm_claim(claim_id: int) -> Claim:
    user = require_user()
    claim = _claim_for(user, claim_id)
    services.confirm_claim(claim, user)
    return claim


@bp.post("/claims/<int:claim_id>/cancel")
@_action("cancel", "取消认领（机构；预留资金退回基金）")
@accepts(ReasonOptionalSchema, required=False)
@bp.response(200, ClaimSchema, description="成功")
def cancel_claim(claim_id: int) -> Claim:
    user = require_user()
    claim = _claim_for(user, claim_id)
    services.cancel_claim(claim, user, reason_body())
    return claim


@bp.get("/claims/<int:claim_id>")
@operation("getClaim", "认领详情", "claims", errors=READ_ERRORS)
@bp.response(200, ClaimSchema, description="成功")
def get_claim(claim_id: int) -> Claim:
    user = require_user()
    return _claim_for(user, claim_id)


LIST_PARAMS = [
    params.Param("status", "状态", enum=params.enum_values(ClaimStatus)),
    *params.paging(default_per_page=50),
]


@bp.get("/claims")
@operation(
    "listClaims",
    "本机构的认领（最新在前）",
    "claims",
    errors=("401", "403", "422"),
    params=LIST_PARAMS,
)
@bp.response(200, ClaimPageSchema, description="成功")
def list_claims() -> dict[str, Any]:
    """The caller org's claims, newest first; ``status`` filters, paged."""
    user = _org_member()
    args = params.parse(LIST_PARAMS, request.args)
    query = select(Claim).where(Claim.org_id == user.org_id)
    if args["status"]:
        query = query.where(Claim.status == ClaimStatus(args["status"]))
    page, per_page = args["page"], args["per_page"]
    claims = db.paginate(
        query.order_by(Claim.id.desc()),
        page=page,
        per_page=per_page,
        error_out=False,
        count=False,  # the list answers without a total
    ).items
    return {"items": claims, "page": page, "per_page": per_page}
