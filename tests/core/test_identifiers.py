"""Validators for USCC, citizen ID numbers, phones and bank cards.

The vectors and where they come from: docs/security.md, "Validators".
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charitylink.core.identifiers import (
    AGE_BANDS,
    ID_CHECK_CHARS,
    USCC_ALPHABET,
    InvalidIdentifier,
    age_band,
    birth_date_from_id,
    id_check_char,
    is_civil_affairs_uscc,
    is_valid_uscc,
    luhn_valid,
    normalize_code,
    normalize_mobile,
    uscc_check_char,
    validate_id_number,
    validate_phone,
    validate_uscc,
)

TODAY = date(2025, 6, 1)
# ASCII digits and capitals to their full-width forms (U+FF10...).
FULL_WIDTH = {c: c - 0x20 + 0xFF00 for c in range(0x30, 0x5B)}

# --------------------------------------------------------------------------
# normalize_code
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("９１１１ ００００", "91110000"),  # full-width digits and ideographic space
        ("ab-cd", "ABCD"),
        ("12\u200b34\u200c56\u200d78\ufeff", "12345678"),  # zero-width characters
        (" 12\t34\n", "1234"),
        ("12\u201334\u221256", "123456"),  # en dash, minus sign
        ("", ""),
    ],
)
def test_normalize_code_folds_width_strips_separators_and_uppercases(
    raw: str, expected: str
) -> None:
    assert normalize_code(raw) == expected


# --------------------------------------------------------------------------
# 统一社会信用代码
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "91110000600037341L",
        "91110108551385082Q",
        "5311000050000012XN",
        "51440300MJL000016M",
        "52320102501234569R",
    ],
)
def test_valid_uscc_vectors_are_accepted_unchanged(code: str) -> None:
    assert validate_uscc(code) == code
    assert is_valid_uscc(code)


@pytest.mark.parametrize(
    "raw",
    [
        "91110000600037341l",
        "9111 0000 6000 3734 1L",
        "91110000600037341L".translate(FULL_WIDTH),
    ],
)
def test_uscc_is_valid_after_normalization_including_lowercase(raw: str) -> None:
    assert validate_uscc(raw) == "91110000600037341L"


def test_uscc_wrong_check_character_names_the_expected_one() -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        validate_uscc("91110000600037341M")
    assert str(exc.value) == "统一社会信用代码校验位错误，应为「L」"


@pytest.mark.parametrize("bad", ["I", "O", "S", "V", "Z"])
def test_uscc_letters_outside_the_alphabet_are_named(bad: str) -> None:
    code = "9111000060003734" + bad + "L"
    with pytest.raises(InvalidIdentifier) as exc:
        validate_uscc(code)
    assert str(exc.value) == f"统一社会信用代码含有不允许的字符「{bad}」"


def test_uscc_notes_vector_with_i_is_refused() -> None:
    with pytest.raises(InvalidIdentifier, match="「I」"):
        validate_uscc("9111000060003734IL")


@pytest.mark.parametrize(
    ("code", "length"), [("91110000600037341", 17), ("91110000600037341LL", 19)]
)
def test_uscc_wrong_length_reports_the_length(code: str, length: int) -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        validate_uscc(code)
    assert str(exc.value) == f"统一社会信用代码长度应为18位，当前为{length}位"
    assert not is_valid_uscc(code)


def test_uscc_empty_input_asks_for_a_code() -> None:
    with pytest.raises(InvalidIdentifier, match="请输入"):
        validate_uscc("  ")


def test_civil_affairs_prefixes_are_recognised() -> None:
    assert is_civil_affairs_uscc("5311000050000012XN")
    assert not is_civil_affairs_uscc("91110000600037341L")


_USCC_BODY = st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17)


@settings(max_examples=200, deadline=None)
@given(_USCC_BODY)
def test_uscc_body_plus_computed_check_is_always_valid(body: str) -> None:
    assert is_valid_uscc(body + uscc_check_char(body))


@settings(max_examples=200, deadline=None)
@given(_USCC_BODY, st.integers(0, 17), st.sampled_from(USCC_ALPHABET))
def test_uscc_any_single_substitution_is_detected(
    body: str, pos: int, replacement: str
) -> None:
    code = body + uscc_check_char(body)
    if code[pos] == replacement:
        replacement = USCC_ALPHABET[(USCC_ALPHABET.index(replacement) + 1) % 31]
    mutated = code[:pos] + replacement + code[pos + 1 :]
    assert not is_valid_uscc(mutated)


# --------------------------------------------------------------------------
# 公民身份号码
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",
        "440524188001010014",
        "360426199101010071",
        "110101200001011232",
    ],
)
def test_valid_id_numbers_from_the_standard_are_accepted(number: str) -> None:
    assert validate_id_number(number, today=TODAY) == number


def test_id_lowercase_x_is_normalized_to_uppercase() -> None:
    assert validate_id_number("11010519491231002x", today=TODAY) == "11010519491231002X"


def test_id_spaces_and_full_width_digits_are_normalized() -> None:
    assert (
        validate_id_number("110105 19491231 002x", today=TODAY) == "11010519491231002X"
    )
    assert (
        validate_id_number("11010519491231002X".translate(FULL_WIDTH))
        == "11010519491231002X"
    )


@pytest.mark.parametrize(
    ("number", "fragment"),
    [
        ("110105194912310021", "校验位错误"),
        ("110105194902310026", "出生日期「19490231」不存在"),
        ("990105194912310023", "地区代码「99」"),
        ("110105491231002", "15位"),
        ("11010519491231002", "应为18位"),
        ("1101051949123100211", "应为18位"),
        ("1101051949123100X1", "格式不正确"),
        ("", "请输入"),
    ],
)
def test_invalid_id_numbers_get_a_specific_message(number: str, fragment: str) -> None:
    with pytest.raises(InvalidIdentifier, match=fragment):
        validate_id_number(number, today=TODAY)


def test_id_with_future_birth_date_is_refused() -> None:
    body = "11010520300101001"
    number = body + id_check_char(body)
    with pytest.raises(InvalidIdentifier, match="晚于今天"):
        validate_id_number(number, today=TODAY)
    assert validate_id_number(number, today=date(2030, 1, 1)) == number


def test_id_wrong_check_message_does_not_reveal_the_right_check() -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        validate_id_number("110105194912310021", today=TODAY)
    assert "X" not in str(exc.value)


@pytest.mark.parametrize(
    "province", [11, 15, 21, 23, 31, 37, 41, 46, 50, 54, 61, 65, 71, 81, 82]
)
def test_id_every_listed_province_prefix_is_accepted(province: int) -> None:
    body = f"{province}010519491231002"
    assert validate_id_number(body + id_check_char(body), today=TODAY)


@pytest.mark.parametrize(
    "province", [10, 16, 20, 24, 30, 38, 40, 47, 49, 55, 60, 66, 70, 72, 80, 83, 99]
)
def test_id_other_province_prefixes_are_refused(province: int) -> None:
    body = f"{province}010519491231002"
    with pytest.raises(InvalidIdentifier, match="地区代码"):
        validate_id_number(body + id_check_char(body), today=TODAY)


_ID_BODY = st.builds(
    lambda prov, county, birth, seq: f"{prov}{county:04d}{birth:%Y%m%d}{seq:03d}",
    st.sampled_from([11, 31, 44, 65, 81]),
    st.integers(0, 9999),
    st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    st.integers(0, 999),
)


@settings(max_examples=200, deadline=None)
@given(_ID_BODY)
def test_id_body_plus_computed_check_is_always_valid(body: str) -> None:
    number = body + id_check_char(body)
    assert validate_id_number(number, today=TODAY) == number
    assert birth_date_from_id(number).strftime("%Y%m%d") == body[6:14]


@settings(max_examples=200, deadline=None)
@given(_ID_BODY, st.integers(0, 17), st.sampled_from("0123456789X"))
def test_id_any_single_substitution_is_detected(
    body: str, pos: int, replacement: str
) -> None:
    number = body + id_check_char(body)
    if number[pos] == replacement:
        replacement = ID_CHECK_CHARS[(ID_CHECK_CHARS.index(replacement) + 1) % 11]
    mutated = number[:pos] + replacement + number[pos + 1 :]
    with pytest.raises(InvalidIdentifier):
        validate_id_number(mutated, today=TODAY)


def test_birth_date_is_read_from_the_id_number() -> None:
    assert birth_date_from_id("11010519491231002X") == date(1949, 12, 31)
    assert birth_date_from_id("11010519491231002x") == date(1949, 12, 31)


@pytest.mark.parametrize("bad", ["110105194902310026", "12345", ""])
def test_birth_date_from_malformed_id_raises(bad: str) -> None:
    with pytest.raises(InvalidIdentifier):
        birth_date_from_id(bad)


# --------------------------------------------------------------------------
# Age bands
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "band"),
    [
        (date(2025, 6, 1), "儿童"),
        (date(2011, 6, 2), "儿童"),  # 13 until tomorrow
        (date(2011, 6, 1), "14–17"),  # 14th birthday today
        (date(2007, 6, 2), "14–17"),
        (date(2007, 6, 1), "18–29"),
        (date(1995, 6, 2), "18–29"),
        (date(1995, 6, 1), "30–39"),
        (date(1985, 6, 1), "40–49"),
        (date(1975, 6, 1), "50–59"),
        (date(1965, 6, 1), "60–69"),
        (date(1955, 6, 1), "70–79"),
        (date(1945, 6, 2), "70–79"),
        (date(1945, 6, 1), "80岁以上"),
        (date(1880, 1, 1), "80岁以上"),
    ],
)
def test_age_band_boundaries(birth: date, band: str) -> None:
    assert age_band(birth, TODAY) == band


def test_age_bands_are_listed_in_order_with_en_dashes() -> None:
    assert AGE_BANDS == (
        "儿童",
        "14–17",
        "18–29",
        "30–39",
        "40–49",
        "50–59",
        "60–69",
        "70–79",
        "80岁以上",
    )
    assert all("-" not in band for band in AGE_BANDS)


def test_age_band_of_leap_day_birth_in_common_year() -> None:
    assert age_band(date(2008, 2, 29), date(2022, 2, 28)) == "儿童"
    assert age_band(date(2008, 2, 29), date(2022, 3, 1)) == "14–17"


def test_age_band_refuses_future_birth() -> None:
    with pytest.raises(ValueError):
        age_band(date(2026, 1, 1), TODAY)


# --------------------------------------------------------------------------
# Phones
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "+86 138-1234-5678",
        "+8613812345678",
        "0086 138 1234 5678",
        "8613812345678",
        "(+86) 138.1234.5678",
        "１３８１２３４５６７８",
        "138\u200b1234\u200b5678",
    ],
)
def test_mobile_forms_normalize_to_eleven_digits(raw: str) -> None:
    assert normalize_mobile(raw) == "13812345678"


def test_mobile_19x_range_is_accepted() -> None:
    assert normalize_mobile("19212345678") == "19212345678"


@pytest.mark.parametrize(
    "raw", ["12345678901", "1381234567", "138123456789", "", "abc", "+1 13812345678"]
)
def test_not_mobiles_give_none(raw: str) -> None:
    assert normalize_mobile(raw) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("010-12345678", "010-12345678"),
        ("01012345678", "010-12345678"),
        ("021 6123 4567", "021-61234567"),
        ("0755-8888999", "0755-8888999"),
        ("075588889999", "0755-88889999"),
        ("(010) 1234 5678", "010-12345678"),
        ("+86 10 12345678", "010-12345678"),
        ("０１０－１２３４５６７８", "010-12345678"),
    ],
)
def test_validate_phone_accepts_mobiles_and_landlines(raw: str, expected: str) -> None:
    assert validate_phone(raw) == expected


@pytest.mark.parametrize(
    "raw", ["12345678901", "010-123456", "010-123456789", "0012345678", "", "电话"]
)
def test_validate_phone_refuses_other_input_in_chinese(raw: str) -> None:
    with pytest.raises(InvalidIdentifier, match="请输入有效的手机号码"):
        validate_phone(raw)


# --------------------------------------------------------------------------
# Luhn
# --------------------------------------------------------------------------


@pytest.mark.parametrize("card", ["6212260200000000006", "6222020000000007"])
def test_luhn_valid_cards(card: str) -> None:
    assert luhn_valid(card)


@pytest.mark.parametrize(
    "card",
    ["6212260200000000001", "6226000000000004", "", "7", "6222 0200", "６２２２"],
)
def test_luhn_invalid_or_non_digit_input(card: str) -> None:
    assert not luhn_valid(card)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789", min_size=15, max_size=18), st.data())
def test_luhn_detects_any_single_digit_substitution(
    body: str, data: st.DataObject
) -> None:
    check = next(d for d in "0123456789" if luhn_valid(body + d))
    card = body + check
    pos = data.draw(st.integers(0, len(card) - 1))
    replacement = data.draw(
        st.sampled_from([d for d in "0123456789" if d != card[pos]])
    )
    assert not luhn_valid(card[:pos] + replacement + card[pos + 1 :])
