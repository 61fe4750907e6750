"""The integration API (docs/product.md, "The API"): one blueprint, a thin JSON
adapter over the same services the pages use.

Schema first: each payload is a marshmallow schema (built from ``api/fields.py``
in the endpoint modules). flask-smorest generates ``/api/v1/openapi.json`` from
the schemas and the decorators below and dumps every answer with its schema
(``@bp.response``); every request body is checked against the very JSON Schema
the document publishes for its operation (``body()``). Errors are mapped onto
the one envelope here, in one place.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

import flask_smorest
from flask import Flask, Response, current_app, g, request
from marshmallow import Schema, ValidationError
from marshmallow import fields as mfields
from sqlalchemy.exc import DataError

from charitylink.api.fields import ID_MAX, Answer, Text, nested
from charitylink.core import jsonbody
from charitylink.core.i18n import _
from charitylink.errors import (
    DomainError,
    RequestRefused,
    ValidationFailed,
    error_envelope,
)
from charitylink.extensions import csrf, db

if TYPE_CHECKING:
    from charitylink.accounts.models import User
    from charitylink.core.params import Param

J = "application/json"

# Path parameters, documented by name wherever a route names them.
_ID = {"type": "integer", "minimum": 1, "maximum": ID_MAX}
PATH_PARAMS: dict[str, dict[str, Any]] = {
    name: {"name": name, "in": "path", "required": True, "schema": _ID}
    for name in (
        "org_id",
        "fund_id",
        "project_id",
        "claim_id",
        "notification_id",
        "webhook_id",
        "offer_id",
    )
}
PATH_PARAMS["complaint_id"] = {**PATH_PARAMS["org_id"], "name": "complaint_id"}
PATH_PARAMS["tracking_code"] = {
    "name": "tracking_code",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "maxLength": 64},
    "description": "提交举报时得到的查询码；错误的查询码与不存在的一样答复 404",
}
PATH_PARAMS["entry_id"] = {**PATH_PARAMS["fund_id"], "name": "entry_id"}
PATH_PARAMS["request_id"] = {**PATH_PARAMS["org_id"], "name": "request_id"}
PATH_PARAMS["consent_id"] = {**PATH_PARAMS["org_id"], "name": "consent_id"}
PATH_PARAMS["code"] = {
    "name": "code",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": r"^XQ-[0-9]{2}([0-9]{4})?-[0-9]{6,}$"},
    "description": "需求编号，如 XQ-22-000123；审核员的接口也接受首版的旧编号"
    "（XQ-区县代码-序号），公开接口不接受",
}
_RULE_ARG = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


class ApiBlueprint(flask_smorest.Blueprint):
    """A flask-smorest blueprint whose routes document their path parameters
    (``PATH_PARAMS``) with the bounds the API enforces."""

    def route(
        self,
        rule: str,
        *,
        parameters: list[Any] | None = None,
        tags: list[str] | None = None,
        **options: Any,
    ) -> Callable[[Any], Any]:
        declared = [PATH_PARAMS[n] for n in _RULE_ARG.findall(rule)]
        return cast(
            Callable[[Any], Any],
            super().route(
                rule, parameters=[*declared, *(parameters or [])], tags=tags, **options
            ),
        )


# Like every view, each endpoint runs in core.transaction.one_transaction: it
# never commits; its work is committed when it returns, rolled back on a raise.
bp = ApiBlueprint("api_v1", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens, not cookies: no ambient credentials to forge


class ErrorDetailSchema(Answer):
    code = Text(
        required=True,
        metadata={
            "description": "bad_request, unauthorized, forbidden, not_found, "
            "validation_failed, over_claim, insufficient_funds, fund_purpose, "
            "not_claimable, four_eyes, invalid_transition, conflict, claim_limit, "
            "capacity_exceeded, "
            "idempotency_key_reused, idempotency_in_progress, too_large, "
            "rate_limited, method_not_allowed ..."
        },
    )
    message = Text(required=True, metadata={"description": "给人看的中文说明"})
    fields_ = mfields.Dict(
        data_key="fields",
        keys=Text(),
        values=Text(),
        required=True,
        metadata={"description": "出错的字段 → 说明（422 时列出每个字段）"},
    )


class ErrorSchema(Answer):
    """The one error envelope of every refusal."""

    error = nested(ErrorDetailSchema, required=True)


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


def json_object() -> dict[str, Any]:
    data = json_value()
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", _("请求体必须是一个 JSON 对象。"))
    return data


# ---- the operation's description: what the document says about it ----------

_ERR_TEXT = {
    "400": "请求格式不正确（不是 JSON、JSON 不是对象、Idempotency-Key 格式不对，"
    "或参数中含 NUL 字符）",
    "401": "缺少令牌，或令牌无效、过期、已撤销（WWW-Authenticate: Bearer）",
    "403": "无权执行（角色不符，或对象不在您负责的区划/机构内）",
    "404": "对象不存在（或对您不可见）",
    "409": "会违反业务规则：over_claim, insufficient_funds, fund_purpose, "
    "not_claimable, four_eyes, invalid_transition, conflict, claim_limit, "
    "capacity_exceeded；"
    "或同一 Idempotency-Key 的请求仍在处理（idempotency_in_progress）",
    "413": "请求体过大",
    "422": "字段校验失败（fields 逐项说明）；或 Idempotency-Key 已用于另一请求体"
    "（idempotency_key_reused）",
    "429": "请求过于频繁（rate_limited），请稍后再试",
}
WRITE_ERRORS = ("401", "403", "404", "409", "413", "422")
READ_ERRORS = ("401", "404")

IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "可选。同一调用者用同一键重复提交相同请求体时，返回第一次的响应且不再改变任何数据；"
    "请求体不同返回 422，第一次仍在处理返回 409。建议使用 UUID。",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": r"^[!-~]{1,255}$",
    },
}
AUTH: list[dict[str, list[str]]] = [{"bearer": []}]
PUBLIC: list[dict[str, list[str]]] = [{}, {"bearer": []}]


def operation(
    op_id: str,
    summary: str,
    tag: str,
    *,
    errors: Iterable[str] = (),
    security: list[dict[str, list[str]]] | None = None,
    description: str = "",
    params: Iterable[Param] = (),
    idempotent: bool = False,
) -> Callable[[Any], Any]:
    """Document an operation: its id, summary, tag, who may call it, its query
    parameters (``core.params.Param``: the same declarations ``params.parse``
    checks) and its refusals (each answered with the error envelope). Any
    request may carry a NUL byte, refused with 400 before anything runs, so 400
    is always among them."""
    responses = {
        code: {"description": _ERR_TEXT[code], "content": {J: {"schema": ErrorSchema}}}
        for code in sorted({"400", *errors})
    }
    parameters = [p.openapi() for p in params]
    if idempotent:
        parameters.append(IDEMPOTENCY)
    doc: dict[str, Any] = {
        "operationId": op_id,
        "summary": summary,
        "tags": [tag],
        "security": AUTH if security is None else security,
        "responses": responses,
        "description": description,  # also hides the view's docstring
    }
    if parameters:
        doc["parameters"] = parameters
    return cast(Callable[[Any], Any], bp.doc(**doc))


def accepts(
    schema: type[Schema] | dict[str, Any], required: bool = True
) -> Callable[[Any], Any]:
    """Document the request body (a schema, or a JSON Schema naming schemas) and
    name it for ``body()``."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        documented = bp.doc(
            requestBody={"required": required, "content": {J: {"schema": schema}}}
        )(view)
        documented._body_schema = schema
        return cast(Callable[..., Any], documented)

    return decorate


def body(also: Callable[[Any], object] | None = None) -> Any:
    """The request's body, checked against the schema the document publishes
    for this operation (a 422 naming each bad field, with those the service's
    own check ``also`` finds in the same answer: see ``validation.check``) and
    loaded by its marshmallow schema."""
    from charitylink.api import validation

    schema = _body_schema()
    data = json_object() if isinstance(schema, type) else json_value()
    validation.check(published_body(), data, also)
    if not isinstance(schema, type):
        return data
    try:
        return schema().load(data)
    except ValidationError as exc:  # the schema and its JSON Schema disagree
        raise ValidationFailed(
            _("提交的数据有误，请检查标出的字段。"), _flat(exc.normalized_messages())
        ) from None


def _body_schema() -> type[Schema] | dict[str, Any]:
    view = current_app.view_functions[cast(str, request.endpoint)]
    found = getattr(view, "_body_schema", None)
    if found is None:  # pragma: no cover - a programming error, not bad input
        raise LookupError(f"{request.endpoint} documents no request body")
    return cast("type[Schema] | dict[str, Any]", found)


def _flat(messages: Any, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flat(value, name))
    elif isinstance(messages, list) and messages:
        out[prefix or "body"] = "".join(str(m) for m in messages[:1])
    return out


def reason_body() -> Any:
    """The ``reason`` of an action's body ``{"reason": "…"}``; the body may be
    left out (None). Its rule (text, length, required or not) is checked by the
    service with ``core.reasons.clean_reason``, after the service has checked
    who may act: a stranger learns nothing from a 422."""
    if not request.get_data(cache=True).strip():
        return None
    return json_object().get("reason")


def body_field(name: str) -> Any:
    """One field of an action's body, read like ``reason_body``: the service
    checks it after it has checked who may act."""
    if not request.get_data(cache=True).strip():
        return None
    return json_object().get(name)


# ---- the document ------------------------------------------------------------

TAGS = (
    ("tokens", "登录与令牌"),
    ("orgs", "慈善组织"),
    ("funds", "冠名基金与专项基金"),
    ("projects", "帮扶项目"),
    ("needs", "困难群众需求"),
    ("claims", "认领认捐与交付"),
    ("notifications", "通知与通知设置"),
    ("complaints", "举报与处理"),
    ("stats", "透明数据"),
    ("integrity", "诚信提示（民政审核员）"),
    ("webhooks", "Webhook 事件推送"),
    ("privacy", "个人信息请求（民政审核员）"),
    ("meta", "文档"),
    ("offers", "供给（物资、服务、志愿服务）与供需对接"),
)


class _Api(flask_smorest.Api):
    """flask-smorest's Api for the document only: the app answers errors itself
    (HTML pages, the API's envelope), serves the document from ``bp``, and
    documents each operation's refusals explicitly."""

    DEFAULT_ERROR_RESPONSE_NAME = None
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        pass

    def _register_pagination_header(self) -> None:
        pass  # the lists page with ``page`` / ``per_page``, not smorest's header

    def register_blueprint(
        self, blp: flask_smorest.Blueprint, *, parameters: Any = None, **options: Any
    ) -> None:
        # As Api.register_blueprint, less the tag named after the blueprint: the
        # operations carry the resource tags of ``TAGS``.
        self._app.extensions["flask-smorest"]["blp_name_to_api"][blp.name] = self
        self._app.register_blueprint(blp, **options)
        blp.register_views_in_doc(
            self, self._app, self.spec, name=blp.name, parameters=parameters
        )


def register(app: Flask) -> None:
    """Register the API on ``app`` and build its document from the schemas."""
    api = _Api(
        app,
        spec_kwargs={
            "title": "善联 CharityLink API",
            "version": "1",
            "openapi_version": "3.1.0",
            "info": {
                "description": "政府社会救助与慈善资源衔接平台的集成接口（JSON）。"
                "金额均为以分为单位的整数，日期为 YYYY-MM-DD。错误统一为 "
                '{"error": {"code", "message", "fields"}}。'
            },
            "servers": [{"url": "/"}],
            "tags": [{"name": t, "description": d} for t, d in TAGS],
        },
    )
    api.spec.components.security_scheme(
        "bearer",
        {
            "type": "http",
            "scheme": "bearer",
            "description": "POST /api/v1/tokens 获取；请求头 "
            "Authorization: Bearer <token>",
        },
    )
    from charitylink.api.fields import alternatives_property

    api.ma_plugin.converter.add_attribute_function(alternatives_property)
    api.register_blueprint(bp)
    app.extensions["charitylink.api"] = api


def document() -> dict[str, Any]:
    """The OpenAPI document of this app, generated once from the schemas."""
    ext = current_app.extensions
    cached = ext.get("charitylink.api.document")
    if cached is None:
        api = cast(_Api, ext["charitylink.api"])
        cached = api.spec.to_dict()
        for item in cached["paths"].values():
            for op in item.values():
                if isinstance(op, dict) and op.get("description") == "":
                    del op["description"]
        ext["charitylink.api.document"] = cached
    return cast(dict[str, Any], cached)


def localized_document() -> dict[str, Any]:
    """The document as the reader sees it: its prose translated into the
    request's language (cached per language), structure unchanged."""
    from charitylink.api.document_text import translated
    from charitylink.core.i18n import _, current_language

    language = current_language()
    if language == "zh":
        return document()
    ext = current_app.extensions
    key = f"charitylink.api.document.{language}"
    if key not in ext:
        ext[key] = translated(document(), _)
    return cast(dict[str, Any], ext[key])


def published_body() -> dict[str, Any]:
    """The request body schema the document publishes for this request's
    operation (``$ref``s into the document's components)."""
    path = _RULE_ARG.sub(r"{\1}", cast(Any, request.url_rule).rule)
    op = document()["paths"][path][request.method.lower()]
    return cast(dict[str, Any], op["requestBody"]["content"][J]["schema"])


# Endpoint modules register their routes on ``bp`` when imported.
from charitylink.api import (  # noqa: E402,F401
    claims,
    complaints,
    consents,
    funds,
    imports,
    integrity,
    matching,
    needs,
    notifications,
    offers,
    openapi,
    orgs,
    pairing,
    privacy_requests,
    projects,
    stats,
    tokens,
    webhooks,
)
from charitylink.core import idempotency  # noqa: E402

idempotency.register(bp)  # after _authenticate: keys are scoped per caller
