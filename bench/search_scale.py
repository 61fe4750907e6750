"""Benchmark: only the search classes of ``bench/scale.py`` on one or more
databases as they are (no seeding), with the load average before and after.

    PG=postgresql+psycopg://postgres@127.0.0.1:55444
    PYTHONPATH=$PWD/platform .venv/bin/python bench/search_scale.py \\
        --db 1000000=$PG/million_s1m [--runs 50]

The classes, their words and the baseline (20 needs by primary key, same
database, same run) are bench/scale.py's own (``search_classes``); this
script only skips the other sections (pages, dashboards, changes, disk),
which take minutes at 1,000,000 needs. Not a test: figures go to
docs/search.md.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT.parent / "platform"))

import scale  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", action="append", required=True, help="SIZE=URL")
    ap.add_argument("--runs", type=int, default=scale.QUERY_RUNS)
    args = ap.parse_args()
    scale.QUERY_RUNS = args.runs
    rng = random.Random(7)
    print("load average at start:", os.getloadavg(), time.strftime("%H:%M:%S"))
    for spec in args.db:
        size, url = spec.split("=", 1)
        app = scale.make_app(url, 0)
        print(f"== search, {int(size):,} needs ({url.rsplit('/', 1)[-1]})")
        with app.app_context():
            scale.search_classes(rng)
    print("load average at end:", os.getloadavg(), time.strftime("%H:%M:%S"))


if __name__ == "__main__":
    main()
