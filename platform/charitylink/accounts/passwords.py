"""Password hashing (argon2id via argon2-cffi) and the password policy."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from werkzeug.security import check_password_hash
from zxcvbn import zxcvbn

from charitylink.core.i18n import _

# argon2id with the library's recommended parameters (t=3, m=64 MiB, p=4). The test
# suite sets CHARITYLINK_FAST_HASH=1 for cheap hashes; production never does.
_hasher = (
    PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    if os.environ.get("CHARITYLINK_FAST_HASH") == "1"
    else PasswordHasher()
)

# Hashes made by werkzeug.security.generate_password_hash (older deployments).
_LEGACY_PREFIXES = ("pbkdf2:", "scrypt:")

MIN_LENGTH = 10
MAX_LENGTH = 128
# zxcvbn's score (0–4) a new password must reach: 3 is "safely unguessable"
# against an offline attack on a slow hash, which is what argon2id gives us.
MIN_SCORE = 3
# zxcvbn's matching grows steeply with length (a random 128-character string
# takes tens of seconds): only this many leading characters are scored. A
# password that long whose start is weak is refused, which costs nobody much.
SCORED_LENGTH = 32
# zxcvbn's dictionaries are English: these pinyin words and number phrases that
# Chinese users build passwords from are added to them (我爱你, 一生一世, 中国, 宝贝…).
CHINESE_COMMON = (
    "woaini",
    "aini",
    "5201314",
    "1314",
    "520",
    "woaini1314",
    "zhongguo",
    "nihao",
    "baobei",
    "laopo",
    "laogong",
    "wanan",
)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Check a password against an argon2 hash, or a legacy werkzeug hash
    (``pbkdf2:`` / ``scrypt:``) from an older import; those are upgraded at the
    next login (``needs_rehash``)."""
    if not password_hash or not isinstance(password, str):
        return False
    if password_hash.startswith(_LEGACY_PREFIXES):
        try:
            return check_password_hash(password_hash, password)
        except (ValueError, TypeError):
            return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True for a legacy or weaker-than-current hash (rehash after a good login)."""
    if not password_hash.startswith("$argon2id$"):
        return True
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def _user_words(user_inputs: Iterable[str | None]) -> list[str]:
    """The user's own words for zxcvbn: each input whole, an e-mail's local
    part, and each one's words, apart and run together (``liu.chunhui``,
    ``liu``, ``chunhui``, ``liuchunhui``)."""
    words: list[str] = []
    for value in user_inputs:
        if not isinstance(value, str) or not value.strip():
            continue
        value = value.strip().lower()
        words.append(value)
        for text in {value, value.split("@", 1)[0]}:
            parts = [part for part in re.split(r"[\W_]+", text) if len(part) >= 2]
            words.append(text)
            words.extend(parts)
            words.append("".join(parts))
    return list(dict.fromkeys(w for w in words if w))


def password_problem(
    password: str, user_inputs: Iterable[str | None] = ()
) -> str | None:
    """The policy (ASVS 2.1): length 10–128, and not guessable: zxcvbn (a
    maintained strength estimator: common passwords, keyboard runs, l33t
    substitutions, dates, repeats) must score it at least ``MIN_SCORE``, with
    the user's own e-mail, name and org name counted as known words. No
    composition rules, so a long Chinese passphrase is fine. None if fine."""
    if len(password) < MIN_LENGTH:
        return _("密码至少需要 %(n)d 个字符。", n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("密码不能超过 %(n)d 个字符。", n=MAX_LENGTH)
    own = _user_words(user_inputs)
    result = zxcvbn(
        password[:SCORED_LENGTH],
        user_inputs=[*own, *CHINESE_COMMON],
        max_length=128,
    )
    if result["score"] >= MIN_SCORE:
        return None
    if any(
        m.get("dictionary_name") == "user_inputs" and m.get("matched_word") in own
        for m in result["sequence"]
    ):
        return _(
            "密码太容易猜：其中包含您的邮箱、姓名或机构名称。"
            "请换一个与个人信息无关的密码，例如几个不相关的词组合。"
        )
    return _(
        "这个密码太常见或太容易猜（常用密码、键盘顺序、简单替换、年份或重复字符"
        "都很容易被破解）。请换一个更长、不常见的密码，例如几个不相关的词组合。"
    )
