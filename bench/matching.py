"""Benchmark: matching suggestions with 10,000 open offers and 100,000 needs,
on SQLite and PostgreSQL.

    .venv/bin/python bench/matching.py [--needs 100000] [--offers 10000] [--queries 300]
    bash .ci/pg.sh run .venv/bin/python bench/matching.py        # both databases

For each database it builds a fresh one (SQLite: a temporary file; PostgreSQL:
a new database on the server named by ``--database-url``, or
``TEST_DATABASE_URL`` as ``.ci/pg.sh`` sets it), bulk-inserts N fictional needs
(``seeding/generated.need_rows``) and M offers of 200 verified orgs. The
offers are crowded into the three provinces of the demo (吉林 22, 甘肃 62,
青海 63) — a tenth at province level, three tenths at city level, the rest at
county level — so a need there meets hundreds of candidates, the hard case; a
third of the offers have part of this month's capacity used, a twentieth all of
it, and some are paused or closed.

Timed, as a page pays it (the ORM objects loaded):

- baseline: 20 needs by primary key;
- offers for a need (moderator: the true county) — ``offers_for_need``;
- offers for a need (an org: the public region);
- needs for an offer — ``needs_for_offer``;
- remaining capacity of one offer — ``remaining_capacity``.

Each figure is printed in ms (p50 / p95) and as a ratio to the same database's
baseline p50. The target: suggestions p95 ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("CHARITYLINK_FAST_HASH", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))

from _timing import bench_app, load_line, pg_database, time_classes  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402

BATCH = 2000
PROVINCES = ("22", "62", "63")
KIND_UNITS = {
    "goods": ("件", "份"),
    "service": ("次", "小时", "份"),
    "volunteer": ("小时",),
}


def populate_needs(n: int) -> None:
    from charitylink.extensions import db
    from charitylink.needs.models import Need
    from charitylink.seeding.generated import generator_user_id, need_rows

    user_id = generator_user_id()
    db.session.commit()
    chunk: list[dict[str, Any]] = []
    for row in need_rows(n, user_id, seed=2026):
        chunk.append(row)
        if len(chunk) >= BATCH:
            db.session.execute(insert(Need), chunk)
            db.session.commit()
            chunk = []
    if chunk:
        db.session.execute(insert(Need), chunk)
        db.session.commit()


def populate_offers(m: int, rng: random.Random) -> None:
    from charitylink.extensions import db
    from charitylink.needs.models import NeedType
    from charitylink.offers.matching import month_of, short_code
    from charitylink.offers.models import Offer, OfferMonth
    from charitylink.seeding.generated import claimable_counties, generate_orgs

    generate_orgs(200)
    db.session.commit()
    from charitylink.orgs.models import Organization

    org_ids = list(db.session.scalars(select(Organization.id)))
    counties = [c for c in claimable_counties() if c[:2] in PROVINCES]
    types = [t.value for t in NeedType]
    today = date.today()
    rows = []
    for _ in range(m):
        county = rng.choice(counties)
        roll = rng.random()
        prefix = county[:2] if roll < 0.1 else county[:4] if roll < 0.4 else county
        kind = rng.choice(list(KIND_UNITS))
        status = rng.choices(["open", "paused", "closed"], [90, 6, 4])[0]
        rows.append(
            {
                "org_id": rng.choice(org_ids),
                "kind": kind,
                "title": "压力测试生成的供给",
                "description": "",
                "need_types": rng.sample(types, rng.randint(1, 3)),
                "region_prefix": short_code(prefix),
                "unit": rng.choice(KIND_UNITS[kind]),
                "capacity_per_month": rng.randint(5, 500),
                "unit_value_fen": rng.randint(5, 500) * 100,
                "start_on": today - timedelta(days=rng.randint(0, 400)),
                "end_on": None if rng.random() < 0.8 else today + timedelta(days=90),
                "status": status,
                "created_at": today,
                "updated_at": today,
            }
        )
    for i in range(0, len(rows), BATCH):
        db.session.execute(insert(Offer), rows[i : i + BATCH])
    db.session.commit()
    month = month_of()
    used = []
    for offer_id, capacity in db.session.execute(
        select(Offer.id, Offer.capacity_per_month)
    ):
        roll = rng.random()
        if roll < 0.05:
            used.append({"offer_id": offer_id, "month": month, "used": capacity})
        elif roll < 0.35:
            used.append(
                {"offer_id": offer_id, "month": month, "used": rng.randint(1, capacity)}
            )
    for i in range(0, len(used), BATCH):
        db.session.execute(insert(OfferMonth), used[i : i + BATCH])
    db.session.commit()


def run_db(label: str, db_url: str, n: int, m: int, runs: int) -> dict[str, Any]:
    from flask_migrate import upgrade

    app, tmp = bench_app(db_url, "charitylink-bench-matching-")
    out: dict[str, Any] = {"label": label, "rows": []}
    with app.app_context():
        from charitylink.extensions import db
        from charitylink.needs.models import Need
        from charitylink.offers import matching
        from charitylink.offers.models import Offer
        from charitylink.regions.services import load_regions

        upgrade()
        load_regions()
        db.session.commit()
        rng = random.Random(7)
        t0 = time.perf_counter()
        populate_needs(n)
        populate_offers(m, rng)
        out["insert_s"] = time.perf_counter() - t0
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()

        need_ids = list(
            db.session.scalars(
                select(Need.id).where(
                    Need.status == "published",
                    Need.region_code.like("22%")
                    | Need.region_code.like("62%")
                    | Need.region_code.like("63%"),
                )
            )
        )
        all_ids = list(db.session.scalars(select(Need.id)))
        offer_ids = list(
            db.session.scalars(select(Offer.id).where(Offer.status == "open"))
        )
        out["needs_in_offer_provinces"] = len(need_ids)
        qrng = random.Random(8)

        def baseline() -> Any:
            chosen = qrng.sample(all_ids, 20)
            found = list(db.session.scalars(select(Need).where(Need.id.in_(chosen))))
            db.session.rollback()
            return found

        def for_need(true_region: bool) -> Callable[[], Any]:
            def run() -> Any:
                need = db.session.get(Need, qrng.choice(need_ids))
                assert need is not None
                region = need.region_code if true_region else need.public_region_code
                found = matching.offers_for_need(need, region)
                db.session.rollback()
                return found

            return run

        def for_offer() -> Any:
            offer = db.session.get(Offer, qrng.choice(offer_ids))
            assert offer is not None
            found = matching.needs_for_offer(offer, true_region=False)
            db.session.rollback()
            return found

        def capacity() -> Any:
            offer = db.session.get(Offer, qrng.choice(offer_ids))
            assert offer is not None
            left = matching.remaining_capacity(offer)
            db.session.rollback()
            return [left]

        classes: list[tuple[str, Callable[[], Any]]] = [
            ("baseline: 20 needs by primary key", baseline),
            ("offers for a need (moderator)", for_need(True)),
            ("offers for a need (org)", for_need(False)),
            ("needs for an offer", for_offer),
            ("remaining capacity of an offer", capacity),
        ]
        for name, p50, p95, ratio, last in time_classes(classes, runs):
            out["rows"].append((name, p50, p95, ratio, len(last)))
        db.session.remove()
        db.engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--needs", type=int, default=100_000)
    parser.add_argument("--offers", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300, help="runs per class")
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--only", choices=["sqlite", "pg"], default=None)
    args = parser.parse_args()

    results = []
    load_before = os.getloadavg()
    if args.only in (None, "sqlite"):
        tmp = tempfile.mkdtemp(prefix="charitylink-bench-sqlite-")
        print(f"SQLite: {args.needs} needs, {args.offers} offers …", flush=True)
        results.append(
            run_db(
                "SQLite",
                f"sqlite:///{tmp}/bench.db",
                args.needs,
                args.offers,
                args.queries,
            )
        )
    if args.only in (None, "pg"):
        if not args.database_url or not args.database_url.startswith("postgres"):
            print("PostgreSQL: no --database-url / TEST_DATABASE_URL; skipped.")
        else:
            url = args.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
            db_url, drop = pg_database(url)
            print(f"PostgreSQL: {args.needs} needs, {args.offers} offers …", flush=True)
            try:
                results.append(
                    run_db("PostgreSQL", db_url, args.needs, args.offers, args.queries)
                )
            finally:
                drop()

    print()
    print(load_line(load_before))
    print(
        f"{args.needs} needs, {args.offers} offers, {args.queries} runs per class; "
        "ms p50 / p95, ratio = p50 / the same database's baseline p50"
    )
    for r in results:
        print()
        print(
            f"== {r['label']}: insert {r['insert_s']:.1f} s; "
            f"{r['needs_in_offer_provinces']} published needs in the offers' provinces"
        )
        for name, p50, p95, ratio, hits in r["rows"]:
            print(f"   {name:<36} {p50:8.2f} {p95:8.2f}  x{ratio:6.1f}  rows {hits}")


if __name__ == "__main__":
    main()
