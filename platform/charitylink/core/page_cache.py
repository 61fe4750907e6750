"""A short-lived cache of whole public pages for visitors who are not signed in.

The public pages (home, project and need lists and details, search results) are the
same for every anonymous visitor, and they are most of the traffic. Each gunicorn
worker keeps the finished response (status, headers, body) of the pages a view marked
with :func:`cacheable`, keyed by scheme, host, path and query string, and serves it
again without running the view — until the data changes or ``PAGE_CACHE_TTL`` seconds
pass, whichever comes first.

What keeps it safe:

- only ``GET`` requests that carry no session cookie, no remember-me cookie and no
  ``Authorization`` header are served from or stored in the cache, so a signed-in
  person never sees (or leaves behind) a page of their own;
- a response is stored only when the view asked for it, the status is 200, and it
  sets no cookie (a flashed warning or a CSRF token puts one in the session, so such
  a page is never stored);
- invalidation is the generation stamp of :mod:`charitylink.core.cache`: any commit
  that changed a watched table (needs, projects, funds, orgs, claims, the ledger, the
  search index's documents) moves it and every worker drops its pages at the next
  request (one ``stat()``); a withdrawn need leaves the public pages at once;
- several app nodes share the stamp through Redis when ``REDIS_URL`` is set (a
  version key read at most every 0.25 s per worker: core/shared.py, docs/multi-node.md); while Redis
  cannot be read, pages are neither served from nor kept in the cache;
- the TTL bounds staleness anyway (the search worker's index updates on another
  machine move no stamp).

``PAGE_CACHE_TTL = 0`` turns it off (the default in development and in tests, where
tests that exercise it turn it on).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from functools import wraps
from http.cookies import CookieError, SimpleCookie
from typing import Any, TypeVar

from flask import Flask, Response, g

from charitylink.core import cache
from charitylink.core.i18n import COOKIE, choose_language

F = TypeVar("F", bound=Callable[..., Any])

MARK = "X-Charitylink-Page-Cache"  # internal: set by the app, removed here
MAX_BODY = 512 * 1024  # a bigger page is not kept


def cacheable(view: F) -> F:
    """Mark a public page as the same for every anonymous visitor."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.page_cacheable = True
        return view(*args, **kwargs)

    # Also readable from the view itself (templates: is_public_page()).
    wrapper.page_cacheable = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def is_public_page() -> bool:
    """Whether this request's view is a public page (marked :func:`cacheable`):
    the same for every anonymous visitor, so fit for a shared link's preview."""
    from flask import current_app, request

    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "page_cacheable", False))


class PageCache:
    """WSGI middleware in front of the Flask app (inside ProxyFix)."""

    def __init__(self, app: Flask, wsgi_app: Callable[..., Iterable[bytes]]):
        self.app = app
        self.wsgi_app = wsgi_app
        self.ttl = float(app.config.get("PAGE_CACHE_TTL", 0))
        # Bounded per worker: endless distinct query strings cannot grow it.
        self.max_bytes = int(app.config.get("PAGE_CACHE_MAX_BYTES", 32 * 1024 * 1024))
        self._bytes = 0
        self.cookie_names = {
            app.config.get("SESSION_COOKIE_NAME", "session"),
            app.config.get("REMEMBER_COOKIE_NAME", "remember_token"),
        }
        self._lock = threading.Lock()
        # key → (stored at, stamp, status, headers, body); oldest first.
        self._store: OrderedDict[tuple[str, ...], tuple[Any, ...]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    # -- helpers ---------------------------------------------------------------

    def _personal(self, environ: dict[str, Any]) -> bool:
        if environ.get("HTTP_AUTHORIZATION"):
            return True
        raw = environ.get("HTTP_COOKIE")
        if not raw:
            return False
        try:
            jar = SimpleCookie(raw)
        except CookieError:
            return True  # unreadable cookies: do not guess, skip the cache
        return any(name in jar for name in self.cookie_names)

    def _bypass(self, environ: dict[str, Any]) -> bool:
        return (
            self.ttl <= 0
            or environ.get("REQUEST_METHOD") != "GET"
            or self._personal(environ)
        )

    @staticmethod
    def _key(environ: dict[str, Any]) -> tuple[str, ...]:
        return (
            environ.get("wsgi.url_scheme", "http"),
            environ.get("HTTP_HOST", ""),
            environ.get("SCRIPT_NAME", ""),
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
            # The same page in Chinese and in English: the language the page
            # renders with, chosen from the same inputs (core/i18n.py).
            _language(environ),
        )

    def clear(self) -> None:
        with self._lock:
            self._store.clear()
            self._bytes = 0

    # -- WSGI ------------------------------------------------------------------

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        # Not cacheable, or the shared version is unknown: render, keep nothing.
        stamp = None if self._bypass(environ) else cache.generation(self.app)
        if stamp is None:
            return self._strip_mark(environ, start_response)
        key = self._key(environ)
        now = time.monotonic()
        with self._lock:
            hit = self._store.get(key)
            if hit is not None:
                self._store.move_to_end(key)
        if hit is not None and hit[1] == stamp and now - hit[0] < self.ttl:
            self.hits += 1
            return _replay(hit, environ, start_response)
        self.misses += 1

        captured: dict[str, Any] = {}

        def capture(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            marked = any(k == MARK for k, _ in headers)
            headers = [(k, v) for k, v in headers if k != MARK]
            captured["store"] = (
                marked
                and exc_info is None
                and status.startswith("200")
                and not any(k.lower() == "set-cookie" for k, _ in headers)
            )
            captured["status"], captured["headers"] = status, headers
            return start_response(status, headers, exc_info)

        body_iter = self.wsgi_app(environ, capture)
        if not captured.get("store"):
            return body_iter
        try:
            body = b"".join(body_iter)
        finally:
            close = getattr(body_iter, "close", None)
            if close is not None:
                close()
        if len(body) <= MAX_BODY:
            entry = (now, stamp, captured["status"], captured["headers"], body)
            with self._lock:
                old = self._store.pop(key, None)
                if old is not None:
                    self._bytes -= len(old[4])
                self._store[key] = entry
                self._bytes += len(body)
                while self._bytes > self.max_bytes and self._store:
                    _, dropped = self._store.popitem(last=False)
                    self._bytes -= len(dropped[4])
        return [body]

    def _strip_mark(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        def plain(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            return start_response(
                status, [(k, v) for k, v in headers if k != MARK], exc_info
            )

        return self.wsgi_app(environ, plain)


def _replay(
    hit: tuple[Any, ...], environ: dict[str, Any], start_response: Callable[..., Any]
) -> Iterable[bytes]:
    if _not_modified(environ, hit[3]):
        # A feed reader or API client revalidating (feeds carry an ETag): the
        # kept page has not changed, so no body.
        start_response("304 NOT MODIFIED", _304_headers(hit[3]))
        return [b""]
    start_response(hit[2], list(hit[3]))
    return [hit[4]]


def _not_modified(environ: dict[str, Any], headers: list[tuple[str, str]]) -> bool:
    from werkzeug.http import parse_etags, unquote_etag

    asked = environ.get("HTTP_IF_NONE_MATCH")
    etag = next((v for k, v in headers if k.lower() == "etag"), None)
    if not asked or etag is None:
        return False
    tag, _weak = unquote_etag(etag)
    return tag is not None and parse_etags(asked).contains_weak(tag)


def _304_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    # A 304 repeats the validators and caching headers, not the body's.
    return [
        (k, v)
        for k, v in headers
        if k.lower() not in ("content-length", "content-type", "content-encoding")
    ]


def _language(environ: dict[str, Any]) -> str:
    from werkzeug.wrappers import Request

    req = Request(environ, populate_request=False, shallow=True)
    return choose_language(
        req.args.get("lang"),
        req.cookies.get(COOKIE),
        environ.get("HTTP_ACCEPT_LANGUAGE"),
    )


def init_app(app: Flask) -> None:
    """Mark cacheable responses and put the cache in front of the app."""
    app.add_template_global(is_public_page)

    @app.after_request
    def mark(response: Response) -> Response:
        from flask_login import current_user

        if g.get("page_cacheable") and not current_user.is_authenticated:
            response.headers[MARK] = "1"
        return response

    page_cache = PageCache(app, app.wsgi_app)
    app.extensions["page_cache"] = page_cache
    app.wsgi_app = page_cache  # type: ignore[method-assign]
