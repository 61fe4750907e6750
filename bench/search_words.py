"""Searches of two common words that occur together, on one database.

``bench/scale.py``'s class "two common words" draws pairs at random, most of
which rarely meet; this draws the pairs of common words with the most needs
in common (tens of thousands at 1,000,000 needs), the searches that read the
most. Each class: p50 / p95 of ``search_needs`` as a page calls it, beside
the baseline of 20 needs by primary key in the same run, and the load
average. Not a test: the figures go to docs/search.md ("Several words").

    PYTHONPATH=$PWD/platform .venv/bin/python bench/search_words.py \\
        --db postgresql+psycopg://postgres@127.0.0.1:55444/million --runs 50
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from itertools import combinations
from pathlib import Path
from typing import Any

os.environ.setdefault("CHARITYLINK_FAST_HASH", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))

from _timing import pk_baseline, timed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="database URL")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--pairs", type=int, default=6, help="pairs drawn from")
    args = parser.parse_args()

    from sqlalchemy import select

    from charitylink import create_app
    from charitylink.extensions import db
    from charitylink.needs.models import Need
    from charitylink.search.analysis import index_tokens
    from charitylink.search.service import search_needs

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.db, "RATELIMIT_ENABLED": False})
    rng = random.Random(20)
    with app.app_context():
        sample = db.session.execute(
            select(Need.title, Need.description)
            .where(Need.status == "published")
            .order_by(Need.id.desc())
            .limit(3000)
        ).all()
        df: Counter[str] = Counter()
        docs = []
        for title, description in sample:
            words = set(index_tokens(f"{title} {description}"))
            docs.append(words)
            df.update(words)
        n = len(sample) or 1
        common = sorted(
            w for w, c in df.items() if 0.08 <= c / n <= 0.15 and len(w) >= 2
        )
        together = Counter(
            pair for d in docs for pair in combinations(sorted(d & set(common)), 2)
        )
        pairs = [" ".join(p) for p, _n in together.most_common(args.pairs)]

        def forget() -> None:
            # The decoded postings a worker keeps (PostgreSQL): as after a
            # start or a pack.
            from charitylink.search import pg_backend

            pg_backend._DECODED.entries.clear()

        classes: dict[str, Callable[[], Any]] = {
            "baseline: 20 needs by primary key": pk_baseline(),
            "two words that meet, words only": lambda: search_needs(
                rng.choice(pairs), facets=False
            ),
            "two words that meet + facets": lambda: search_needs(rng.choice(pairs)),
            "the same, nothing held (first search)": lambda: (
                forget(),
                search_needs(rng.choice(pairs)),
            )[1],
            "two words that meet, page 5": lambda: search_needs(
                rng.choice(pairs), page=5
            ),
            "two words + province + category": lambda: search_needs(
                rng.choice(pairs), {"region": "22", "category": "dibao"}
            ),
            "three common words": lambda: search_needs(" ".join(rng.sample(common, 3))),
        }
        print(f"load average at start: {os.getloadavg()}", time.strftime("%H:%M:%S"))
        print(f"pairs: {', '.join(pairs)}")
        for name, fn in classes.items():

            def run(fn: Callable[[], Any] = fn) -> Any:
                db.session.rollback()
                return fn()

            p50, p95, last = timed(run, args.runs)
            print(f"  {name:38} {p50:7.1f} {p95:7.1f} ms  hits {last.total}")
        print(f"load average at end: {os.getloadavg()}", time.strftime("%H:%M:%S"))


if __name__ == "__main__":
    main()
