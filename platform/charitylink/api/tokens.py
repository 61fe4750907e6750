"""POST /api/v1/tokens: log in, get a bearer token."""

from __future__ import annotations

from typing import Any

from charitylink.accounts import services
from charitylink.api import ApiError, accepts, body, bp, operation
from charitylink.api.fields import Answer, Body, Text, Timestamp, text
from charitylink.core import audit
from charitylink.core.i18n import _
from charitylink.extensions import limiter


class TokenRequestSchema(Body):
    email = text(254, "邮箱", filled=True, required=True)
    password = text(1024, "密码", min_len=1, required=True)
    name = text(64, "令牌名称", nullable=True, description="令牌的名称，便于日后识别")


class TokenSchema(Answer):
    token = Text(required=True)
    expires_at = Timestamp(required=True)


def _token_account_key() -> str:
    from flask import request

    data = request.get_json(silent=True)
    email = data.get("email") if isinstance(data, dict) else None
    return (
        "token:"
        + services.normalize_email(email if isinstance(email, str) else "")[:254]
    )


@bp.post("/tokens")
@limiter.limit("20/minute;100/hour")
@limiter.limit("10/minute;50/hour", key_func=_token_account_key)
@operation(
    "createToken",
    "登录，获取访问令牌",
    "tokens",
    errors=("401", "413", "422", "429"),
    security=[{}],
    description="按账号和来源地址限流（429）。此接口不使用 Idempotency-Key "
    "（响应含明文令牌，不会被保存）。",
)
@accepts(TokenRequestSchema)
@bp.response(201, TokenSchema, description="令牌只返回这一次；服务器只保存其哈希")
def create_token() -> dict[str, Any]:
    data = body()
    user = services.authenticate(data["email"], data["password"])
    if user is None:
        raise ApiError(401, "unauthorized", _("邮箱或密码不正确。"))
    raw, token = services.issue_token(user, data.get("name") or "api")
    audit.record(user, "user.login_api", user)
    return {"token": raw, "expires_at": token.expires_at}
