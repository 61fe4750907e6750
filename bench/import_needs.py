"""Benchmark: bulk import of needs (docs/integration.md) against a plain bulk INSERT.

    .venv/bin/python bench/import_needs.py [--rows 10000] [--batch 250]
    TEST_DATABASE_URL=postgresql://... .venv/bin/python bench/import_needs.py

Generates a CSV of ``--rows`` fictional needs (Chinese headers, labels, yuan, the
import template's columns), then on a fresh SQLite database (and on PostgreSQL
when ``TEST_DATABASE_URL`` names a server: a scratch database is created and
dropped) measures

- **import**: reading the file and ``needs.importing.run_import`` in committed
  batches — per row: validation, the privacy scan of the public text, AES-GCM
  encryption of the household, the household key, the need code, the audit row
  (everything ``POST /api/v1/needs/import`` and ``import-needs`` do);
- **rerun**: the same file again (every row ``unchanged``: one decryption and
  comparison per row);
- **baseline**: one bulk INSERT (executemany) of the same number of rows into the
  same ``needs`` table, the values precomputed — the floor a database can do.

It prints rows per second and the ratio import/baseline, so the figures mean the
same on a faster machine.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("CHARITYLINK_FAST_HASH", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))

from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from charitylink import create_app  # noqa: E402
from charitylink.core.crypto import generate_data_key  # noqa: E402

COUNTIES = ["220102", "220103", "220104", "220105", "220106", "220112", "220113"]
CATEGORIES = ["最低生活保障对象", "特困人员", "低保边缘家庭成员", "防止返贫监测对象"]
TYPES = ["医疗", "教育", "住房", "基本生活", "养老服务", "残疾康复"]
TITLES = [
    "患病老人需要医疗费用帮扶",
    "困难家庭学生学费缺口",
    "危房改造材料费用",
    "冬季取暖与基本生活物资",
]


def id_number(n: int) -> str:
    from charitylink.core.identifiers import id_check_char

    body = f"220102{1950 + n % 50}0{1 + n % 9}1{n % 9}{n % 1000:03d}"
    return body + id_check_char(body)


def make_csv(rows: int) -> bytes:
    from charitylink.core.timeutil import today
    from charitylink.needs.import_files import COLUMNS

    deadline = (today() + timedelta(days=120)).isoformat()
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([h for _p, h, _e in COLUMNS])
    for n in range(1, rows + 1):
        county = COUNTIES[n % len(COUNTIES)]
        writer.writerow(
            [
                f"BENCH-{n:07d}",
                TITLES[n % len(TITLES)],
                "家庭成员长期患病，医疗费用负担较重，希望得到社会帮助。",
                CATEGORIES[n % len(CATEGORIES)],
                TYPES[n % len(TYPES)],
                county,
                str(1 + n % 5),
                "最低生活保障金:650；医疗救助:200",
                f"{1000 + n % 9000}.00",
                "紧急",
                deadline,
                f"测试户{n}",
                id_number(n),
                f"139{n:08d}",
                "测试街道测试小区",
                f"{county}001",
                "",
                "否",
            ]
        )
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def run(db_url: str, rows: int, batch: int, label: str) -> None:
    from flask_migrate import upgrade

    from charitylink.accounts.models import User
    from charitylink.extensions import db
    from charitylink.needs import import_files, importing
    from charitylink.needs.models import Need
    from charitylink.regions.services import load_regions

    tmp = Path(tempfile.mkdtemp(prefix="bench-import-"))
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": db_url,
            "INSTANCE_PATH": str(tmp / "instance"),
            "SECRET_KEY": "bench-secret-key-long-enough-0123456789",
            "DATA_KEY": generate_data_key(),
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        upgrade()
        load_regions()
        mod = User(
            email="mod@example.org",
            password_hash="x",
            role="moderator",
            region_prefix="22",
        )
        db.session.add(mod)
        db.session.commit()
        raw = make_csv(rows)

        started = time.perf_counter()
        parsed = import_files.parse_file(raw, "bench.csv", max_rows=rows)
        input_rows = [importing.InputRow(r.row, r.data, r.errors) for r in parsed.rows]
        outcomes: list[importing.RowOutcome] = []
        for start in range(0, len(input_rows), importing.MAX_ROWS):
            result = importing.run_import(
                mod,
                input_rows[start : start + importing.MAX_ROWS],
                batch_size=batch,
                commit=db.session.commit,
            )
            outcomes.extend(result.outcomes)
        t_import = time.perf_counter() - started
        created = sum(o.status == "created" for o in outcomes)
        assert created == rows, importing.ImportResult(outcomes).counts

        started = time.perf_counter()
        unchanged = 0
        for start in range(0, len(input_rows), importing.MAX_ROWS):
            result = importing.run_import(
                mod,
                input_rows[start : start + importing.MAX_ROWS],
                batch_size=batch,
                commit=db.session.commit,
            )
            unchanged += result.counts["unchanged"]
        t_rerun = time.perf_counter() - started
        assert unchanged == rows

        # Baseline: the same number of rows, values precomputed, one executemany.
        template = db.session.get(Need, 1)
        columns = {
            c.key: getattr(template, c.key)
            for c in Need.__table__.columns
            if c.key != "id"
        }
        values = [
            {
                **columns,
                "code": f"XB-{n:08d}",
                "external_id": f"BASE-{n:07d}",
            }
            for n in range(rows)
        ]
        started = time.perf_counter()
        db.session.execute(insert(Need), values)
        db.session.commit()
        t_base = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()

    print(f"[{label}] {rows} rows, batches of {batch}")
    print(f"  import      {t_import:8.2f} s  {rows / t_import:9.0f} rows/s")
    print(
        f"  rerun       {t_rerun:8.2f} s  {rows / t_rerun:9.0f} rows/s (all unchanged)"
    )
    print(f"  baseline    {t_base:8.2f} s  {rows / t_base:9.0f} rows/s (bulk INSERT)")
    print(f"  ratio       import is {t_import / t_base:.1f}× the bulk INSERT time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=250)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-import-db-"))
    run(f"sqlite:///{tmp / 'bench.db'}", args.rows, args.batch, "SQLite")
    pg = os.environ.get("TEST_DATABASE_URL", "")
    if pg.startswith("postgres"):
        url = make_url(pg.replace("postgresql://", "postgresql+psycopg://", 1))
        name = f"bench_import_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            run(
                url.set(database=name).render_as_string(hide_password=False),
                args.rows,
                args.batch,
                "PostgreSQL",
            )
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
