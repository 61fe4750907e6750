"""Matching API (供需对接): match an offer to a need, record and read a
match's sessions. A thin adapter over ``claims.matching``."""

from __future__ import annotations

from typing import Any

from marshmallow import fields as mfields
from marshmallow import validate
from sqlalchemy import select

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
    Answer,
    Body,
    Day,
    Integer,
    Text,
    Timestamp,
    body_day,
    day,
    integer,
    text,
)
from charitylink.claims import matching, proposals
from charitylink.claims.models import Claim, ClaimSession
from charitylink.core.i18n import _
from charitylink.core.permissions import is_moderator, require_org_staff
from charitylink.errors import NotAllowed, NotFound
from charitylink.extensions import db
from charitylink.needs.models import Need
from charitylink.offers.models import Offer

PATH_PARAMS.setdefault("offer_id", {**PATH_PARAMS["org_id"], "name": "offer_id"})


class MatchSchema(Body):
    need_code = text(
        40, "需求编号", required=True, filled=True, description="如 XQ-22-000123"
    )
    quantity = integer(
        "每月数量", low=1, high=100_000, required=True, description="每月提供的单位数"
    )
    months = integer(
        "月数",
        low=1,
        high=matching.MAX_MONTHS,
        required=True,
        description="对接的月数；多于 1 个月时按月生成结对计划",
    )


class Hours(mfields.Float):
    default_error_messages = {"invalid": "应为数字。"}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid", input=value)
        return super()._deserialize(value, attr, data, **kwargs)


class SessionInputSchema(Body):
    held_on = day("服务日期", required=True, description="不晚于今天，不早于对接日期")
    quantity = integer("数量", low=1, high=100_000, required=True)
    hours = Hours(
        required=True,
        validate=[validate.Range(min=0, max=matching.SESSION_MAX_HOURS)],
        metadata={"title": "时长（小时）", "description": "0 至 24，可含一位小数"},
    )
    volunteers = integer("志愿者人数", low=0, high=1000, required=True)
    note = text(
        matching.SESSION_NOTE_MAX,
        "备注",
        nullable=True,
        description="不得含受助家庭姓名或证件、电话号码",
    )


class SessionSchema(Answer):
    id = Integer(required=True)
    claim_id = Integer(required=True)
    held_on = Day(required=True)
    quantity = Integer(required=True)
    hours = mfields.Function(
        lambda s: round(s.minutes / 60, 2), metadata={"type": "number"}
    )
    volunteers = Integer(required=True)
    note = Text(allow_none=True)
    created_at = Timestamp(required=True)
    confirmed_at = Timestamp(allow_none=True)


class SessionListSchema(Answer):
    items = mfields.List(mfields.Nested(SessionSchema), required=True)


class ProposalSchema(Answer):
    """A moderator's proposed match, waiting for the offering org."""

    id = Integer(required=True)
    offer_id = Integer(required=True)
    need_code = Text(attribute="need.code", required=True)
    quantity = Integer(required=True)
    months = Integer(required=True)
    status = Text(
        required=True,
        metadata={
            "description": "pending：待机构确认；accepted：已接受；declined：已婉拒"
        },
    )
    claim_id = Integer(allow_none=True, metadata={"description": "接受后生成的认领"})
    created_at = Timestamp(required=True)


def _offer(offer_id: int) -> Offer:
    offer = db.session.get(Offer, offer_id)
    if offer is None:
        raise NotFound(_("供给不存在。"))
    return offer


def _need_for(data: dict[str, Any]) -> Need:
    need = db.session.scalar(select(Need).where(Need.code == data["need_code"]))
    if need is None or need.status in ("draft", "submitted", "rejected"):
        # Like any other unknown object: 404 (the body is well formed).
        raise NotFound(_("需求不存在。"))
    return need


@bp.post("/offers/<int:offer_id>/match")
@operation(
    "matchOffer",
    "供需对接：把本机构的供给对接到一条需求，生成物资或服务认领（供给机构工作人员；"
    "审核员请用 POST /offers/{offer_id}/proposals 建议对接，机构接受后生成认领）",
    "claims",
    errors=WRITE_ERRORS,
    idempotent=True,
)
@accepts(MatchSchema)
@bp.response(201, ClaimSchema, description="成功：认领已生成")
def match_offer(offer_id: int) -> Claim:
    user = require_user()
    offer = _offer(offer_id)
    if is_moderator(user):
        # The org decides what it gives: a moderator proposes, the org accepts.
        raise NotAllowed(
            _(
                "审核员请通过 POST /api/v1/offers/%(id)s/proposals 提出对接建议，"
                "由供给机构接受后生成认领。",
                id=offer.id,
            )
        )
    require_org_staff(user, offer.org_id)  # before the body: 403
    data = body()
    need = _need_for(data)
    return matching.match(offer, need, data["quantity"], data["months"], user)


@bp.post("/offers/<int:offer_id>/proposals")
@operation(
    "proposeOfferMatch",
    "审核员建议供需对接：供给机构在其页面接受后才生成认领（需求所在地区审核员）",
    "claims",
    errors=WRITE_ERRORS,
    idempotent=True,
)
@accepts(MatchSchema)
@bp.response(201, ProposalSchema, description="成功：对接建议已发给供给机构")
def propose_offer_match(offer_id: int) -> Any:
    user = require_user()
    offer = _offer(offer_id)
    if not is_moderator(user):
        raise NotAllowed(_("只有审核员可以提出对接建议。"))
    data = body()
    need = _need_for(data)
    return proposals.propose(offer, need, data["quantity"], data["months"], user)


@bp.post("/claims/<int:claim_id>/sessions")
@operation(
    "createClaimSession",
    "登记物资或服务对接的一次服务记录（机构工作人员）",
    "claims",
    errors=WRITE_ERRORS,
    idempotent=True,
)
@accepts(SessionInputSchema)
@bp.response(201, SessionSchema, description="成功")
def create_session(claim_id: int) -> ClaimSession:
    user = require_user()
    claim = _claim_for(user, claim_id)
    require_org_staff(user, claim.org_id)  # a moderator may read them, not add
    data = body()
    held_on = body_day(data, "held_on", _("服务日期"))
    return matching.record_session(
        claim,
        user,
        held_on,
        data["quantity"],
        data["hours"],
        data["volunteers"],
        data.get("note") or "",
    )


@bp.get("/claims/<int:claim_id>/sessions")
@operation("listClaimSessions", "认领的服务记录", "claims", errors=READ_ERRORS)
@bp.response(200, SessionListSchema, description="成功")
def list_sessions(claim_id: int) -> dict[str, Any]:
    user = require_user()
    claim = _claim_for(user, claim_id)
    return {"items": matching.sessions_of(claim)}
