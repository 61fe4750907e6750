"""Privacy guard for public text (rule 5, docs/product.md; docs/security.md).

Every public text is scanned on save — needs (again at submission and
approval), and what organizations publish (``orgs.public_text``): an ID
number, phone number, bank card, e-mail address, QQ/WeChat ID, precise address
or the name of a household concerned is refused with a message pointing at the
offending text. The scan is deliberately one-sided: a false alarm costs an author one
edit, a miss publishes a family's identity. It still must not fire on the
amounts, dates and counts every need contains (``需求金额 12000 元``,
``2024年3月``, ``3口之家``), or authors learn to ignore it.

Obfuscation is undone before matching (see docs/security.md, "The privacy
guard"): NFKC folds full-width digits and letters; digits of every script
become ASCII; Chinese numerals (``一三九…``, ``〇``, ``幺``, ``十二``) become
Arabic; invisible format characters and combining marks are dropped; digit
groups split by separators are read as one number; names are compared on
letters only, after converting traditional to simplified characters. Positions
in :class:`Finding` refer to the caller's original text, and messages quote it.

Every step is linear in the text's length: regexes use disjoint character
classes or bounded repeats (no nested unbounded repetition), and the number
chains consider at most 22 digits from each group.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import opencc
from cn2an import cn2an as _cn2an
from cn2an.conf import NUMBER_CN2AN, UNIT_CN2AN

from charitylink.core.identifiers import (
    InvalidIdentifier,
    id_check_char,
    luhn_valid,
    validate_id_number,
    validate_phone,
    validate_uscc,
)

__all__ = ["KINDS", "Finding", "findings_message", "scan", "scan_fields"]

# Kinds in order of preference when two findings overlap: the most specific
# (checksum-proven) first, the vaguest last.
KINDS: tuple[str, ...] = (
    "email",
    "id_number",
    "mobile",
    "bank_card",
    "landline",
    "qq",
    "wechat",
    "long_number",
    "address",
    "name",
)


@dataclass(frozen=True)
class Finding:
    """One piece of personal data found in a text.

    ``kind`` is one of :data:`KINDS`; ``text[start:end] == excerpt`` in the
    text given to :func:`scan` (so a form can highlight it); ``message`` is a
    Chinese sentence quoting the offending text, with ID, card and phone
    numbers masked so the message does not repeat them in full.
    """

    kind: str
    excerpt: str
    start: int
    end: int
    message: str


class _Candidate(NamedTuple):
    start: int  # indices into the normalized text
    end: int
    rank: float  # lower wins an overlap
    kind: str
    message: str  # may hold _QUOTE, replaced by the original text
    value: str = ""  # canonical number or address, to compare with `allowed`


# Placeholder in a candidate's message for the text as the author typed it.
_QUOTE = "\x00"


# An unproven 15/18-digit run is an "id_number" finding, ranked just below
# landline (a checksum-proven card or a well-formed phone explains it better).
_RANK_SHAPED_ID = KINDS.index("landline") + 0.5


# Chinese numerals: digits read one by one (一三九 → 139, 〇 and 幺 included),
# and numbers with units (十二 → 12) read through cn2an. "两" is a digit only
# inside a number with units ("两百"), since alone it is the everyday "two".
_CN_DIGIT = {ch: str(v) for ch, v in NUMBER_CN2AN.items() if ch != "两"}
_CN_RUN = re.compile("[" + "".join(NUMBER_CN2AN) + "".join(UNIT_CN2AN) + "]+")
_CN_RUN_MAX = 12  # longer runs with units are not numbers anyone writes


@functools.lru_cache(maxsize=8192)
def _fold(ch: str) -> str:
    if ch.isascii():
        return ch
    category = unicodedata.category(ch)
    if category in ("Cf", "Cs", "Mn", "Me"):
        # Zero-width characters, joiners, lone surrogates, combining marks.
        return ""
    if category == "Nd":
        return str(unicodedata.decimal(ch))  # Arabic-Indic, Devanagari ...
    return unicodedata.normalize("NFKC", ch)


# "一三八两二三四…": in a long run of digits read one by one, 两 is a 2 too
# (the everyday "两三个人" is far shorter than any number worth hiding).
_LIANG_RUN_MIN = 5


def _cn_number(norm: str, start: int, end: int) -> str | None:
    run = norm[start:end]
    if (
        len(run) >= _LIANG_RUN_MIN
        and "两" in run
        and all(ch in _CN_DIGIT or ch == "两" for ch in run)
    ):
        return "".join(_CN_DIGIT.get(ch, "2") for ch in run)
    if all(ch in _CN_DIGIT for ch in run):
        # A lone digit ("一家") stays a word unless it continues a number.
        if (
            len(run) >= 2
            or norm[start - 1 : start].isdigit()
            or (norm[end : end + 1].isdigit())
        ):
            return "".join(_CN_DIGIT[ch] for ch in run)
        return None
    if (
        len(run) > _CN_RUN_MAX
        or not any(ch in UNIT_CN2AN for ch in run)
        or not any(ch in NUMBER_CN2AN for ch in run)
    ):
        return None  # "两" alone is a word; "千万" (by all means) is not a number
    try:
        value = _cn2an(run, "normal")
    except Exception:  # cn2an raises bare ValueError/others on non-numbers
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    return str(value)


# Characters :func:`_fold` leaves as they are and most texts are made of:
# ASCII and the CJK Unified Ideographs (no decomposition, not digits, not
# format characters). Runs of them are copied whole; only the rest is folded
# one by one.
_PLAIN_RUN = re.compile(r"[\x00-\x7f\u4e00-\u9fff]+")


def _fold_text(text: str) -> tuple[str, Sequence[int]]:
    """:func:`_fold` each character, remembering where each output came from."""
    if _PLAIN_RUN.fullmatch(text):
        return text, range(len(text))  # nothing to fold: positions are themselves
    out: list[str] = []
    origin: list[int] = []
    last = 0
    for m in _PLAIN_RUN.finditer(text):
        _fold_range(text, last, m.start(), out, origin)
        out.append(m.group())
        origin.extend(range(m.start(), m.end()))
        last = m.end()
    _fold_range(text, last, len(text), out, origin)
    return "".join(out), origin


def _fold_range(
    text: str, start: int, end: int, out: list[str], origin: list[int]
) -> None:
    for i in range(start, end):
        folded = _fold(text[i])
        out.append(folded)
        origin.extend([i] * len(folded))


def _normalize(text: str) -> tuple[str, Sequence[int]]:
    """Fold ``text`` and read Chinese numerals as digits (see the module
    docstring).

    Returns the normalized string and, for each of its characters, the index
    of the original character it came from (never decreasing).
    """
    return _read_numerals(*_fold_text(text))


def _read_numerals(norm: str, origin: Sequence[int]) -> tuple[str, Sequence[int]]:
    if not _CN_RUN.search(norm):
        return norm, origin
    parts: list[str] = []
    mapped: list[int] = []
    last = 0
    for m in _CN_RUN.finditer(norm):
        number = _cn_number(norm, m.start(), m.end())
        if number is None:
            continue
        parts.append(norm[last : m.start()])
        mapped.extend(origin[last : m.start()])
        parts.append(number)
        run_origin = origin[m.start() : m.end()]
        if len(number) == len(run_origin):
            mapped.extend(run_origin)
        else:  # "十二" → "12": first and last digit keep the run's ends
            mapped.extend(
                [run_origin[0]] * (len(number) - 1) + [run_origin[-1]]
                if len(number) > 1
                else [run_origin[0]]
            )
        last = m.end()
    parts.append(norm[last:])
    mapped.extend(origin[last:])
    return "".join(parts), mapped


# ----------------------------------------------------------------------------
# Numbers: ID numbers, phones, cards
# ----------------------------------------------------------------------------

# A "chain" is digit groups joined by 1–3 separator characters, optionally
# ending in the X of an ID number. Sub-chains aligned to group boundaries are
# classified on their own, so "电话 138 1234 5678 需 12000" finds the phone and
# leaves the amount alone.
#
# Spaces, hyphens and parentheses are how people format numbers; the other
# separators (dots, slashes, commas, underscores, line breaks ...) also join
# amounts, dates and times ("¥3,000", "2026/12/01", "12:30"), so across them
# only a number that proves itself counts: an ID number passing its checksum,
# a mobile number, or a Luhn-valid card written in groups of four.
_STRONG_SEP = r" \t\-\u2010-\u2015\u2212()"
_WEAK_SEP = r".,/\\_\r\n\u00b7\u30fb*~|:;、"
_WEAK_SET = frozenset(".,/\\_\r\n\u00b7\u30fb*~|:;、")
_CHAIN = re.compile(
    rf"(?<!\d)\d+(?:[{_STRONG_SEP}{_WEAK_SEP}]{{1,3}}\d+)*(?:[Xx](?![A-Za-z0-9]))?"
)
_DIGITS = re.compile(r"\d+")
_MOBILE = re.compile(r"(?:0086|86)?1[3-9]\d{9}")
_MOBILE_HEAD = re.compile(r"(?:0086|86)?1[3-9]")
# Codes printed next to the claiming organization's name are public; a valid
# 统一社会信用代码 is not a person's number.
_USCC_TOKEN = re.compile(r"(?<![A-Za-z0-9])[0-9A-Za-z]{18}(?![A-Za-z0-9])")
# The only digit counts a proven kind can have: mobiles (11, 13 with 86, 15
# with 0086) and ID numbers (18).
_PROVEN_LENGTHS = frozenset((11, 13, 15, 18))


def _mask_long(digits: str) -> str:
    return f"{digits[:6]}…{digits[-4:]}"


# The shape of a plausible ID (province digit, 18xx–20xx birth year, month,
# day): ruling most digit runs out here keeps the checksum off the hot path.
_ID_QUICK = re.compile(
    r"[1-8]\d{5}(?:18|19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
)


def _is_id(code: str) -> bool:
    if not _ID_QUICK.fullmatch(code) or id_check_char(code[:17]) != code[17].upper():
        return False
    try:
        validate_id_number(code)
    except InvalidIdentifier:
        return False
    return True


def _landline_parts(digits: str) -> tuple[str, str] | None:
    # 010 and 02x are three-digit area codes, all others four; local 7–8 digits.
    if not re.match(r"0[1-9]", digits):
        return None
    area_len = 3 if digits.startswith(("010", "02")) else 4
    local = digits[area_len:]
    return (digits[:area_len], local) if 7 <= len(local) <= 8 else None


def _classify(
    digits: str, *, loose: bool, card_shaped: bool
) -> tuple[str, float, str, str] | None:
    """Classify one sub-chain's digits (maybe ending in X).

    Returns (kind, rank, message, canonical value). Checksum or pattern-proven
    kinds are always tried; the looser kinds only when ``loose`` (the groups
    are 3+ digits long and joined by spaces or hyphens), which keeps
    "2024-03-15 2024-12-31" (a date range, 16 digits) from reading as one long
    number.
    """
    rank = KINDS.index
    if len(digits) == 18 and _is_id(digits):
        return (
            "id_number",
            rank("id_number"),
            f"包含身份证号码「{_mask_long(digits)}」",
            digits,
        )
    if _MOBILE.fullmatch(digits):
        mobile = digits[-11:]
        return (
            "mobile",
            rank("mobile"),
            f"包含手机号码「{mobile[:3]}****{mobile[-4:]}」",
            mobile,
        )
    is_card = 16 <= len(digits) <= 19 and (loose or card_shaped) and luhn_valid(digits)
    if is_card:
        return (
            "bank_card",
            rank("bank_card"),
            f"包含银行卡号「{_mask_long(digits)}」",
            digits,
        )
    if not loose:
        return None
    if digits.endswith("X"):
        if len(digits) == 18:
            return (
                "id_number",
                _RANK_SHAPED_ID,
                f"包含疑似身份证号码「{_mask_long(digits)}」",
                digits,
            )
        return None
    landline = _landline_parts(digits)
    if landline:
        area, local = landline
        masked = "*" * (len(local) - 2) + local[-2:]
        return (
            "landline",
            rank("landline"),
            f"包含固定电话「{area}-{masked}」",
            area + local,
        )
    if len(digits) in (15, 18):
        # A first-generation ID, or an ID with a wrong check digit: still a
        # person's number.
        return (
            "id_number",
            _RANK_SHAPED_ID,
            f"包含疑似身份证号码「{_mask_long(digits)}」",
            digits,
        )
    if len(digits) >= 15:
        return (
            "long_number",
            rank("long_number"),
            f"包含疑似证件号或账号「{_mask_long(digits)}」",
            digits,
        )
    return None


def _is_uscc(token: str) -> bool:
    try:
        validate_uscc(token)
    except InvalidIdentifier:
        return False
    return True


def _number_candidates(norm: str) -> list[_Candidate]:
    public = [
        (m.start(), m.end())
        for m in _USCC_TOKEN.finditer(norm)
        if not _is_id(m.group()) and _is_uscc(m.group())
    ]
    found: list[_Candidate] = []
    for chain in _CHAIN.finditer(norm):
        if chain.end() - chain.start() >= 10:  # else under 10 digits: no kind
            found.extend(_chain_candidates(norm, chain, public))
    return found


def _chain_candidates(  # noqa: C901, PLR0915 — one linear pass over the text that must stay linear (see docs/security.md); splitting it would re-scan
    norm: str, chain: re.Match[str], public: list[tuple[int, int]]
) -> list[_Candidate]:
    groups = [m.span() for m in _DIGITS.finditer(norm, chain.start(), chain.end())]
    count = len(groups)
    sizes = [end - start for start, end in groups]
    all_digits = "".join(norm[start:end] for start, end in groups)
    cum = [0]  # cum[k]: digits in groups[:k]
    weak_cum = [0]  # weak_cum[k]: weak gaps among the first k gaps
    for k in range(count):
        cum.append(cum[-1] + sizes[k])
        if k + 1 < count:
            gap = norm[groups[k][1] : groups[k + 1][0]]
            weak_cum.append(weak_cum[-1] + any(ch in _WEAK_SET for ch in gap))
    has_x = chain[0][-1] in "Xx"
    end_of = {total: k for k, total in enumerate(cum)}  # digits before → group
    found: list[_Candidate] = []

    def consider(i: int, j: int, loose: bool, card_shaped: bool) -> None:
        digits = all_digits[cum[i] : cum[j + 1]]
        start, end = groups[i][0], groups[j][1]
        spans = [(digits, end)]
        if has_x and j == count - 1:
            spans.insert(0, (digits + "X", end + 1))
        for candidate_digits, candidate_end in spans:
            if not (loose or card_shaped) and (
                len(candidate_digits) not in _PROVEN_LENGTHS
            ):
                continue
            result = _classify(candidate_digits, loose=loose, card_shaped=card_shaped)
            if result is None:
                continue
            kind, rank, message, value = result
            begin = start
            if (
                kind == "mobile"
                and candidate_digits.startswith("86")
                and norm[start - 1 : start] == "+"
            ):
                begin = start - 1  # report "+86 138…" whole
            if norm[begin - 1 : begin] == "(" and ")" in norm[begin:end]:
                begin -= 1  # "(010)12345678", not "010)12345678"
            if any(s < candidate_end and begin < e for s, e in public):
                continue
            message += _QUOTE + "，请删除。"
            found.append(_Candidate(begin, candidate_end, rank, kind, message, value))
            return  # with X beats without X for the same span

    for i in range(count):
        # Looser kinds: walk on while the groups stay 3+ digits with no weak
        # separator, or stay in fours (a card); both only get worse further on.
        tried: set[int] = set()
        min_gap, fours = 99, sizes[i] == 4
        for j in range(i, count):
            length = cum[j + 1] - cum[i]
            if length > 22:
                break  # no kind accepts this sub-chain or any longer one
            if j >= i + 2:  # groups strictly between i and j are interior
                interior = sizes[j - 1]
                min_gap = min(min_gap, interior)
                fours = fours and interior == 4
            loose = weak_cum[j] == weak_cum[i] and min_gap >= 3
            if j > i and not loose and not fours:
                break
            card_shaped = fours and j > i and sizes[j] <= 4
            if length >= 10 and (loose or card_shaped):
                tried.add(j)
                consider(i, j, loose, card_shaped)
        # Proven kinds have a few exact lengths: jump straight to them.
        mobile_head = _MOBILE_HEAD.match(all_digits, cum[i]) is not None
        for length in _PROVEN_LENGTHS:
            if length != 18 and not mobile_head:
                continue
            after = end_of.get(cum[i] + length)  # groups before the end
            if after is not None and after - 1 not in tried:
                consider(i, after - 1, False, False)
        if has_x and cum[count] - cum[i] == 17 and count - 1 not in tried:
            consider(i, count - 1, False, False)
    return found


# Labelled QQ numbers and WeChat IDs. A WeChat ID is 6–20 letters, digits, "_"
# or "-" starting with a letter; without a colon after the label it must hold
# a digit, "_" or "-", so "微信 WeChat" is left alone.
# The number may be written with a separator between its digits ("QQ 1 2 3 4
# 5 6 7 8 9", "q q 12-345-6789"): each repeat is one optional separator and
# one digit, bounded, so a match never looks further than 24 characters.
_QQ = re.compile(
    r"(?<![A-Za-z])(?:[Qq][ \t]?[Qq]|扣扣|企鹅)(?:号码|号)?[ \t]{0,3}[:=]?[ \t]{0,3}"
    r"([1-9](?:[ \t.\-]?\d){4,11})(?![\d])"
)
_WECHAT = re.compile(
    r"(?<![A-Za-z])"
    r"(?:微[ \t]?信|[Vv][Xx]|[Ww][Xx]|[Vv]信|薇信|威信|[Ww]e[Cc]hat|weixin)"
    r"(?:号码|号|ID|id)?[ \t]{0,3}([:=]?)[ \t]{0,3}"
    r"([A-Za-z][-_A-Za-z0-9]{5,19})(?![-_A-Za-z0-9])"
)


# Every QQ and WeChat label starts with one of these: without one, the two
# patterns need not walk the text at all.
_CONTACT_LABEL_START = re.compile(r"[QqVvWw扣企微薇威]")


def _contact_id_candidates(norm: str) -> list[_Candidate]:
    found: list[_Candidate] = []
    if not _CONTACT_LABEL_START.search(norm):
        return found
    for m in _QQ.finditer(norm):
        number = re.sub(r"\D", "", m.group(1))
        message = f"包含QQ号「{number[:2]}****{number[-2:]}」{_QUOTE}，请删除。"
        found.append(
            _Candidate(m.start(), m.end(), KINDS.index("qq"), "qq", message, number)
        )
    for m in _WECHAT.finditer(norm):
        colon, handle = m.group(1), m.group(2)
        if not colon and not re.search(r"[\d_-]", handle):
            continue
        message = f"包含微信号「{handle[:2]}****{handle[-2:]}」{_QUOTE}，请删除。"
        found.append(
            _Candidate(
                m.start(), m.end(), KINDS.index("wechat"), "wechat", message, handle
            )
        )
    return found


# The lookbehind makes a match start only where a run of address characters
# starts; without it a long run with no "@" costs quadratic time.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)


def _mask_digits_in(text: str) -> str:
    # "13812345678@163.com": the message must not repeat the phone inside.
    return re.sub(r"\d{7,}", lambda m: f"{m[0][:3]}****{m[0][-4:]}", text)


def _email_candidates(norm: str) -> list[_Candidate]:
    if "@" not in norm:
        return []
    rank = KINDS.index("email")
    found = []
    for m in _EMAIL.finditer(norm):
        message = f"包含电子邮箱「{_mask_digits_in(m.group())}」，请删除。"
        found.append(
            _Candidate(m.start(), m.end(), rank, "email", message, m.group().lower())
        )
    return found


# ----------------------------------------------------------------------------
# Precise addresses
# ----------------------------------------------------------------------------

_CN_DIGITS = "零〇一二三四五六七八九十百"
# "12号楼", "3栋", "2单元", "501室", "6楼", "3门", "123弄", "5号院", "18号".
_ADDRESS_ARABIC = re.compile(r"(?<![\d.])\d{1,5}(号楼|号院|号|栋|幢|单元|室|楼|门|弄)")
# "三单元", "二号楼", "五栋"; not "第三单元" (a textbook unit).
_ADDRESS_CN = re.compile(
    rf"(?<![第{_CN_DIGITS}])[{_CN_DIGITS}]{{1,4}}(号楼|栋|幢|单元)"
)
# "王家村3组", "李庄村五社": a village group. "组" alone ("分3组") is not an address.
_VILLAGE_GROUP = re.compile(rf"村\s*(?:\d{{1,3}}|[{_CN_DIGITS}]{{1,3}})\s*(?:组|社)")
_DOOR_PLATE = re.compile(r"门牌(?:号码|号)?[\s:]*[^\s,。;、]{0,20}")
_HAS_NUMBER = re.compile(rf"[\d{_CN_DIGITS}]")

# Context that makes "N号" something other than a house number: a day of the
# month ("3月5号"), a document number ("〔2023〕15号"), an ordinal ("第3号"),
# a metro line, a shoe size, a document ("15号文").
_HAO_NOT_BEFORE = frozenset("月第〕]】)")
_HAO_NOT_AFTER = frozenset("线鞋码文")
# "一栋房子", "两栋楼": a count of buildings, not a building number.
_BUILDING_COUNT_AFTER = frozenset("房楼平瓦土砖住别的")
# Walking left from "村" or a road number to take in the place name stops at
# these: verbs and particles ("家住", "位于") and higher-level units ("XX镇").
_NAME_STOP = frozenset("住在于的是自来从到省市县区镇乡和与及")
_ROAD_SUFFIX = frozenset("路街巷道里弄")


def _extend_left(norm: str, pos: int, limit: int = 6) -> int:
    """Index where the Han place name ending just before ``pos`` begins."""
    start = pos
    while (
        start > 0
        and pos - start < limit
        and "\u4e00" <= norm[start - 1] <= "\u9fff"
        and norm[start - 1] not in _NAME_STOP
    ):
        start -= 1
    return start


def _prev_char(norm: str, pos: int) -> str:
    while pos > 0 and norm[pos - 1].isspace():
        pos -= 1
    return norm[pos - 1] if pos > 0 else ""


def _address_spans(norm: str) -> list[tuple[int, int]]:  # noqa: C901 — one linear pass over the text; the branches are the address markers
    spans: list[tuple[int, int]] = []
    for m in _ADDRESS_ARABIC.finditer(norm):
        unit, after = m.group(1), norm[m.end() : m.end() + 1]
        before = _prev_char(norm, m.start())
        if unit == "号" and (before in _HAO_NOT_BEFORE or after in _HAO_NOT_AFTER):
            continue
        if unit == "单元" and before == "第":
            continue
        if unit == "室" and re.match(r"\d*厅", norm[m.end() :]):
            continue  # "2室1厅" describes a flat's layout, not where it is
        if unit == "门" and "\u4e00" <= after <= "\u9fff":
            continue  # "2门功课"
        start = m.start()
        if (
            (unit.startswith("号") or unit == "弄")
            and before in _ROAD_SUFFIX
            and norm[m.start() - 1] == before
        ):
            start = _extend_left(norm, m.start())  # "人民路12号"
        spans.append((start, m.end()))
    for m in _ADDRESS_CN.finditer(norm):
        if (
            m.group(1) in ("栋", "幢")
            and norm[m.end() : m.end() + 1] in _BUILDING_COUNT_AFTER
        ):
            continue
        spans.append((m.start(), m.end()))
    for m in _VILLAGE_GROUP.finditer(norm):
        spans.append((_extend_left(norm, m.start(), limit=4), m.end()))
    for m in _DOOR_PLATE.finditer(norm):
        if _HAS_NUMBER.search(m.group(), 2):
            spans.append((m.start(), m.end()))
    return _merge_adjacent(norm, spans)


def _merge_adjacent(norm: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join fragments like "3号楼" "2单元" "501室" into one address finding."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        # norm[a:b] is "" when the spans overlap (b <= a), which also merges.
        if merged and re.fullmatch(r"[\s\-]{0,2}", norm[merged[-1][1] : start]):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


# Every address pattern ends in (or, for 门牌, holds) one of these.
_ADDRESS_MARK = re.compile(r"[号栋幢单室楼门弄组社]")


def _address_candidates(norm: str) -> list[_Candidate]:
    if not _ADDRESS_MARK.search(norm):
        return []
    rank = KINDS.index("address")
    return [
        _Candidate(s, e, rank, "address", f"包含详细地址「{_QUOTE}」，请删除。")
        for s, e in _address_spans(norm)
    ]


# ----------------------------------------------------------------------------
# Names, and putting it together
# ----------------------------------------------------------------------------


# Traditional characters are compared as simplified ("歐陽金絲" is "欧阳金丝").
# OpenCC ships its dictionaries inside the wheel: nothing is fetched.
_T2S = opencc.OpenCC("t2s")


def _to_simplified(letters: str) -> str:
    converted = _T2S.convert(letters)
    if len(converted) == len(letters):
        return converted
    # A phrase rule changed the length: convert char by char, keeping positions.
    return "".join(
        c2 if len(c2) == 1 else c for c in letters for c2 in (_T2S.convert(c),)
    )


# A run of letters as ``str.isalpha`` has them: word characters less digits,
# underscore and the few numeric characters that are not letters (〇, ²).
_LETTER_RUN = re.compile(r"[^\W\d_]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _letters(norm: str) -> tuple[str, list[int]]:
    """Only the letters of ``norm`` (Han included), simplified, ASCII lower-cased,
    with their positions: "欧·阳 金丝" and "歐陽金絲" both read "欧阳金丝"."""
    chars: list[str] = []
    positions: list[int] = []
    for m in _LETTER_RUN.finditer(norm):
        run = m.group()
        if run.isalpha():
            chars.append(run)
            positions.extend(range(m.start(), m.end()))
            continue
        for i, ch in enumerate(run, m.start()):  # rare: a numeric character inside
            if ch.isalpha():
                chars.append(ch)
                positions.append(i)
    letters = "".join(chars).translate(_ASCII_LOWER)
    return _to_simplified(letters), positions


@functools.lru_cache(maxsize=4096)  # an org's household names recur on every save
def _name_key(raw: str) -> str:
    return _letters(_fold_text(raw or "")[0])[0]


def _name_candidates(
    folded: tuple[str, Sequence[int]],
    origin: Sequence[int],
    household_names: Iterable[str],
) -> list[_Candidate]:
    """Household names, found in the folded text with numerals left as written
    (names such as 赵六 hold them), reported in the normalized text's positions
    (``origin`` maps those to the original text)."""
    rank = KINDS.index("name")
    keys = {_name_key(raw) for raw in household_names if raw}
    keys = {k for k in keys if len(k) >= 2}  # one character would match everywhere
    if not keys:
        return []
    letters, positions = _letters(folded[0])
    folded_origin = folded[1]
    found: list[_Candidate] = []
    for key in keys:
        at = letters.find(key)
        while at != -1:
            first = folded_origin[positions[at]]
            last = folded_origin[positions[at + len(key) - 1]]
            start = bisect.bisect_left(origin, first)
            end = max(bisect.bisect_right(origin, last), start + 1)
            message = f"包含受助家庭成员姓名「{_QUOTE}」，请删除。"
            found.append(_Candidate(start, end, rank, "name", message, key))
            at = letters.find(key, at + len(key))
    return found


_NUMBER_KINDS = frozenset(
    ("id_number", "mobile", "bank_card", "landline", "long_number", "qq", "wechat")
)
# What numbers plainly typed look like; anything else gets the original quoted.
_PLAIN_NUMBER = re.compile(r"[0-9Xx +\-()]*")


def _masked_original(excerpt: str) -> str:
    """``一三九一二三四五六七八`` → ``一三九…五六七八``: enough to find it."""
    digitish = [i for i, ch in enumerate(excerpt) if ch.isdigit() or ch in _CN_DIGIT]
    if len(digitish) < 8:
        masked = excerpt[:2] + "…" + excerpt[-2:] if len(excerpt) > 4 else "…"
    else:
        masked = excerpt[: digitish[2] + 1] + "…" + excerpt[digitish[-4] :]
    return " ".join(masked.split())


def _allowed_values(allowed: Iterable[str]) -> set[str]:
    """Canonical forms of the numbers and addresses the author may publish."""
    values: set[str] = set()
    for raw in allowed:
        if not raw or not isinstance(raw, str):
            continue
        values.add(raw.strip().lower())
        with contextlib.suppress(InvalidIdentifier):
            values.add(validate_phone(raw).replace("-", ""))
    return values


def scan(
    text: str, household_names: Iterable[str] = (), allowed: Iterable[str] = ()
) -> list[Finding]:
    """Find personal data in public ``text``; an empty list means it is clean.

    Looks for (after the normalisation described in the module docstring):
    citizen ID numbers (checksum-valid, and any 15- or 18-digit run or 17
    digits + X, since a mistyped ID is still someone's ID), mainland mobiles
    (also ``+86``/``0086``), landlines (``0\\d{2,3}-?\\d{7,8}``), Luhn-valid
    16–19-digit bank cards, any other run of 15+ digits, e-mail addresses,
    labelled QQ numbers and WeChat IDs, precise addresses (``12号``, ``3号楼``,
    ``5栋``, ``三单元``, ``501室``, ``6楼``, ``3门``, ``123弄``, ``王家村3组``,
    ``门牌…``), and each of ``household_names`` (names under 2 letters are
    ignored; spacing, punctuation and traditional characters do not hide one).

    ``allowed`` lists phone numbers and e-mail addresses the author may publish
    (an organization's own public contact): those are not findings. A valid
    统一社会信用代码 (an organization's public code) is not flagged either.

    Findings are sorted by position and never overlap; where candidates
    overlap, the most specific kind (order of :data:`KINDS`) and then the
    longer one wins.
    """
    text = text or ""
    folded = _fold_text(text)
    norm, origin = _read_numerals(*folded)
    candidates = (
        _email_candidates(norm)
        + _number_candidates(norm)
        + _contact_id_candidates(norm)
        + _address_candidates(norm)
        + _name_candidates(folded, origin, household_names)
    )
    permitted = _allowed_values(allowed)
    if permitted:
        candidates = [c for c in candidates if c.value not in permitted]
    # Greedy by preference; `chosen` stays sorted by start and free of
    # overlaps, so one bisect finds the only two neighbours that could clash.
    chosen: list[_Candidate] = []
    starts: list[int] = []
    for cand in sorted(candidates, key=lambda c: (c.rank, c.start - c.end, c.start)):
        at = bisect.bisect_right(starts, cand.start)
        if at > 0 and chosen[at - 1].end > cand.start:
            continue
        if at < len(chosen) and chosen[at].start < cand.end:
            continue
        chosen.insert(at, cand)
        starts.insert(at, cand.start)
    findings = []
    for cand in chosen:
        start, end = origin[cand.start], origin[cand.end - 1] + 1
        excerpt = text[start:end]
        if cand.kind in _NUMBER_KINDS:
            if cand.kind in ("qq", "wechat") or _PLAIN_NUMBER.fullmatch(excerpt):
                quote = ""
            else:
                quote = f"（原文写作「{_masked_original(excerpt)}」）"
        else:
            quote = " ".join(excerpt.split())
        message = cand.message.replace(_QUOTE, quote)
        findings.append(Finding(cand.kind, excerpt, start, end, message))
    return findings


def scan_fields(
    fields: Sequence[tuple[str, str, str]],
    household_names: Iterable[str] = (),
    allowed: Iterable[str] = (),
) -> dict[str, str]:
    """Scan the public fields of one object together; ``fields`` holds
    ``(key, label, text)``. Returns ``{key: message}`` for each field holding
    personal data (empty when all are clean).

    The texts are joined by line breaks before scanning, so a phone number
    begun in the title and finished in the description is still one number;
    such a finding is reported on every field it touches, naming the others.
    """
    parts: list[tuple[str, str, int, int]] = []
    pieces: list[str] = []
    offset = 0
    for key, label, text in fields:
        text = text or ""
        parts.append((key, label, offset, offset + len(text)))
        pieces.append(text)
        offset += len(text) + 1
    names = list(household_names)
    joined = "\n".join(pieces)
    per_key: dict[str, list[Finding]] = {}
    others: dict[str, list[str]] = {}
    for finding in scan(joined, names, allowed):
        touched = [
            (key, label)
            for key, label, start, end in parts
            if finding.start < end and start < finding.end
        ]
        for key, _label in touched:
            per_key.setdefault(key, []).append(finding)
            for _other, other_label in touched:
                if _other != key and other_label not in others.setdefault(key, []):
                    others[key].append(other_label)
    messages: dict[str, str] = {}
    for key, label, _start, _end in parts:
        if key not in per_key or key in messages:
            continue
        message = f"{label}：{findings_message(per_key[key])}"
        if others.get(key):
            joined_labels = "、".join(f"「{o}」" for o in others[key])
            message = (
                message.removesuffix("。")
                + f"；这段内容与{joined_labels}中的文字连在一起。"
            )
        messages[key] = message
    return messages


def findings_message(findings: list[Finding]) -> str:
    """Return one Chinese sentence telling the author what to remove.

    ``""`` for no findings; a finding's own message when there is one;
    otherwise ``公开内容包含个人信息，请删除：身份证号码「…」；手机号码「…」。``
    (repeated identical items are listed once).
    """
    if not findings:
        return ""
    if len(findings) == 1:
        return findings[0].message
    items: list[str] = []
    for finding in findings:
        item = finding.message.removeprefix("包含").removesuffix("，请删除。")
        if item not in items:
            items.append(item)
    return "公开内容包含个人信息，请删除：" + "；".join(items) + "。"
