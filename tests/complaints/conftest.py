"""Fixtures of the complaint tests: a complaint submitted through the API."""

from __future__ import annotations

from typing import Any

import pytest

CONTACT = "举报人电话13912345678"


@pytest.fixture
def submit(client):  # type: ignore[no-untyped-def]
    """``submit(**fields)`` → the API's answer to an anonymous submission."""

    def post(**fields: Any) -> Any:
        body = {
            "subject_type": "org",
            "category": "misuse",
            "text": "该机构把助学善款用于发放员工福利。",
            "contact": CONTACT,
            **fields,
        }
        return client.post("/api/v1/complaints", json=body)

    return post
