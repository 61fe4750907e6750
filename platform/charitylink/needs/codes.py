"""Need codes: ``XQ-<province>-<sequence>``, e.g. ``XQ-22-000123``.

A need's code is public (pages, API, exports, links), so it carries the
2-digit province and nothing finer: the public region of a need in a sparse
county is coarsened to its city (needs.privacy), and a code naming the county
would undo that. The sequence runs per province.

The first release numbered needs per county (``XQ-220523-000001``). Those codes
are kept in ``needs.legacy_code`` so moderators' old links still resolve
(moderator pages redirect, the moderator API accepts them); the public never
resolves them.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from charitylink.extensions import db
from charitylink.needs.models import Need

WIDTH = 6  # digits of the sequence (more once a province passes 999999)
CODE_RE = re.compile(r"^XQ-(\d{2})-(\d{6,})$")
LEGACY_RE = re.compile(r"^XQ-(\d{6})-(\d{6,})$")


def province_of(region_code: str) -> str:
    return (region_code or "")[:2]


def format_code(region_code: str, seq: int) -> str:
    """The code of sequence ``seq`` in the province of ``region_code`` (any level)."""
    return f"XQ-{province_of(region_code)}-{seq:0{WIDTH}d}"


def is_code(value: str) -> bool:
    return bool(CODE_RE.match(value or ""))


def is_legacy(value: str) -> bool:
    return bool(LEGACY_RE.match(value or ""))


def _seq(code: str | None) -> int:
    m = CODE_RE.match(code or "")
    return int(m.group(2)) if m else 0


def last_seq(region_code: str) -> int:
    """The highest sequence used in the province of ``region_code`` (0 if none)."""
    prefix = f"XQ-{province_of(region_code)}-"
    # A range, not LIKE: SQLite's LIKE cannot seek the unique index on code
    # (bulk imports would scan every code); "." is the character after "-".
    in_range = (Need.code >= prefix, Need.code < prefix[:-1] + ".")
    seq = _seq(db.session.scalar(select(func.max(Need.code)).where(*in_range)))
    # Codes compare as text: once a province passes 999999, its 7-digit codes
    # sort among the 6-digit ones, so the longer codes are asked for by length.
    width = WIDTH
    while seq >= 10**width - 1:
        width += 1
        longer = db.session.scalar(
            select(func.max(Need.code)).where(
                *in_range, func.length(Need.code) == len(prefix) + width
            )
        )
        if longer is None:
            break
        seq = _seq(longer)
    return seq


def next_code(region_code: str) -> str:
    """The next free code of the province (racing writers retry, see services)."""
    return format_code(region_code, last_seq(region_code) + 1)
