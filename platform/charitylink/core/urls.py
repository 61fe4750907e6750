"""Safe redirects (ASVS 5.1.5): ``next=`` only to a path on this site."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_next(target: str | None, default: str) -> str:
    if not target or not isinstance(target, str) or len(target) > 2000:
        return default
    target = target.strip()
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
    ):
        return default
    if "\\" in target or any(ord(c) < 32 for c in target):
        return default
    return target
