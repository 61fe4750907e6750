"""The caches' generation shared through Redis (core/shared.py), in one process:
two apps with their own instance folders (two nodes' disks) on one database. A
change committed through node A drops node B's cached public pages at B's next
request; without Redis it does not (each node's stamp file is its own), which
is what the shared version is for. Redis gone: pages are served uncached, the
outage is logged once, never a 500; Redis back without its data: the change
made meanwhile shows."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from charitylink import create_app
from charitylink.extensions import db
from tests.conftest import base_config
from tests.redis_server import free_port, redis_server
from tests.security.routes import forget_user

# Every lookup asks Redis: the tests see the next request, not a quarter second
# later (the two-node test keeps the default and measures the second).
FRESH = {"REDIS_VERSION_MAX_AGE": 0}


def _node(tmp_path: Path, db_url: str, name: str, **extra: Any) -> Flask:
    config = base_config(tmp_path / name, db_url)
    return create_app({**config, "PAGE_CACHE_TTL": 60, **FRESH, **extra})


def _get(node: Flask, url: str) -> tuple[int, str]:
    forget_user()
    resp = node.test_client(use_cookies=False).get(url)
    return resp.status_code, resp.get_data(as_text=True)


def _withdraw(code: str, moderator_id: int) -> None:
    """The change, made through the test's own app (node A)."""
    from charitylink.accounts.models import User
    from charitylink.needs import services
    from charitylink.needs.models import Need

    need = db.session.query(Need).filter_by(code=code).one()
    services.withdraw_need(need, db.session.get(User, moderator_id), "家庭情况已改善")
    db.session.commit()


@pytest.fixture
def app_config(app_config: dict[str, Any], redis_url: str, redis_prefix: str):
    return {
        **app_config,
        "PAGE_CACHE_TTL": 60,
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": redis_prefix,
        **FRESH,
    }


def test_a_change_on_one_node_drops_the_other_nodes_cached_pages(
    app, tmp_path, db_url, redis_url, redis_prefix, create_need, create_user
):
    need = create_need(status="published", title="独居老人冬季取暖费")
    moderator_id = create_user("moderator").id
    b = _node(tmp_path, db_url, "b", REDIS_URL=redis_url, REDIS_PREFIX=redis_prefix)
    for _ in range(2):
        status, page = _get(b, "/needs")
        assert status == 200 and "独居老人冬季取暖费" in page
    assert _get(b, f"/needs/{need.code}")[0] == 200
    cache_b = b.extensions["page_cache"]
    assert cache_b.hits == 1  # B serves /needs from its own cache

    _withdraw(need.code, moderator_id)  # through A: A's stamp file, Redis

    status, page = _get(b, "/needs")
    assert status == 200 and "独居老人冬季取暖费" not in page
    assert _get(b, f"/needs/{need.code}")[0] == 404
    assert cache_b.hits == 1


def test_without_redis_the_other_node_keeps_its_page_until_the_ttl(
    app, tmp_path, db_url, create_need, create_user
):
    # The contrast: the single-node default shares nothing between nodes.
    from charitylink.core import shared

    app.config["REDIS_URL"] = ""
    shared.init_app(app)
    need = create_need(status="published", title="孤儿助学生活费")
    moderator_id = create_user("moderator").id
    b = _node(tmp_path, db_url, "b")
    _get(b, "/needs")
    _withdraw(need.code, moderator_id)
    assert "孤儿助学生活费" in _get(b, "/needs")[1]


def test_redis_unreachable_serves_pages_uncached_and_logs_once(
    app, tmp_path, db_url, create_need, caplog
):
    need = create_need(status="published", title="失独老人护理费")
    dead = f"redis://127.0.0.1:{free_port()}/0"
    b = _node(
        tmp_path,
        db_url,
        "b",
        REDIS_URL=dead,
        REDIS_RETRY_SECONDS=0,  # ask again each time: still one log line
        RATELIMIT_ENABLED=True,
    )
    with caplog.at_level(logging.WARNING, logger="charitylink.core.shared"):
        for _ in range(3):
            status, page = _get(b, "/needs")
            assert status == 200 and "失独老人护理费" in page
            assert _get(b, f"/needs/{need.code}")[0] == 200
            assert _get(b, "/")[0] == 200
        # The login's rate limit falls back to memory: a wrong password is
        # still an ordinary answer, not a 500.
        forget_user()
        resp = b.test_client().post(
            "/login", data={"email": "nobody@example.org", "password": "x" * 12}
        )
        assert resp.status_code == 200
    assert b.extensions["page_cache"].hits == 0
    outages = [r for r in caplog.records if r.name == "charitylink.core.shared"]
    assert len(outages) == 1, [r.getMessage() for r in outages]


def test_redis_restarted_without_its_data_still_shows_changes_made_meanwhile(
    app, tmp_path, db_url, redis_prefix, create_need, create_user
):
    need = create_need(status="published", title="重度残疾人康复费")
    moderator_id = create_user("moderator").id
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    app.config.update(REDIS_URL=url, REDIS_RETRY_SECONDS=0)
    from charitylink.core import shared

    shared.init_app(app)
    b = _node(
        tmp_path,
        db_url,
        "b",
        REDIS_URL=url,
        REDIS_PREFIX=redis_prefix,
        REDIS_RETRY_SECONDS=0,
    )
    with redis_server(tmp_path / "r1", port):
        _get(b, "/needs")
        assert "重度残疾人康复费" in _get(b, "/needs")[1]
        assert b.extensions["page_cache"].hits == 1
    # Redis is down while the need is withdrawn through A.
    _withdraw(need.code, moderator_id)
    assert "重度残疾人康复费" not in _get(b, "/needs")[1]
    with redis_server(tmp_path / "r2", port):  # the same port, empty
        for _ in range(2):
            assert "重度残疾人康复费" not in _get(b, "/needs")[1]
    assert b.extensions["page_cache"].hits == 2  # the cache is back on
