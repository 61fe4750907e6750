"""Encryption of a need's private half at rest, household keys, display masks.

One secret, ``DATA_KEY`` (32 random bytes, urlsafe-base64, kept outside the
database), feeds HKDF-SHA256 to derive two independent keys: one for AES-256-GCM
encryption of private fields, one for the household key (HMAC-SHA256 of the
canonical ID number). A leak of the database alone therefore reveals neither
the private text nor, by brute force over birth dates and sequence numbers,
which ID number a household key belongs to.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from charitylink.core.identifiers import (
    normalize_code,
    normalize_mobile,
    validate_phone,
)

__all__ = [
    "DataCipher",
    "generate_data_key",
    "household_key_hmac",
    "mask_id_number",
    "mask_phone",
]

_KEY_VERSION = "v1"
_NONCE_BYTES = 12  # the AES-GCM standard nonce size; random per message
_TAG_BYTES = 16
_INFO_ENCRYPT = b"charitylink-encrypt-v1"
_INFO_HOUSEHOLD = b"charitylink-household-v1"
_URLSAFE_B64 = re.compile(r"[A-Za-z0-9_-]+={0,2}")


def generate_data_key() -> str:
    """Return a fresh ``DATA_KEY``: 32 random bytes, urlsafe-base64 (44 chars)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def _b64decode(text: str) -> bytes:
    # b64decode without validate=True silently skips junk characters, which
    # would let a corrupted key or token decode to *something*.
    if not _URLSAFE_B64.fullmatch(text):
        raise binascii.Error("not urlsafe base64")
    return base64.b64decode(
        text + "=" * (-len(text) % 4), altchars=b"-_", validate=True
    )


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def household_key_hmac(pepper: bytes, id_number: str) -> str:
    """Return hex HMAC-SHA256 of the canonical ID number under ``pepper``.

    ``id_number`` is normalized with :func:`normalize_code` first (so ``x`` and
    ``X``, spaces and full-width digits give the same key); validating it is
    the caller's job. Keyed, unlike a plain SHA-256: ID numbers have so little
    entropy once region and birth date are known that an unkeyed hash is
    reversed with about a thousand guesses.
    """
    message = normalize_code(id_number).encode("utf-8")
    return hmac.new(pepper, message, hashlib.sha256).hexdigest()


class DataCipher:
    """Encrypts private fields and computes household keys from one data key.

    Tokens look like ``"v1:<urlsafe-base64(nonce ‖ ciphertext ‖ tag)>"``; the
    ``v1`` names the key version (and is bound into the ciphertext as
    associated data), leaving room to rotate keys later. Every encryption uses
    a fresh random nonce, so equal plaintexts give different tokens.
    """

    def __init__(self, data_key: str) -> None:
        """Derive the two working keys from ``data_key``.

        Raises ``ValueError`` unless ``data_key`` is urlsafe base64 of exactly
        32 bytes (as made by :func:`generate_data_key`).
        """
        try:
            master = _b64decode(data_key.strip()) if isinstance(data_key, str) else b""
        except (binascii.Error, ValueError):
            master = b""
        if len(master) != 32:
            raise ValueError(
                "DATA_KEY 无效：应为 32 字节随机数的 urlsafe-base64 编码"
                "（可用 charitylink.core.crypto.generate_data_key() 生成）"
            )
        self._aead = AESGCM(_derive(master, _INFO_ENCRYPT))
        self._household_pepper = _derive(master, _INFO_HOUSEHOLD)

    def __repr__(self) -> str:
        # Never let a key reach a log or a traceback through repr().
        return f"<DataCipher {_KEY_VERSION}>"

    def encrypt(self, plaintext: str) -> str:
        """Encrypt ``plaintext`` and return an ASCII token ``"v1:…"``."""
        if not isinstance(plaintext, str):
            raise TypeError("plaintext must be a str")
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(
            nonce, plaintext.encode("utf-8"), _KEY_VERSION.encode()
        )
        return f"{_KEY_VERSION}:{_b64encode(nonce + sealed)}"

    def decrypt(self, token: str) -> str:
        """Return the plaintext of a token made by :meth:`encrypt`.

        Raises ``ValueError`` if the token is malformed, has an unknown key
        version, was made with another key, or was altered in any way.
        """
        version, sep, body = (
            (token or "").partition(":") if isinstance(token, str) else ("", "", "")
        )
        if not sep or version != _KEY_VERSION:
            raise ValueError("密文格式无效或密钥版本未知")
        try:
            raw = _b64decode(body)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("密文格式无效") from exc
        # Only the canonical encoding is accepted: base64 ignores the spare
        # bits of the last character, so two tokens could otherwise decode alike.
        if len(raw) < _NONCE_BYTES + _TAG_BYTES or _b64encode(raw) != body:
            raise ValueError("密文格式无效")
        try:
            plain = self._aead.decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], version.encode()
            )
        except InvalidTag as exc:
            raise ValueError("密文无法解密：密钥不符或数据已被篡改") from exc
        return plain.decode("utf-8")

    def encrypt_json(self, obj: Any) -> str:
        """Encrypt any JSON-serializable object (see :meth:`encrypt`)."""
        return self.encrypt(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))

    def decrypt_json(self, token: str) -> Any:
        """Decrypt a token made by :meth:`encrypt_json` and parse the JSON."""
        return json.loads(self.decrypt(token))

    def household_key(self, id_number: str) -> str:
        """Return the household key (64 hex chars) for an ID number.

        Same as :func:`household_key_hmac` with the HKDF-derived household
        pepper; equal ID numbers (after normalization) give equal keys, which
        is what duplicate-household detection compares.
        """
        return household_key_hmac(self._household_pepper, id_number)


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
        master
    )


def mask_id_number(id_number: str) -> str:
    """Mask an ID number for staff screens: ``110105********002X``.

    Keeps the first 6 (the region) and the last 4 characters; shorter values
    keep less (never raises, since stored data may be malformed).
    """
    code = normalize_code(id_number or "")
    n = len(code)
    if n <= 4:
        return "*" * n
    if n <= 10:
        return "*" * (n - 4) + code[-4:]
    return code[:6] + "*" * (n - 10) + code[-4:]


def mask_phone(phone: str) -> str:
    """Mask a phone number for staff screens.

    Mobiles: ``13812345678`` → ``138****5678``. Landlines keep the area code
    and the last 2 digits: ``010-12345678`` → ``010-******78``. Anything else
    keeps only its last 2 characters (never raises).
    """
    mobile = normalize_mobile(phone or "")
    if mobile:
        return f"{mobile[:3]}****{mobile[-4:]}"
    try:
        area, local = validate_phone(phone or "").split("-")
    except ValueError:
        code = normalize_code(phone or "")
        return "*" * len(code) if len(code) <= 4 else "*" * (len(code) - 2) + code[-2:]
    return f"{area}-{'*' * (len(local) - 2)}{local[-2:]}"
