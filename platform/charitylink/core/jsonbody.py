"""The one JSON parser for request bodies.

Python's ``json`` accepts two things the rest of the stack cannot take: a lone
UTF-16 surrogate (``"\\ud800"`` decodes to a str that cannot be encoded as UTF-8,
so the database driver, the audit log or the response fails later), and nesting
deep enough to raise ``RecursionError`` (not a ``ValueError``, so Flask's
``get_json(silent=True)`` lets it through as a 500). ``loads`` refuses both with
``BodyRefused`` — a ``ValueError`` — so every caller, including Flask's
``request.get_json`` (through ``JSONProvider`` below), sees bad input as bad input.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

from flask.json.provider import DefaultJSONProvider

from charitylink.core.i18n import _
from charitylink.core.timeutil import iso_utc

# Deeper than any body the API takes (a need with its household is 3 levels).
MAX_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")


class BodyRefused(ValueError):
    """``str(exc)`` is a Chinese message for the caller."""


def loads(raw: str | bytes | bytearray) -> Any:
    try:
        value = json.loads(raw)
    except RecursionError as exc:
        raise BodyRefused(_too_deep()) from exc
    except UnicodeDecodeError as exc:
        raise BodyRefused(_("请求体不是合法的 UTF-8 编码的 JSON。")) from exc
    except ValueError as exc:
        raise BodyRefused(_("请求体不是合法的 JSON。")) from exc
    check(value)
    return value


def check(value: Any) -> None:
    """Refuse nesting past ``MAX_DEPTH`` and lone surrogates in any key or string."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise BodyRefused(
                    _(
                        "请求体包含无效的 Unicode 字符（单独的代理项 \\ud800–\\udfff），"
                        "请检查文本的编码。"
                    )
                )
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise BodyRefused(_too_deep())
            if isinstance(item, dict):
                stack.extend((k, depth) for k in item)
                stack.extend((v, depth + 1) for v in item.values())
            else:
                stack.extend((v, depth + 1) for v in item)


def _too_deep() -> str:
    return _("请求体的 JSON 嵌套层数过多（最多 %(n)s 层）。", n=MAX_DEPTH)


def _default(value: Any) -> Any:
    # Flask would write a datetime as an HTTP date; the API speaks RFC 3339.
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    return DefaultJSONProvider.default(value)


class JSONProvider(DefaultJSONProvider):
    """``app.json``: reading goes through ``loads`` above; writing is Flask's,
    except that a datetime is written with its UTC offset (``iso_utc``)."""

    default = staticmethod(_default)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s)
