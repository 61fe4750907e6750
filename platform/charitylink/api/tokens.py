"""POST /api/v1/tokens: log in, get a bearer token."""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from charitylink.accounts import services
from charitylink.api import ApiError, bp, created, json_body
from charitylink.core import audit
from charitylink.core.i18n import _
from charitylink.core.timeutil import iso_utc
from charitylink.extensions import limiter


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
def create_token() -> ResponseReturnValue:
    data = json_body("TokenRequest")
    email, password = data.get("email"), data.get("password")
    fields = {}
    if not isinstance(email, str) or not email.strip():
        fields["email"] = _("请填写邮箱。")
    if not isinstance(password, str) or not password:
        fields["password"] = _("请填写密码。")
    if fields:
        raise ApiError(422, "validation_failed", _("请填写邮箱和密码。"), fields)
    user = services.authenticate(email, password)
    if user is None:
        raise ApiError(401, "unauthorized", _("邮箱或密码不正确。"))
    raw, token = services.issue_token(
        user, data.get("name") if isinstance(data.get("name"), str) else "api"
    )
    audit.record(user, "user.login_api", user)
    return created({"token": raw, "expires_at": iso_utc(token.expires_at)})
