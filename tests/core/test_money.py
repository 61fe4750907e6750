"""Money: yuan text to integer fen, JSON fen checks, display formats."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charitylink.core.money import (
    MAX_AMOUNT_FEN,
    InvalidAmount,
    fen_to_yuan_str,
    format_fen,
    parse_yuan,
    validate_fen,
)


@pytest.mark.parametrize(
    ("raw", "fen"),
    [
        ("12.34", 1234),
        ("0.29", 29),  # float(0.29) * 100 would give 28
        ("１２", 1200),
        ("12", 1200),
        ("12.5", 1250),
        ("0.01", 1),
        ("1,234.50", 123450),
        ("12,000", 1200000),
        ("¥1234", 123400),
        ("￥１２", 1200),
        ("  88.80 ", 8880),
        ("1\u200b000", 100000),
        ("100000000", MAX_AMOUNT_FEN),
        ("100,000,000.00", MAX_AMOUNT_FEN),
        (45, 4500),
    ],
)
def test_parse_yuan_returns_integer_fen(raw: str | int, fen: int) -> None:
    result = parse_yuan(raw)
    assert result == fen
    assert type(result) is int


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("12.345", "金额最多两位小数"),
        ("-5", "金额必须大于零"),
        ("－5", "金额必须大于零"),
        ("-¥5", "金额必须大于零"),
        ("0", "金额必须大于零"),
        ("0.00", "金额必须大于零"),
        ("1e3", "金额格式不正确"),
        ("NaN", "金额格式不正确"),
        ("Infinity", "金额格式不正确"),
        ("+5", "金额格式不正确"),
        ("12.", "金额格式不正确"),
        (".5", "金额格式不正确"),
        ("12元", "金额格式不正确"),
        ("12,34", "千位分隔符"),
        ("1,2345", "千位分隔符"),
        ("100000000.01", "金额过大（上限 ¥100,000,000.00）"),
        ("999999999.99", "金额过大"),
        ("1" + "0" * 500, "金额过大"),
        ("", "请输入金额，例如 1234.50"),
        ("   ", "请输入金额，例如 1234.50"),
        ("¥", "请输入金额，例如 1234.50"),
        (None, "请输入金额，例如 1234.50"),
    ],
)
def test_parse_yuan_refuses_bad_input_with_chinese_message(
    raw: str | None, message: str
) -> None:
    with pytest.raises(InvalidAmount, match=message):
        parse_yuan(raw)


def test_parse_yuan_refuses_bool_and_float() -> None:
    with pytest.raises(InvalidAmount):
        parse_yuan(True)  # type: ignore[arg-type]
    with pytest.raises(InvalidAmount):
        parse_yuan(12.5)  # type: ignore[arg-type]


def test_parse_yuan_allow_zero_accepts_zero_but_not_negative() -> None:
    assert parse_yuan("0", allow_zero=True) == 0
    assert parse_yuan("0.00", allow_zero=True) == 0
    with pytest.raises(InvalidAmount, match="金额不能为负数"):
        parse_yuan("-1", allow_zero=True)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, MAX_AMOUNT_FEN))
def test_fen_to_yuan_str_round_trips_through_parse_yuan(fen: int) -> None:
    assert parse_yuan(fen_to_yuan_str(fen)) == fen
    assert parse_yuan(format_fen(fen)) == fen


@settings(max_examples=200, deadline=None)
@given(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2)
)
def test_parse_yuan_agrees_with_decimal(amount: Decimal) -> None:
    assert parse_yuan(str(amount)) == int(amount * 100)


@pytest.mark.parametrize("fen", [1, 1234, MAX_AMOUNT_FEN])
def test_validate_fen_accepts_positive_ints_up_to_max(fen: int) -> None:
    assert validate_fen(fen) == fen


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "以分为单位的整数"),
        (False, "以分为单位的整数"),
        (12.0, "以分为单位的整数"),
        (12.5, "以分为单位的整数"),
        ("1200", "以分为单位的整数"),
        (None, "以分为单位的整数"),
        (Decimal("12"), "以分为单位的整数"),
        (0, "金额必须大于零"),
        (-1, "金额必须大于零"),
        (MAX_AMOUNT_FEN + 1, "金额过大"),
        (2**63, "金额过大"),
    ],
)
def test_validate_fen_refuses_non_ints_and_out_of_range(
    value: object, message: str
) -> None:
    with pytest.raises(InvalidAmount, match=message):
        validate_fen(value)


def test_validate_fen_allow_zero() -> None:
    assert validate_fen(0, allow_zero=True) == 0
    with pytest.raises(InvalidAmount, match="金额不能为负数"):
        validate_fen(-1, allow_zero=True)


@pytest.mark.parametrize(
    ("fen", "shown"),
    [
        (123450, "¥1,234.50"),
        (-123450, "-¥1,234.50"),
        (0, "¥0.00"),
        (5, "¥0.05"),
        (100, "¥1.00"),
        (MAX_AMOUNT_FEN, "¥100,000,000.00"),
    ],
)
def test_format_fen(fen: int, shown: str) -> None:
    assert format_fen(fen) == shown


@pytest.mark.parametrize(
    ("fen", "text"), [(123450, "1234.50"), (0, "0.00"), (7, "0.07"), (-5, "-0.05")]
)
def test_fen_to_yuan_str(fen: int, text: str) -> None:
    assert fen_to_yuan_str(fen) == text


@pytest.mark.parametrize("bad", [1.5, "100", True])
def test_formatters_refuse_non_int(bad: object) -> None:
    with pytest.raises(TypeError):
        format_fen(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        fen_to_yuan_str(bad)  # type: ignore[arg-type]
