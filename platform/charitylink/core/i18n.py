"""The i18n functions and the locale of a request (docs/i18n.md).

Chinese is the source language: every user-facing string is written in Chinese
and goes through ``_`` (translated now, in the request's locale) or ``_l``
(translated when rendered: form labels and other class-level text). ``N_``
only marks a string for extraction; its callers translate it when they show
it, so data that leaves as data (the enums' ``*_LABELS`` in API answers,
exports and the search index) stays the Chinese the platform stores.

The locale of a request, first match wins: ``?lang=`` (remembered in a
cookie), the cookie, the browser's ``Accept-Language``, else Chinese. Outside
a request (CLI, tests) the text comes back untranslated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g, has_app_context, has_request_context, request
from flask_babel import get_locale as babel_locale
from flask_babel import gettext, lazy_gettext
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

# The locales the platform speaks, in Babel's spelling, and the tag each puts
# in <html lang>. The first is the default.
LOCALES = {"zh": "zh_CN", "en": "en"}
HTML_LANG = {"zh": "zh-CN", "en": "en"}
DEFAULT = "zh"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600


def _(text: str, **variables: object) -> str:
    if not has_app_context():
        return text % variables if variables else text
    return str(gettext(text, **variables))


_l = lazy_gettext


def N_(text: str) -> str:
    """Mark ``text`` for the catalogue without translating it here: the caller
    translates it (``_(value)``) where a person reads it."""
    return text


def _known(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().lower().replace("_", "-")
    short = value.split("-", 1)[0]
    return short if short in LOCALES else None


def choose_language(
    query: str | None, cookie: str | None, accept_language: str | None
) -> str:
    """The language short code (``zh``/``en``) for these request inputs: the
    query, then the cookie, then the browser's preference, else Chinese. Pure,
    so the page cache keys on the same answer the page renders with."""
    for chosen in (_known(query), _known(cookie)):
        if chosen:
            return chosen
    if accept_language:
        accept = parse_accept_header(accept_language, LanguageAccept)
        # Any zh-* (zh-CN, zh-TW, zh-Hans) counts as Chinese: the source text.
        for tag, _quality in accept:
            short = _known(tag)
            if short:
                return short
    return DEFAULT


def current_language() -> str:
    """The request's language short code (``zh`` outside a request)."""
    if not has_request_context():
        return DEFAULT
    cached = g.get("_cl_language")
    if cached is None:
        cached = choose_language(
            request.args.get("lang"),
            request.cookies.get(COOKIE),
            request.headers.get("Accept-Language"),
        )
        g._cl_language = cached
    return str(cached)


def list_separator() -> str:
    """Between the items of a short list: the enumeration comma in Chinese."""
    return "、" if current_language() == "zh" else ", "


def is_english() -> bool:
    return current_language() == "en"


def html_lang() -> str:
    return HTML_LANG[current_language()]


def locale_name() -> str:
    """The Babel locale name for formatting (``zh_CN`` / ``en``)."""
    return LOCALES[current_language()]


def lang_url(language: str) -> str:
    """The current page's address with ``lang=`` set: the footer switch (a
    plain link, so it works without JavaScript)."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [language]
    from urllib.parse import urlencode

    return f"{request.path}?{urlencode(args, doseq=True)}"


class TranslatedLabels(Mapping[Any, str]):
    """A ``*_LABELS`` dict read through gettext: templates index it as before
    (``L.NEED_TYPE_LABELS[value]``) and get the request's language."""

    def __init__(self, labels: Mapping[Any, str]) -> None:
        self._labels = labels

    def __getitem__(self, key: Any) -> str:
        return _(self._labels[key])

    def __iter__(self) -> Any:
        return iter(self._labels)

    def __len__(self) -> int:
        return len(self._labels)


def init_app(app: Flask) -> None:
    """Select the locale per request and remember an explicit choice."""
    from charitylink.extensions import babel

    babel.init_app(
        app,
        default_locale=LOCALES[DEFAULT],
        locale_selector=locale_name,
        default_timezone="Asia/Shanghai",
    )

    @app.before_request
    def fresh_locale() -> None:
        # Tests keep one app context open across requests, so ``g`` (where
        # Flask-Babel caches the locale) would carry one request's language
        # into the next, or into code the test runs after it.
        g.pop("_flask_babel", None)
        g.pop("_cl_language", None)

    @app.teardown_request
    def forget_locale(_exc: BaseException | None) -> None:
        g.pop("_flask_babel", None)
        g.pop("_cl_language", None)

    @app.after_request
    def remember(response: Response) -> Response:
        chosen = _known(request.args.get("lang"))
        if chosen and request.cookies.get(COOKIE) != chosen:
            response.set_cookie(
                COOKIE,
                chosen,
                max_age=COOKIE_MAX_AGE,
                samesite="Lax",
                secure=bool(app.config.get("SESSION_COOKIE_SECURE")),
                httponly=True,
            )
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
        if not response.headers.get("Content-Language"):
            response.headers["Content-Language"] = html_lang()
        return response

    app.add_template_global(html_lang)
    app.add_template_global(lang_url)
    app.add_template_global(current_language)
    app.add_template_global(is_english)


__all__ = [
    "N_",
    "_",
    "_l",
    "babel_locale",
    "choose_language",
    "current_language",
    "html_lang",
    "is_english",
    "locale_name",
]
