"""Webhooks in the API: register, list, read, pause, resume, delete, and the
delivery log. A thin adapter over ``webhooks.services``; a hook is its owner's
alone (anyone else's id is a 404). docs/webhooks.md."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import fields as mfields

from charitylink.api import (
    READ_ERRORS,
    WRITE_ERRORS,
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
    depends,
    items,
    text,
)
from charitylink.core import params
from charitylink.core.i18n import _
from charitylink.errors import NotAllowed
from charitylink.extensions import db
from charitylink.webhooks import services
from charitylink.webhooks.models import EVENTS, HookStatus, Webhook

EVENT_TEXT = "事件：" + ", ".join(EVENTS)


class WebhookInputSchema(Body):
    url = depends(
        text(
            services.URL_MAX,
            "接收地址",
            required=True,
            pattern=r"^https?://[^\s/?#]+",
            description="https:// 开头的公网地址",
        ),
        "address",
        "主机名须能解析，且不是内网、本机、链路本地或保留地址（否则 422）",
    )
    events = items(
        Text(metadata={"enum": list(EVENTS)}),
        "事件",
        required=True,
        min_items=1,
        max_items=len(EVENTS),
        description=EVENT_TEXT,
    )


class WebhookSchema(Answer):
    id = Integer(required=True)
    url = Text(required=True)
    events = mfields.List(Text(metadata={"enum": list(EVENTS)}), required=True)
    status = Text(
        required=True,
        metadata={
            "enum": [s.value for s in HookStatus],
            "description": "active 使用中；paused 已暂停（事件排队）；"
            "disabled 连续失败超过一天被停用（可恢复）",
        },
    )
    scope = mfields.Method("_scope", required=True, metadata={"type": "string"})
    consecutive_failures = Integer(required=True)
    pending = mfields.Method(
        "_pending",
        required=True,
        metadata={"type": "integer", "description": "排队待推送的事件数"},
    )
    created_at = Timestamp(required=True)
    disabled_at = Timestamp(allow_none=True)

    def _scope(self, hook: Webhook) -> str:
        # What the hook covers: a region prefix or an org.
        if hook.region_prefix:
            return f"region:{hook.region_prefix}"
        return f"org:{hook.org_id}"

    def _pending(self, hook: Webhook) -> int:
        return services.pending_count(hook)


class WebhookCreatedSchema(WebhookSchema):
    secret = Text(
        required=True,
        metadata={
            "description": "签名密钥，只返回这一次；接收端用它校验 "
            "X-CharityLink-Signature"
        },
    )


class WebhookListSchema(Answer):
    items = mfields.List(mfields.Nested(WebhookSchema), required=True)


class DeliveryAttemptSchema(Answer):
    event_id = Text(
        required=True, metadata={"description": "事件 id（接收端据此去重）"}
    )
    event = Text(required=True, metadata={"enum": list(EVENTS)})
    attempt = Integer(required=True, metadata={"description": "第几次尝试"})
    at = Timestamp(required=True)
    status_code = Integer(
        allow_none=True, metadata={"description": "接收端的 HTTP 状态码"}
    )
    duration_ms = Integer(required=True)
    error = Text(allow_none=True)
    ok = Boolean(required=True)
    delivery_status = Text(
        required=True,
        metadata={
            "enum": ["pending", "sent", "abandoned"],
            "description": "该事件现在的状态",
        },
    )


class DeliveryPageSchema(Answer):
    items = mfields.List(mfields.Nested(DeliveryAttemptSchema), required=True)
    page = Integer(required=True)
    per_page = Integer(required=True)


SECURITY_TEXT = (
    "每次推送是一个 POST，正文 {id, event, occurred_at, data}（只有公开信息），"
    "签名头 X-CharityLink-Signature: t=<unix 秒>,v1=<HMAC-SHA256(secret, "
    '"t.正文") 的十六进制>；接收端应拒绝与本机时钟相差超过 5 分钟的 t，'
    "并按 id 去重（失败会重试，同一事件 id 不变）。"
)


@bp.post("/webhooks")
@operation(
    "createWebhook",
    "登记 Webhook（审核员：本区划的需求；机构管理员：本机构的认领）",
    "webhooks",
    errors=("401", "403", "413", "422"),
    description=SECURITY_TEXT
    + "此接口不使用 Idempotency-Key（响应含签名密钥，不会被保存）。",
)
@accepts(WebhookInputSchema)
@bp.response(201, WebhookCreatedSchema, description="成功；secret 只返回这一次")
def create_webhook() -> Webhook:
    user = require_user()
    if not services.may_register(user):  # before the body: a stranger learns nothing
        raise NotAllowed(_("只有审核员和机构管理员可以登记 Webhook。"))
    data = body()
    hook, secret = services.create(user, data["url"], data["events"])
    db.session.flush()
    # Dumped with the hook, never stored in the clear.
    setattr(hook, "secret", secret)  # noqa: B010
    return hook


@bp.get("/webhooks")
@operation("listWebhooks", "我登记的 Webhook", "webhooks", errors=("401",))
@bp.response(200, WebhookListSchema, description="成功")
def list_webhooks() -> dict[str, Any]:
    return {"items": services.own(require_user())}


@bp.get("/webhooks/<int:webhook_id>")
@operation("getWebhook", "Webhook 详情", "webhooks", errors=READ_ERRORS)
@bp.response(200, WebhookSchema, description="成功")
def get_webhook(webhook_id: int) -> Webhook:
    return services.get_own(require_user(), webhook_id)


@bp.delete("/webhooks/<int:webhook_id>")
@operation(
    "deleteWebhook",
    "删除 Webhook（排队中的事件不再推送）",
    "webhooks",
    errors=READ_ERRORS,
)
@bp.response(200, WebhookSchema, description="已删除（返回删除时的状态）")
def delete_webhook(webhook_id: int) -> Webhook:
    return services.delete(require_user(), webhook_id)


@bp.post("/webhooks/<int:webhook_id>/pause")
@operation(
    "pauseWebhook",
    "暂停 Webhook（事件继续排队）",
    "webhooks",
    errors=WRITE_ERRORS,
    idempotent=True,
)
@bp.response(200, WebhookSchema, description="成功")
def pause_webhook(webhook_id: int) -> Webhook:
    return services.pause(require_user(), webhook_id)


@bp.post("/webhooks/<int:webhook_id>/resume")
@operation(
    "resumeWebhook",
    "恢复 Webhook（暂停或被停用后；排队的事件按顺序推送）",
    "webhooks",
    errors=WRITE_ERRORS,
    idempotent=True,
)
@bp.response(200, WebhookSchema, description="成功")
def resume_webhook(webhook_id: int) -> Webhook:
    return services.resume(require_user(), webhook_id)


LOG_PARAMS = params.paging(default_per_page=50)


@bp.get("/webhooks/<int:webhook_id>/deliveries")
@operation(
    "listWebhookDeliveries",
    "推送记录（每次尝试一行，最新在前）",
    "webhooks",
    errors=("401", "404", "422"),
    params=LOG_PARAMS,
)
@bp.response(200, DeliveryPageSchema, description="成功")
def list_webhook_deliveries(webhook_id: int) -> dict[str, Any]:
    hook = services.get_own(require_user(), webhook_id)
    args = params.parse(LOG_PARAMS, request.args)
    page, per_page = args["page"], args["per_page"]
    rows = db.session.execute(
        services.attempts_query(hook).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return {
        "items": [
            {
                "event_id": delivery.event_id,
                "event": delivery.event,
                "attempt": attempt.attempt,
                "at": attempt.at,
                "status_code": attempt.status_code,
                "duration_ms": attempt.duration_ms,
                "error": attempt.error,
                "ok": attempt.ok,
                "delivery_status": str(delivery.status),
            }
            for attempt, delivery in rows
        ],
        "page": page,
        "per_page": per_page,
    }
