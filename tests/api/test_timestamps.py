"""Every timestamp the API writes carries its offset (RFC 3339 ``date-time``).

SQLite hands back naive datetimes; their plain ``isoformat()`` has no offset
(``2026-11-25T08:53:50.619388``), which the spec's ``date-time`` does not allow.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from tests.factories import PASSWORD, org_admin_of

RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def _timestamps(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Every string under a key ending in ``_at``, with where it was found."""
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("_at") and isinstance(item, str):
                found.append((f"{path}.{key}", item))
            found.extend(_timestamps(item, f"{path}.{key}"))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(_timestamps(item, f"{path}[{i}]"))
    return found


def test_every_api_timestamp_has_an_offset(
    client, create_org, create_fund, create_project, create_need
) -> None:
    org = create_org()
    fund = create_fund(org=org, donations_fen=100_000)
    create_project(fund=fund)
    create_need(status="published")
    admin = org_admin_of(org)
    token = client.post(
        "/api/v1/tokens", json={"email": admin.email, "password": PASSWORD}
    )
    assert token.status_code == 201, token.json
    headers = {"Authorization": f"Bearer {token.json['token']}"}
    answers = [
        token.json,
        client.post(
            f"/api/v1/funds/{fund.id}/donations",
            json={"amount": 5000, "donor_name": "张先生"},
            headers=headers,
        ).json,
        client.get("/api/v1/projects").json,
        client.get("/api/v1/needs").json,
    ]
    stamps = [s for answer in answers for s in _timestamps(answer)]
    keys = {path.rsplit(".", 1)[-1] for path, _v in stamps}
    assert {"expires_at", "created_at", "published_at"} <= keys, stamps
    for path, value in stamps:
        assert RFC3339.fullmatch(value), f"{path} = {value!r} has no offset"
        assert (
            datetime.fromisoformat(value.replace("Z", "+00:00")).utcoffset() is not None
        )


def test_the_json_writer_gives_naive_datetimes_an_offset(app) -> None:
    # A datetime put straight into a response body is written the same way.
    naive = datetime(2026, 11, 25, 8, 53, 50, 619388)
    assert app.json.dumps({"at": naive}) == '{"at": "2026-11-25T08:53:50.619388+00:00"}'
