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
    Timestamp,
    body_day,
    choice,
    day,
    depends,
    integer,
    money,
    nested,
    ref_id,
    text,
)
from charitylink.api.reasons import ReasonOptionalSchema
from charitylink.claims import services
from charitylink.claims.models import (
    Claim,
    ClaimKind,
    ClaimStatus,
    DeliveryMethod,
    DisputeOutcome,
)
from charitylink.core import params
from charitylink.core.i18n import _
from charitylink.core.permissions import require_moderator, require_org_staff
from charitylink.errors import NotFound, ValidationFailed
from charitylink.extensions import db
from charitylink.funds.models import Fund
from charitylink.needs.models import Need
from charitylink.projects.models import Project


class ScheduleSchema(Body):
    """A pairing (结对关爱): the whole amount is reserved, paid month by month."""

    months = integer("月数", low=2, high=36, required=True, description="2 至 36 个月")
    monthly_amount = money("每月金额（分）", required=True)


class ClaimCreateSchema(Body):
    fund_id = ref_id("Fund", "基金编号", "出资的本机构基金", required=True)
    amount = money("认领金额（分）", required=True)
    project_id = ref_id(
        "Project", "项目编号", "所属的本机构项目（可选）", nullable=True
    )
    schedule = nested(
        ScheduleSchema,
        "按月计划（结对关爱）",
        nullable=True,
        description="可选；认领金额须等于月数 × 每月金额，整笔预留、逐月交付",
    )


class ScheduleAnswerSchema(Answer):
    months = Integer(required=True)
    monthly_amount = Integer(
        attribute="monthly_amount_fen",
        allow_none=True,
        metadata={"description": FEN_TEXT},
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


class DisputeSchema(Answer):
    """A failed follow-up visit and what became of it."""

    reason = Text(attribute="dispute_reason", required=True)
    received_amount = Integer(
        attribute="received_fen",
        required=True,
        metadata={"description": "家庭称实际收到的金额；" + FEN_TEXT},
    )
    disputed_at = Timestamp(required=True)
    answer_due_on = Day(
        attribute="dispute_due_on",
        required=True,
        metadata={"description": "机构答复期限；届满后审核员可不待答复直接处理"},
    )
    response_note = Text(allow_none=True)
    responded_at = Timestamp(allow_none=True)
    response_evidence = mfields.Function(
        lambda c: c.response_evidence_name,
        metadata={"type": ["string", "null"], "description": "答复凭证文件名"},
    )
    outcome = mfields.Function(
        lambda c: c.resolution,
        metadata={
            "type": ["string", "null"],
            "enum": [*(o.value for o in DisputeOutcome), None],
            "description": "处理结果：confirm、partial、reverse；未处理为 null",
        },
    )
    resolution_reason = Text(allow_none=True)
    resolved_at = Timestamp(allow_none=True)
    reversed_amount = Integer(
        attribute="reversed_fen",
        allow_none=True,
        metadata={"description": "撤销（退回基金）的金额；" + FEN_TEXT},
    )


class ClaimSchema(Answer):
    """A claim as the API shows it; nothing of the need's private half."""

    id = Integer(required=True)
    need_code = Text(attribute="need.code", required=True)
    org_id = Integer(required=True)
    fund_id = Integer(
        required=True,
        allow_none=True,
        metadata={"description": "出资基金；物资或服务对接不占用基金，为 null"},
    )
    project_id = Integer(allow_none=True)
    amount = Integer(
        attribute="amount_fen", required=True, metadata={"description": FEN_TEXT}
    )
    kind = choice(
        ClaimKind, "认领类型", description="cash：资金；goods：物资；service：服务"
    )
    offer_id = Integer(allow_none=True, metadata={"description": "对接的供给编号"})
    quantity = Integer(
        allow_none=True, metadata={"description": "物资或服务：每月数量（单位见供给）"}
    )
    months = Integer(
        attribute="span_months",
        allow_none=True,
        metadata={"description": "对接或结对的月数"},
    )
    status = choice(ClaimStatus, required=True)
    due_on = Day(required=True)
    delivered_amount = Integer(
        attribute="delivered_fen", allow_none=True, metadata={"description": FEN_TEXT}
    )
    delivered_on = Day(allow_none=True)
    method = choice(DeliveryMethod, nullable=True)
    note = Text(allow_none=True)
    dispute = nested(
        DisputeSchema,
        "回访异议",
        nullable=True,
        description="回访异议及处理结果（未发生异议时为 null）",
    )
    schedule = mfields.Function(
        lambda c: ScheduleAnswerSchema().dump(c) if c.months is not None else None,
        metadata={
            "type": ["object", "null"],
            "description": "按月计划（结对关爱）：months、monthly_amount；非结对为 null",
        },
    )
    ended_at = Timestamp(allow_none=True, metadata={"description": "结对提前结束时间"})


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
    schedule = data.get("schedule")
    if schedule:  # a pairing (结对关爱): claims.pairing
        from charitylink.claims import pairing

        return pairing.claim_with_schedule(
            need,
            user,
            fund,
            data["amount"],
            schedule.get("months"),
            schedule.get("monthly_amount"),
            project,
        )
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
    delivered_on = body_day(data, "delivered_on", _("交付日期"))
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


class DisputeCreateSchema(Body):
    reason = text(500, "异议原因", filled=True, required=True)
    received_amount = depends(
        money("家庭实际收到的金额（分）", low=0, required=True),
        "claim",
        "0 至交付金额",
    )


class DisputeResponseSchema(Body):
    note = text(2000, "答复说明", filled=True, required=True)


class DisputeResolveSchema(Body):
    outcome = choice(
        DisputeOutcome,
        "处理结果",
        required=True,
        description="confirm：确认交付；partial：部分确认（其余撤销）；reverse：全部撤销",
    )
    confirmed_amount = depends(
        money("确认金额（分）", nullable=True),
        "claim",
        "部分确认时必填：大于零且不超过交付金额",
    )
    reason = text(500, "处理理由", filled=True, required=True)


class ClaimExtendSchema(Body):
    due_on = depends(
        day("新的交付期限", required=True),
        "claim",
        "晚于原期限且不早于今天，一年以内",
    )
    reason = text(500, "延期原因", filled=True, required=True)


@bp.post("/claims/<int:claim_id>/dispute")
@_action(
    "dispute", "回访有异议：不予确认，记录家庭实际收到的金额（需求所在地区审核员）"
)
@accepts(DisputeCreateSchema)
@bp.response(200, ClaimSchema, description="成功")
def dispute_claim(claim_id: int) -> Claim:
    user = require_user()
    claim = _claim_for(user, claim_id)
    require_moderator(user, claim.need.region_code)  # before the body: 403
    data = body()
    services.dispute_claim(claim, user, data["reason"], data["received_amount"])
    return claim


@bp.post("/claims/<int:claim_id>/respond")
@_action("respond", "答复回访异议（机构；凭证文件请在认领页面上传）")
@accepts(DisputeResponseSchema)
@bp.response(200, ClaimSchema, description="成功")
def respond_to_dispute(claim_id: int) -> Claim:
    user = require_user()
    claim = _claim_for(user, claim_id)
    require_org_staff(user, claim.org_id)
    data = body()
    services.respond_to_dispute(claim, user, data["note"])
    return claim


@bp.post("/claims/<int:claim_id>/resolve")
@_action(
    "resolve",
    "处理回访异议：确认、部分确认或撤销（另一位审核员；机构答复或答复期限届满后）",
)
@accepts(DisputeResolveSchema)
@bp.response(200, ClaimSchema, description="成功")
def resolve_dispute(claim_id: int) -> Claim:
    user = require_user()
    claim = _claim_for(user, claim_id)
    require_moderator(user, claim.need.region_code)
    data = body()
    services.resolve_dispute(
        claim, user, data["outcome"], data.get("confirmed_amount"), data["reason"]
    )
    return claim


@bp.post("/claims/<int:claim_id>/extend")
@_action("extend", "延长认领的交付期限（需求所在地区审核员）")
@accepts(ClaimExtendSchema)
@bp.response(200, ClaimSchema, description="成功")
def extend_claim(claim_id: int) -> Claim:
    user = require_user()
    claim = _claim_for(user, claim_id)
    require_moderator(user, claim.need.region_code)
    data = body()
    due_on = body_day(data, "due_on", _("交付期限"))
    services.extend_claim(claim, user, due_on, data["reason"])
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
