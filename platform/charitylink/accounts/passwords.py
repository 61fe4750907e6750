"""Password hashing (argon2id via argon2-cffi) and the password policy."""

from __future__ import annotations

import os

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from werkzeug.security import check_password_hash

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
COMMON_PASSWORDS = frozenset(
    [
        "1234567890",
        "12345678910",
        "123456789a",
        "1qaz2wsx3edc",
        "qwertyuiop",
        "password1",
        "password12",
        "password123",
        "passw0rd123",
        "a123456789",
        "abc1234567",
        "abcd123456",
        "iloveyou12",
        "qwerty1234",
        "1q2w3e4r5t",
        "1q2w3e4r5t6y",
        "zaq12wsxcx",
        "woaini1314",
        "woaini520",
        "aa12345678",
        "a1234567890",
        "admin12345",
        "administrator",
        "0123456789",
        "9876543210",
        "1111111111",
        "0000000000",
        "8888888888",
        "5201314520",
        "1234554321",
        "1234512345",
        "qwe1234567",
        "asdfghjkl1",
        "zxcvbnm123",
        "12qwaszxcv",
        "charitylink",
        "changeme123",
        "welcome123",
        "letmein123",
        "p@ssw0rd12",
    ]
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


def password_problem(password: str) -> str | None:
    """The policy (ASVS 2.1): length 10–128, not a common password. None if fine."""
    if len(password) < MIN_LENGTH:
        return _("密码至少需要 %(n)d 个字符。", n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("密码不能超过 %(n)d 个字符。", n=MAX_LENGTH)
    if password.lower() in COMMON_PASSWORDS or len(set(password)) <= 2:
        return _("这个密码太常见，容易被猜中，请换一个。")
    return None
