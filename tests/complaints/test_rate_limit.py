"""Complaints are rate-limited per address, one bucket for the page and the API."""

from __future__ import annotations

from typing import Any

import pytest

from charitylink.extensions import limiter

# --------------------------------------------------------------- rate limit


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "RATELIMIT_ENABLED": True}


def test_submissions_are_rate_limited_per_address_across_page_and_api(client) -> None:
    limiter.reset()
    body = {"subject_type": "platform", "category": "other", "text": "测试举报"}

    def api(ip: str) -> Any:
        return client.post(
            "/api/v1/complaints", json=body, environ_base={"REMOTE_ADDR": ip}
        )

    for _ in range(5):
        assert api("10.0.0.1").status_code == 201
    for _ in range(5):
        page = client.post(
            "/complaints/new",
            data={**body, "subject_id": "", "contact": ""},
            environ_base={"REMOTE_ADDR": "10.0.0.1"},
        )
        assert page.status_code == 302
    refused = api("10.0.0.1")
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert api("10.0.0.2").status_code == 201  # another address is unaffected
