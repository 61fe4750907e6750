"""The i18n functions: every user-facing string goes through ``_`` or ``_l``.

Chinese is the source language; an English catalogue can be added with Babel later
without touching views. Outside a request (CLI, tests) the text comes back unchanged.
"""

from __future__ import annotations

from flask import has_app_context
from flask_babel import gettext, lazy_gettext


def _(text: str, **variables: object) -> str:
    if not has_app_context():
        return text % variables if variables else text
    return gettext(text, **variables)


_l = lazy_gettext
