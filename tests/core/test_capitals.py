"""Amounts in Chinese financial capitals (大写) for receipts."""

from __future__ import annotations

import pytest

from charitylink.core.money import fen_to_capitals


@pytest.mark.parametrize(
    ("fen", "words"),
    [
        (123456, "壹仟贰佰叁拾肆元伍角陆分"),
        (100000, "壹仟元整"),
        (1000, "壹拾元整"),
        (50, "伍角整"),
        (5, "伍分"),
        (101000, "壹仟零壹拾元整"),
        (10000005, "壹拾万元零伍分"),
        (1001050, "壹万零壹拾元伍角整"),
        (10500000, "壹拾万伍仟元整"),
        (2007, "贰拾元零柒分"),
        (10000000000, "壹亿元整"),
        (0, "零元整"),
    ],
)
def test_capitals(fen, words):
    assert fen_to_capitals(fen) == words


def test_capitals_refuse_what_is_no_amount():
    with pytest.raises(TypeError):
        fen_to_capitals(12.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        fen_to_capitals(-1)
