"""HTTP hardening shared by every response: security headers, proxy trust.

Content-Security-Policy allows only this site's scripts and styles: every asset is
served locally and no template carries inline script.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import Flask, Request, Response, abort, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

_WERKZEUG_LOG = logging.getLogger("werkzeug")

CSP_BASE = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'"
)
CSP = CSP_BASE + "; frame-ancestors 'none'"

# The widgets other sites may frame live under this path (portals/views.py);
# no response under it sets a cookie (EmbedCookieGuard).
EMBED_PREFIX = "/embed/"
# An origin as CSP writes it: scheme, host (optionally "*." for subdomains), port.
_ORIGIN = re.compile(r"https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d{1,5})?/?")

F = TypeVar("F", bound=Callable[..., Any])


def embeddable(view: F) -> F:
    """Mark a view as one the origins in ``EMBED_ORIGINS`` may frame."""

    # An attribute of the view, not a flag in ``g``: it holds for this
    # endpoint only, whatever ran before in the same application context.
    view.embeddable = True  # type: ignore[attr-defined]
    return view


def is_embeddable() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "embeddable", False))


def embed_origins(app: Flask) -> list[str]:
    """``EMBED_ORIGINS`` (a space-separated string or a list) as checked origins.

    Each one goes into a header verbatim, so anything but a plain origin (a
    path, a quote, a semicolon that would start another directive) stops the
    app at start-up rather than weakening the policy."""
    from charitylink.config import ConfigError

    raw = app.config.get("EMBED_ORIGINS") or ""
    values = raw.split() if isinstance(raw, str) else [str(v) for v in raw]
    for value in values:
        if not _ORIGIN.fullmatch(value):
            raise ConfigError(
                f"EMBED_ORIGINS 中的「{value[:80]}」不是合法的来源"
                "（应如 https://www.example.gov.cn，多个用空格分隔）。"
            )
    return [v.rstrip("/") for v in values]


class EmbedCookieGuard:
    """WSGI middleware: responses under ``EMBED_PREFIX`` never set a cookie.

    A widget inside another site's page must not leave a session, language or
    CSRF cookie behind (third-party cookies; and a page that sets one is never
    kept by the page cache). Installed next to the Flask app, inside the page
    cache, so what the cache stores has no cookie either."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if not environ.get("PATH_INFO", "").startswith(EMBED_PREFIX):
            return self.wsgi_app(environ, start_response)

        def no_cookies(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            kept = [(k, v) for k, v in headers if k.lower() != "set-cookie"]
            return start_response(status, kept, exc_info)

        return self.wsgi_app(environ, no_cookies)


def install_embed_cookie_guard(app: Flask) -> None:
    app.wsgi_app = EmbedCookieGuard(app.wsgi_app)  # type: ignore[method-assign]


class _NoQueryString(logging.Filter):
    """The development server (``make run``) logs each request line, query string
    included: ``?q=`` may carry a name or ID number typed by mistake. Keep the path
    only (gunicorn's access log does the same, gunicorn.conf.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            first = record.args[0]
            if isinstance(first, str) and "?" in first:
                record.args = (_QUERY.sub(r"\1", first), *record.args[1:])
        return True


_QUERY = re.compile(r"(\S)\?\S*")


def init_app(app: Flask) -> None:
    origins = embed_origins(app)
    embed_csp = CSP_BASE + "; frame-ancestors " + (" ".join(origins) or "'none'")
    if not any(isinstance(f, _NoQueryString) for f in _WERKZEUG_LOG.filters):
        _WERKZEUG_LOG.addFilter(_NoQueryString())
    hops = app.config.get("PROXY_FIX_HOPS", 0)
    if hops:
        # Trust X-Forwarded-* only when told how many proxies stand in front.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )

    @app.before_request
    def refuse_nul_bytes() -> None:
        # PostgreSQL refuses NUL in text ("cannot contain NUL (0x00) bytes"), so a
        # NUL anywhere in a request would surface as a 500. It is bad input
        # (rule 8): a 400, before any view or query runs.
        if _has_nul(request):
            abort(400)

    @app.after_request
    def security_headers(response: Response) -> Response:
        h = response.headers
        _frame_policy(h, embed_csp, bool(origins))
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        if app.config.get("PRODUCTION"):
            h.setdefault("Strict-Transport-Security", "max-age=31536000")
        if _never_cached():
            # Work areas and API answers may carry non-public data, and the
            # account pages a new token or a mailed link: never cache them.
            h["Cache-Control"] = "no-store"
        return response


# Work areas by their first path segment: "/org" is the org's workspace, while
# "/orgs" is the public directory and may be cached like any public page.
_PRIVATE_AREAS = frozenset(
    {"org", "mod", "admin", "api", "account", "reset", "confirm"}
)


def _never_cached() -> bool:
    first = request.path.lstrip("/").split("/", 1)[0]
    return first in _PRIVATE_AREAS or bool(
        request.endpoint and "private" in request.endpoint
    )


def _frame_policy(h: Any, embed_csp: str, origins: bool) -> None:
    own = h.get("Content-Security-Policy")
    if own is None and is_embeddable():
        # A widget: framed by the configured origins only. X-Frame-Options
        # cannot name several origins; with some configured it is left out
        # (browsers obey frame-ancestors over it).
        h["Content-Security-Policy"] = embed_csp
        if not origins:
            h.setdefault("X-Frame-Options", "DENY")
        return
    if own is None:
        h["Content-Security-Policy"] = CSP
    elif "frame-ancestors" not in own:
        # A view's own, stricter policy (e.g. a downloaded file) still may not
        # be framed by another site.
        h["Content-Security-Policy"] = own + "; frame-ancestors 'none'"
    h.setdefault("X-Frame-Options", "DENY")


def registration_account_key() -> str:
    """Flask-Limiter key for registrations: the first admin's e-mail (form field
    ``admin_email`` or JSON ``admin.email``), so one address cannot be hammered
    from many IPs; the per-IP limit sits beside it."""
    email = request.form.get("admin_email")
    if email is None and request.is_json:
        body = request.get_json(silent=True)
        admin = body.get("admin") if isinstance(body, dict) else None
        email = admin.get("email") if isinstance(admin, dict) else None
    email = email if isinstance(email, str) else ""
    return "register:" + email.strip().lower()[:254]


def _has_nul(req: Request) -> bool:
    if "\x00" in req.path:
        return True
    sources = [req.args] if req.is_json else [req.args, req.form]
    for multi in sources:
        for key, values in multi.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                return True
    if req.is_json:
        raw = req.get_data(cache=True)
        return b"\x00" in raw or b"\\u0000" in raw
    return False
