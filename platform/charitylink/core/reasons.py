"""The reason given for a status change (reject, withdraw, suspend, close,
cancel): one rule for every object, so the pages, the API and its document
agree. A reason is text, stripped, at most ``REASON_MAX`` characters (projects
allow ``LONG_REASON_MAX``: a rejection explains what to change in a long text);
``required`` where the action must say why."""

from __future__ import annotations

from typing import Any

from charitylink.core.i18n import _
from charitylink.errors import ValidationFailed

REASON_MAX = 500
LONG_REASON_MAX = 1000


def clean_reason(value: Any, *, required: bool, max_len: int = REASON_MAX) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed(_("原因必须是文本。"), {"reason": _("原因必须是文本。")})
    text = value.strip()
    if required and not text:
        raise ValidationFailed(_("请填写原因。"), {"reason": _("请填写原因。")})
    if len(text) > max_len:
        message = _("原因最多 %(n)s 个字符。", n=max_len)
        raise ValidationFailed(message, {"reason": message})
    return text
