"""Funds and donations: POST /funds, POST /funds/{id}/donations,
GET /funds/{id}. The same services as the pages."""

from __future__ import annotations

from typing import Any

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
    Integer,
    Text,
    Timestamp,
    choice,
    depends,
    items,
    money,
    nested,
    string,
    text,
)
from charitylink.api.reasons import ReasonSchema
from charitylink.core.i18n import _
from charitylink.core.permissions import covers, is_org_staff, require_org_can_act
from charitylink.errors import NotAllowed, ValidationFailed
from charitylink.extensions import db
from charitylink.funds import services
from charitylink.funds.models import Fund, FundKind, LedgerEntry
from charitylink.needs.models import NeedType
from charitylink.orgs.models import Organization


def _fen(attribute: str) -> Integer:
    return Integer(attribute=attribute, metadata={"description": FEN_TEXT})


class FundSchema(Answer):
    id = Integer(required=True)
    org_id = Integer(required=True)
    name = Text(required=True)
    kind = choice(FundKind, required=True)
    donor_name = mfields.Function(
        lambda f: f.donor_name if f.kind == FundKind.NAMED else None,
        metadata={"type": ["string", "null"], "description": "冠名方（冠名基金）"},
    )
    purpose = mfields.Function(
        lambda f: (
            {
                "need_types": list(f.purpose_need_types or []),
                "region_prefix": f.purpose_region_prefix,
            }
            if f.kind == FundKind.SPECIAL
            else None
        ),
        metadata={
            "type": ["object", "null"],
            "description": "资助范围（专项基金）",
            "properties": {
                "need_types": {"type": "array", "items": {"type": "string"}},
                "region_prefix": {"type": ["string", "null"]},
            },
        },
    )
    description = mfields.Function(
        lambda f: f.description or "", metadata={"type": "string"}
    )
    donations_total = _fen("donations_fen")
    disbursed = _fen("disbursed_fen")
    reserved = _fen("reserved_fen")
    balance = Integer(
        attribute="balance_fen", required=True, metadata={"description": FEN_TEXT}
    )
    available = Integer(
        attribute="available_fen", required=True, metadata={"description": FEN_TEXT}
    )


class FundPurposeSchema(Body):
    need_types = depends(
        items(choice(NeedType), "可资助的需求类型", nullable=True),
        "kind",
        "可资助的需求类型；专项基金（special）至少一种",
    )
    region_prefix = string(
        "地区范围",
        nullable=True,
        pattern=r"^([0-9]{2}){0,3}$",
        description="地区范围：行政区划代码前缀（2、4 或 6 位），空为不限",
    )


class FundCreateSchema(Body):
    name = depends(
        text(100, "基金名称", filled=True, required=True), "privacy scan", PRIVACY_SCAN
    )
    kind = choice(FundKind, "基金类型", required=True)
    donor_name = depends(
        text(100, "冠名方", nullable=True),
        "kind",
        "冠名方；冠名基金（named）必填。" + PRIVACY_SCAN,
    )
    purpose = nested(FundPurposeSchema, "资助范围", nullable=True)
    description = depends(
        text(2000, "基金说明", nullable=True), "privacy scan", PRIVACY_SCAN
    )


class DonationCreateSchema(Body):
    amount = money("捐赠金额（分）", required=True)
    donor_name = depends(
        text(100, "捐赠人", nullable=True),
        "privacy scan",
        "捐赠人（公开显示），匿名捐赠传 null。" + PRIVACY_SCAN,
    )
    reference = text(100, "凭证号", nullable=True, description="凭证号")


class DonationSchema(Answer):
    id = Integer(required=True)
    fund_id = Integer(required=True)
    amount = Integer(
        attribute="amount_fen", required=True, metadata={"description": FEN_TEXT}
    )
    donor_name = Text(allow_none=True)
    reference = Text(allow_none=True)
    created_at = Timestamp()
    fund = mfields.Nested(FundSchema)


def _fund_or_404(fund_id: int, user: User | None) -> Fund:
    """Anyone sees funds of verified orgs; the org's staff and the moderators of
    its region see the others too; everyone else gets 404."""
    fund = db.session.get(Fund, fund_id)
    if fund is not None and (
        services.is_public(fund)
        or is_org_staff(user, fund.org_id)
        or covers(user, fund.org.region_code)
    ):
        return fund
    raise ApiError(404, "not_found", _("基金不存在。"))


# The purpose's fields sit inside ``purpose`` in the body.
_IN_PURPOSE = {
    "need_types": "purpose.need_types",
    "region_prefix": "purpose.region_prefix",
}


@bp.post("/funds")
@operation(
    "createFund",
    "创建冠名基金或专项基金（机构管理员）",
    "funds",
    errors=WRITE_ERRORS,
    idempotent=True,
)
@accepts(FundCreateSchema)
@bp.response(201, FundSchema, description="成功")
def create_fund() -> Fund:
    user = require_user()
    if getattr(user, "org_id", None) is None:
        raise NotAllowed(_("只有机构管理员可以创建基金。"))
    require_org_can_act(user, user.org_id, admin=True)  # before the body: 403
    data = body()
    org = db.session.get_one(Organization, user.org_id)
    purpose = data.get("purpose") or {}
    try:
        return services.create_fund(
            org,
            user,
            name=data["name"],
            kind=data["kind"],
            donor_name=data.get("donor_name"),
            need_types=purpose.get("need_types"),
            region_prefix=purpose.get("region_prefix"),
            description=data.get("description") or "",
        )
    except ValidationFailed as exc:
        exc.fields = {_IN_PURPOSE.get(k, k): v for k, v in exc.fields.items()}
        raise


@bp.post("/funds/<int:fund_id>/donations")
@operation(
    "createDonation",
    "登记一笔捐赠（机构管理员）",
    "funds",
    errors=WRITE_ERRORS,
    idempotent=True,
)
@accepts(DonationCreateSchema)
@bp.response(201, DonationSchema, description="成功")
def create_donation(fund_id: int) -> LedgerEntry:
    user = require_user()
    fund = _fund_or_404(fund_id, user)
    require_org_can_act(user, fund.org_id, admin=True)  # before the body: 403
    data = body()
    return services.record_donation(
        fund,
        user,
        amount_fen=data.get("amount"),
        donor_name=data.get("donor_name"),
        reference=data.get("reference"),
    )


class ReversalSchema(Answer):
    id = Integer(required=True)
    fund_id = Integer(required=True)
    kind = Text(required=True, metadata={"description": "reversal"})
    amount = Integer(
        attribute="amount_fen", required=True, metadata={"description": FEN_TEXT}
    )
    reverses = Integer(required=True, metadata={"description": "被冲正的账目编号"})
    reason = Text(required=True)
    created_at = Timestamp()
    fund = mfields.Nested(FundSchema)


@bp.post("/funds/<int:fund_id>/donations/<int:entry_id>/reverse")
@operation(
    "reverseDonation",
    "冲正一笔登记错误的捐赠（机构管理员；冲正后可用余额不得小于零）",
    "funds",
    errors=WRITE_ERRORS,
    idempotent=True,
)
@accepts(ReasonSchema)
@bp.response(201, ReversalSchema, description="成功")
def reverse_donation(fund_id: int, entry_id: int) -> LedgerEntry:
    user = require_user()
    fund = _fund_or_404(fund_id, user)
    require_org_can_act(user, fund.org_id, admin=True)  # before the body: 403
    data = body()
    return services.reverse_donation(fund, user, entry_id, data["reason"])


@bp.get("/funds/<int:fund_id>")
@operation(
    "getFund",
    "基金详情及收支数字",
    "funds",
    errors=READ_ERRORS,
    security=PUBLIC,
)
@bp.response(200, FundSchema, description="成功")
def get_fund(fund_id: int) -> Any:
    return _fund_or_404(fund_id, current_user_or_none())
