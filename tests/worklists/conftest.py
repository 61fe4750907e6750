"""Fixtures for the work-list tests: a verified org with a funded fund."""

from __future__ import annotations

import pytest

from tests.factories import org_admin_of


@pytest.fixture
def org_world(create_org, create_fund, create_user):  # type: ignore[no-untyped-def]
    org = create_org()
    fund = create_fund(org=org, donations_fen=1_000_000)
    member = create_user("org_member", org=org)
    return {"org": org, "admin": org_admin_of(org), "member": member, "fund": fund}
