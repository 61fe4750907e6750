"""Consent records in the API (moderators of the need's region): list, record,
withdraw. A thin adapter over ``privacy.consents``; the guardian's name is
private and appears only in these moderators' answers (never in an audit row,
a notification or a log). The signed form is uploaded on the need's consents
page."""

from __future__ import annotations

from typing import Any

from marshmallow import fields as mfields

from charitylink.accounts.models import User
from charitylink.api import (
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
    Answer,
    Body,
    Boolean,
    Day,
    Integer,
    Many,
    Text,
    Timestamp,
    choice,
    day,
    depends,
    text,
)
from charitylink.api.reasons import ReasonSchema
from charitylink.core.i18n import _
from charitylink.core.permissions import is_moderator
from charitylink.needs import queries
from charitylink.needs.models import Need
from charitylink.privacy import consents
from charitylink.privacy.models import Consent, ConsentMethod, ConsentScope


class ConsentInputSchema(Body):
    scope = choice(ConsentScope, "同意事项", required=True)
    method = depends(
        choice(ConsentMethod, "同意方式", required=True),
        "scope, given_on",
        "涉及不满 14 周岁儿童的同意（按身份证号计算同意日期时的年龄；困境儿童需求的"
        "故事与照片）只能为 guardian",
    )
    given_on = depends(day("同意日期", required=True), "今天", "不能晚于今天")
    guardian_name = depends(
        text(
            consents.GUARDIAN_NAME_MAX,
            "监护人姓名",
            nullable=True,
            description="加密保存；只在本接口与审核员页面显示",
        ),
        "method",
        "method 为 guardian 时必填，其他方式不填",
    )


class ConsentSchema(Answer):
    id = Integer(required=True)
    need_code = Text(required=True)
    scope = choice(ConsentScope, required=True)
    method = choice(ConsentMethod, required=True)
    given_on = Day(required=True)
    guardian_name = Text(allow_none=True)
    has_form = Boolean(
        required=True, metadata={"description": "是否已上传同意书扫描件"}
    )
    recorded_by_id = Integer(allow_none=True)
    recorded_at = Timestamp(required=True)
    active = Boolean(required=True)
    withdrawn_at = Timestamp(allow_none=True)
    withdrawn_reason = Text(allow_none=True)


class ConsentListSchema(Answer):
    code = Text(required=True)
    consents = Many(mfields.Nested(ConsentSchema), required=True)


def _moderator() -> User:
    user = require_user()
    if not is_moderator(user):
        raise ApiError(403, "forbidden", _("只有民政审核员可以执行此操作。"))
    return user


def _dump(consent: Consent, need: Need) -> dict[str, Any]:
    return {
        "id": consent.id,
        "need_code": need.code,
        "scope": consent.scope,
        "method": consent.method,
        "given_on": consent.given_on,
        "guardian_name": consents.guardian_name(consent) or None,
        "has_form": bool(consent.form_path),
        "recorded_by_id": consent.recorded_by_id,
        "recorded_at": consent.recorded_at,
        "active": consent.active,
        "withdrawn_at": consent.withdrawn_at,
        "withdrawn_reason": consent.withdrawn_reason,
    }


@bp.get("/needs/<code>/consents")
@operation(
    "listNeedConsents",
    "需求的同意记录（本区划审核员）",
    "needs",
    errors=("401", "403", "404"),
)
@bp.response(200, ConsentListSchema, description="成功；按登记先后")
def list_consents(code: str) -> tuple[dict[str, Any], int, dict[str, str]]:
    user = _moderator()
    need = queries.get_for_moderator_or_404(code, user)
    return (
        {
            "code": need.code,
            "consents": [_dump(c, need) for c in consents.consents_of(need)],
        },
        200,
        {"Cache-Control": "no-store"},
    )


@bp.post("/needs/<code>/consents")
@operation(
    "createNeedConsent",
    "登记一项同意（本区划审核员；同一事项只能有一项有效同意）",
    "needs",
    errors=WRITE_ERRORS,
    idempotent=True,
)
@accepts(ConsentInputSchema)
@bp.response(201, ConsentSchema, description="成功")
def create_consent(code: str) -> dict[str, Any]:
    user = _moderator()
    need = queries.get_for_moderator_or_404(code, user)
    data = body(also=lambda d: consents.check_consent_input(need, d))
    consent = consents.record_consent(need, user, dict(data))
    return _dump(consent, need)


@bp.post("/consents/<int:consent_id>/withdraw")
@operation(
    "withdrawConsent",
    "撤回一项同意（本区划审核员；需填写原因；通知已看到联系方式的机构）",
    "needs",
    errors=WRITE_ERRORS,
    idempotent=True,
)
@accepts(ReasonSchema)
@bp.response(200, ConsentSchema, description="成功")
def withdraw_consent(consent_id: int) -> dict[str, Any]:
    user = _moderator()
    consent = consents.get_consent(consent_id)
    if consent is None:
        raise ApiError(404, "not_found", _("同意记录不存在。"))
    need = queries.get_for_moderator_or_404(consents.consent_need(consent).code, user)
    consents.withdraw_consent(consent, user, reason_body())
    return _dump(consent, need)
