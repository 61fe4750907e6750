"""Encryption of the private half, household keys and display masks."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from charitylink.core.crypto import (
    DataCipher,
    generate_data_key,
    household_key_hmac,
    mask_id_number,
    mask_phone,
)

KEY = generate_data_key()


@pytest.fixture(scope="module")
def cipher() -> DataCipher:
    return DataCipher(KEY)


def test_household_key_hmac_matches_the_notes_vector() -> None:
    assert household_key_hmac(b"test-pepper-key", "11010519491231002X") == (
        "b6abe2884a4d1ffbf7a481f483eb5c6c73e6a0b4c4bebcb37129d86b95e35c6c"
    )


def test_household_key_hmac_normalizes_the_id_number() -> None:
    expected = household_key_hmac(b"test-pepper-key", "11010519491231002X")
    assert household_key_hmac(b"test-pepper-key", "110105 19491231 002x") == expected
    assert household_key_hmac(b"other-pepper", "11010519491231002X") != expected


def test_household_key_is_keyed_not_a_plain_hash(cipher: DataCipher) -> None:
    key = cipher.household_key("11010519491231002X")
    assert len(key) == 64 and int(key, 16) >= 0
    assert key != hashlib.sha256(b"11010519491231002X").hexdigest()
    assert key == cipher.household_key("11010519491231002x")
    assert key == DataCipher(KEY).household_key("11010519491231002X")
    assert key != DataCipher(generate_data_key()).household_key("11010519491231002X")


def test_household_key_is_independent_of_the_raw_data_key(cipher: DataCipher) -> None:
    raw = base64.urlsafe_b64decode(KEY)
    naive = hmac.new(raw, b"11010519491231002X", hashlib.sha256).hexdigest()
    assert cipher.household_key("11010519491231002X") != naive


def test_generate_data_key_is_urlsafe_base64_of_32_bytes() -> None:
    key = generate_data_key()
    assert len(base64.urlsafe_b64decode(key)) == 32
    assert key != generate_data_key()


@pytest.mark.parametrize(
    "plaintext", ["", "张三 13812345678", "x" * 10_000, "emoji 🙂 and \u200b"]
)
def test_encrypt_decrypt_round_trip(cipher: DataCipher, plaintext: str) -> None:
    token = cipher.encrypt(plaintext)
    assert token.startswith("v1:")
    assert token.isascii()
    assert cipher.decrypt(token) == plaintext


def test_equal_plaintexts_give_different_tokens(cipher: DataCipher) -> None:
    assert cipher.encrypt("张三") != cipher.encrypt("张三")


def test_token_does_not_contain_the_plaintext(cipher: DataCipher) -> None:
    token = cipher.encrypt("13812345678")
    assert "13812345678" not in token
    assert "13812345678" not in base64.urlsafe_b64decode(token[3:] + "==").decode(
        "latin-1"
    )


@pytest.mark.parametrize("replacement", ["A", "B", "_"])
def test_any_changed_character_is_detected(
    cipher: DataCipher, replacement: str
) -> None:
    for _ in range(5):  # several tokens, so the last character varies too
        token = cipher.encrypt("11010519491231002X")
        body = token[3:]
        for i in range(len(body)):
            if body[i] == replacement:
                continue
            tampered = "v1:" + body[:i] + replacement + body[i + 1 :]
            with pytest.raises(ValueError):
                cipher.decrypt(tampered)


def test_truncated_or_extended_tokens_are_detected(cipher: DataCipher) -> None:
    token = cipher.encrypt("secret")
    for bad in (token[:-1], token[:-4], token + "A", token + "AAAA", token + "="):
        with pytest.raises(ValueError):
            cipher.decrypt(bad)


@pytest.mark.parametrize(
    "token", ["", "v1:", "v1:abc", "v2:AAAA", "no-colon", "v1:!!!!", "v1:" + "A" * 40]
)
def test_malformed_tokens_raise_value_error(cipher: DataCipher, token: str) -> None:
    with pytest.raises(ValueError):
        cipher.decrypt(token)


def test_another_key_cannot_decrypt(cipher: DataCipher) -> None:
    token = cipher.encrypt("secret")
    with pytest.raises(ValueError, match="密钥不符或数据已被篡改"):
        DataCipher(generate_data_key()).decrypt(token)


def test_key_without_padding_is_accepted() -> None:
    token = DataCipher(KEY).encrypt("x")
    assert DataCipher(KEY.rstrip("=")).decrypt(token) == "x"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "short",
        base64.urlsafe_b64encode(b"x" * 16).decode(),
        base64.urlsafe_b64encode(b"x" * 33).decode(),
        "!" * 44,
        base64.b64encode(b"\xfb" * 32).decode(),  # standard alphabet "+/"
    ],
)
def test_bad_data_keys_are_refused_clearly(bad: str) -> None:
    with pytest.raises(ValueError, match="DATA_KEY"):
        DataCipher(bad)


def test_repr_does_not_leak_the_key(cipher: DataCipher) -> None:
    assert KEY not in repr(cipher)


def test_json_round_trip(cipher: DataCipher) -> None:
    obj = {"name": "张三", "phone": "13812345678", "members": [1, 2], "note": None}
    token = cipher.encrypt_json(obj)
    assert token.startswith("v1:")
    assert cipher.decrypt_json(token) == obj


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("11010519491231002X", "110105********002X"),
        ("11010519491231002x", "110105********002X"),
        ("110105491231002", "110105*****1002"),
        ("1234", "****"),
        ("", ""),
    ],
)
def test_mask_id_number(raw: str, masked: str) -> None:
    assert mask_id_number(raw) == masked


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("13812345678", "138****5678"),
        ("+86 138-1234-5678", "138****5678"),
        ("010-12345678", "010-******78"),
        ("0755 8888999", "0755-*****99"),
        ("12345", "***45"),
        ("", ""),
    ],
)
def test_mask_phone(raw: str, masked: str) -> None:
    assert mask_phone(raw) == masked
