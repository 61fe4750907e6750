"""Benchmark: bulk-approving imported needs, per need, against the single
approve endpoint in the same run.

    .venv/bin/python bench/bulk_review.py [--needs 1000] [--single 100]
    bash .ci/pg.sh run .venv/bin/python bench/bulk_review.py   # and PostgreSQL

On a fresh database (SQLite; PostgreSQL too when ``TEST_DATABASE_URL`` names a
server: a scratch database is created and dropped) one moderator imports
``--needs`` + ``--single`` fictional needs (``needs.importing.run_import``, as
``POST /api/v1/needs/import`` does) and submits them; a second moderator then
approves

- **single**: ``--single`` of them one by one, ``POST /api/v1/needs/{code}/approve``;
- **bulk**: the other ``--needs`` through ``POST /api/v1/needs/bulk`` in
  batches of 500 (the endpoint's cap).

Both go through the app's whole request path (test client: token check, one
transaction per request, audit row, notification, search sync). It prints the
cost per need of each and the ratio bulk/single, so the figure means the same
on a faster machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("CHARITYLINK_FAST_HASH", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))

from _timing import bench_app, pg_database  # noqa: E402

COUNTIES = ["220102", "220103", "220104", "220105", "220106", "220112"]
BATCH = 500


def row(n: int) -> dict:
    from charitylink.core.identifiers import id_check_char
    from charitylink.core.timeutil import today

    body = f"220102{19400101 + n % 28:08d}{n % 1000:03d}"
    return {
        "external_id": f"BENCH-{n:07d}",
        "title": "患病老人需要医疗费用帮扶",
        "description": "家庭成员长期患病，医疗费用负担较重，希望得到社会帮助。",
        "category": "dibao",
        "need_type": "medical",
        "region_code": COUNTIES[n % len(COUNTIES)],
        "household_size": 3,
        "gov_assistance": [],
        "amount": 100_000 + n,
        "urgency": "normal",
        "deadline": (today() + timedelta(days=90)).isoformat(),
        "household": {
            "name": f"测试户{n}",
            "id_number": body + id_check_char(body),
            "phone": f"139{n:08d}",
            "consent_share_contact": False,
        },
    }


def run(db_url: str, needs: int, single: int, label: str) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import select

    from charitylink.accounts.models import User
    from charitylink.accounts.services import issue_token
    from charitylink.extensions import db
    from charitylink.needs import importing, services
    from charitylink.needs.models import Need
    from charitylink.regions.services import load_regions

    # the request's own search drain stays on, as in development
    app, _tmp = bench_app(
        db_url,
        "bench-bulk-",
        RATELIMIT_ENABLED=False,
        SEARCH_DRAIN_AFTER_REQUEST=True,
    )
    with app.app_context():
        upgrade()
        load_regions()
        enterer, reviewer = (
            User(email=f"{n}@example.org", password_hash="x", role="moderator")
            for n in ("enter", "review")
        )
        enterer.region_prefix = reviewer.region_prefix = "22"
        db.session.add_all([enterer, reviewer])
        db.session.commit()
        rows = [importing.InputRow(i + 2, row(i)) for i in range(needs + single)]
        importing.run_import(enterer, rows, commit=db.session.commit)
        codes = list(db.session.scalars(select(Need.code).order_by(Need.id)))
        assert len(codes) == needs + single, len(codes)
        for code in codes:
            need = db.session.scalar(select(Need).where(Need.code == code))
            services.submit_need(need, enterer)
        db.session.commit()
        raw, _token = issue_token(reviewer, "bench")
        db.session.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    client = app.test_client()

    started = time.perf_counter()
    for code in codes[:single]:
        resp = client.post(f"/api/v1/needs/{code}/approve", headers=headers)
        assert resp.status_code == 200, resp.get_json()
    single_s = (time.perf_counter() - started) / single

    rest = codes[single:]
    started = time.perf_counter()
    for start in range(0, len(rest), BATCH):
        chunk = rest[start : start + BATCH]
        resp = client.post(
            "/api/v1/needs/bulk",
            json={"action": "approve", "codes": chunk},
            headers=headers,
        )
        assert resp.status_code == 200, resp.get_json()
        results = resp.get_json()["results"]
        assert set(results.values()) == {"ok"}, results
    bulk_s = (time.perf_counter() - started) / len(rest)

    print(
        f"{label}: single approve {single_s * 1000:.1f} ms/need ({single} needs); "
        f"bulk approve {bulk_s * 1000:.1f} ms/need ({len(rest)} needs); "
        f"ratio bulk/single {bulk_s / single_s:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--needs", type=int, default=1000)
    parser.add_argument("--single", type=int, default=100)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-bulk-db-"))
    run(f"sqlite:///{tmp / 'bench.db'}", args.needs, args.single, "SQLite")
    pg = os.environ.get("TEST_DATABASE_URL", "")
    if pg.startswith("postgres"):
        db_url, drop = pg_database(
            pg.replace("postgresql://", "postgresql+psycopg://", 1)
        )
        try:
            run(db_url, args.needs, args.single, "PostgreSQL")
        finally:
            drop()


if __name__ == "__main__":
    main()
