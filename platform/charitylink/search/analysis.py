"""Chinese text analysis for search: normalisation and jieba segmentation.

Whoosh pickles ``ANALYZER`` (and so the ``JiebaTokenizer`` class) into the index:
this module path must never move, or every existing index fails to open.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterator
from typing import Any

from whoosh.analysis import LowercaseFilter, Token, Tokenizer

MAX_QUERY_CHARS = 2000
MAX_QUERY_TOKENS = 24
# Zero-width and formatting characters, and control characters (NUL, which
# PostgreSQL refuses in text, among them): removed before anything else.
_ZERO_WIDTH = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff\u00ad]"
)
# Words that carry no meaning in a query; "and"/"or"/"not" because people type
# Boolean operators, which we do not interpret: all words are required anyway.
_QUERY_STOPWORDS = frozenset(
    [
        "的",
        "了",
        "和",
        "与",
        "及",
        "或",
        "是",
        "在",
        "有",
        "为",
        "等",
        "把",
        "被",
        "就",
        "也",
        "都",
        "而",
        "之",
        "其",
        "a",
        "an",
        "the",
        "and",
        "or",
        "not",
    ]
)

_init_lock = threading.Lock()
_initialized = False


def _jieba(cache_dir: str | None = None) -> Any:
    """``jieba``, initialised once per process (it is slow), its cache in instance/
    (``cache_dir``, else the current app's instance folder)."""
    global _initialized
    import jieba

    if _initialized:
        return jieba
    with _init_lock:
        if not _initialized:
            jieba.setLogLevel(logging.WARNING)
            if cache_dir is None:
                from flask import current_app, has_app_context

                if has_app_context():
                    cache_dir = current_app.instance_path
            if cache_dir:
                # A shared temp-dir cache breaks across users (fxsjy/jieba #903).
                jieba.dt.tmp_dir = cache_dir
            jieba.initialize()
            _initialized = True
    return jieba


def warm_up(cache_dir: str | None = None) -> None:
    """Load jieba now: before gunicorn forks (``--preload``), so workers share
    its dictionary's memory instead of each paying it on their first search
    (docs/search.md)."""
    _jieba(cache_dir)


def normalize(text: str) -> str:
    """NFKC (full-width letters → ASCII), zero-width characters removed, lower case."""
    text = unicodedata.normalize("NFKC", text or "")
    return _ZERO_WIDTH.sub("", text).lower()


def _is_word(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


def index_tokens(text: str) -> list[str]:
    """Tokens to index: jieba's search mode, so 助学金 is indexed as 助学, 助学金 too."""
    text = normalize(text)
    if not text.strip():
        return []
    jieba = _jieba()
    return [w for w, _s, _e in jieba.tokenize(text, mode="search") if _is_word(w)]


def query_tokens(text: str) -> list[str]:
    """The words of a query (accurate mode), deduplicated, at most 24; every one of
    them must match. Never raises: any text yields a (possibly empty) list."""
    text = normalize(text)[:MAX_QUERY_CHARS]
    if not text.strip():
        return []
    jieba = _jieba()
    seen: dict[str, None] = {}
    for word in jieba.cut(text):
        word = word.strip()
        if word and _is_word(word) and word not in _QUERY_STOPWORDS:
            seen.setdefault(word, None)
        if len(seen) >= MAX_QUERY_TOKENS:
            break
    return list(seen)


class JiebaTokenizer(Tokenizer):
    """Whoosh tokenizer over jieba search mode with sequential positions (phrase
    queries work; ``jieba.analyse.ChineseAnalyzer`` puts character offsets there)."""

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        value = normalize(value)
        jieba = _jieba()
        n = 0
        for word, start, end in jieba.tokenize(value, mode="search"):
            if not _is_word(word):
                continue
            token.original = token.text = word
            token.boost = 1.0
            token.stopped = False
            if positions:
                token.pos = start_pos + n
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + end
            n += 1
            yield token


ANALYZER = JiebaTokenizer() | LowercaseFilter()
