from __future__ import annotations

from typing import Any

import pytest

from tests.factories import org_admin_of


@pytest.fixture
def world(create_org, create_user, create_fund):  # type: ignore[no-untyped-def]
    """Org A in 长春 (2201), org B in 兰州 (6201), the seven kinds of user."""
    org_a = create_org(region_code="220102")
    org_b = create_org(region_code="620102")
    fund_a = create_fund(org=org_a, donations_fen=1_000_000)
    users: dict[str, Any] = {
        "public": None,
        "member_a": create_user("org_member", org=org_a),
        "admin_a": org_admin_of(org_a),
        "admin_b": org_admin_of(org_b),
        "mod_in": create_user("moderator", region_prefix="2201"),
        "mod_out": create_user("moderator", region_prefix="62"),
        "admin": create_user("admin"),
    }
    return {"org_a": org_a, "org_b": org_b, "fund_a": fund_a, **users}


def project_payload(fund_id: int, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "fund_id": fund_id,
        "title": "困境儿童助学帮扶项目",
        "summary": "为困难家庭儿童提供助学金。",
        "body": "## 项目介绍\n\n资助**困难家庭**学生。",
        "need_types": ["education", "child"],
        "region_codes": ["220102", "220103"],
        "target_amount": 10_000_000,
        "start_on": "2026-01-01",
        "end_on": "2026-12-31",
        "filing_number": "53220000MJ0000001A23001",
    }
    data.update(overrides)
    return data
