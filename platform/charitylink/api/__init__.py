"""The integration API (docs/product.md, "The API"): one blueprint, a thin JSON
adapter over the same services the pages use. Errors are mapped onto the envelope
here, in one place."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from flask import Blueprint, Response, g, jsonify, request
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from charitylink.core import jsonbody
from charitylink.core.i18n import _
from charitylink.errors import DomainError, RequestRefused, error_envelope
from charitylink.extensions import csrf, db

if TYPE_CHECKING:
    from charitylink.accounts.models import User

# Like every view, each endpoint runs in core.transaction.one_transaction: it
# never commits; its work is committed when it returns, rolled back on a raise.
bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens, not cookies: no ambient credentials to forge


# The API's refusals are the one DomainError family (an ApiError is one whose
# status and code the endpoint names: 400, 401, 403, 404), answered by one
# handler with the one envelope.
ApiError = RequestRefused
error_response = error_envelope


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError) -> tuple[Response, int]:
    db.session.rollback()
    resp, status = error_envelope(exc.status, exc.code, exc.message, exc.fields)
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="charitylink"'
    return resp, status


@bp.errorhandler(OverflowError)
@bp.errorhandler(DataError)
def _out_of_range(exc: Exception) -> tuple[Response, int]:
    # A number beyond the column's range in a body (an id of 2**70): the driver
    # refuses it (OverflowError on SQLite, DataError on PostgreSQL). Bad input,
    # so a 422, never a 500 (rule 8).
    db.session.rollback()
    return error_response(
        422, "validation_failed", _("提交的数值超出允许范围，请检查编号和金额。")
    )


@bp.before_request
def _authenticate() -> None:
    """Resolve ``Authorization: Bearer <token>``; a bad token is a 401 at once."""
    from charitylink.accounts.services import user_for_token

    g.api_user = None
    header = request.headers.get("Authorization", "")
    if not header:
        return
    scheme, _sep, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise ApiError(
            401, "unauthorized", _("Authorization 头格式应为 Bearer <token>。")
        )
    user = user_for_token(raw.strip())
    if user is None:
        raise ApiError(401, "unauthorized", _("令牌无效、已过期或已被撤销。"))
    g.api_user = user


_NO_BODY = object()


@bp.before_request
def _read_json_body() -> None:
    """Every JSON body is parsed here, once, before any endpoint (or the
    idempotency record) sees it: a malformed one, a lone surrogate or deep
    nesting is a 400 for every operation, also for those that ignore the body."""
    g.json_body = _NO_BODY
    if request.is_json and request.get_data(cache=True).strip():
        try:
            g.json_body = jsonbody.loads(request.get_data(cache=True))
        except jsonbody.BodyRefused as exc:
            raise ApiError(400, "bad_request", str(exc)) from exc


def current_user_or_none() -> User | None:
    return cast("User | None", g.get("api_user"))


def require_user() -> User:
    user = cast("User | None", g.get("api_user"))
    if user is None:
        raise ApiError(
            401, "unauthorized", _("请先通过 POST /api/v1/tokens 获取令牌。")
        )
    return user


def json_value() -> Any:
    """The request's JSON body (any JSON value, read by ``_read_json_body``), or
    a 400 with a clear message."""
    if not request.is_json:
        raise ApiError(
            400,
            "bad_request",
            _("请求体必须是 JSON（Content-Type: application/json）。"),
        )
    body = g.get("json_body", _NO_BODY)
    if body is _NO_BODY:
        raise ApiError(400, "bad_request", _("请求体不是合法的 JSON。"))
    return body


def json_body(
    schema: str | None = None, also: Callable[[Any], object] | None = None
) -> dict[str, Any]:
    """The request's JSON object, or a 400 with a clear message; checked against
    the spec's ``schema`` when named (a 422 naming each bad field, with those
    the service's own check ``also`` finds: see ``validation.check``)."""
    from charitylink.api import validation

    data = json_value()
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", _("请求体必须是一个 JSON 对象。"))
    if schema is not None:
        validation.check(schema, data, also)
    return data


def reason_body() -> Any:
    """The ``reason`` of an action's body ``{"reason": "…"}``; the body may be
    left out (None). Its rule (text, length, required or not) is checked by the
    service with ``core.reasons.clean_reason``, after the service has checked
    who may act: a stranger learns nothing from a 422."""
    if not request.get_data(cache=True).strip():
        return None
    return json_body().get("reason")


def created(payload: dict[str, Any]) -> tuple[Response, int]:
    return jsonify(payload), 201


def handle_http(exc: HTTPException) -> None:  # pragma: no cover - documented hook
    raise exc


# Endpoint modules register their routes on ``bp`` when imported.
from charitylink.api import (  # noqa: E402,F401
    claims,
    funds,
    imports,
    needs,
    openapi,
    orgs,
    projects,
    stats,
    tokens,
)
from charitylink.core import idempotency  # noqa: E402

idempotency.register(bp)  # after _authenticate: keys are scoped per caller
