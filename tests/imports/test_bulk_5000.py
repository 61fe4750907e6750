"""Issue 5: 5,000 rows, a tenth bad in six ways; exactly the good rows are kept."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from charitylink.extensions import db
from charitylink.needs.models import Need
from tests.imports.rows import need_row


def _bad(n: int, kind: int) -> tuple[dict, str]:
    row = need_row(n)
    if kind == 0:
        hh = dict(row["household"])
        last = hh["id_number"][-1]
        hh["id_number"] = hh["id_number"][:-1] + ("1" if last != "1" else "2")
        row["household"] = hh
        return row, "household.id_number"
    if kind == 1:
        row["region_code"] = "229999"
        return row, "region_code"
    if kind == 2:
        row["description"] = "户主身份证 220102195803120014，电话 13812345678。"
        return row, "description"
    if kind == 3:
        row["amount"] = -100
        return row, "amount"
    if kind == 4:
        row["category"] = "vip"
        return row, "category"
    row["external_id"] = need_row(n - 1)["external_id"]  # the previous (good) row's
    return row, "external_id"


def test_5000_rows_tenth_bad(client, create_user, api_token) -> None:
    mod = create_user("moderator", region_prefix="22")
    headers = api_token(mod)
    rows, expected_bad = [], {}
    for n in range(1, 5001):
        if n % 10 == 0:
            row, field = _bad(n, (n // 10) % 6)
            expected_bad[n] = field
        else:
            row = need_row(n)
        rows.append(row)
    started = time.perf_counter()
    resp = client.post("/api/v1/needs/import", json=rows, headers=headers)
    elapsed = time.perf_counter() - started
    assert resp.status_code == 200
    out = resp.json["rows"]
    assert resp.json["summary"]["created"] == 4500
    assert resp.json["summary"]["refused"] == 500
    refused = {r["row"]: r for r in out if r["status"] == "refused"}
    assert set(refused) == set(expected_bad)
    for n, field in expected_bad.items():
        assert field in refused[n]["errors"], (n, refused[n])
    assert db.session.scalar(select(func.count()).select_from(Need)) == 4500
    ids = set(db.session.scalars(select(Need.external_id)))
    assert ids == {need_row(n)["external_id"] for n in range(1, 5001) if n % 10}

    rerun = client.post("/api/v1/needs/import", json=rows, headers=headers)
    assert rerun.json["summary"]["unchanged"] == 4500
    assert rerun.json["summary"]["created"] == 0
    assert db.session.scalar(select(func.count()).select_from(Need)) == 4500
    print(f"5000-row import: {elapsed:.1f} s ({5000 / elapsed:.0f} rows/s)")
