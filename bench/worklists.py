"""Benchmark: the moderators' review queue page (/mod/needs) with 100,000 needs
in the database, as a ratio to the public needs list page (/needs) in the same
run on the same database.

    .venv/bin/python bench/worklists.py [--needs 100000] [--runs 60] [--db FILE]
    bash .ci/pg.sh run .venv/bin/python bench/worklists.py     # PostgreSQL too

A fresh database (a temporary SQLite file; PostgreSQL: a new database on the
server named by ``--database-url`` or ``TEST_DATABASE_URL`` as set by
``.ci/pg.sh``) is migrated and filled with N fictional needs
(``seeding/generated.need_rows``) of which about 5% wait for review, 3% are
drafts and the rest are in the public states. A province-level moderator (the
province with the most needs) then asks for pages through the Flask test
client, whole requests with rendering, the page cache off; each figure is the
median of ``--runs`` requests:

- baseline: the public needs list, first page (what every visitor pays);
- the review queue as it opens (submitted first, then newest changes);
- the queue filtered to "waiting for me", to one prefecture, and sorted by
  deadline; and page 50 of the default order;
- the work-area counts behind the menu badges, computed (not cached), alone.

"warm" rows read the list's counts from core/cache.py, as the second and later
pages of a person's session do; "cold" rows drop the cache before each request
(the first request after a change to the data).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("CHARITYLINK_FAST_HASH", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))
sys.path.insert(0, str(ROOT / "bench"))

from _timing import bench_app, pg_database, timed  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

BATCH = 2000
STATUSES = (
    ("published", 62),
    ("fully_claimed", 10),
    ("delivered", 8),
    ("confirmed", 7),
    ("submitted", 5),
    ("draft", 3),
    ("expired", 3),
    ("withdrawn", 2),
)


def populate(n: int) -> None:
    from charitylink.extensions import db
    from charitylink.needs.models import Need
    from charitylink.seeding.generated import generator_user_id, need_rows

    user_id = generator_user_id()
    db.session.commit()
    chunk: list[dict[str, Any]] = []
    for row in need_rows(n, user_id, seed=2026, statuses=STATUSES):
        chunk.append(row)
        if len(chunk) >= BATCH:
            db.session.execute(insert(Need), chunk)
            db.session.commit()
            chunk = []
    if chunk:
        db.session.execute(insert(Need), chunk)
        db.session.commit()


def run(label: str, db_url: str, n: int, runs: int) -> dict[str, Any]:
    from flask_migrate import upgrade

    app, _tmp = bench_app(
        db_url,
        "charitylink-bench-worklists-",
        PAGE_CACHE_TTL=0,
        RATELIMIT_ENABLED=False,
    )
    out: dict[str, Any] = {"label": label, "rows": []}
    with app.app_context():
        from charitylink.accounts.models import Role, User
        from charitylink.core import cache
        from charitylink.extensions import db
        from charitylink.needs.models import Need
        from charitylink.regions.services import load_regions
        from charitylink.workspace import queries as work

        upgrade()
        load_regions()
        db.session.commit()
        t0 = time.perf_counter()
        have = db.session.scalar(select(func.count()).select_from(Need)) or 0
        if have < n:  # a database kept with --db is reused as it is
            populate(n - have)
        out["insert_s"] = time.perf_counter() - t0
        province = db.session.execute(
            select(func.substr(Need.region_code, 1, 2).label("p"), func.count())
            .group_by("p")
            .order_by(func.count().desc())
            .limit(1)
        ).first()
        prefix = province[0] if province else "22"
        prefecture = db.session.scalar(
            select(func.substr(Need.region_code, 1, 4)).where(
                Need.region_code.startswith(prefix)
            )
        )
        mod = db.session.scalar(
            select(User).where(User.email == "bench-mod@example.org")
        ) or User(
            email="bench-mod@example.org",
            name="基准审核员",
            password_hash="x",
            role=Role.MODERATOR,
            region_prefix=prefix,
            active=True,
        )
        db.session.add(mod)
        db.session.commit()
        out["scope"] = prefix
        out["in_scope"] = db.session.scalar(
            select(func.count()).where(Need.region_code.startswith(prefix))
        )
        mod_id = mod.get_id()
        mod_pk = mod.id
        db.session.remove()

    anon = app.test_client()
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = mod_id
        sess["_fresh"] = True

    def get(c: Any, url: str, cold: bool = False) -> Callable[[], None]:
        def fetch() -> None:
            if cold:
                with app.app_context():
                    cache.clear()
            resp = c.get(url)
            assert resp.status_code == 200, (url, resp.status_code)

        return fetch

    pages: list[tuple[str, Callable[[], None]]] = [
        ("baseline: public /needs, warm", get(anon, "/needs")),
        ("baseline: public /needs, cold", get(anon, "/needs", cold=True)),
        ("review queue, warm", get(client, "/mod/needs")),
        ("review queue, cold", get(client, "/mod/needs", cold=True)),
        ("queue: waiting for me", get(client, "/mod/needs?mine=waiting")),
        ("queue: one prefecture", get(client, f"/mod/needs?region={prefecture}")),
        ("queue: by deadline", get(client, "/mod/needs?sort=deadline")),
        ("queue: page 50", get(client, "/mod/needs?page=50")),
    ]
    base = None
    for name, fn in pages:
        p50 = timed(fn, runs)[0]
        base = base or p50
        out["rows"].append((name, p50, p50 / base))
    with app.app_context():
        user = db.session.get(User, mod_pk)
        day = work.today()
        out["counts_ms"] = timed(lambda: work._mod_counts(user, day), runs)[0]
        db.session.remove()
        db.engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--needs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument(
        "--db", help="SQLite file to keep and reuse between runs (filled once)"
    )
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"))
    args = parser.parse_args()
    results = []
    path = args.db or f"{tempfile.mkdtemp(prefix='charitylink-bench-wl-')}/bench.db"
    print(f"SQLite: {args.needs} needs in {path} …", flush=True)
    results.append(run("SQLite", f"sqlite:///{path}", args.needs, args.runs))
    if args.database_url and args.database_url.startswith("postgres"):
        url = args.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
        db_url, drop = pg_database(url)
        print(f"PostgreSQL: {args.needs} needs …", flush=True)
        try:
            results.append(run("PostgreSQL", db_url, args.needs, args.runs))
        finally:
            drop()
    print()
    print(f"{args.needs} needs; median ms of {args.runs} requests; ratio to the")
    print(
        "public list (warm) of the same database; load average " + str(os.getloadavg())
    )
    for r in results:
        print()
        print(
            f"== {r['label']}: insert {r['insert_s']:.1f} s; moderator of {r['scope']} "
            f"({r['in_scope']} needs in scope)"
        )
        for name, p50, ratio in r["rows"]:
            print(f"   {name:<36} {p50:8.1f} ms  x{ratio:5.2f}")
        print(
            f"   {'work-area counts (one query, uncached)':<36} {r['counts_ms']:8.1f} ms"
        )


if __name__ == "__main__":
    main()
