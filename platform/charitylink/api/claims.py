"""Claims API: claim/pledge a need, deliver, confirm, cancel, read.

A thin adapter over ``claims.services``; DomainErrors become the error envelope
in ``api/__init__.py`` (which also rolls the transaction back)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from charitylink.accounts.models import User
from charitylink.api import (
    ApiError,
    bp,
    created,
    json_body,
    reason_body,
    require_user,
)
from charitylink.claims import services
from charitylink.claims.models import Claim, ClaimStatus
from charitylink.core import params
from charitylink.core.i18n import _
from charitylink.core.money import InvalidAmount, validate_fen
from charitylink.core.permissions import require_org_staff
from charitylink.core.timeutil import InvalidDate, parse_day
from charitylink.errors import NotFound, ValidationFailed
from charitylink.extensions import db
from charitylink.funds.models import Fund
from charitylink.needs.models import Need
from charitylink.projects.models import Project


def claim_json(claim: Claim) -> dict[str, Any]:
    """The API's claim fields; nothing of the need's private half."""
    return {
        "id": claim.id,
        "need_code": claim.need.code,
        "org_id": claim.org_id,
        "fund_id": claim.fund_id,
        "project_id": claim.project_id,
        "amount": claim.amount_fen,
        "status": str(claim.status),
        "due_on": claim.due_on.isoformat(),
        "delivered_amount": claim.delivered_fen,
        "delivered_on": claim.delivered_on.isoformat() if claim.delivered_on else None,
        "method": str(claim.method) if claim.method else None,
        "note": claim.note,
    }


def _int_id(value: Any, field: str, required: bool = True) -> int | None:
    if value is None and not required:
        return None
    # Above the INTEGER column range no row can exist (and the driver would fail).
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
        message = _("请提供有效的编号（正整数）。")
        raise ValidationFailed(_("提交的数据有误。"), {field: message})
    return value


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


@bp.post("/needs/<code>/claims")
def create_claim(code: str) -> ResponseReturnValue:
    user = _org_member()
    data = json_body("ClaimCreate")
    need = db.session.scalar(select(Need).where(Need.code == code))
    if need is None or need.status in services.NEVER_PUBLIC:
        raise NotFound(_("需求不存在。"))
    fields: dict[str, str] = {}
    try:
        amount = validate_fen(data.get("amount"))
    except InvalidAmount as exc:
        fields["amount"] = str(exc)
        amount = 0
    fund = project = None
    try:
        fund_id = _int_id(data.get("fund_id"), "fund_id")
        fund = db.session.get(Fund, fund_id)
        if fund is None or fund.org_id != user.org_id:
            fields["fund_id"] = _("基金不存在或不属于本机构。")
    except ValidationFailed as exc:
        fields.update(exc.fields)
    try:
        project_id = _int_id(data.get("project_id"), "project_id", required=False)
        if project_id is not None:
            project = db.session.get(Project, project_id)
            if project is None or project.org_id != user.org_id:
                fields["project_id"] = _("帮扶项目不存在或不属于本机构。")
    except ValidationFailed as exc:
        fields.update(exc.fields)
    if fields or fund is None:  # no fund: fields names fund_id
        raise ValidationFailed(_("认领信息有误，请检查标出的字段。"), fields)
    claim = services.claim_need(need, user, fund, amount, project)
    return created(claim_json(claim))


@bp.post("/claims/<int:claim_id>/deliver")
def deliver_claim(claim_id: int) -> ResponseReturnValue:
    user = require_user()
    claim = _claim_for(user, claim_id)
    require_org_staff(user, claim.org_id)  # a moderator may read it, not report it
    data = json_body("Delivery")
    fields: dict[str, str] = {}
    try:
        delivered = validate_fen(data.get("delivered_amount"))
    except InvalidAmount as exc:
        fields["delivered_amount"] = str(exc)
        delivered = 0
    delivered_on: Any = None
    raw_on = data.get("delivered_on")
    try:
        delivered_on = parse_day(
            raw_on if isinstance(raw_on, str) else None, _("交付日期")
        )
    except InvalidDate as exc:
        fields["delivered_on"] = str(exc)
    else:
        if delivered_on is None:
            fields["delivered_on"] = _("请填写交付日期，格式 YYYY-MM-DD。")
    method = data.get("method")
    if not isinstance(method, str):
        fields["method"] = _("交付方式必须是 cash、goods 或 service。")
    note = data.get("note", "")
    if note is None:
        note = ""
    if not isinstance(note, str):
        fields["note"] = _("说明必须是文本。")
    if fields:
        raise ValidationFailed(_("交付信息有误，请检查标出的字段。"), fields)
    services.deliver_claim(claim, user, delivered, delivered_on, method, note)
    return claim_json(claim)


@bp.post("/claims/<int:claim_id>/confirm")
def confirm_claim(claim_id: int) -> ResponseReturnValue:
    user = require_user()
    claim = _claim_for(user, claim_id)
    services.confirm_claim(claim, user)
    return claim_json(claim)


@bp.post("/claims/<int:claim_id>/cancel")
def cancel_claim(claim_id: int) -> ResponseReturnValue:
    user = require_user()
    claim = _claim_for(user, claim_id)
    services.cancel_claim(claim, user, reason_body())
    return claim_json(claim)


@bp.get("/claims/<int:claim_id>")
def get_claim(claim_id: int) -> ResponseReturnValue:
    user = require_user()
    return claim_json(_claim_for(user, claim_id))


LIST_PARAMS = [
    params.Param("status", "状态", enum=params.enum_values(ClaimStatus)),
    *params.paging(default_per_page=50),
]


@bp.get("/claims")
def list_claims() -> ResponseReturnValue:
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
    return {
        "items": [claim_json(c) for c in claims],
        "page": page,
        "per_page": per_page,
    }
