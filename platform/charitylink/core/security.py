"""HTTP hardening shared by every response: security headers, proxy trust.

Content-Security-Policy allows only this site's scripts and styles: every asset is
served locally and no template carries inline script.
"""

from __future__ import annotations

import logging
import re

from flask import Flask, Request, Response, abort, request
from werkzeug.middleware.proxy_fix import ProxyFix

_WERKZEUG_LOG = logging.getLogger("werkzeug")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


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
        own = h.get("Content-Security-Policy")
        if own is None:
            h["Content-Security-Policy"] = CSP
        elif "frame-ancestors" not in own:
            # A view's own, stricter policy (e.g. a downloaded file) still may not
            # be framed by another site.
            h["Content-Security-Policy"] = own + "; frame-ancestors 'none'"
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        if app.config.get("PRODUCTION"):
            h.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.path.startswith(
            ("/org", "/mod", "/admin", "/api/", "/account", "/reset/", "/confirm/")
        ) or (request.endpoint and "private" in request.endpoint):
            # Work areas and API answers may carry non-public data, and the
            # account pages a new token or a mailed link: never cache them.
            h["Cache-Control"] = "no-store"
        return response


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
