"""Project bodies: Markdown rendered with markdown-it-py, then sanitised with nh3.

Two layers on purpose: markdown-it escapes raw HTML and refuses ``javascript:``
links, and nh3 keeps only an allow-list of tags, attributes and URL schemes, so a
bug or a configuration change in one layer does not open an XSS hole.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del",
    "blockquote", "ul", "ol", "li", "code", "pre", "a", "img", "table", "thead",
    "tbody", "tr", "th", "td",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
_SCHEMES = {"http", "https", "mailto"}


def sanitize(html: str) -> str:
    """Keep only the allowed tags, attributes and URL schemes."""
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_SCHEMES,
        link_rel="nofollow noopener noreferrer",
    )


def render(text: str | None) -> Markup:
    """Safe HTML for a Markdown text (no script, no ``on*``, no ``javascript:``)."""
    return Markup(sanitize(_md.render(text or "")))  # noqa: S704 - sanitised
