"""Staying in step: outbox in the same transaction, at-least-once draining,
nothing lost or duplicated when the indexer dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from charitylink.extensions import db
from charitylink.search import indexer
from charitylink.search.models import SearchDocument, SearchOutbox
from charitylink.search.service import search_needs
from tests.search.conftest import whoosh_keys


def outbox_count() -> int:
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(SearchOutbox)) or 0


def test_change_is_searchable_after_the_request_that_commits_it(
    need, index_now, client, login_as, create_user
) -> None:  # type: ignore[no-untyped-def]
    """No manual drain: the request drains (development) or PostgreSQL wrote the
    document in the same transaction."""
    n = need("白血病患儿急需化疗费用", region_code="220102")
    index_now()
    assert search_needs("白血病").total == 1

    mod = create_user("moderator", region_prefix="22")
    resp = login_as(mod).post(
        f"/mod/needs/{n.code}/withdraw", data={"reason": "家庭已获得其他救助"}
    )
    assert resp.status_code in (200, 302, 303)
    db.session.expire_all()

    assert search_needs("白血病").total == 0
    assert outbox_count() == 0


def test_rolled_back_change_leaves_no_trace(need, index_now, engine) -> None:  # type: ignore[no-untyped-def]
    n = need("白血病患儿急需化疗费用")
    index_now()
    before = outbox_count()

    n.title = "助听器"
    db.session.flush()
    db.session.rollback()

    assert outbox_count() == before == 0
    assert search_needs("助听器").total == 0
    assert search_needs("白血病").total == 1


def test_whoosh_changes_wait_in_the_outbox_postgres_changes_are_immediate(
    need, engine
) -> None:  # type: ignore[no-untyped-def]
    need("白血病患儿急需化疗费用")
    if engine == "whoosh":
        assert outbox_count() >= 1
        assert search_needs("白血病").fallback  # no index yet: database answers
    else:
        assert outbox_count() == 0
        docs = db.session.scalar(select(func.count()).select_from(SearchDocument))
        assert docs == 1
        result = search_needs("白血病")
        assert result.total == 1 and not result.fallback


def test_claim_amount_changes_do_not_touch_the_outbox(need, index_now) -> None:  # type: ignore[no-untyped-def]
    n = need("白血病患儿急需化疗费用", amount_fen=500_000)
    index_now()
    n.claimed_fen = 100_000
    db.session.commit()

    assert outbox_count() == 0


# -- the Whoosh indexer, on either database (fixture whoosh_app) -------------
def test_crash_between_index_commit_and_outbox_delete_loses_and_duplicates_nothing(
    whoosh_app, create_need
) -> None:  # type: ignore[no-untyped-def]
    indexer.drain_all()  # build the (empty) index
    made = [
        create_need(title=f"白血病患儿需要帮助{i}", status="published")
        for i in range(6)
    ]
    pending = outbox_count()
    assert pending >= 6

    class Boom(RuntimeError):
        pass

    def crash() -> None:
        raise Boom

    with pytest.raises(Boom):
        indexer.drain(batch=500, after_index_commit=crash)
    assert outbox_count() == pending  # rows kept: the index commit is not trusted

    indexer.drain_all()  # the restarted indexer repeats the updates

    assert outbox_count() == 0
    keys = whoosh_keys()
    assert sorted(keys) == sorted(f"need:{n.id}" for n in made)
    assert search_needs("白血病", per_page=100).total == 6


def test_worker_killed_mid_drain_then_restarted(
    whoosh_app, create_need, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    indexer.drain_all()
    made = [
        create_need(title=f"白血病患儿需要帮助{i}", status="published")
        for i in range(40)
    ]
    made[3].status = "withdrawn"
    db.session.commit()
    pending = outbox_count()

    env = dict(os.environ)
    env.update(
        DATABASE_URL=whoosh_app.config["SQLALCHEMY_DATABASE_URI"],
        SEARCH_INDEX_DIR=whoosh_app.config["SEARCH_INDEX_DIR"],
        CHARITYLINK_INSTANCE=whoosh_app.config["INSTANCE_PATH"],
        DATA_KEY=whoosh_app.config["DATA_KEY"],
        SECRET_KEY=whoosh_app.config["SECRET_KEY"],
        SEARCH_BACKEND="whoosh",
    )
    root = Path(__file__).resolve().parents[2]
    cmd = [sys.executable, "-m", "flask", "--app", "wsgi", "search", "worker"]
    worker = subprocess.Popen(
        [*cmd, "--batch", "3", "--poll", "0.2"], cwd=root, env=env
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            left = outbox_count()
            if left < pending:  # at least one batch committed: mid-drain
                break
            time.sleep(0.02)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert 0 < outbox_count() < pending, "the worker should die mid-drain"

    again = subprocess.run(
        [*cmd, "--once", "--batch", "7"], cwd=root, env=env, timeout=120
    )
    assert again.returncode == 0

    assert outbox_count() == 0
    keys = whoosh_keys()
    expected = [f"need:{n.id}" for i, n in enumerate(made) if i != 3]
    assert sorted(keys) == sorted(expected)  # nothing missing, nothing twice


def test_drain_after_request_gives_up_on_a_held_lock_and_keeps_the_rows(
    whoosh_app, create_need
) -> None:  # type: ignore[no-untyped-def]
    from charitylink.search.backend import get_backend
    from charitylink.search.indexer import IndexerBusy

    indexer.drain_all()
    create_need(title="白血病患儿需要帮助", status="published")
    pending = outbox_count()
    with get_backend().lock(1) as locked:  # type: ignore[attr-defined]
        assert locked
        with pytest.raises(IndexerBusy):
            indexer.drain(lock_timeout=0.1)
    assert outbox_count() == pending
    indexer.drain_all()
    assert outbox_count() == 0
    assert search_needs("白血病").total == 1


def test_pg_rebuild_readers_see_old_rows_until_commit(need, engine, app) -> None:  # type: ignore[no-untyped-def]
    if engine != "pg":
        pytest.skip("PostgreSQL-only: MVCC rebuild (Whoosh has its own test)")
    from sqlalchemy.orm import Session

    from charitylink.search.backend import get_backend
    from charitylink.search.documents import iter_public_documents

    need("白血病患儿急需化疗费用")
    db.session.commit()
    db.session.execute(text("DELETE FROM search_documents"))
    db.session.execute(text("DELETE FROM search_postings"))
    db.session.commit()
    with Session(db.engine) as rebuilding:
        get_backend().rebuild(
            rebuilding, iter_public_documents(rebuilding), lambda _n: None
        )
        assert search_needs("白血病").total == 0  # not yet committed
        rebuilding.commit()
    db.session.commit()
    assert search_needs("白血病").total == 1
