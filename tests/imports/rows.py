"""Generated import rows (the API's input form), all fictional."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from charitylink.core.timeutil import today
from tests.factories import make_id_number

TITLES = [
    "患病老人需要医疗费用帮扶",
    "困难家庭学生学费缺口",
    "危房改造材料费用",
    "冬季取暖与基本生活物资",
]


def need_row(n: int, **overrides: Any) -> dict[str, Any]:
    """A valid row; ``n`` makes the external id, ID number and phone distinct."""
    row: dict[str, Any] = {
        "external_id": f"JL-{n:06d}",
        "title": TITLES[n % len(TITLES)],
        "description": "家庭成员长期患病，医疗费用负担较重，希望得到社会帮助。",
        "category": "dibao",
        "need_type": "medical",
        "region_code": "220102",
        "household_size": 3,
        "gov_assistance": [{"type": "dibao", "monthly_amount": 65_000}],
        "amount": 100_000 + n,
        "urgency": "normal",
        "deadline": (today() + timedelta(days=90)).isoformat(),
        "household": {
            "name": f"测试户{n}",
            "id_number": make_id_number(n, birth="19580312"),
            "phone": f"139{n:08d}",
            "address": "测试街道测试小区",
            "region_code": "",
            "notes": "",
            "consent_share_contact": False,
        },
    }
    row.update(overrides)
    return row
