"""Notifications API: the caller's own notifications and e-mail settings.

A thin adapter over ``notifications.services``. Only the caller's own rows are
ever read or changed: another user's notification id is a 404, the same answer
as an id that does not exist."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import fields as mfields

from charitylink.api import (
    READ_ERRORS,
    accepts,
    body,
    bp,
    operation,
    require_user,
)
from charitylink.api.fields import Answer, Body, Integer, Text, Timestamp, items
from charitylink.core import params
from charitylink.extensions import db
from charitylink.notifications import services
from charitylink.notifications.kinds import KINDS, render
from charitylink.notifications.models import Notification

KIND_VALUES = tuple(KINDS)


class NotificationSchema(Answer):
    """One notification, its text in the caller's language (Accept-Language)."""

    id = Integer(required=True)
    kind = Text(required=True, metadata={"enum": list(KIND_VALUES)})
    title = mfields.Method("_title", required=True, metadata={"type": "string"})
    body = mfields.Method("_body", required=True, metadata={"type": "string"})
    url = Text(
        required=True,
        metadata={"description": "该打开的页面（本站路径）；没有时为空串"},
    )
    created_at = Timestamp(required=True)
    read_at = Timestamp(allow_none=True)

    def _title(self, row: Notification) -> str:
        return render(row.kind, row.params)[0]

    def _body(self, row: Notification) -> str:
        return render(row.kind, row.params)[1]


class NotificationPageSchema(Answer):
    items = mfields.List(mfields.Nested(NotificationSchema), required=True)
    page = Integer(required=True)
    per_page = Integer(required=True)
    unread = Integer(required=True, metadata={"description": "未读总数"})


class ReadAllSchema(Answer):
    marked = Integer(required=True, metadata={"description": "本次标为已读的条数"})


class NotificationSettingsSchema(Body):
    email = items(
        Text(metadata={"enum": list(KIND_VALUES)}),
        "邮件通知",
        required=True,
        max_items=len(KIND_VALUES),
        description="同时发送邮件的通知类型（站内通知总会发送）",
    )


class NotificationSettingsAnswer(Answer):
    email = mfields.List(Text(), required=True)


LIST_PARAMS = [
    params.Param("unread", "1：只列未读", enum=("0", "1")),
    *params.paging(default_per_page=20),
]


@bp.get("/notifications")
@operation(
    "listNotifications",
    "我的通知（最新在前）",
    "notifications",
    errors=("401", "422"),
    params=LIST_PARAMS,
)
@bp.response(200, NotificationPageSchema, description="成功")
def list_notifications() -> dict[str, Any]:
    user = require_user()
    args = params.parse(LIST_PARAMS, request.args)
    page, per_page = args["page"], args["per_page"]
    rows = db.paginate(
        services.own(user, unread_only=args["unread"] == "1"),
        page=page,
        per_page=per_page,
        error_out=False,
        count=False,
    ).items
    return {
        "items": rows,
        "page": page,
        "per_page": per_page,
        "unread": services.unread_count(user),
    }


@bp.post("/notifications/<int:notification_id>/read")
@operation(
    "readNotification",
    "把一条通知标为已读",
    "notifications",
    errors=READ_ERRORS,
    idempotent=True,
)
@bp.response(200, NotificationSchema, description="成功")
def read_notification(notification_id: int) -> Notification:
    return services.mark_read(require_user(), notification_id)


@bp.post("/notifications/read-all")
@operation(
    "readAllNotifications",
    "把全部通知标为已读",
    "notifications",
    errors=("401",),
    idempotent=True,
)
@bp.response(200, ReadAllSchema, description="成功")
def read_all_notifications() -> dict[str, int]:
    return {"marked": services.mark_all_read(require_user())}


@bp.get("/account/notification-settings")
@operation(
    "getNotificationSettings", "我的邮件通知设置", "notifications", errors=("401",)
)
@bp.response(200, NotificationSettingsAnswer, description="成功")
def get_notification_settings() -> dict[str, list[str]]:
    return {"email": services.email_kinds(require_user())}


@bp.put("/account/notification-settings")
@operation(
    "setNotificationSettings",
    "设置哪些通知同时发送邮件",
    "notifications",
    errors=("401", "422"),
)
@accepts(NotificationSettingsSchema)
@bp.response(200, NotificationSettingsAnswer, description="成功")
def set_notification_settings() -> dict[str, list[str]]:
    user = require_user()
    data = body()
    return {"email": services.set_email_kinds(user, data["email"])}
