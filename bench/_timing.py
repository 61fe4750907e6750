"""What the query benchmarks (bench/search.py, bench/matching.py) share: a
fresh app on a database of their own, the timing of each query class against
a baseline, and the machine's load around the run.

Imported by those scripts from their own folder (``python bench/search.py``
puts bench/ on the path); ``charitylink`` is imported late, once the script
has put platform/ on the path.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def bench_app(
    db_url: str, prefix: str, tmp: Path | None = None, **settings: Any
) -> tuple[Any, Path]:
    """An app on ``db_url`` with its instance folder in ``tmp`` (a new
    temporary folder named ``prefix…`` if not given); ``settings`` add to or
    replace the defaults below."""
    from charitylink import create_app
    from charitylink.core.crypto import generate_data_key

    tmp = tmp or Path(tempfile.mkdtemp(prefix=prefix))
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": db_url,
            "INSTANCE_PATH": str(tmp / "instance"),
            "SEARCH_INDEX_DIR": str(tmp / "instance" / "search"),
            "SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
            "DATA_KEY": generate_data_key(),
            "SEARCH_DRAIN_AFTER_REQUEST": False,
            **settings,
        }
    )
    return app, tmp


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    """p50 and p95 of ``runs`` calls in ms (after one warm call), and what the
    last call returned."""
    fn()  # warm
    times = []
    last = None
    for _ in range(runs):
        t0 = time.perf_counter()
        last = fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    return statistics.median(times), p95, last


def time_classes(
    classes: Sequence[tuple[str, Callable[[], Any]]], runs: int
) -> Iterator[tuple[str, float, float, float, Any]]:
    """Each class timed in turn: name, p50, p95, p50 as a ratio to the first
    class's p50 (the baseline), and the last call's result."""
    base_p50 = None
    for name, fn in classes:
        p50, p95, last = timed(fn, runs)
        if base_p50 is None:
            base_p50 = p50
        yield name, p50, p95, p50 / base_p50, last


def pg_database(url: str) -> tuple[str, Callable[[], None]]:
    """A new empty database on the server of ``url``: its URL, and a function
    that drops it."""
    name = f"cl_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(url).set(database=name).render_as_string(hide_password=False), drop


def load_line(before: tuple[float, float, float]) -> str:
    """The load averages at the start (``before``) and now: figures taken on
    a busy machine say so."""
    return (
        "load average (1, 5, 15 min) at start: "
        + ", ".join(f"{x:.2f}" for x in before)
        + "; at end: "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    )


def pk_baseline() -> Callable[[], Any]:
    """The floor each query class is read against: 20 published needs by
    primary key, the session emptied first (inside an app context)."""
    from sqlalchemy import select

    from charitylink.extensions import db
    from charitylink.needs.models import Need

    ids = db.session.scalars(
        select(Need.id).where(Need.status == "published").limit(20)
    ).all()

    def baseline() -> Any:
        db.session.expunge_all()
        for i in ids:
            db.session.get(Need, i)
        return type("R", (), {"total": len(ids)})

    return baseline
