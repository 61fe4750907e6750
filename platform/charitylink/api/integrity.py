"""Integrity signals API (moderators and admins, their region): list the
signals, dismiss one with a reason. A thin adapter over
``integrity.signals``."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import fields as mfields

from charitylink.api import (
    PATH_PARAMS,
    WRITE_ERRORS,
    ApiError,
    accepts,
    body_field,
    bp,
    operation,
    reason_body,
    require_user,
)
from charitylink.api.fields import Answer, Body, Integer, Text, Timestamp, text
from charitylink.core import params
from charitylink.core.i18n import _
from charitylink.core.permissions import is_moderator
from charitylink.integrity import signals as service
from charitylink.integrity.signals import KINDS, Signal

PATH_PARAMS["signal_id"] = {
    "name": "signal_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": r"^[a-z_]{1,32}\.[A-Za-z0-9-]{1,100}$"},
    "description": "诚信提示编号，如 fast_delivery.org-12",
}


class EvidenceClaimSchema(Answer):
    claim_id = Integer(required=True)
    need_code = Text(required=True, metadata={"description": "需求编号"})
    need_type = Text(required=True)
    region_code = Text(required=True, metadata={"description": "需求所在区划代码"})
    org_id = Integer(required=True)
    org_name = Text(required=True)
    status = Text(required=True, metadata={"description": "认领状态"})
    household = Text(
        required=True,
        metadata={"description": "家庭代码（家庭标识的前 8 位摘要，不含姓名和证件号）"},
    )
    claimed_at = Text(required=True, metadata={"description": "认领时间（UTC）"})
    delivered_at = Text(
        allow_none=True, metadata={"description": "报告交付时间（UTC）"}
    )


class DismissalSchema(Answer):
    reason = Text(required=True)
    dismissed_at = Timestamp(required=True, attribute="created_at")
    dismissed_by_id = Integer(required=True)


class SignalSchema(Answer):
    id = Text(required=True, metadata={"description": "提示编号（排除时使用）"})
    kind = Text(required=True, metadata={"enum": list(KINDS)})
    kind_label = Text(required=True)
    summary = Text(required=True, metadata={"description": "一句话说明"})
    fingerprint = Text(
        required=True, metadata={"description": "证据集合的摘要（排除时可回传）"}
    )
    org_id = Integer(allow_none=True)
    figures = mfields.Dict(required=True, metadata={"description": "判断依据的数字"})
    households = mfields.List(Text(), required=True)
    claims = mfields.List(mfields.Nested(EvidenceClaimSchema), required=True)
    dismissal = mfields.Nested(DismissalSchema, allow_none=True)

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        if attr == "claims":
            return [c.as_dict() for c in obj.claims]
        return super().get_attribute(obj, attr, default)


class SignalListSchema(Answer):
    items = mfields.List(mfields.Nested(SignalSchema), required=True)
    total = Integer(required=True)


class DismissSchema(Body):
    reason = text(500, "排除原因", filled=True, required=True)
    fingerprint = text(
        64,
        "证据摘要",
        nullable=True,
        description="看到的证据摘要；证据已变化时返回 409",
    )


LIST_PARAMS = [
    params.Param("kind", "只看一类提示", enum=KINDS),
    params.Param("include_dismissed", "包括已排除（证据未变）的提示", kind="boolean"),
]


def _moderator() -> Any:
    user = require_user()
    if not is_moderator(user):
        raise ApiError(403, "forbidden", _("只有民政审核员可以查看诚信提示。"))
    return user


@bp.get("/integrity/signals")
@operation(
    "listIntegritySignals",
    "本辖区的诚信提示（含证据）",
    "integrity",
    errors=("401", "403", "422"),
    params=LIST_PARAMS,
    description="大量取消或过期的认领（claim_abandon）、同一家庭重复受助"
    "（double_dipping）、交付凭证重复（evidence_reuse）、认领后一小时内报交付"
    "（fast_delivery）、认领过度集中（concentration）。已排除且证据未变的提示默认不列出。",
)
@bp.response(200, SignalListSchema, description="成功")
def list_signals() -> dict[str, Any]:
    user = _moderator()
    args = params.parse(LIST_PARAMS, request.args)
    kinds = (args["kind"],) if args.get("kind") else KINDS
    found: list[Signal] = service.compute(
        user, kinds, include_dismissed=bool(args.get("include_dismissed"))
    )
    return {"items": found, "total": len(found)}


@bp.post("/integrity/signals/<signal_id>/dismiss")
@operation(
    "dismissIntegritySignal",
    "排除一条诚信提示（需填写原因；出现新证据时会重新出现）",
    "integrity",
    errors=WRITE_ERRORS,
    idempotent=True,
)
@accepts(DismissSchema)
@bp.response(200, SignalSchema, description="成功")
def dismiss_signal(signal_id: str) -> Signal:
    user = _moderator()
    service.dismiss(user, signal_id, reason_body(), body_field("fingerprint"))
    return service.find(user, signal_id)
