"""Mail bodies from templates, in the recipient's language.

A mail is read by its recipient, not by whoever caused it: a moderator working
in English who approves a need sends its org a Chinese mail when the org's
staff read Chinese. :func:`in_language` switches the whole rendering (gettext,
dates, money) to the recipient's language for the duration, in or out of a
request (the reminder job runs from cron). Links are absolute, built on
``BASE_URL``, as a mail program has no page to be relative to.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import current_app, g, render_template
from flask_babel import force_locale

from charitylink.core.i18n import DEFAULT, LOCALES


def recipient_language(user: Any) -> str:
    """The language a user's mail is written in. Users have no language
    setting yet and the platform's people read Chinese, so Chinese; a stored
    preference (``user.language``), once there is one, wins."""
    language = getattr(user, "language", None)
    return language if language in LOCALES else DEFAULT


@contextmanager
def in_language(language: str) -> Iterator[None]:
    """Render in ``language`` whatever the current request asked for."""
    language = language if language in LOCALES else DEFAULT
    missing = object()
    before = g.get("_cl_language", missing)
    # current_language() (dates, money) reads this within a request; setting
    # it also makes ``g`` non-empty, which force_locale needs to take effect.
    g._cl_language = language
    try:
        with force_locale(LOCALES[language]):
            yield
    finally:
        if before is missing:
            g.pop("_cl_language", None)
        else:
            g._cl_language = before


def absolute_url(path: str) -> str:
    """``path`` on the platform's public address (BASE_URL)."""
    base = str(current_app.config.get("BASE_URL", "http://localhost:5000")).rstrip("/")
    if path.startswith(("http://", "https://")):
        return path
    if not path:
        return base + "/"
    return base + (path if path.startswith("/") else "/" + path)


def render_bodies(template: str, **context: Any) -> tuple[str, str]:
    """(text, html) from ``templates/<template>.txt`` and ``.html``, with
    ``base_url`` in the context. Call inside :func:`in_language`."""
    context.setdefault("base_url", absolute_url(""))
    text = render_template(f"{template}.txt", **context)
    html = render_template(f"{template}.html", **context)
    return text.strip() + "\n", html


def render_notification(
    user: Any, kind: str, params: dict[str, Any], url: str
) -> tuple[str, str, str]:
    """(subject, text, html) of the mail telling ``user`` of a notification,
    in the user's language, with the link to it and the unsubscribe link."""
    from charitylink.core.i18n import _
    from charitylink.mail.unsubscribe import unsubscribe_url
    from charitylink.notifications.kinds import KINDS, render

    with in_language(recipient_language(user)):
        title, body = render(kind, params)
        spec = KINDS.get(kind)
        text, html = render_bodies(
            "mail/notification",
            title=title,
            body=body,
            link=absolute_url(url) if url else "",
            kind_label=_(spec.label) if spec else kind,
            unsubscribe=unsubscribe_url(user.id, kind),
            greeting_name=user.name or "",
        )
    return title, text, html
