"""Benchmark: the platform at several sizes (10,000, 100,000, 1,000,000 needs),
side by side.

    PG=postgresql+psycopg://postgres@127.0.0.1:55444
    .venv/bin/python bench/scale.py --seed --db 10000=$PG/scale10k \\
        --db 100000=$PG/scale100k --json /tmp/scale.json
    .venv/bin/python bench/scale.py --db 10000=$PG/scale10k \\
        --db 1000000=$PG/million             # reuse seeded databases
    .venv/bin/python bench/scale.py --compare /tmp/scale.json

A database per size: ``--seed`` creates each afresh on its server and fills it
with ``flask --app wsgi seed --needs N`` (the demo, then N generated needs);
without it the databases are measured as they are. Every figure is measured
in this process with the app's own functions, section by section over all
the sizes (so the machine's load falls on every size alike):

- search: ``search.service.search_needs`` per query class (a baseline of 20
  needs by primary key, rare word, common
  word, + province + category, sorted by amount, + facets, two common words,
  browse), p50 / p95 in ms;
- public pages: requests per second of one worker (Flask's test client, one
  request at a time) with the page cache on (``PAGE_CACHE_TTL`` 30 s, anonymous
  visitor) and off;
- dashboard cuts: ``reports.dashboard.build`` for the cuts a moderator and an
  admin open (the whole country by province, a province by city, a city by
  county, a province over a period): the first call in the process and the
  median of the next ones;
- one claim, one delivery, one approval through their services (claims
  ``claim_need``/``deliver_claim``, needs ``approve_need``), committed: time and
  SQL statements of each (median of fifteen, the sizes taking turns in
  three rounds of five: single changes of a few tens of ms swing with the
  machine's load);
- disk per need: the needs table and its indexes, the search tables (documents,
  packed postings, row postings) and the whole database, divided by the needs.

``--compare`` prints the saved runs in columns, with the ratios the targets
name (claim, delivery and approval cost at the largest size against the
smallest; search p95 ≤ 50 ms). Not a test: the figures go to docs/scale.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("CHARITYLINK_FAST_HASH", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))

from _timing import pk_baseline, timed  # noqa: E402

QUERY_RUNS = 50
PAGE_SECONDS = 1.5


def ensure_database(url: str, size: int, reuse: bool) -> None:
    """Create the database (PostgreSQL: on the server of ``url``), migrate it
    and seed it with ``size`` needs, unless reused."""
    import subprocess

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if reuse:
        return
    u = make_url(url)
    if u.get_backend_name() == "postgresql":
        admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}"'))
            conn.execute(text(f'CREATE DATABASE "{u.database}"'))
        admin.dispose()
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT / "platform")}
    flask = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi"]
    subprocess.run([*flask, "init-db"], env=env, cwd=ROOT, check=True)
    t0 = time.perf_counter()
    subprocess.run(
        [*flask, "seed", "--needs", str(size)], env=env, cwd=ROOT, check=True
    )
    print(f"seeded {size} needs in {time.perf_counter() - t0:.0f} s")


def make_app(url: str, page_cache: float) -> Any:
    from charitylink import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "PAGE_CACHE_TTL": page_cache,
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
        }
    )


def search_classes(
    rng: random.Random, runs: int = QUERY_RUNS
) -> dict[str, tuple[float, float, int]]:
    from sqlalchemy import select

    from charitylink.extensions import db
    from charitylink.needs.models import Need
    from charitylink.search.analysis import index_tokens
    from charitylink.search.service import search_needs

    sample = db.session.execute(
        select(Need.title, Need.description)
        .where(Need.status == "published")
        .order_by(Need.id.desc())
        .limit(3000)
    ).all()
    df: Counter[str] = Counter()
    for title, description in sample:
        df.update(set(index_tokens(f"{title} {description}")))
    n = len(sample) or 1
    common = sorted(w for w, c in df.items() if 0.08 <= c / n <= 0.15 and len(w) >= 2)
    rare = sorted(w for w, c in df.items() if c <= max(2, n // 1000) and len(w) >= 2)
    common = common or sorted(df, key=lambda w: -df[w])[:10]
    rare = rare or sorted(df, key=lambda w: df[w])[:10]
    out: dict[str, tuple[float, float, int]] = {}

    classes: dict[str, Callable[[], Any]] = {
        "baseline: 20 needs by primary key": pk_baseline(),
        "rare word": lambda: search_needs(rng.choice(rare)),
        "common word": lambda: search_needs(rng.choice(common)),
        "common word + province + category": lambda: search_needs(
            rng.choice(common), {"region": "22", "category": "dibao"}
        ),
        "common word, sorted by amount": lambda: search_needs(
            rng.choice(common), sort="amount"
        ),
        "common word + facets": lambda: search_needs(rng.choice(common), facets=True),
        "two common words": lambda: search_needs(" ".join(rng.sample(common, 2))),
        "browse: filter + sort, no text": lambda: search_needs(
            "", {"region": "22", "need_type": "medical"}, sort="amount"
        ),
    }
    for name, fn in classes.items():
        last: list[Any] = []

        def run(fn: Callable[[], Any] = fn, last: list[Any] = last) -> None:
            db.session.rollback()
            last[:] = [fn()]

        p50, p95, _ = timed(run, runs)
        out[name] = (p50, p95, int(last[0].total))
        print(f"  search {name:38} {p50:7.1f} {p95:7.1f} ms  hits {last[0].total}")
    return out


def pick_pages() -> dict[str, str]:
    from sqlalchemy import select

    from charitylink.extensions import db
    from charitylink.needs.models import Need
    from charitylink.orgs.models import Organization
    from charitylink.projects.models import Project

    code = db.session.scalar(
        select(Need.code).where(Need.status == "published").order_by(Need.id.desc())
    )
    project = db.session.scalar(
        select(Project.id).where(Project.status == "published").order_by(Project.id)
    )
    org = db.session.scalar(
        select(Organization.id).where(Organization.status == "verified")
    )
    pages = {
        "home": "/",
        "needs": "/needs",
        "needs (filters)": "/needs?region=2201&need_type=medical",
        "needs search": "/needs?q=医疗",
        "need detail": f"/needs/{code}",
        "projects": "/projects",
        "orgs": "/orgs",
        "transparency": "/transparency",
        "needs feed": "/feeds/needs.atom",
        "needs widget": "/embed/needs",
    }
    if project:
        pages["project detail"] = f"/projects/{project}"
    if org:
        pages["org detail"] = f"/orgs/{org}"
    return pages


def page_rates(app: Any, pages: dict[str, str]) -> dict[str, float]:
    client = app.test_client()
    out = {}
    for name, path in pages.items():
        resp = client.get(path)
        assert resp.status_code == 200, (path, resp.status_code)
        n = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < PAGE_SECONDS or n < 3:
            client.get(path)
            n += 1
        out[name] = n / (time.perf_counter() - t0)
    return out


def dashboard_cuts() -> dict[str, tuple[float, float]]:
    from datetime import timedelta

    from charitylink.core.timeutil import today
    from charitylink.extensions import db
    from charitylink.reports import dashboard
    from charitylink.reports.queries import Filters

    day = today()
    cuts = {
        "country by province": Filters(level="province"),
        "province 22 by city": Filters(prefix="22", level="city"),
        "city 2201 by county": Filters(prefix="2201", level="county"),
        "province 22, last 90 days": Filters(
            prefix="22", date_from=day - timedelta(days=90), date_to=day, level="city"
        ),
        "country, this year": Filters(
            date_from=day.replace(month=1, day=1), date_to=day, level="province"
        ),
    }
    out = {}
    for name, f in cuts.items():
        db.session.rollback()
        t0 = time.perf_counter()
        dashboard.build(f, day)
        first = (time.perf_counter() - t0) * 1000
        p50, _p95, _ = timed(lambda f=f: dashboard.build(f, day), 5)
        out[name] = (first, p50)
        print(f"  dashboard {name:35} first {first:8.1f} ms, then {p50:7.1f} ms")
    return out


# The sizes take turns: CHANGE_ROUNDS rounds of CHANGE_RUNS of each change per
# size, so a change in the machine's load falls on every size alike.
CHANGE_ROUNDS = 3
CHANGE_RUNS = 5


class Statements:
    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.n = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *_args: Any) -> None:
        self.n += 1


_COUNTERS: dict[int, Statements] = {}


def changes(rng: random.Random, engine: Any) -> dict[str, list[tuple[float, int]]]:
    """One claim, one delivery and one approval, CHANGE_RUNS times each: the
    time (ms, committed) and SQL statements of each."""
    from sqlalchemy import select, update

    from charitylink.accounts.models import User
    from charitylink.claims import services as claims
    from charitylink.core.timeutil import today
    from charitylink.extensions import db
    from charitylink.needs import services as needs
    from charitylink.needs.models import Need

    counter = _COUNTERS.setdefault(id(engine), Statements(engine))
    day = today()
    org_users = db.session.scalars(
        select(User).where(User.role == "org_admin", User.active.is_(True))
    ).all()
    moderators = db.session.scalars(
        select(User).where(User.role == "moderator", User.active.is_(True))
    ).all()
    candidates = db.session.scalars(
        select(Need.id)
        .where(
            Need.status == "published",
            Need.claimed_fen == 0,
            Need.deadline_on > day,
            Need.region_code.like("22%"),
        )
        .order_by(Need.id.desc())
        .limit(400)
    ).all()
    rng.shuffle(candidates)
    results: dict[str, list[tuple[float, int]]] = {
        "claim": [],
        "delivery": [],
        "approval": [],
    }

    def measure(name: str, fn: Callable[[], Any]) -> Any:
        db.session.expire_all()
        counter.n = 0
        t0 = time.perf_counter()
        value = fn()
        db.session.commit()
        results[name].append(((time.perf_counter() - t0) * 1000, counter.n))
        return value

    it = iter(candidates)
    while len(results["claim"]) < CHANGE_RUNS:
        need = db.session.get(Need, next(it))
        found = None
        for user in org_users:
            funds = claims.funds_that_can_pay(need, user.org_id)
            funds = [f for f in funds if f.available_fen >= need.amount_fen]
            if funds:
                found = (user, funds[0])
                break
        if found is None:
            continue
        user, fund = found

        def claim_it(need: Any = need, user: Any = user, fund: Any = fund) -> Any:
            return claims.claim_need(need, user, fund, need.amount_fen)

        claim = measure("claim", claim_it)

        def deliver(claim: Any = claim, user: Any = user) -> Any:
            return claims.deliver_claim(
                claim, user, claim.amount_fen, day, "cash", "已按计划交付。"
            )

        measure("delivery", deliver)
    while len(results["approval"]) < CHANGE_RUNS:
        need = db.session.get(Need, next(it))
        mods = [
            m
            for m in moderators
            if need.region_code.startswith(m.region_prefix or "")
            and m.id not in (need.entered_by_id, need.last_edited_by_id)
        ]
        if not mods:
            continue
        db.session.execute(
            update(Need).where(Need.id == need.id).values(status="submitted")
        )
        db.session.commit()
        need = db.session.get(Need, need.id)

        def approve(need: Any = need, moderator: Any = mods[0]) -> Any:
            return needs.approve_need(need, moderator)

        measure("approval", approve)
    return results


def medians(rows: dict[str, list[tuple[float, int]]]) -> dict[str, tuple[float, float]]:
    out = {}
    for name, values in rows.items():
        ms = statistics.median(r[0] for r in values)
        sql = statistics.median(r[1] for r in values)
        out[name] = (ms, sql)
        print(f"  {name:10} {ms:7.1f} ms, {sql:.0f} SQL statements")
    return out


def disk(url: str) -> dict[str, float]:
    from sqlalchemy import func, select, text

    from charitylink.extensions import db
    from charitylink.needs.models import Need

    needs = db.session.scalar(select(func.count()).select_from(Need)) or 1
    out: dict[str, float] = {"needs": needs}
    if db.engine.dialect.name != "postgresql":
        size = Path(url.removeprefix("sqlite:///")).stat().st_size
        out["database, bytes per need"] = size / needs
        return out

    def size(sql: str) -> float:
        return float(db.session.scalar(text(sql)) or 0)

    parts = {
        "needs table": "pg_table_size('needs')",
        "needs indexes": "pg_indexes_size('needs')",
        "search documents (with GIN)": "pg_total_relation_size('search_documents')",
        "search packed postings": "pg_total_relation_size('search_packed')",
        "search row postings": "pg_total_relation_size('search_postings')"
        " + pg_total_relation_size('search_stale')",
        "database": "pg_database_size(current_database())",
    }
    for name, expr in parts.items():
        out[name] = size(f"SELECT {expr}") / needs
    out["search, all"] = (
        out["search documents (with GIN)"]
        + out["search packed postings"]
        + out["search row postings"]
    )
    for name, value in out.items():
        if name != "needs":
            print(f"  disk {name:35} {value:8.0f} bytes per need")
    return out


def run(
    dbs: list[tuple[int, str]],
    seed: bool,
    only: set[str] | None = None,
    runs: int = QUERY_RUNS,
) -> list[dict[str, Any]]:
    """Every section over every database in turn (section by section, so a
    change in the machine's load during the run falls on all sizes alike)."""
    from charitylink.extensions import db

    for size, url in dbs:
        ensure_database(url, size, reuse=not seed)
    rng = random.Random(7)
    results: list[dict[str, Any]] = []
    apps = []
    for size, url in dbs:
        results.append({"size": size, "at": time.strftime("%Y-%m-%d %H:%M")})
        apps.append((make_app(url, 0), make_app(url, 30), url))
    sections: list[tuple[str, Callable[[Any, Any, str], Any]]] = [
        ("disk", lambda off, on, url: disk(url)),
        ("search", lambda off, on, url: search_classes(rng, runs)),
        ("pages_off", lambda off, on, url: page_rates(off, pick_pages())),
        ("pages_on", lambda off, on, url: page_rates(on, pick_pages())),
        ("dashboard", lambda off, on, url: dashboard_cuts()),
    ]
    for name, fn in sections:
        if only and name not in only:
            continue
        for result, (off, on, url) in zip(results, apps, strict=True):
            print(f"== {name}, {result['size']:,} needs ({url.rsplit('/', 1)[-1]})")
            with (on if name == "pages_on" else off).app_context():
                result[name] = fn(off, on, url)
            if name.startswith("pages"):
                for page, rate in result[name].items():
                    print(f"  page {page:20} {rate:8.1f} req/s")
    if not only or "changes" in only:
        raw: list[dict[str, list[tuple[float, int]]]] = [{} for _ in apps]
        for turn in range(CHANGE_ROUNDS):
            for rows, result, (off, _on, _url) in zip(raw, results, apps, strict=True):
                print(f"== changes, round {turn + 1}, {result['size']:,} needs")
                with off.app_context():
                    for change, values in changes(rng, db.engine).items():
                        rows.setdefault(change, []).extend(values)
        for rows, result in zip(raw, results, strict=True):
            print(f"== changes, {result['size']:,} needs, medians")
            result["changes"] = medians(rows)
    return results


def compare(paths: list[str]) -> None:
    loaded: list[dict[str, Any]] = []
    for p in paths:
        data = json.loads(Path(p).read_text())
        loaded.extend(data if isinstance(data, list) else [data])
    show(loaded)


def show(loaded: list[dict[str, Any]]) -> None:
    runs = sorted(loaded, key=lambda r: r["size"])
    head = "".join(f"{r['size']:>16,}" for r in runs)
    print(f"{'needs':44}{head}")

    def cell(section: str, r: dict[str, Any], name: str) -> str:
        if section == "pages":
            on, off = r.get("pages_on", {}), r.get("pages_off", {})
            return f"{on.get(name, 0):.0f} / {off.get(name, 0):.1f}"
        value = r.get(section, {}).get(name)
        if value is None:
            return "-"
        if section == "disk":
            return f"{value:.0f}"
        if section == "dashboard":
            return f"{value[0]:.0f} / {value[1]:.0f}"
        if section == "changes":  # ms / statements
            return f"{value[0]:.1f} / {value[1]:.0f}"
        return f"{value[0]:.1f} / {value[1]:.1f}"

    titles = {
        "search": "search, ms p50 / p95",
        "pages": "public pages, req/s cached / uncached (one worker)",
        "dashboard": "dashboard cuts, ms first / then",
        "changes": "changes, ms / SQL statements",
        "disk": "disk, bytes per need",
    }
    for section, title in titles.items():
        keys = ("pages_off", "pages_on") if section == "pages" else (section,)
        # The disk section's "needs" is the count each figure is divided by.
        names = [
            n
            for k in keys
            for n in runs[0].get(k, {})
            if not (section == "disk" and n == "needs")
        ]
        if not names:
            continue
        print(title)
        for name in dict.fromkeys(names):
            values = [cell(section, r, name) for r in runs]
            print(f"{'  ' + name:44}" + "".join(f"{v:>16}" for v in values))
    small, large = runs[0], runs[-1]
    print(f"targets ({large['size']:,} against {small['size']:,}):")
    for name in small.get("changes", {}):
        ratio = large["changes"][name][0] / small["changes"][name][0]
        verdict = "ok" if ratio <= 1.5 else "MISSED"
        print(f"  {name} time ×{ratio:.2f} (≤ 1.5: {verdict})")
    if large.get("search"):
        worst = max(v[1] for v in large["search"].values())
        verdict = "ok" if worst <= 50 else "MISSED"
        print(f"  search p95, worst class: {worst:.1f} ms (≤ 50: {verdict})")
    if large.get("disk"):
        stored = large["disk"].get("search, all", 0)
        verdict = "ok" if stored <= 3072 else "MISSED"
        print(f"  search storage: {stored:.0f} bytes per need (≤ 3072: {verdict})")
    if large.get("dashboard"):
        dash = max(v[1] for v in large["dashboard"].values())
        verdict = "ok" if dash <= 200 else "MISSED"
        print(f"  dashboard cut, slowest (warm): {dash:.0f} ms (≤ 200: {verdict})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--db",
        action="append",
        default=[],
        metavar="SIZE=URL",
        help="a database of SIZE needs (repeat for each size)",
    )
    ap.add_argument(
        "--seed",
        action="store_true",
        help="create each database afresh and seed it (else: reuse them)",
    )
    ap.add_argument(
        "--only",
        help="comma-separated sections to run: disk, search, pages_off, pages_on,"
        " dashboard, changes (default: all)",
    )
    ap.add_argument(
        "--runs", type=int, default=QUERY_RUNS, help="runs per search class"
    )
    ap.add_argument("--json", help="save the figures here (for --compare)")
    ap.add_argument("--compare", nargs="+", help="print saved runs side by side")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if args.compare:
        compare(args.compare)
        return
    if not args.db:
        ap.error("--db SIZE=URL is required (once per size)")
    dbs = [(int(d.split("=", 1)[0]), d.split("=", 1)[1]) for d in args.db]
    only = set(args.only.split(",")) if args.only else None
    print("load average at start:", os.getloadavg(), time.strftime("%H:%M:%S"))
    results = run(dbs, args.seed, only, args.runs)
    print("load average at end:", os.getloadavg(), time.strftime("%H:%M:%S"))
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=1))
    show(results)


if __name__ == "__main__":
    main()
