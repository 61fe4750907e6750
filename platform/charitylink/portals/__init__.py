"""Open to portals and other systems: Atom feeds, the sitemap and robots.txt,
embeddable widgets, and the HTTP a partner's browser code needs from the public
API (CORS, conditional GET). docs/portals.md describes it for integrators.

What may cross origins is a fixed list of public reads (``CORS_ENDPOINTS``);
flask-cors answers them, and :func:`_no_credentials` takes its headers away again
from anything that carries a credential or is not a read, so no answer that could
depend on who asks is ever readable by another site.
"""

from __future__ import annotations

import re

from flask import Flask, Response, request
from flask_cors import CORS

# Public reads of the API (anonymous-allowed GETs that answer JSON) and the feeds.
PUBLIC_API_READS = frozenset(
    {
        "api_v1.list_needs",
        "api_v1.get_need",
        "api_v1.list_projects",
        "api_v1.get_project",
        "api_v1.list_orgs",
        "api_v1.get_org",
        "api_v1.get_fund",
        "api_v1.stats",
        "api_v1.openapi_json",
    }
)
FEEDS = frozenset({"portals.needs_feed", "portals.projects_feed"})
CORS_ENDPOINTS = PUBLIC_API_READS | FEEDS
# Answers with an ETag and a 304 to a matching If-None-Match.
CONDITIONAL_ENDPOINTS = CORS_ENDPOINTS | {"portals.sitemap", "portals.sitemap_page"}

READ_METHODS = ("GET", "HEAD", "OPTIONS")
_CORS_HEADERS = (
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Credentials",
    "Access-Control-Allow-Headers",
    "Access-Control-Allow-Methods",
    "Access-Control-Expose-Headers",
    "Access-Control-Max-Age",
)
_RULE_ARG = re.compile(r"<[^<>]+>")


def _path_pattern(rule: str) -> str:
    """``/api/v1/needs/<code>`` → ``^/api/v1/needs/[^/]+$`` (one segment each)."""
    return "^" + _RULE_ARG.sub("[^/]+", re.escape(rule)) + "$"


def _credentialed(app: Flask) -> bool:
    if request.headers.get("Authorization"):
        return True
    names = (
        app.config.get("SESSION_COOKIE_NAME", "session"),
        app.config.get("REMEMBER_COOKIE_NAME", "remember_token"),
    )
    return any(name in request.cookies for name in names)


def init_app(app: Flask) -> None:
    from charitylink.portals.views import bp

    app.register_blueprint(bp)

    # Registered before flask-cors, so it runs after it (after_request runs in
    # reverse): it sees and removes what flask-cors added.
    @app.after_request
    def _no_credentials(response: Response) -> Response:
        if request.method not in READ_METHODS or _credentialed(app):
            for name in _CORS_HEADERS:
                response.headers.pop(name, None)
        return response

    patterns = sorted(
        {
            _path_pattern(rule.rule)
            for rule in app.url_map.iter_rules()
            if rule.endpoint in CORS_ENDPOINTS
        }
    )
    CORS(
        app,
        resources={p: {} for p in patterns},
        origins="*",
        send_wildcard=True,
        supports_credentials=False,
        methods=["GET", "HEAD", "OPTIONS"],
        # No Authorization: a token is never sent cross-origin with our consent.
        allow_headers=["Accept", "Accept-Language", "If-None-Match"],
        expose_headers=["ETag", "Content-Language"],
        max_age=86400,
        vary_header=False,
    )

    @app.after_request
    def _conditional(response: Response) -> Response:
        if (
            request.endpoint in CONDITIONAL_ENDPOINTS
            and request.method in ("GET", "HEAD")
            and response.status_code == 200
            and not response.direct_passthrough
        ):
            if "ETag" not in response.headers:
                response.add_etag()
            response.make_conditional(request)
        return response
