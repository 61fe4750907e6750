"""Helpers for the orgs tests: registration data and audit look-ups."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from sqlalchemy import select

from charitylink.core.audit import AuditEvent
from charitylink.core.identifiers import uscc_check_char
from charitylink.extensions import db

_n = itertools.count(1)


def uscc(body: str) -> str:
    """A valid credit code for a 17-character body."""
    return body + uscc_check_char(body)


def fresh_uscc(prefix: str = "53220100") -> str:
    return uscc(f"{prefix}MJ{next(_n):07d}")


def registration(**overrides: Any) -> dict[str, Any]:
    """Form data for /register (the service takes the same keys)."""
    n = next(_n)
    data = {
        "name": f"长春市测试公益基金会{n}",
        "uscc": fresh_uscc(),
        "org_type": "foundation",
        "region_code": "220102",
        "description": "关爱困境儿童。",
        "contact_name": "王老师",
        "contact_phone": "0431-88886666",
        "contact_email": f"contact{n}@example.org",
        "admin_name": "张三",
        "admin_email": f"admin{n}@example.org",
        "admin_password": "a-long-enough-secret",
        "admin_password2": "a-long-enough-secret",
    }
    data.update(overrides)
    return data


def api_registration(**overrides: Any) -> dict[str, Any]:
    n = next(_n)
    body: dict[str, Any] = {
        "name": f"吉林测试社会服务中心{n}",
        "uscc": fresh_uscc("52220100"),
        "org_type": "social_service",
        "region_code": "220102",
        "description": "社区养老服务。",
        "admin": {
            "email": f"api-admin{n}@example.org",
            "password": "a-long-enough-secret",
            "name": "李四",
        },
    }
    body.update(overrides)
    return body


def audit_rows(action: str, object_id: Any = None) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.action == action)
    if object_id is not None:
        stmt = stmt.where(AuditEvent.object_id == str(object_id))
    return list(db.session.scalars(stmt.order_by(AuditEvent.id)))


@pytest.fixture
def people(create_org, create_user):  # type: ignore[no-untyped-def]
    """Everybody of the access matrix, around org A (长春 220102, pending status
    chosen by the test) and a verified org B."""
    from tests.factories import org_admin_of

    def make(status: str = "verified") -> dict[str, Any]:
        org_a = create_org(status=status, region_code="220102")
        org_b = create_org(region_code="220102")
        return {
            "org_a": org_a,
            "org_b": org_b,
            "public": None,
            "member_a": create_user("org_member", org=org_a),
            "admin_a": org_admin_of(org_a),
            "admin_b": org_admin_of(org_b),
            "mod_in": create_user("moderator", region_prefix="2201"),
            "mod_out": create_user("moderator", region_prefix="6201"),
            "admin": create_user("admin"),
        }

    return make
