"""Domain errors and the HTML/JSON error handlers.

One exception family: services (and the API's request checks) raise
``DomainError`` subclasses, each with its API code and HTTP status. The API maps
every one onto its error envelope (``error_envelope``, docs/product.md, "The
API") in ``api/__init__.py``; a page shows it on its form with
``core.transaction.refused``, and one that escapes a page becomes a flashed
message and a redirect back (``register_error_handlers``), never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
)
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from charitylink.core.i18n import N_, _

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A business rule refused the change. ``code`` is the API error code."""

    code = "domain_error"
    status = 409

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class ValidationFailed(DomainError):
    """Field validation failed (API 422); ``fields`` names each bad field."""

    code = "validation_failed"
    status = 422


class NotAllowed(DomainError):
    code = "forbidden"
    status = 403


class NotFound(DomainError):
    code = "not_found"
    status = 404


class InvalidTransition(DomainError):
    code = "invalid_transition"


class FourEyes(DomainError):
    code = "four_eyes"


class OverClaim(DomainError):
    code = "over_claim"


class InsufficientFunds(DomainError):
    code = "insufficient_funds"


class FundPurpose(DomainError):
    code = "fund_purpose"


class NotClaimable(DomainError):
    code = "not_claimable"


class ClaimLimit(DomainError):
    """An org over the claim-abandon line holds its limit of open claims
    (charitylink.integrity.throttle)."""

    code = "claim_limit"


class CapacityExceeded(DomainError):
    """A match would take more of an offer's units in some month than its
    monthly capacity leaves (charitylink.claims.matching)."""

    code = "capacity_exceeded"


class StorageFull(DomainError):
    """A file could not be written (disk full, read-only volume): HTTP 507."""

    code = "storage_full"
    status = 507


class Conflict(DomainError):
    """A uniqueness or state conflict that is not one of the named rules."""

    code = "conflict"


class RequestRefused(DomainError):
    """A request refused before any rule is asked (a malformed body, a missing
    or bad token): the status and code are the caller's to say."""

    def __init__(
        self, status: int, code: str, message: str, fields: dict[str, str] | None = None
    ) -> None:
        super().__init__(message, fields)
        self.status, self.code = status, code


def gather(fields: dict[str, str], check: Callable[[], object]) -> None:
    """One round of errors: run ``check``; when it refuses and ``fields``
    already holds other problems, its field messages join them (the caller
    raises once, naming every field to fix); alone, its refusal is raised as
    it is."""
    try:
        check()
    except DomainError as exc:  # a field's rule, a name already taken …
        if not fields or not exc.fields:
            raise
        for key, message in exc.fields.items():
            fields.setdefault(key, message)


def error_envelope(
    status: int, code: str, message: str, fields: dict[str, str] | None = None
) -> tuple[Response, int]:
    """The API's one error body: ``{"error": {"code", "message", "fields"}}``."""
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return jsonify(body), status


def wants_json() -> bool:
    return request.path.startswith("/api/")


def _json_error(status: int, code: str, message: str) -> tuple[Response, int]:
    return error_envelope(status, code, message)


def _back() -> str:
    """Where a refused page request returns: the page it came from when that is
    on this site, else the home page."""
    referrer = request.referrer or ""
    parts = urlsplit(referrer)
    if referrer and parts.netloc == request.host and parts.scheme in ("http", "https"):
        return referrer
    return "/"


_HTTP_MESSAGES = {
    400: ("bad_request", N_("请求格式不正确。")),
    401: ("unauthorized", N_("请先登录。")),
    403: ("forbidden", N_("您没有权限执行此操作。")),
    404: ("not_found", N_("您访问的页面或对象不存在。")),
    405: ("method_not_allowed", N_("不支持此请求方法。")),
    409: ("conflict", N_("请求与当前状态冲突。")),
    413: ("too_large", N_("上传的内容过大。")),
    415: ("unsupported_media_type", N_("不支持的内容类型。")),
    422: ("validation_failed", N_("提交的数据有误。")),
    429: ("rate_limited", N_("请求过于频繁，请稍后再试。")),
    500: ("server_error", N_("服务器内部错误，我们已记录此问题。")),
    503: ("unavailable", N_("服务暂时不可用，请稍后再试。")),
}


def _http_error(exc: HTTPException) -> tuple[Response, int]:
    status = exc.code or 500
    code, message = _HTTP_MESSAGES.get(status, ("error", exc.description or ""))
    message = _(message) if status in _HTTP_MESSAGES else message
    if status == 400 and exc.description and "CSRF" in exc.description:
        message = _("表单已过期或缺少安全令牌（CSRF），请刷新页面后重试。")
    if wants_json():
        resp, status = _json_error(status, code, message)
    else:
        resp = current_app.make_response(
            (
                render_template("errors/error.html", status=status, message=message),
                status,
            )
        )
    if status == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
        resp.headers["Allow"] = ", ".join(exc.valid_methods)
    retry_after = getattr(exc, "retry_after", None)  # set by flask-limiter
    if status == 429 and retry_after:
        resp.headers["Retry-After"] = str(retry_after)
    return resp, status


def _refused(exc: DomainError) -> ResponseReturnValue:
    # The API blueprint answers its own (the envelope). On a page: a refused
    # form submission goes back to the page it came from with the reason
    # flashed; a page that cannot be shown (not found, not allowed, or any
    # refusal of a GET) is the error page with the refusal's status and words.
    from charitylink.extensions import db

    db.session.rollback()
    if wants_json():
        return error_envelope(exc.status, exc.code, exc.message, exc.fields)
    if request.method == "GET" or exc.status in (403, 404):
        page = render_template(
            "errors/error.html", status=exc.status, message=exc.message
        )
        return page, exc.status
    flash(exc.message, "error")
    return redirect(_back(), 303)


def _database_unavailable(exc: OperationalError) -> tuple[Response | str, int]:
    # The database is down or locked for too long: a clear 503, never a traceback.
    log.error("database unavailable: %s", type(exc.orig).__name__ if exc.orig else exc)
    from charitylink.extensions import db

    db.session.rollback()
    code, message = _HTTP_MESSAGES[503]
    message = _(message)
    if wants_json():
        return _json_error(503, code, message)
    return render_template("errors/error.html", status=503, message=message), 503


def _server_error(exc: Exception) -> tuple[Response | str, int]:
    log.exception("unhandled error on %s %s", request.method, request.path)
    from charitylink.extensions import db

    db.session.rollback()
    code, message = _HTTP_MESSAGES[500]
    message = _(message)
    if wants_json():
        return _json_error(500, code, message)
    return render_template("errors/error.html", status=500, message=message), 500


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DomainError, _refused)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(Exception, _server_error)
