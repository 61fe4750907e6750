"""Pairing (结对关爱) API: a claim's monthly instalments, delivered and
confirmed one by one, and ending a pairing early (docs/pairing.md).

The schedule itself is given when the claim is created
(``POST /needs/{code}/claims`` with ``schedule``, api/claims.py)."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import fields as mfields
from marshmallow import validate

from charitylink.api import (
    PATH_PARAMS,
    READ_ERRORS,
    WRITE_ERRORS,
    accepts,
    body,
    bp,
    operation,
    require_user,
)
from charitylink.api.claims import ClaimSchema, _claim_for
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
    text,
)
from charitylink.claims import pairing
from charitylink.claims.models import Claim, ClaimInstalment, InstalmentStatus
from charitylink.core.i18n import _

# The month's number in the path: 1 to the longest schedule.
PATH_PARAMS["n"] = {
    "name": "n",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": pairing.MAX_MONTHS},
    "description": "第几期（从 1 起）",
}


class InstalmentSchema(Answer):
    """One month of a pairing; nothing of the need's private half."""

    n = Integer(required=True, metadata={"description": "第几期（从 1 起）"})
    due_on = Day(required=True, metadata={"description": "本期日期"})
    status = choice(InstalmentStatus, required=True)
    amount = Integer(
        attribute="amount_fen",
        allow_none=True,
        metadata={"description": "本期金额（资金结对）；" + FEN_TEXT},
    )
    quantity = Integer(
        allow_none=True, metadata={"description": "本期计划数量（物资、服务结对）"}
    )
    delivered_amount = Integer(
        attribute="delivered_fen",
        allow_none=True,
        metadata={"description": "本期已交付的金额或价值；" + FEN_TEXT},
    )
    delivered_quantity = Integer(allow_none=True)
    delivered_on = Day(allow_none=True)
    confirmed_at = Timestamp(allow_none=True)
    missed_at = Timestamp(allow_none=True)


class InstalmentListSchema(Answer):
    claim_id = Integer(required=True)
    items = mfields.List(mfields.Nested(InstalmentSchema), required=True)


class InstalmentDeliverySchema(Body):
    delivered_on = depends(
        day("交付日期", required=True), "today", "不晚于今天，不早于认领日期的前一天"
    )
    delivered_amount = depends(
        money("本期交付金额（分，资金结对；默认本期金额）", nullable=True),
        "claim",
        "不超过本期金额",
    )
    delivered_quantity = depends(
        integer("本期交付数量（物资、服务结对）", low=1, high=100000, nullable=True),
        "claim",
        "不超过本期计划数量",
    )
    hours = mfields.Float(
        allow_none=True,
        validate=validate.Range(min=0, max=1000),
        metadata={"title": "服务时长（小时，服务结对，可选）"},
    )
    volunteers = integer("志愿者人数（可选）", low=0, high=1000, nullable=True)
    note = text(2000, "说明", nullable=True)


class EndSchema(Body):
    reason = text(500, "结束原因", filled=True, required=True)


def _action(verb: str, summary: str) -> Any:
    return operation(f"{verb}", summary, "claims", errors=WRITE_ERRORS, idempotent=True)


def _listing(claim: Claim) -> dict[str, Any]:
    return {"claim_id": claim.id, "items": pairing.instalments(claim)}


@bp.get("/claims/<int:claim_id>/instalments")
@operation(
    "listInstalments", "结对认领的各期（机构、审核员）", "claims", errors=READ_ERRORS
)
@bp.response(200, InstalmentListSchema, description="成功")
def list_instalments(claim_id: int) -> dict[str, Any]:
    user = require_user()
    claim = _claim_for(user, claim_id)
    return _listing(claim)


@bp.post("/claims/<int:claim_id>/instalments/<int:n>/deliver")
@_action("deliverInstalment", "登记结对某一期的交付（机构；按顺序逐期）")
@accepts(InstalmentDeliverySchema)
@bp.response(200, InstalmentSchema, description="成功")
def deliver_instalment(claim_id: int, n: int) -> ClaimInstalment:
    user = require_user()
    claim = _claim_for(user, claim_id)
    from charitylink.core.permissions import require_org_staff

    require_org_staff(user, claim.org_id)  # a moderator may read it, not report it
    data = body()
    delivered_on = body_day(data, "delivered_on", _("交付日期"))
    return pairing.deliver_instalment(
        claim,
        n,
        user,
        delivered_on,
        delivered_fen=data.get("delivered_amount"),
        delivered_quantity=data.get("delivered_quantity"),
        note=data.get("note") or "",
        hours=data.get("hours"),
        volunteers=data.get("volunteers"),
    )


@bp.post("/claims/<int:claim_id>/instalments/<int:n>/confirm")
@_action("confirmInstalment", "回访确认结对某一期（需求所在地区审核员）")
@bp.response(200, InstalmentSchema, description="成功")
def confirm_instalment(claim_id: int, n: int) -> ClaimInstalment:
    user = require_user()
    claim = _claim_for(user, claim_id)
    return pairing.confirm_instalment(claim, n, user)


@bp.post("/claims/<int:claim_id>/end")
@_action("endPairing", "提前结束结对（机构或审核员；未交付各期的预留退回）")
@accepts(EndSchema)
@bp.response(200, ClaimSchema, description="成功")
def end_pairing(claim_id: int) -> Claim:
    user = require_user()
    claim = _claim_for(user, claim_id)
    data = body() if request.get_data(cache=True).strip() else {}
    return pairing.end_pairing(claim, user, data.get("reason"))


__all__ = ["InstalmentSchema", "Text"]
