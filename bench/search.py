"""Benchmark: search at 100,000 needs, Whoosh and PostgreSQL FTS side by side.

    .venv/bin/python bench/search.py [--needs 100000] [--queries 200]
    bash .ci/pg.sh run .venv/bin/python bench/search.py      # both engines

For each engine it builds a fresh database (Whoosh: a temporary SQLite file;
PostgreSQL: a new database on the server named by ``--database-url``, or
``TEST_DATABASE_URL`` as set by ``.ci/pg.sh``), bulk-inserts N fictional needs
(``seeding/generated.need_rows``: realistic Chinese texts, an encrypted fictional private
half; each description gets two extra words drawn from a pool of N/5 (at most
20,000) jieba dictionary words, so rare terms exist), then times ``search rebuild`` and the
query classes through ``search.service.search_needs`` — what a page pays,
including loading the 20 needs and highlighting:

- rare: one word found in ~10 needs;
- common: one word found in 8–15% of the needs (measured on a sample);
- common+filters: the same with a province prefix and a category;
- common+facets: the same as "common" plus the region/category/type counts;
- two words: two common words, both required;
- browse: no text, a filter and sorted by amount.

"index" is the disk the index takes after the build: the Whoosh files, or
``search_documents`` + ``search_postings`` with their indexes on PostgreSQL.

Baseline, same database, same run: fetching 20 needs by primary key through the
ORM. Each figure is printed in ms and as a ratio to that baseline's p50.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("CHARITYLINK_FAST_HASH", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))

from _timing import bench_app, load_line, pg_database, time_classes  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402

BATCH = 2000


def rare_pool(size: int, rng: random.Random) -> list[str]:
    """Mid-frequency 2–3 character Chinese words from jieba's own dictionary."""
    import jieba

    path = Path(jieba.__file__).parent / "dict.txt"
    words = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            word, freq, *_ = line.split()
            if (
                2 <= len(word) <= 3
                and 20 <= int(freq) <= 400
                and all("\u4e00" <= ch <= "\u9fff" for ch in word)
            ):
                words.append(word)
    rng.shuffle(words)
    return words[:size]


def populate(n: int, rng: random.Random, pool: list[str]) -> None:
    from charitylink.extensions import db
    from charitylink.needs.models import Need
    from charitylink.seeding.generated import generator_user_id, need_rows

    user_id = generator_user_id()
    db.session.commit()
    chunk: list[dict[str, Any]] = []
    for row in need_rows(n, user_id, seed=2026):
        extra = "、".join(rng.sample(pool, 2))
        row["description"] = f"{row['description']}另需{extra}方面的帮助。"
        chunk.append(row)
        if len(chunk) >= BATCH:
            db.session.execute(insert(Need), chunk)  # no flush: nothing indexed yet
            db.session.commit()
            chunk = []
    if chunk:
        db.session.execute(insert(Need), chunk)
        db.session.commit()


def common_words(sample: list[str], low: float, high: float) -> list[str]:
    from charitylink.search.analysis import index_tokens

    df: Counter[str] = Counter()
    for textual in sample:
        df.update(set(index_tokens(textual)))
    words = [w for w, c in df.items() if low <= c / len(sample) <= high and len(w) >= 2]
    return sorted(words)


def run_engine(label: str, db_url: str, n: int, runs: int, seed: int) -> dict[str, Any]:
    from flask_migrate import upgrade

    app, tmp = bench_app(db_url, "charitylink-bench-search-")
    out: dict[str, Any] = {"label": label, "rows": []}
    with app.app_context():
        from charitylink.extensions import db
        from charitylink.needs.models import Need
        from charitylink.regions.services import load_regions
        from charitylink.search import indexer
        from charitylink.search.analysis import _jieba
        from charitylink.search.backend import backend_name
        from charitylink.search.service import search_needs

        upgrade()
        load_regions()
        db.session.commit()
        _jieba()
        out["engine"] = backend_name()
        rng = random.Random(seed)
        pool = rare_pool(max(50, min(20_000, n // 5)), rng)  # each word in ~10 needs

        t0 = time.perf_counter()
        populate(n, rng, pool)
        out["insert_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        out["documents"] = indexer.rebuild()
        out["build_s"] = time.perf_counter() - t0
        db.session.commit()
        out["size_mb"] = index_size_mb(out["engine"], tmp / "instance" / "search")

        sample = [
            f"{t} {d}"
            for t, d in db.session.execute(
                select(Need.title, Need.description).limit(2000)
            )
        ]
        common = common_words(sample, 0.08, 0.15) or ["医疗"]
        out["common_words"] = common[:8]
        ids = list(db.session.scalars(select(Need.id)))
        qrng = random.Random(seed + 1)
        # The first search after a build opens the index (Whoosh: and reads the
        # per-document records of each segment, once per process).
        t0 = time.perf_counter()
        search_needs(common[0])
        db.session.rollback()
        out["first_ms"] = (time.perf_counter() - t0) * 1000

        def baseline() -> Any:
            chosen = qrng.sample(ids, 20)
            found = list(db.session.scalars(select(Need).where(Need.id.in_(chosen))))
            db.session.rollback()  # no identity-map caching between runs
            return found

        def query(q: Callable[[], str], **kw: Any) -> Callable[[], Any]:
            def run() -> Any:
                result = search_needs(q(), **kw)
                db.session.rollback()
                return result

            return run

        classes: list[tuple[str, Callable[[], Any]]] = [
            ("baseline: 20 needs by primary key", baseline),
            ("rare word", query(lambda: qrng.choice(pool), facets=False)),
            ("common word", query(lambda: qrng.choice(common), facets=False)),
            (
                "common word + province + category",
                query(
                    lambda: qrng.choice(common),
                    filters={"region": "22", "category": "dibao"},
                    facets=False,
                ),
            ),
            (
                "common word, sorted by amount",
                query(lambda: qrng.choice(common), sort="amount", facets=False),
            ),
            ("common word + facets", query(lambda: qrng.choice(common))),
            ("rare word + facets", query(lambda: qrng.choice(pool))),
            (
                "two common words",
                query(lambda: " ".join(qrng.sample(common, 2)), facets=False),
            ),
            (
                "browse: filter + sort, no text",
                query(
                    lambda: "",
                    filters={"need_type": "medical"},
                    sort="amount",
                    facets=False,
                ),
            ),
        ]
        for name, p50, p95, ratio, last in time_classes(classes, runs):
            hits = getattr(last, "total", 20)
            fallback = getattr(last, "fallback", False)
            out["rows"].append((name, p50, p95, ratio, hits, fallback))
        db.session.remove()
        db.engine.dispose()
    return out


def index_size_mb(engine: str, index_dir: Path) -> float:
    """Disk taken by the index: the Whoosh files, or the PostgreSQL search
    tables with their indexes."""
    from charitylink.extensions import db

    if engine == "whoosh":
        total = sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file())
    else:
        total = db.session.scalar(
            text(
                "SELECT pg_total_relation_size('search_documents')"
                " + pg_total_relation_size('search_postings')"
            )
        )
    return int(total or 0) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--needs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200, help="runs per class")
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--only", choices=["whoosh", "pg"], default=None)
    args = parser.parse_args()

    results = []
    load_before = os.getloadavg()
    if args.only in (None, "whoosh"):
        tmp = tempfile.mkdtemp(prefix="charitylink-bench-sqlite-")
        print(f"Whoosh on SQLite: {args.needs} needs …", flush=True)
        results.append(
            run_engine(
                "Whoosh", f"sqlite:///{tmp}/bench.db", args.needs, args.queries, 7
            )
        )
    if args.only in (None, "pg"):
        if not args.database_url or not args.database_url.startswith("postgres"):
            print("PostgreSQL: no --database-url / TEST_DATABASE_URL; skipped.")
        else:
            url = args.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
            db_url, drop = pg_database(url)
            print(f"PostgreSQL FTS: {args.needs} needs …", flush=True)
            try:
                results.append(
                    run_engine("PostgreSQL FTS", db_url, args.needs, args.queries, 7)
                )
            finally:
                drop()

    print()
    print(load_line(load_before))
    print(f"{args.needs} needs, {args.queries} queries per class; ms p50 / p95, ")
    print(
        "ratio = p50 / the same engine's baseline p50; hits = total of the last query"
    )
    for r in results:
        print()
        print(
            f"== {r['label']} (engine {r['engine']}): insert {r['insert_s']:.1f} s, "
            f"build {r['build_s']:.1f} s for {r['documents']} documents, "
            f"index {r['size_mb']:.0f} MB"
        )
        print(f"   common words: {', '.join(r['common_words'])}")
        print(f"   first search after the build: {r['first_ms']:.0f} ms")
        for name, p50, p95, ratio, hits, fallback in r["rows"]:
            flag = "  FALLBACK" if fallback else ""
            print(
                f"   {name:<36} {p50:8.2f} {p95:8.2f}  x{ratio:7.1f}  hits {hits}{flag}"
            )


if __name__ == "__main__":
    main()
