"""Highlighted matches as safe HTML: the text is escaped first, then the matched
words are wrapped in ``<mark>`` (never the other way round)."""

from __future__ import annotations

import re
import unicodedata

from markupsafe import Markup, escape

_ZERO_WIDTH = re.compile("[\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff\u00ad]")
_MARK_OPEN, _MARK_CLOSE = Markup("<mark>"), Markup("</mark>")


def _spans(text: str, tokens: list[str]) -> list[tuple[int, int]]:
    """Where the tokens occur in ``text`` (original offsets), matched on the
    normalised text (NFKC, lower case), merged where they overlap."""
    if not text or not tokens:
        return []
    norm = text.lower()
    origin: list[int] | range = range(len(text))
    if (
        len(norm) != len(text)
        or not unicodedata.is_normalized("NFKC", text)
        or _ZERO_WIDTH.search(text)
    ):  # map each normalised character back to its original offset
        chars: list[str] = []
        origin = []
        for i, ch in enumerate(text):
            for c in _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", ch).lower()):
                chars.append(c)
                origin.append(i)
        norm = "".join(chars)
    spans: list[tuple[int, int]] = []
    for token in tokens:
        if not token:
            continue
        start = 0
        while (pos := norm.find(token, start)) != -1:
            spans.append((origin[pos], origin[pos + len(token) - 1] + 1))
            start = pos + len(token)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _render(text: str, spans: list[tuple[int, int]], offset: int = 0) -> Markup:
    out: list[Markup] = []
    last = 0
    for s, e in spans:
        s, e = max(s - offset, 0), min(e - offset, len(text))
        if e <= 0 or s >= len(text) or s < last:
            continue
        out.append(escape(text[last:s]))
        out.append(_MARK_OPEN + escape(text[s:e]) + _MARK_CLOSE)
        last = e
    out.append(escape(text[last:]))
    return Markup("").join(out)


def highlight(text: str, tokens: list[str]) -> Markup:
    return _render(text or "", _spans(text or "", tokens))


def snippet(text: str, tokens: list[str], width: int = 90) -> Markup:
    """About ``width`` characters around the first match (or the start)."""
    text = text or ""
    spans = _spans(text, tokens)
    start = 0
    if spans and spans[0][0] > width // 3:
        start = max(0, min(spans[0][0] - width // 4, len(text) - width))
    end = min(len(text), start + width)
    body = _render(text[start:end], spans, offset=start)
    prefix = Markup("…") if start > 0 else Markup("")
    suffix = Markup("…") if end < len(text) else Markup("")
    return prefix + body + suffix
