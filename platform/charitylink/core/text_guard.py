"""Privacy guard for public text (rule 5, docs/product.md; docs/security.md).

Public need text is scanned on save (and again at approval and render): an ID
number, phone number, bank card, e-mail address, precise address or the
household's own name in it is refused with a message pointing at the offending
text. The scan is deliberately one-sided: a false alarm costs an author one
edit, a miss publishes a family's identity. It still must not fire on the
amounts, dates and counts every need contains (``需求金额 12000 元``,
``2024年3月``, ``3口之家``), or authors learn to ignore it.

Obfuscation is undone before matching: NFKC folds full-width digits and
letters, invisible format characters (zero-width spaces etc.) are dropped, and
digit groups split by spaces, hyphens or parentheses are read as one number.
Positions in :class:`Finding` refer to the caller's original text.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from charitylink.core.identifiers import (
    InvalidIdentifier,
    luhn_valid,
    validate_id_number,
    validate_uscc,
)

__all__ = ["KINDS", "Finding", "findings_message", "scan"]

# Kinds in order of preference when two findings overlap: the most specific
# (checksum-proven) first, the vaguest last.
KINDS: tuple[str, ...] = (
    "email",
    "id_number",
    "mobile",
    "bank_card",
    "landline",
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
    message: str


# An unproven 15/18-digit run is an "id_number" finding, ranked just below
# landline (a checksum-proven card or a well-formed phone explains it better).
_RANK_SHAPED_ID = KINDS.index("landline") + 0.5


def _normalize(text: str) -> tuple[str, list[int]]:
    """NFKC ``text`` char by char and drop ``Cf`` chars, remembering origins.

    Returns the normalized string and, for each of its characters, the index
    of the original character it came from.
    """
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if ch.isascii():
            out.append(ch)
            origin.append(i)
            continue
        if unicodedata.category(ch) == "Cf":
            continue
        folded = unicodedata.normalize("NFKC", ch)
        out.append(folded)
        origin.extend([i] * len(folded))
    return "".join(out), origin


# ----------------------------------------------------------------------------
# Numbers: ID numbers, phones, cards
# ----------------------------------------------------------------------------

# A "chain" is digit groups joined by 1–3 separator characters, optionally
# ending in the X of an ID number. Sub-chains aligned to group boundaries are
# classified on their own, so "电话 138 1234 5678 需 12000" finds the phone and
# leaves the amount alone.
_SEP = r"[ \t\-\u2010-\u2015\u2212()]{1,3}"
_CHAIN = re.compile(rf"(?<!\d)\d+(?:{_SEP}\d+)*(?:[Xx](?![A-Za-z0-9]))?")
_DIGITS = re.compile(r"\d+")
_MOBILE = re.compile(r"(?:0086|86)?1[3-9]\d{9}")
# Codes printed next to the claiming organization's name are public; a valid
# 统一社会信用代码 is not a person's number.
_USCC_TOKEN = re.compile(r"(?<![A-Za-z0-9])[0-9A-Za-z]{18}(?![A-Za-z0-9])")


def _mask_long(digits: str) -> str:
    return f"{digits[:6]}…{digits[-4:]}"


def _is_id(code: str) -> bool:
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


def _classify(digits: str, min_gap_group: int) -> tuple[str, float, str] | None:
    """Classify one sub-chain's digits (maybe ending in X): (kind, rank, message).

    ``min_gap_group`` is the shortest interior group of the sub-chain. Checksum
    or pattern-proven kinds tolerate 2-digit groups (``138 12 34 56 78``); the
    looser kinds need groups of 3+, which keeps "2024-03-15 2024-12-31" (a date
    range, 16 digits) from reading as one long number.
    """
    rank = KINDS.index
    if min_gap_group >= 2:
        if len(digits) == 18 and _is_id(digits):
            return (
                "id_number",
                rank("id_number"),
                f"包含身份证号码「{_mask_long(digits)}」",
            )
        if _MOBILE.fullmatch(digits):
            mobile = digits[-11:]
            return (
                "mobile",
                rank("mobile"),
                f"包含手机号码「{mobile[:3]}****{mobile[-4:]}」",
            )
    if min_gap_group < 3:
        return None
    if digits.endswith("X"):
        if len(digits) == 18:
            return (
                "id_number",
                _RANK_SHAPED_ID,
                f"包含疑似身份证号码「{_mask_long(digits)}」",
            )
        return None
    if 16 <= len(digits) <= 19 and luhn_valid(digits):
        return "bank_card", rank("bank_card"), f"包含银行卡号「{_mask_long(digits)}」"
    landline = _landline_parts(digits)
    if landline:
        area, local = landline
        masked = "*" * (len(local) - 2) + local[-2:]
        return "landline", rank("landline"), f"包含固定电话「{area}-{masked}」"
    if len(digits) in (15, 18):
        # A first-generation ID, or an ID with a wrong check digit: still a
        # person's number.
        return (
            "id_number",
            _RANK_SHAPED_ID,
            f"包含疑似身份证号码「{_mask_long(digits)}」",
        )
    if len(digits) >= 15:
        return (
            "long_number",
            rank("long_number"),
            f"包含疑似证件号或账号「{_mask_long(digits)}」",
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
        groups = [
            (m.start() + chain.start(), m.end() + chain.start())
            for m in _DIGITS.finditer(chain.group())
        ]
        has_x = chain.group()[-1] in "Xx"
        for i in range(len(groups)):
            digits, min_gap = "", 99
            for j in range(i, len(groups)):
                if j >= i + 2:  # groups strictly between i and j are interior
                    min_gap = min(min_gap, groups[j - 1][1] - groups[j - 1][0])
                if min_gap < 2 or len(digits) > 22:
                    break  # no kind accepts this sub-chain or any longer one
                digits += norm[groups[j][0] : groups[j][1]]
                if len(digits) < 10:
                    continue  # shortest kind: a 10-digit landline
                start, end = groups[i][0], groups[j][1]
                spans = [(digits, end)]
                if has_x and j == len(groups) - 1:
                    spans.insert(0, (digits + "X", end + 1))
                for candidate_digits, candidate_end in spans:
                    result = _classify(candidate_digits, min_gap)
                    if result is None:
                        continue
                    kind, rank, message = result
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
                    found.append(
                        _Candidate(
                            begin, candidate_end, rank, kind, message + "，请删除。"
                        )
                    )
                    break  # with X beats without X for the same span
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
    rank = KINDS.index("email")
    found = []
    for m in _EMAIL.finditer(norm):
        message = f"包含电子邮箱「{_mask_digits_in(m.group())}」，请删除。"
        found.append(_Candidate(m.start(), m.end(), rank, "email", message))
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


def _address_spans(norm: str) -> list[tuple[int, int]]:
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


def _address_candidates(norm: str) -> list[_Candidate]:
    rank = KINDS.index("address")
    return [
        _Candidate(s, e, rank, "address", f"包含详细地址「{norm[s:e]}」，请删除。")
        for s, e in _address_spans(norm)
    ]


# ----------------------------------------------------------------------------
# Names, and putting it together
# ----------------------------------------------------------------------------


def _name_candidates(norm: str, household_names: Iterable[str]) -> list[_Candidate]:
    rank = KINDS.index("name")
    found: list[_Candidate] = []
    for raw in household_names:
        name, _ = _normalize(raw or "")
        name = "".join(name.split())
        if len(name) < 2:
            continue  # a one-character "name" would match everywhere
        # Spaces between the characters ("张 三") do not hide a name.
        pattern = re.compile(r"\s*".join(map(re.escape, name)), re.IGNORECASE)
        for m in pattern.finditer(norm):
            message = f"包含受助家庭成员姓名「{m.group()}」，请删除。"
            found.append(_Candidate(m.start(), m.end(), rank, "name", message))
    return found


def scan(text: str, household_names: Iterable[str] = ()) -> list[Finding]:
    """Find personal data in public ``text``; an empty list means it is clean.

    Looks for (after NFKC and removing invisible characters): citizen ID numbers
    (checksum-valid, and any 15- or 18-digit run or 17 digits + X, since a
    mistyped ID is still someone's ID), mainland mobiles (also ``+86``/``0086``,
    spaced, hyphenated, full-width), landlines (``0\\d{2,3}-?\\d{7,8}``),
    Luhn-valid 16–19-digit bank cards, any other run of 15+ digits, e-mail
    addresses, precise addresses (``12号``, ``3号楼``, ``5栋``, ``三单元``,
    ``501室``, ``6楼``, ``3门``, ``123弄``, ``王家村3组``, ``门牌…``), and each of
    ``household_names`` verbatim (names under 2 characters are ignored).

    A valid 统一社会信用代码 (an organization's public code) is not flagged.
    Findings are sorted by position and never overlap; where candidates
    overlap, the most specific kind (order of :data:`KINDS`) and then the
    longer one wins.
    """
    norm, origin = _normalize(text or "")
    candidates = (
        _email_candidates(norm)
        + _number_candidates(norm)
        + _address_candidates(norm)
        + _name_candidates(norm, household_names)
    )
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
        findings.append(Finding(cand.kind, text[start:end], start, end, cand.message))
    return findings


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
