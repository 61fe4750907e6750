"""Fixtures for the needs tests: valid input, canary households, moderators."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from charitylink.core.timeutil import today
from tests.factories import make_id_number

# Distinctive, fictional household data: grep every public response for these.
CANARY_NAME = "欧阳沁蕊"
CANARY_ID = make_id_number(777, birth="19520817", region="220102")
CANARY_PHONE = "13987651234"
CANARY_ADDRESS = "幸福街道红旗路88号3栋2单元501室"
CANARY_NOTES = "社工备注：长期卧床"


def valid_input(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "external_id": None,
        "title": "独居老人需要护理床和轮椅",
        "description": "老人行动不便，家中缺少护理床，希望得到帮助。",
        "category": "tekun",
        "need_type": "elderly_care",
        "region_code": "220102",
        "household_size": 1,
        "gov_assistance": [{"type": "tekun", "monthly_amount": 75_000}],
        "amount": 320_000,
        "urgency": "high",
        "deadline": (today() + timedelta(days=30)).isoformat(),
        "household": {
            "name": CANARY_NAME,
            "id_number": CANARY_ID,
            "phone": CANARY_PHONE,
            "address": CANARY_ADDRESS,
            "region_code": "220102001",
            "notes": CANARY_NOTES,
            "consent_share_contact": False,
        },
    }
    for key, value in overrides.items():
        if key == "household":
            data["household"].update(value)
        else:
            data[key] = value
    return copy.deepcopy(data)


@pytest.fixture
def moderator(create_user):  # type: ignore[no-untyped-def]
    return create_user("moderator", region_prefix="2201", name="审核员甲")


@pytest.fixture
def second_moderator(create_user):  # type: ignore[no-untyped-def]
    return create_user("moderator", region_prefix="22", name="审核员乙")


@pytest.fixture
def other_region_moderator(create_user):  # type: ignore[no-untyped-def]
    return create_user("moderator", region_prefix="2202", name="审核员丙")
