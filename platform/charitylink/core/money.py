"""Money as integer fen (分): parsing what people type, checking what APIs send.

Amounts are stored and computed as ``int`` fen everywhere; yuan strings exist
only at the edges (forms, CSV, display). Floats never touch money: ``0.29`` as
a float is ``28.999…`` fen. ``str(exc)`` of :class:`InvalidAmount` is a Chinese
message fit to show the user.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from charitylink.core.i18n import N_, _
from charitylink.core.identifiers import strip_invisible

__all__ = [
    "MAX_AMOUNT_FEN",
    "InvalidAmount",
    "fen_to_yuan_str",
    "fen_to_capitals",
    "format_fen",
    "parse_yuan",
    "validate_fen",
]

# ¥100,000,000.00. No single need, pledge or fund movement on this platform
# comes near it, so anything larger is a typo (or an attack on BIGINT sums).
MAX_AMOUNT_FEN = 100_000_000_00

MSG_EMPTY = N_("请输入金额，例如 1234.50")
MSG_FORMAT = N_("金额格式不正确，请输入数字，例如 1234.50")
MSG_GROUPING = N_("金额的千位分隔符位置不正确，例如 1,234.50")
MSG_DECIMALS = N_("金额最多两位小数")
MSG_POSITIVE = N_("金额必须大于零")
MSG_NEGATIVE = N_("金额不能为负数")
MSG_TOO_LARGE = N_("金额过大（上限 ¥100,000,000.00）")
MSG_NOT_INT_FEN = N_("金额必须是以分为单位的整数")


class InvalidAmount(ValueError):
    """An amount was refused; ``str(exc)`` is a message for the user (in the
    request's language: the ``MSG_*`` texts are translated here)."""

    def __init__(self, message: str) -> None:
        super().__init__(_(message))


_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# Commas are accepted only as real thousands separators: "12,34" is a European
# decimal comma far more often than a typo of 1234, so it is refused instead of
# silently becoming a hundred times the intended amount.
_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")


def parse_yuan(value: str | int | None, *, allow_zero: bool = False) -> int:  # noqa: C901 — one branch per way people write an amount (grouping, decimals, sign), each with its own message
    """Parse a yuan amount typed by a person and return integer fen.

    Accepts ``"1234.5"``, ``"1,234.50"``, ``"¥1234"``, ``"￥１２"`` (NFKC folds
    full-width digits and the full-width yuan sign), surrounding whitespace and
    invisible characters, and a plain ``int`` meaning whole yuan. Once a leading
    ¥ and correctly placed thousands commas are removed, the number must be
    digits with at most two decimals (``^\\d+(\\.\\d{1,2})?$``; leading zeros are
    harmless, a tenth significant integer digit is "too large"); it is converted
    with ``Decimal``, never ``float``. Refused (:class:`InvalidAmount`): empty, negative, zero (unless
    ``allow_zero``), more than two decimals, exponents, NaN/Infinity, ``bool``,
    anything above :data:`MAX_AMOUNT_FEN`.
    """
    if value is None:
        raise InvalidAmount(MSG_EMPTY)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidAmount(MSG_FORMAT)
    text = strip_invisible(unicodedata.normalize("NFKC", str(value))).strip()
    if text.startswith("¥"):
        text = text[1:].strip()
    if not text:
        raise InvalidAmount(MSG_EMPTY)
    if text.startswith(("-", "\u2212")):  # NFKC keeps U+2212 MINUS SIGN
        raise InvalidAmount(MSG_NEGATIVE if allow_zero else MSG_POSITIVE)
    if "," in text:
        if not _GROUPED.fullmatch(text):
            raise InvalidAmount(MSG_GROUPING)
        text = text.replace(",", "")
    # Only plain digits with an optional fraction get this far, so "1e3",
    # "NaN", "Infinity" and "+5" are all refused before Decimal sees them.
    if not _NUMBER.fullmatch(text):
        raise InvalidAmount(MSG_FORMAT)
    whole, _, fraction = text.partition(".")
    if len(fraction) > 2:
        raise InvalidAmount(MSG_DECIMALS)
    # More than 9 significant integer digits is over the cap anyway; saying so
    # early also keeps a megabyte of digits away from Decimal.
    if len(whole.lstrip("0")) > 9:
        raise InvalidAmount(MSG_TOO_LARGE)
    fen = int(Decimal(text) * 100)
    return _check_range(fen, allow_zero=allow_zero)


def _check_range(fen: int, *, allow_zero: bool) -> int:
    if fen < 0:
        raise InvalidAmount(MSG_NEGATIVE if allow_zero else MSG_POSITIVE)
    if fen == 0 and not allow_zero:
        raise InvalidAmount(MSG_POSITIVE)
    if fen > MAX_AMOUNT_FEN:
        raise InvalidAmount(MSG_TOO_LARGE)
    return fen


def validate_fen(value: object, *, allow_zero: bool = False) -> int:
    """Check an amount in fen received from a JSON API and return it.

    The value must already be an ``int``: ``True`` is refused although Python
    treats it as 1, floats are refused even when whole (``12.0``: a client
    sending floats will sooner or later send ``0.29``), and numeric strings are
    refused (the API contract is integers in fen, not yuan text). It must be
    > 0 (≥ 0 with ``allow_zero``) and ≤ :data:`MAX_AMOUNT_FEN`. Raises
    :class:`InvalidAmount`.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidAmount(MSG_NOT_INT_FEN)
    return _check_range(value, allow_zero=allow_zero)


def fen_to_yuan_str(fen: int) -> str:
    """Return fen as a plain yuan string: 123450 → ``"1234.50"``, -5 → ``"-0.05"``.

    For form field values and CSV cells (no currency sign, no grouping), so the
    result round-trips through :func:`parse_yuan` for positive amounts.
    """
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError("fen must be an int")
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}{yuan}.{cents:02d}"


def format_fen(fen: int) -> str:
    """Return fen for display: 123450 → ``"¥1,234.50"``, -123450 → ``"-¥1,234.50"``."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError("fen must be an int")
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"


def fen_to_capitals(fen: int) -> str:
    """Return fen in Chinese financial capitals (大写), as receipts and cheques
    write an amount so that it cannot be altered: 123456 → ``"壹仟贰佰叁拾肆元伍角陆分"``,
    100000 → ``"壹仟元整"``, 50 → ``"伍角整"``.

    The payment rules ask for 整 after an amount that ends in 元 or 角 and none
    after 分; cn2an writes the digits and units, the 整 after 角 is added here.
    """
    from cn2an import an2cn

    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError("fen must be an int")
    if fen < 0:
        raise ValueError("a receipt amount is never negative")
    words = str(an2cn(fen_to_yuan_str(fen), "rmb"))
    return words + "整" if words.endswith("角") else words
