"""Benchmark: the report queries and pages at 100,000 needs.

    .venv/bin/python bench/reports.py [--needs 100000] [--database-url URL]

Builds a fresh database (a temporary SQLite file unless ``--database-url`` names
an empty PostgreSQL database), bulk-inserts needs with a realistic spread over
categories, need types, Jilin's counties, statuses and two years, plus claims in
every state, then measures — each the median of several runs —

- filling the summary tables from the rows (``reports rebuild``: the bulk
  insert goes around the session) and checking them (``reports verify``);
- each dashboard cut (province, all regions, a quarter, a period cutting
  months, a city, a county) and the transparency figures, read from the
  summary tables;
- the full pages through the Flask test client (``/mod/reports``,
  ``/transparency``, ``/api/v1/stats``);
- one change (a claim's status and its need's counter) committed with its
  summary upserts, and the same with the summary's session events off;

against two baselines measured in the same run on the same database: a one-row
primary-key SELECT, and a trivial page (``/login``) through the same client.
It prints milliseconds and the ratio to the baseline, so the figures mean the
same on a faster machine. Target: any dashboard cut <= 200 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

os.environ.setdefault("CHARITYLINK_FAST_HASH", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))

from sqlalchemy import func, insert, select  # noqa: E402

from charitylink import create_app  # noqa: E402
from charitylink.core.crypto import generate_data_key  # noqa: E402

CATEGORIES = [("dibao", 35), ("tekun", 12), ("dibao_edge", 20), ("relapse_watch", 13),
              ("rigid_expense", 12), ("other", 8)]  # fmt: skip
TYPES = [("medical", 30), ("education", 18), ("housing", 8), ("living", 16),
         ("employment", 4), ("elderly_care", 8), ("disability", 6), ("child", 5),
         ("emergency", 3), ("other", 2)]  # fmt: skip
STATUSES = [("published", 30), ("fully_claimed", 12), ("delivered", 14),
            ("confirmed", 22), ("expired", 6), ("withdrawn", 3), ("draft", 5),
            ("submitted", 5), ("rejected", 3)]  # fmt: skip
ASSIST = ["dibao", "tekun", "temporary", "medical", "education", "housing",
          "disability_subsidy"]  # fmt: skip


def pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([k for k, _ in weighted], [w for _, w in weighted])[0]


def build(app, n_needs: int) -> None:  # type: ignore[no-untyped-def]
    from flask_migrate import upgrade

    from charitylink.accounts.models import User
    from charitylink.claims.models import Claim
    from charitylink.extensions import db
    from charitylink.funds.models import Fund
    from charitylink.needs.models import Need
    from charitylink.orgs.models import Organization
    from charitylink.regions import services as regions

    rng = random.Random(6)
    upgrade()
    regions.load_regions()
    admin = User(
        email="admin@example.org", name="管理员", password_hash="x", role="admin"
    )
    mod = User(
        email="mod@example.org",
        name="长春市审核员",
        password_hash="x",
        role="moderator",
        region_prefix="2201",
    )
    db.session.add_all([admin, mod])
    counties = [c for c, _ in regions.choices(("county",)) if c.startswith("22")]
    orgs = []
    for i in range(30):
        org = Organization(
            name=f"基准慈善基金会{i}",
            uscc=f"5322010000{i:07d}X"[:18],
            org_type="foundation",
            region_code=rng.choice(counties),
            status="verified",
        )
        db.session.add(org)
        orgs.append(org)
    db.session.flush()
    funds = []
    for org in orgs:
        for k in range(2):
            fund = Fund(
                org_id=org.id,
                name=f"{org.name}爱心基金{k}",
                kind="named",
                donor_name="某爱心企业",
                donations_fen=rng.randrange(10**8, 10**10),
            )
            db.session.add(fund)
            funds.append(fund)
    db.session.flush()
    fund_org = [(f.id, f.org_id) for f in funds]
    db.session.commit()

    start = datetime(2024, 12, 1, tzinfo=UTC)
    households = max(1, int(n_needs * 0.7))
    needs, claims = [], []
    claim_id = 0
    for i in range(1, n_needs + 1):
        status = pick(rng, STATUSES)
        county = rng.choice(counties)
        published = None
        fully = None
        if status not in ("draft", "submitted", "rejected"):
            published = start + timedelta(minutes=rng.randrange(0, 730 * 24 * 60))
        if status in ("fully_claimed", "delivered", "confirmed") and published:
            fully = published + timedelta(hours=rng.expovariate(1 / 200))
        amount = rng.randrange(50_000, 3_000_000, 100)
        needs.append(
            {
                "id": i,
                "code": f"XQ-{county[:2]}-{i:06d}",
                "title": "基准需求",
                "description": "",
                "category": pick(rng, CATEGORIES),
                "need_type": pick(rng, TYPES),
                "region_code": county,
                "public_region_code": county,
                "age_band": "40–49",
                "household_size": rng.randint(1, 6),
                "gov_assistance": [
                    {"type": t, "monthly_amount": rng.randrange(0, 120_000, 100)}
                    for t in rng.sample(ASSIST, rng.choice([0, 1, 1, 2]))
                ],
                "amount_fen": amount,
                "claimed_fen": 0,
                "delivered_fen": 0,
                "in_kind": False,
                "urgency": "normal",
                "status": status,
                "private_ciphertext": "x",
                "household_key": f"hk{rng.randrange(households):08d}",
                "consent_share_contact": False,
                "entered_by_id": mod.id,
                "created_at": published or start,
                "updated_at": published or start,
                "published_at": published,
                "fully_claimed_at": fully,
            }
        )
        if published is None:
            continue
        for _ in range(rng.choice([0, 1, 1, 2])):
            claim_id += 1
            fund_id, org_id = rng.choice(fund_org)
            c_amount = rng.randrange(10_000, amount // 2 + 1, 100)
            c_status = rng.choice(
                ["reserved", "delivered", "confirmed", "confirmed", "cancelled"]
            )
            done = c_status in ("delivered", "confirmed")
            # The need's counters, as the claims service keeps them (rule 1).
            if c_status == "reserved" or done:
                needs[-1]["claimed_fen"] += c_amount
            if done:
                needs[-1]["delivered_fen"] += c_amount
            created = published + timedelta(days=rng.randint(0, 20))
            claims.append(
                {
                    "id": claim_id,
                    "need_id": i,
                    "org_id": org_id,
                    "fund_id": fund_id,
                    "amount_fen": c_amount,
                    "status": c_status,
                    "due_on": (created + timedelta(days=30)).date(),
                    "delivered_fen": c_amount if done else None,
                    "delivered_on": (created + timedelta(days=15)).date()
                    if done
                    else None,
                    "created_at": created,
                }
            )
    for rows, model in ((needs, Need), (claims, Claim)):
        for k in range(0, len(rows), 5000):
            db.session.execute(insert(model), rows[k : k + 5000])
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy import text

        for table in ("needs", "claims"):
            db.session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )
        db.session.commit()
        db.session.execute(text("ANALYZE"))
    db.session.commit()
    print(f"built: {len(needs):,} needs, {len(claims):,} claims, {len(funds)} funds")


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds. SQLite runs inside this process, so CPU
    time is the fairer figure on a machine shared with other work."""
    fn()  # warm caches (templates, SQLite pages) once
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--needs", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="measure a database an earlier run built (with --database-url)",
    )
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    tmp = Path(tempfile.mkdtemp(prefix="charitylink-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench-secret-key-long-enough-0123456789abcdef",
            "DATA_KEY": generate_data_key(),
            "INSTANCE_PATH": str(tmp / "instance"),
            "SEARCH_INDEX_DIR": str(tmp / "search"),
            "UPLOAD_DIR": str(tmp / "uploads"),
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    from flask import g

    from charitylink.accounts.models import User
    from charitylink.core.timeutil import today
    from charitylink.extensions import db
    from charitylink.needs.models import Need
    from charitylink.reports import dashboard, transparency
    from charitylink.reports.queries import Filters

    with app.app_context():
        t0 = time.perf_counter()
        if args.reuse:
            print(f"reusing {url}")
        else:
            build(app, args.needs)
        print(
            f"database: {db.engine.dialect.name}, built in {time.perf_counter() - t0:.1f}s"
        )
        admin = db.session.scalar(select(User).where(User.role == "admin"))
        mod = db.session.scalar(select(User).where(User.role == "moderator"))
        client = app.test_client()

        session_ids = {admin.id: admin.get_id(), mod.id: mod.get_id()}

        def login(user: User) -> None:
            with client.session_transaction() as sess:
                sess.clear()
                sess["_user_id"] = session_ids[user.id]
                sess["_fresh"] = True

        def pk_select() -> None:
            db.session.expunge_all()
            db.session.get(Need, args.needs // 2)

        def page(path: str, user: User | None = None) -> Callable[[], None]:
            def run() -> None:
                # Requests reuse the bench's app context, hence its ``g``:
                # forget the user Flask-Login cached there by the last request.
                g.pop("_login_user", None)
                if user is not None:
                    login(user)
                resp = client.get(path)
                assert resp.status_code == 200, (path, resp.status_code)

            return run

        base_q, base_q_cpu = timed(pk_select, args.runs * 20)
        base_page, base_page_cpu = timed(page("/login"), args.runs * 4)
        print(
            f"\nbaseline: primary-key SELECT {base_q:.2f} ms; page /login {base_page:.1f} ms"
        )
        print(f"CPU: SELECT {base_q_cpu:.2f} ms; /login {base_page_cpu:.1f} ms")
        print(
            f"{'measure':50} {'wall ms':>8} {'cpu ms':>8} {'×SELECT':>8} {'×page':>6}"
        )
        day = today()
        in_process = db.engine.dialect.name == "sqlite"
        basis = "CPU" if in_process else "wall"

        def row(name: str, ms: float, cpu: float) -> None:
            print(
                f"{name:52} {ms:8.1f} {cpu:8.1f} {cpu / base_q_cpu:8.0f} "
                f"{cpu / base_page_cpu:6.1f}"
            )

        # 1. Filling the summary tables from the rows (the bulk insert above
        # went around the session, as the 1,000,000-need seed's COPY does),
        # and checking them.
        from charitylink.reports import summary

        print("\nsummary tables (reports/summary.py):")
        t0, c0 = time.perf_counter(), time.process_time()
        summary.rebuild()
        row(
            "reports rebuild (once)",
            (time.perf_counter() - t0) * 1000,
            (time.process_time() - c0) * 1000,
        )
        t0, c0 = time.perf_counter(), time.process_time()
        problems = summary.verify()
        db.session.rollback()
        row(
            "reports verify (once)",
            (time.perf_counter() - t0) * 1000,
            (time.process_time() - c0) * 1000,
        )
        assert problems == [], problems[:5]
        sizes = {
            t.name: db.session.scalar(select(func.count()).select_from(t))
            for t in summary.TABLES.values()
        }
        print("rows: " + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))

        # 2. Every dashboard cut, read from the summary tables.
        cuts: list[tuple[str, Callable[[], object]]] = [
            ("dashboard, whole province (22), by city",
             lambda: dashboard.build(Filters(prefix="22", level="city"), day)),
            ("dashboard, all regions (admin), by province",
             lambda: dashboard.build(Filters(level="province"), day)),
            ("dashboard, province, one quarter",
             lambda: dashboard.build(
                 Filters("22", date(2025, 7, 1), date(2025, 9, 30), "city"), day)),
            ("dashboard, province, 2025-07-15 .. 2025-11-20",
             lambda: dashboard.build(
                 Filters("22", date(2025, 7, 15), date(2025, 11, 20), "city"), day)),
            ("dashboard, one city (2201)",
             lambda: dashboard.build(Filters(prefix="2201"), day)),
            ("dashboard, 2201, one quarter",
             lambda: dashboard.build(
                 Filters("2201", date(2025, 7, 1), date(2025, 9, 30)), day)),
            ("dashboard, one county (220102)",
             lambda: dashboard.build(Filters(prefix="220102"), day)),
            ("transparency figures (all, with suppression)", transparency.figures),
        ]  # fmt: skip
        print(
            f"\ndashboard cuts, from the summary tables  "
            f" {'wall ms':>7} {'cpu ms':>8} {'×SELECT':>8} {'×page':>6}"
        )
        worst = 0.0
        for name, fn in cuts:
            ms, cpu = timed(fn, args.runs)
            worst = max(worst, cpu if in_process else ms)
            row(name, ms, cpu)

        # 3. Whole pages through the test client (no figures kept between
        # requests: each view reads the tables).
        pages: list[tuple[str, Callable[[], None]]] = [
            ("page /mod/reports as admin (all regions)", page("/mod/reports", admin)),
            ("page /mod/reports?level=county as admin",
             page("/mod/reports?level=county", admin)),
            ("page /mod/reports as moderator of 2201", page("/mod/reports", mod)),
            ("page /mod/reports/export/by_region.xlsx (2201)",
             page("/mod/reports/export/by_region.xlsx", mod)),
            ("page /transparency", page("/transparency")),
            ("GET /api/v1/stats", page("/api/v1/stats")),
        ]  # fmt: skip
        print("\npages:")
        for name, fn in pages:
            ms, cpu = timed(fn, args.runs)
            worst = max(worst, cpu if in_process else ms)
            row(name, ms, cpu)

        # 4. What a change costs now: one claim's status and its need's
        # counters through the ORM, committed with its summary upserts, against
        # the same change with the summary's session events switched off.
        from sqlalchemy import event
        from sqlalchemy.orm import Session

        from charitylink.claims.models import Claim

        claim_ids = list(
            db.session.scalars(
                select(Claim.id).where(Claim.status == "reserved").limit(4 * args.runs)
            )
        )
        turn = iter(claim_ids * 8)

        def change() -> None:
            claim = db.session.get(Claim, next(turn))
            claim.status = "cancelled" if claim.status == "reserved" else "reserved"
            need = db.session.get(Need, claim.need_id)
            need.claimed_fen = need.claimed_fen + 1
            db.session.commit()

        print("\none change (a claim's status and its need's counter, committed):")
        row("with the summary tables kept", *timed(change, args.runs * 2))

        # The change that moves the most scope rows: a published need with
        # government assistance goes from nothing delivered to something
        # delivered and back (its household reached or not, in every region
        # level: membership transitions and the assistance figures).
        candidates = db.session.execute(
            select(Need.id, Need.gov_assistance)
            .where(
                Need.published_at.is_not(None),
                Need.delivered_fen == 0,
                Need.claimed_fen == 0,
            )
            .limit(200)
        ).all()
        assisted = next((i for i, entries in candidates if entries), None)

        def reach() -> None:
            need = db.session.get(Need, assisted)
            need.delivered_fen = 1 if need.delivered_fen == 0 else 0
            need.claimed_fen = need.delivered_fen
            db.session.commit()

        if assisted is not None:
            row(
                "a household reached / not (need counters)",
                *timed(reach, args.runs * 2),
            )
        hooks = [
            ("before_flush", summary._before_flush),
            ("after_flush", summary._after_flush),
            ("before_commit", summary._before_commit),
        ]
        for name, fn in hooks:
            event.remove(Session, name, fn)
        row(
            "without (events off; the tables then disagree)",
            *timed(change, args.runs * 2),
        )
        for name, fn in hooks:
            event.listen(Session, name, fn)
        summary.rebuild()
        verdict = "OK" if worst < 200 else "SLOW"
        print(
            f"\nslowest dashboard cut or page ({basis}, median): {worst:.0f} ms"
            f" (target <= 200 ms): {verdict}"
        )
        print("ratios: CPU time over the baseline's CPU time")


if __name__ == "__main__":
    main()
