"""Benchmark: bench/scale.py's dashboard cuts (and the public figures) on one
database, with the time of each report function inside a cut.

    PYTHONPATH=$PWD/platform .venv/bin/python bench/dash_cuts.py \\
        --db postgresql+psycopg://postgres@127.0.0.1:55444/million_dash [--runs 5]

The cuts and their timing are bench/scale.py's (``dashboard_cuts``: the first
call, then the median of five; ``--once``/``--periods-once``: one call, for
cuts that take seconds); the load average is printed with them.
Then, for each cut, the median time of each function ``dashboard.build``
calls, and of ``transparency.figures`` (``/transparency``, ``GET /api/v1/stats``).
Read-only: nothing is written to the database.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))


def _scale() -> Any:
    spec = importlib.util.spec_from_file_location("scale", ROOT / "bench" / "scale.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _median_ms(fn: Any, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--parts", action="store_true", help="time each function too")
    ap.add_argument(
        "--once",
        action="store_true",
        help="each cut once (the first call) instead of scale.py's first + "
        "median of five: for a state where a cut takes minutes",
    )
    ap.add_argument(
        "--periods-once",
        action="store_true",
        help="the cuts with a period once, the others as scale.py times them",
    )
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    scale = _scale()
    app = scale.make_app(args.db, 0)
    with app.app_context():
        from datetime import timedelta

        from charitylink.core.timeutil import today
        from charitylink.extensions import db
        from charitylink.reports import dashboard, figures, transparency
        from charitylink.reports.queries import Filters

        print(f"load average before: {os.getloadavg()}")
        day = today()
        cuts = {
            "country by province": Filters(level="province"),
            "province 22 by city": Filters(prefix="22", level="city"),
            "city 2201 by county": Filters(prefix="2201", level="county"),
            "province 22, last 90 days": Filters(
                prefix="22",
                date_from=day - timedelta(days=90),
                date_to=day,
                level="city",
            ),
            "country, this year": Filters(
                date_from=day.replace(month=1, day=1), date_to=day, level="province"
            ),
        }
        for name, f in cuts.items():
            db.session.rollback()
            if args.once or (args.periods_once and f.date_from is not None):
                ms = _median_ms(lambda f=f: dashboard.build(f, day), 1)
                print(f"  dashboard {name:35} once {ms:8.1f} ms", flush=True)
                continue
            # As scale.dashboard_cuts: the first call, then the median of 5.
            t0 = time.perf_counter()
            dashboard.build(f, day)
            first = (time.perf_counter() - t0) * 1000
            p50, _p95, _ = scale.timed(lambda f=f: dashboard.build(f, day), 5)
            print(f"  dashboard {name:35} first {first:8.1f} ms, then {p50:7.1f} ms")
        db.session.rollback()
        ms = _median_ms(transparency.figures, 1 if args.once else args.runs)
        print(f"  transparency.figures (page, API)  {ms:7.1f} ms")
        print(f"load average after: {os.getloadavg()}")
        if not args.parts:
            return
        parts = {
            "totals": lambda f: figures.totals(f),
            "matrix_and_months": lambda f: figures.matrix_and_months(f),
            "by_region": lambda f: figures.by_region(f),
            "delivered_by_month": lambda f: figures.delivered_by_month(f),
            "assistance_link": lambda f: figures.assistance_link(f),
            "time_to_full_claim": lambda f: figures.time_to_full_claim(f),
            "expiring_claims": lambda f: figures.expiring_claims(f, day),
            "repeated_help": lambda f: figures.repeated_help(f, day),
            "org_activity": lambda f: figures.org_activity(f),
        }
        for name, f in cuts.items():
            cells = []
            for part, fn in parts.items():
                slow = args.once or (args.periods_once and f.date_from is not None)
                runs = 1 if slow else args.runs
                ms = _median_ms(lambda fn=fn, f=f: fn(f), runs)
                cells.append(f"{part} {ms:.0f}")
                db.session.rollback()
            print(f"  {name}: " + ", ".join(cells), flush=True)
        print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
