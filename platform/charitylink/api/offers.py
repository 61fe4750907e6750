"""Offers (供给): the public list and detail, an org's create / edit / pause /
reopen / close, and the matching suggestions both ways. The same services as
the pages; ``unit_value`` is in fen."""

from __future__ import annotations

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
    bp,
    current_user_or_none,
    operation,
    require_user,
)
from charitylink.api.fields import (
    FEN_TEXT,
    PRIVACY_SCAN,
    Answer,
    Body,
    Day,
    Integer,
    Text,
    Timestamp,
    choice,
    day,
    depends,
    integer,
    items,
    nested,
    requiring,
    string,
    text,
)
from charitylink.api.needs import NeedSchema
from charitylink.core import params
from charitylink.core.i18n import _
from charitylink.core.permissions import require_org_can_act
from charitylink.errors import NotAllowed
from charitylink.extensions import db
from charitylink.needs import queries as need_queries
from charitylink.needs.models import NeedType
from charitylink.offers import matching, queries, services
from charitylink.offers.models import OFFER_UNITS, Offer, OfferKind, OfferStatus
from charitylink.orgs.models import Organization
from charitylink.regions import services as regions


class OfferSchema(Answer):
    """An offer as anyone allowed to see it sees it (public fields only)."""

    id = Integer(required=True)
    org_id = Integer(required=True)
    org_name = Text(metadata={"description": "发布机构名称"})
    kind = choice(OfferKind, required=True, description="类别：物资、服务、志愿服务")
    title = Text(required=True)
    description = Text()
    need_types = mfields.List(Text(), metadata={"description": "可帮扶的需求类型"})
    region_prefix = Text(
        required=True, metadata={"description": "服务地区的行政区划代码前缀"}
    )
    region_name = Text()
    unit = Text(required=True, metadata={"description": "计量单位：次、小时、件、份"})
    capacity_per_month = Integer(required=True)
    remaining_this_month = Integer(
        metadata={"description": "本月尚可对接的数量（每月可提供数量减去本月已对接）"}
    )
    unit_value = Integer(
        attribute="unit_value_fen",
        required=True,
        metadata={"description": "每单位的估值；" + FEN_TEXT},
    )
    start_on = Day(required=True)
    end_on = Day(allow_none=True)
    status = choice(OfferStatus, required=True)
    created_at = Timestamp()
    updated_at = Timestamp()

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        if attr == "org_name":
            return obj.org.name
        if attr == "region_name":
            return regions.full_name(obj.region_prefix.ljust(6, "0"))
        if attr == "remaining_this_month":
            return matching.remaining_capacity(obj)
        return super().get_attribute(obj, attr, default)


class OfferPageSchema(Answer):
    items = mfields.List(mfields.Nested(OfferSchema), required=True)
    total = Integer(required=True)
    page = Integer(required=True)
    per_page = Integer(required=True)
    pages = Integer()


class OfferInputSchema(Body):
    kind = choice(
        OfferKind, "类别", description="goods 物资、service 服务、volunteer 志愿服务"
    )
    title = depends(text(120, "供给名称", filled=True), "privacy scan", PRIVACY_SCAN)
    description = depends(
        text(5000, "供给说明", nullable=True), "privacy scan", PRIVACY_SCAN
    )
    need_types = items(choice(NeedType), "可帮扶的需求类型", min_items=1, max_items=20)
    region_prefix = depends(
        string(
            "服务地区",
            pattern=r"^[0-9]{2}([0-9]{2}([0-9]{2}([0-9]{3}){0,2})?)?$",
            description="行政区划代码前缀：省2位、市4位、区县6位",
        ),
        "region table",
        "须为存在的行政区划（省、市的6位代码如 220100 按 2201 保存）",
    )
    unit = choice(OFFER_UNITS, "计量单位")
    capacity_per_month = integer("每月可提供数量", low=1, high=services.MAX_CAPACITY)
    unit_value = integer(
        "单位价值（分）",
        low=0,
        high=services.MAX_UNIT_VALUE_FEN,
        description="每单位的如实估值；" + FEN_TEXT,
    )
    start_on = day("开始日期", nullable=True, description="不填为今天")
    end_on = depends(day("结束日期", nullable=True), "start_on", "不能早于 start_on")


OfferCreateSchema = requiring(
    OfferInputSchema,
    (
        "kind",
        "title",
        "need_types",
        "region_prefix",
        "unit",
        "capacity_per_month",
        "unit_value",
    ),
    "OfferCreate",
)


class OfferMatchSchema(Answer):
    offer = nested(OfferSchema, required=True)
    remaining_this_month = Integer(
        attribute="remaining",
        required=True,
        metadata={"description": "本月尚可对接的数量"},
    )
    remaining_value = Integer(
        attribute="remaining_value_fen",
        metadata={"description": "本月剩余数量的估值；" + FEN_TEXT},
    )


class OfferMatchesSchema(Answer):
    code = Text(required=True, metadata={"description": "需求编号"})
    items = mfields.List(mfields.Nested(OfferMatchSchema), required=True)


class NeedMatchSchema(Answer):
    need = nested(NeedSchema, required=True)
    remaining_amount = Integer(
        attribute="remaining_fen", metadata={"description": "尚需金额；" + FEN_TEXT}
    )


class NeedMatchesSchema(Answer):
    offer_id = Integer(required=True)
    items = mfields.List(mfields.Nested(NeedMatchSchema), required=True)


def _offer_or_404(offer_id: int, user: User | None) -> Offer:
    offer = db.session.get(Offer, offer_id)
    if offer is None or not services.can_view(user, offer):
        raise ApiError(404, "not_found", _("供给不存在。"))
    return offer


LIST_PARAMS = [
    params.Param(
        "q",
        "关键词（中文分词搜索名称、说明、机构名和类别，最相关的在前）",
        max_length=100,
    ),
    params.Param("kind", "类别", enum=params.enum_values(OfferKind)),
    params.Param("need_type", "可帮扶的需求类型", enum=params.enum_values(NeedType)),
    params.region_prefix("地区代码（2–12 位）：服务该地区的供给"),
    params.Param("org_id", "机构编号", kind="integer", minimum=1, maximum=999_999_999),
    *params.paging(),
]


@bp.get("/offers")
@operation(
    "listOffers",
    "开放中的供给（物资、服务、志愿服务）",
    "offers",
    errors=("401", "422"),
    security=PUBLIC,
    params=LIST_PARAMS,
)
@bp.response(200, OfferPageSchema, description="成功")
def list_offers() -> dict[str, Any]:
    checked = params.parse(LIST_PARAMS, request.args)  # strict: bad value → 422
    filters = queries.parse_filters(request.args)
    page, per_page = checked["page"], checked["per_page"]
    rows, total = queries.public_page(filters, page, per_page)
    return {
        "items": rows,
        "total": total,
        "page": page,
        "per_page": per_page,
        "pages": max(1, -(-total // per_page)),
    }


@bp.post("/offers")
@operation(
    "createOffer",
    "发布供给（已认证机构的工作人员）",
    "offers",
    errors=WRITE_ERRORS,
    idempotent=True,
)
@accepts(OfferCreateSchema)
@bp.response(201, OfferSchema, description="成功")
def create_offer() -> Offer:
    user = require_user()
    if getattr(user, "org_id", None) is None:
        raise NotAllowed(_("只有机构工作人员可以发布供给。"))
    org = db.session.get_one(Organization, user.org_id)
    require_org_can_act(user, org.id)  # who acts, before what is sent
    data = body(also=lambda d: services.clean_fields(org, d))
    return services.create_offer(org, user, data)


@bp.get("/offers/<int:offer_id>")
@operation("getOffer", "供给详情", "offers", errors=READ_ERRORS, security=PUBLIC)
@bp.response(200, OfferSchema, description="成功")
def get_offer(offer_id: int) -> Offer:
    return _offer_or_404(offer_id, current_user_or_none())


@bp.patch("/offers/<int:offer_id>")
@operation(
    "updateOffer",
    "修改供给（本机构工作人员；只改给出的字段；已关闭的不能修改）",
    "offers",
    errors=WRITE_ERRORS,
    idempotent=True,
)
@accepts(OfferInputSchema)
@bp.response(200, OfferSchema, description="成功")
def update_offer(offer_id: int) -> Offer:
    user = require_user()
    offer = _offer_or_404(offer_id, user)
    require_org_can_act(user, offer.org_id)  # who acts, before what is sent
    current = services.current_values(offer)
    data = body(also=lambda d: services.clean_fields(offer.org, {**current, **d}))
    return services.update_offer(offer, user, data)


def _status_action(verb: str, summary: str) -> Any:
    return operation(
        f"{verb}Offer", summary, "offers", errors=WRITE_ERRORS, idempotent=True
    )


@bp.post("/offers/<int:offer_id>/pause")
@_status_action("pause", "暂停供给（不再出现在公开列表和对接建议中）")
@bp.response(200, OfferSchema, description="成功")
def pause_offer(offer_id: int) -> Offer:
    user = require_user()
    return services.pause_offer(_offer_or_404(offer_id, user), user)


@bp.post("/offers/<int:offer_id>/reopen")
@_status_action("reopen", "恢复已暂停的供给")
@bp.response(200, OfferSchema, description="成功")
def reopen_offer(offer_id: int) -> Offer:
    user = require_user()
    return services.reopen_offer(_offer_or_404(offer_id, user), user)


@bp.post("/offers/<int:offer_id>/close")
@_status_action("close", "关闭供给（不可恢复；已有的对接不受影响）")
@bp.response(200, OfferSchema, description="成功")
def close_offer(offer_id: int) -> Offer:
    user = require_user()
    return services.close_offer(_offer_or_404(offer_id, user), user)


@bp.get("/offers/<int:offer_id>/matches")
@operation(
    "offerMatches",
    "可对接该供给的需求（发布机构的工作人员、本区划审核员；只有匿名信息）",
    "offers",
    errors=("401", "403", "404"),
)
@bp.response(200, NeedMatchesSchema, description="成功")
def offer_matches(offer_id: int) -> dict[str, Any]:
    user = require_user()
    offer = _offer_or_404(offer_id, user)
    if not matching.can_see_offer_matches(user, offer):
        raise NotAllowed(_("只有发布该供给的机构和本区划审核员可以查看对接建议。"))
    from charitylink.core.permissions import is_moderator

    found = matching.needs_for_offer(offer, true_region=is_moderator(user))
    return {"offer_id": offer.id, "items": found}


@bp.get("/needs/<code>/matches")
@operation(
    "needMatches",
    "可对接该需求的供给，最合适的在前（已认证机构的工作人员、本区划审核员）",
    "needs",
    errors=("401", "403", "404"),
)
@bp.response(200, OfferMatchesSchema, description="成功")
def need_matches(code: str) -> dict[str, Any]:
    user = require_user()
    need = need_queries.get_public_or_404(code)
    if not matching.can_see_need_matches(user, need):
        raise NotAllowed(_("只有已认证机构的工作人员和本区划审核员可以查看对接建议。"))
    if not matching.is_matchable(need):
        return {"code": need.code, "items": []}
    found = matching.offers_for_need(need, matching.region_for(user, need))
    return {"code": need.code, "items": found}
