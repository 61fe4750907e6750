"""Need codes under real parallelism: moderators entering needs in one province
at the same moment (threads with their own clients and connections, released by
a barrier) all succeed, with distinct province codes and no gap. Runs on SQLite
and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from charitylink.extensions import db
from charitylink.needs.models import Need
from tests.concurrency.test_claims_concurrency import _run_parallel
from tests.factories import make_id_number
from tests.needs.conftest import valid_input

THREADS = 10


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **app_config,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": THREADS + 5, "max_overflow": 5},
    }


def test_parallel_entries_in_one_province_get_distinct_codes(
    app, create_user, api_token
):  # type: ignore[no-untyped-def]
    mods = [create_user("moderator", region_prefix="22") for _ in range(2)]
    tokens = [api_token(m) for m in mods]
    jobs = []
    for i in range(THREADS):
        body = valid_input(
            region_code=("220102", "220523")[i % 2],
            household={"id_number": make_id_number(500 + i), "region_code": ""},
        )
        jobs.append((tokens[i % 2], "/api/v1/needs", body))
    results = _run_parallel(app, jobs)
    assert [r[0] for r in results] == [201] * THREADS, results
    codes = sorted(r[1]["code"] for r in results)
    assert codes == [f"XQ-22-{n:06d}" for n in range(1, THREADS + 1)]
    db.session.expire_all()
    assert sorted(db.session.scalars(select(Need.code))) == codes
