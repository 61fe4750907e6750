"""Validators for the codes people type: 统一社会信用代码, 身份证号码, phones, cards.

Everything here is pure Python (no Flask, no database) so forms, the JSON API and
the CLI share one definition of "valid". Validators return the canonical form,
which is what callers store and de-duplicate on; on bad input they raise
:class:`InvalidIdentifier` whose ``str()`` is a Chinese message fit to show the
user as-is.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from charitylink.core.i18n import N_, _

__all__ = [
    "AGE_BANDS",
    "CIVIL_AFFAIRS_USCC_PREFIXES",
    "ID_CHECK_CHARS",
    "ID_WEIGHTS",
    "USCC_ALPHABET",
    "USCC_WEIGHTS",
    "InvalidIdentifier",
    "age_band",
    "birth_date_from_id",
    "id_check_char",
    "is_civil_affairs_uscc",
    "is_valid_uscc",
    "luhn_valid",
    "normalize_code",
    "normalize_mobile",
    "strip_invisible",
    "uscc_check_char",
    "validate_id_number",
    "validate_phone",
    "validate_uscc",
]


class InvalidIdentifier(ValueError):
    """A code failed validation; ``str(exc)`` is a Chinese message for the user."""

    def __init__(self, message: str) -> None:
        # The fixed messages are marked N_ and translated here, in the
        # request's language.
        super().__init__(_(message))


# --------------------------------------------------------------------------
# Normalization
# --------------------------------------------------------------------------

# Hyphen-like characters people paste from documents. NFKC already folds
# full-width "－" and small "﹣" into "-", but not the typographic dashes.
_HYPHENS = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"


def strip_invisible(text: str) -> str:
    """Remove format characters (Unicode category ``Cf``) from ``text``.

    That covers the zero-width space/joiners U+200B–U+200D, U+2060 and the BOM
    U+FEFF, soft hyphens and bidi marks: invisible characters someone can slip
    into a number so that it no longer "looks like" a number to a naive check.
    """
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def normalize_code(value: str) -> str:
    """Return the canonical form of a code-like field.

    NFKC (full-width ``１３８`` → ``138``), then drop every whitespace character,
    every invisible format character (U+200B–U+200D, U+FEFF, ...) and every
    hyphen/dash, then upper-case. Validators, storage and de-duplication all use
    this form, so ``9111 0000-6000 3734 1l`` and ``91110000600037341L`` are
    the same code.
    """
    text = strip_invisible(unicodedata.normalize("NFKC", value))
    return "".join(ch for ch in text if not ch.isspace() and ch not in _HYPHENS).upper()


# --------------------------------------------------------------------------
# 统一社会信用代码 (GB 32100-2015)
# --------------------------------------------------------------------------

# 31 characters: the digits and the capitals without I, O, S, V, Z (too easily
# confused with 1, 0, 5, U, 2). A character's value is its index.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS: tuple[int, ...] = tuple(pow(3, i, 31) for i in range(17))
# Prefixes of codes issued by civil-affairs departments (社会团体 51, 民办非企业单位
# 52, 基金会 53, other 59). Callers warn moderators about other prefixes; they are
# legal codes for companies etc., so they are not rejected here.
CIVIL_AFFAIRS_USCC_PREFIXES: tuple[str, ...] = ("51", "52", "53", "59")

_USCC_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}


def uscc_check_char(body: str) -> str:
    """Return the check character for the first 17 characters of a USCC.

    ``body`` must be 17 characters from :data:`USCC_ALPHABET` (already
    normalized); anything else raises :class:`InvalidIdentifier`.
    """
    if len(body) != 17 or any(ch not in _USCC_VALUE for ch in body):
        raise InvalidIdentifier(N_("统一社会信用代码本体应为17位有效字符"))
    total = sum(_USCC_VALUE[ch] * w for ch, w in zip(body, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(value: str) -> str:
    """Validate a 统一社会信用代码 and return its normalized 18-character form.

    Input is first normalized with :func:`normalize_code`; in particular it is
    upper-cased, so a lower-case ``91110000600037341l`` is accepted and returned
    as ``91110000600037341L`` (lower-case letters are a typing habit, not a
    different code). Then: exactly 18 characters, every character in
    :data:`USCC_ALPHABET` (no I, O, S, V, Z), and the 18th character equal to
    the GB 32100 check character.

    Pilot-era codes that fail the check exist; they are rejected (the platform
    has no override for them yet: docs/security.md, "Validators").

    Raises :class:`InvalidIdentifier` with a message naming the exact problem:
    the length, the first disallowed character, or the expected check char.
    """
    code = normalize_code(value or "")
    if not code:
        raise InvalidIdentifier(N_("请输入统一社会信用代码"))
    if len(code) != 18:
        raise InvalidIdentifier(
            _("统一社会信用代码长度应为18位，当前为%(n)s位", n=len(code))
        )
    for ch in code:
        if ch not in _USCC_VALUE:
            raise InvalidIdentifier(
                _("统一社会信用代码含有不允许的字符「%(c)s」", c=ch)
            )
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise InvalidIdentifier(
            _("统一社会信用代码校验位错误，应为「%(c)s」", c=expected)
        )
    return code


def is_valid_uscc(value: str) -> bool:
    """True if :func:`validate_uscc` accepts ``value``."""
    try:
        validate_uscc(value)
    except InvalidIdentifier:
        return False
    return True


def is_civil_affairs_uscc(code: str) -> bool:
    """True if a (valid, normalized) USCC was issued by civil affairs (51/52/53/59).

    Used to warn a moderator, never to reject: a charity can hold another code.
    """
    return normalize_code(code).startswith(CIVIL_AFFAIRS_USCC_PREFIXES)


# --------------------------------------------------------------------------
# 公民身份号码 (GB 11643-1999)
# --------------------------------------------------------------------------

ID_WEIGHTS: tuple[int, ...] = tuple(pow(2, 17 - i, 11) for i in range(17))
ID_CHECK_CHARS = "10X98765432"

# First two digits: the provinces of GB/T 2260, plus 71 台湾, 81 香港, 82 澳门.
_ID_PROVINCES = frozenset(
    [*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47)]
    + [*range(50, 55), *range(61, 66), 71, 81, 82]
)
_ID_SHAPE = re.compile(r"\d{17}[\dX]")


def id_check_char(body: str) -> str:
    """Return the ISO 7064 MOD 11-2 check character for 17 ID-number digits."""
    if len(body) != 17 or not (body.isascii() and body.isdigit()):
        raise InvalidIdentifier(N_("身份证号码本体应为17位数字"))
    total = sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def _parse_birth(code: str) -> date | None:
    try:
        return date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    except ValueError:
        return None


def validate_id_number(value: str, today: date | None = None) -> str:
    """Validate an 18-character citizen ID number and return its normalized form.

    Normalized with :func:`normalize_code`, so a trailing lower-case ``x`` comes
    back as ``X`` and spaces/full-width digits are accepted. Requires: 17 digits
    plus a digit or X; a province prefix in 11–15, 21–23, 31–37, 41–46, 50–54,
    61–65, 71, 81 or 82; a real birth date not after ``today`` (default: the
    system date); and the MOD 11-2 check character. The county part is *not*
    checked against a current list, because abolished county codes live on in
    people's numbers. First-generation 15-digit numbers are refused.

    Raises :class:`InvalidIdentifier` with a Chinese message. The message never
    reveals the expected check character (no help in making up numbers).
    """
    code = normalize_code(value or "")
    if not code:
        raise InvalidIdentifier(N_("请输入身份证号码"))
    if len(code) == 15 and code.isdigit():
        raise InvalidIdentifier(N_("不支持15位旧身份证号码，请填写18位身份证号码"))
    if len(code) != 18:
        raise InvalidIdentifier(_("身份证号码应为18位，当前为%(n)s位", n=len(code)))
    if not _ID_SHAPE.fullmatch(code):
        raise InvalidIdentifier(
            N_("身份证号码格式不正确：前17位应为数字，最后一位为数字或X")
        )
    if int(code[:2]) not in _ID_PROVINCES:
        raise InvalidIdentifier(_("身份证号码的地区代码「%(c)s」不存在", c=code[:2]))
    birth = _parse_birth(code)
    if birth is None:
        raise InvalidIdentifier(
            _("身份证号码中的出生日期「%(c)s」不存在", c=code[6:14])
        )
    if birth > (today or date.today()):
        raise InvalidIdentifier(
            _("身份证号码中的出生日期「%(c)s」晚于今天", c=code[6:14])
        )
    if code[17] != id_check_char(code[:17]):
        raise InvalidIdentifier(N_("身份证号码校验位错误，请核对是否输错"))
    return code


def birth_date_from_id(id_number: str) -> date:
    """Return the birth date encoded in an 18-character ID number.

    Only the shape and the date are checked (callers pass numbers already
    accepted by :func:`validate_id_number`); raises :class:`InvalidIdentifier`
    if there is no real date in positions 7–14.
    """
    code = normalize_code(id_number or "")
    birth = _parse_birth(code) if _ID_SHAPE.fullmatch(code) else None
    if birth is None:
        raise InvalidIdentifier(N_("无法从身份证号码中读取出生日期"))
    return birth


# Public pages show an age band, never an age or a birth date. "儿童" is under
# 14 because PIPL Art. 31 treats under-14s' data specially.
AGE_BANDS: tuple[str, ...] = (
    N_("儿童"),
    "14–17",
    "18–29",
    "30–39",
    "40–49",
    "50–59",
    "60–69",
    "70–79",
    N_("80岁以上"),
)


def age_band(birth: date, today: date) -> str:
    """Return the :data:`AGE_BANDS` label for someone born on ``birth``.

    Age is counted in completed years on ``today`` (a 29 February birthday
    falls on 1 March in common years). Raises ``ValueError`` if ``birth`` is
    after ``today``.
    """
    if birth > today:
        raise ValueError(_("出生日期晚于今天"))
    age = (
        today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    )
    if age < 14:
        return AGE_BANDS[0]
    if age < 18:
        return AGE_BANDS[1]
    if age >= 80:
        return AGE_BANDS[-1]
    # 18–29 is one band; from 30 on, one band per decade.
    return AGE_BANDS[2] if age < 30 else AGE_BANDS[age // 10]


# --------------------------------------------------------------------------
# Phones
# --------------------------------------------------------------------------

_MOBILE = re.compile(r"1[3-9]\d{9}")
_PHONE_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212().]")


def _phone_digits(value: str) -> str:
    text = strip_invisible(unicodedata.normalize("NFKC", value or ""))
    return _PHONE_SEPARATORS.sub("", text)


def _strip_country_code(digits: str) -> str:
    # "+86…" and "0086…" are unambiguous; a bare "86…" only when exactly an
    # 11-digit mobile follows, since a landline may legitimately start "086…".
    if digits.startswith("+86"):
        return digits[3:]
    if digits.startswith("0086"):
        return digits[4:]
    if digits.startswith("86") and len(digits) == 13:
        return digits[2:]
    return digits


def normalize_mobile(value: str) -> str | None:
    """Return the 11-digit mainland mobile number in ``value``, or ``None``.

    NFKC, drop invisible characters and separators (spaces, hyphens, dots,
    parentheses), strip a ``+86``/``0086``/``86`` prefix, then require
    ``^1[3-9]\\d{9}$``. Carrier ranges are deliberately not checked: such lists
    go stale.
    """
    digits = _strip_country_code(_phone_digits(value))
    return digits if _MOBILE.fullmatch(digits) else None


def _split_landline(digits: str) -> tuple[str, str] | None:
    """Split ``0AAA…`` into (area code, local number), or None if not a landline.

    Area codes 010 and 02x have three digits, every other one four; that rule
    resolves ``01012345678`` unambiguously to 010 + 12345678.
    """
    if not (digits.isascii() and digits.isdigit()) or not re.match(r"0[1-9]", digits):
        return None
    area_len = 3 if digits.startswith(("010", "02")) else 4
    area, local = digits[:area_len], digits[area_len:]
    return (area, local) if 7 <= len(local) <= 8 else None


def validate_phone(value: str) -> str:
    """Validate a phone number and return its normalized form.

    A mobile (see :func:`normalize_mobile`) comes back as 11 digits; a landline
    matching ``0\\d{2,3}-?\\d{7,8}`` comes back as ``"0755-88889999"`` (area
    code, hyphen, local number). A ``+86`` landline written without its leading
    0 (``+86 10 12345678``) gets the 0 back. Raises :class:`InvalidIdentifier`.
    """
    mobile = normalize_mobile(value)
    if mobile:
        return mobile
    digits = _phone_digits(value)
    if digits.startswith(("+86", "0086")):
        digits = "0" + _strip_country_code(digits)
    split = _split_landline(digits)
    if split is None:
        raise InvalidIdentifier(
            N_("请输入有效的手机号码（11位）或固定电话（如 010-12345678）")
        )
    return f"{split[0]}-{split[1]}"


# --------------------------------------------------------------------------
# Bank cards
# --------------------------------------------------------------------------


def luhn_valid(digits: str) -> bool:
    """True if ``digits`` (ASCII digits only, at least 2) passes the Luhn check.

    Luhn only catches typos in personal bank cards; never apply it to corporate
    accounts (对公账户), which have no such check digit.
    """
    if len(digits) < 2 or not (digits.isascii() and digits.isdigit()):
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0
