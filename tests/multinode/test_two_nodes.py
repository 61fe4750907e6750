"""Two app nodes on one PostgreSQL and one Redis, as a load balancer would see
them: separate gunicorn processes (gunicorn.conf.py, production settings, one
worker each), separate instance folders (their own disks: stamp files, secrets
come from the environment as on a real fleet), driven over HTTP on loopback.

- a need approved, then withdrawn, through node A reaches node B's cached public
  pages within a second;
- the login rate limit counts the attempts made on both nodes together;
- a stream of claims split across both nodes keeps every money rule, and node A
  killed outright (SIGKILL of its whole process group, as a machine dying) in
  the middle of it loses no answered claim: every 201 is in the database and
  every figure equals its ledger.

PostgreSQL only: two processes sharing one SQLite file is not a deployment."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from charitylink.claims.models import Claim
from charitylink.extensions import db
from charitylink.funds import ledger
from charitylink.funds.models import Fund, LedgerEntry
from charitylink.needs.models import Need
from tests.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
FIRST_SECOND = 1.0  # a change on one node shows on the other within this


@pytest.fixture(autouse=True)
def _postgresql_only(db_backend: str) -> None:
    if db_backend != "postgresql":
        pytest.skip(
            "two nodes share one PostgreSQL; this runs in the PostgreSQL pass "
            "(bash .ci/pg.sh run …)"
        )


class Node:
    def __init__(self, name: str, process: subprocess.Popen, port: int) -> None:
        self.name, self.process, self.port = name, process, port

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            conn.request(method, path, body, headers or {})
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)


def _start(app: Any, name: str, tmp: Path, **env: str) -> Node:
    """One node: gunicorn in a session of its own (so the whole node can be
    killed at once), its own instance folder, the shared database and Redis."""
    port = free_port()
    instance = tmp / f"node-{name}"
    instance.mkdir()
    full_env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "platform"),
        "CHARITYLINK_ENV": "production",
        "CHARITYLINK_INSTANCE": str(instance),
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "DATA_KEY": app.config["DATA_KEY"],
        "BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_ACCESSLOG": "/dev/null",
        # Long enough that only the shared version can explain a fresh page.
        "PAGE_CACHE_TTL": "60",
        "REPORTS_CACHE_SECONDS": "0",
        **env,
    }
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "-c",
            "gunicorn.conf.py",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    return Node(name, process, port)


def _wait_until_up(this: Node) -> None:
    deadline = time.time() + 90
    while True:
        try:
            this.request("GET", "/login")
            return
        except OSError:
            if this.process.poll() is not None:
                pytest.fail(this.process.stderr.read().decode()[-3000:])
            assert time.time() < deadline, f"node {this.name} did not start"
            time.sleep(0.2)


@contextmanager
def two_nodes(app: Any, tmp: Path, redis_url: str, prefix: str) -> Iterator[Any]:
    """Nodes A and B, started side by side (a start is the slow part)."""
    db.session.commit()
    db.session.close()  # no transaction of ours stays open beside the nodes
    db.engine.dispose()
    shared = {"REDIS_URL": redis_url, "REDIS_PREFIX": prefix}
    nodes: list[Node] = []
    try:
        for name in ("a", "b"):
            nodes.append(_start(app, name, tmp, **shared))
        for this in nodes:
            _wait_until_up(this)
        yield nodes
    finally:
        for this in nodes:
            # Nothing to finish cleanly: a test run ends as fast as it can.
            with contextlib.suppress(ProcessLookupError):
                this.kill()
            this.process.wait(20)


def _json(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Content-Type": "application/json"}


def _until(check: Any, limit: float) -> float:
    """Seconds until ``check()`` holds (polling); fails after ``limit``."""
    start = time.monotonic()
    while not check():
        elapsed = time.monotonic() - start
        assert elapsed < limit, f"not within {limit} s"
        time.sleep(0.02)
    return time.monotonic() - start


def test_two_nodes_share_changes_and_limits_and_lose_nothing_when_one_dies(
    app,
    tmp_path,
    redis_url,
    redis_prefix,
    create_fund,
    create_need,
    create_user,
    api_token,
):
    """One pair of nodes for every part (starting one is the slow part)."""
    enterer = create_user("moderator", region_prefix="22")
    moderator = _json(api_token(create_user("moderator", region_prefix="22")))
    canary = create_need(status="published", title="冬季取暖煤炭费用")
    target = create_need(status="submitted", entered_by=enterer, title="孤儿助学生活费")
    victim = create_user("org_member").email
    # The fund covers 30 claims of 100 fen, the needs 40 (two of them only 5
    # each): the claim stream runs into full needs, then into an empty fund.
    fund = create_fund(donations_fen=3_000)
    member = create_user("org_member", org=fund.org)
    claims_by = _json(api_token(member))
    codes = [create_need(amount_fen=fen).code for fen in (500, 500, 1_000, 2_000)]
    fund_id = fund.id
    canary_id, code = canary.id, target.code

    with two_nodes(app, tmp_path, redis_url, redis_prefix) as (a, b):
        _a_change_reaches_the_other_node(a, b, canary_id, code, moderator)
        _the_login_limit_counts_both_nodes(a, b, victim)
        outcome = _claims_across_both_nodes_and_a_dies(a, b, codes, fund_id, claims_by)
    _every_money_rule_holds(fund_id, codes, *outcome)


def _a_change_reaches_the_other_node(
    a: Node, b: Node, canary_id: int, code: str, moderator: dict[str, str]
) -> None:
    # (a) B caches its list of needs ...
    for _ in range(2):
        status, _h, page = b.request("GET", "/needs")
        assert status == 200
    assert "冬季取暖煤炭费用" in page.decode() and "孤儿助学生活费" not in page.decode()
    # ... and really serves it from its cache: a title changed behind the
    # app's back (no commit through it, so no version moves) does not show.
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE needs SET title = '冬季取暖棉衣费用' WHERE id = :id"),
            {"id": canary_id},
        )
    assert "冬季取暖煤炭费用" in b.request("GET", "/needs")[2].decode()

    status, _h, body = a.request(
        "POST", f"/api/v1/needs/{code}/approve", "{}", moderator
    )
    assert status == 200, body
    took = _until(
        lambda: "孤儿助学生活费" in b.request("GET", "/needs")[2].decode(),
        FIRST_SECOND,
    )
    page = b.request("GET", "/needs")[2].decode()
    assert "冬季取暖棉衣费用" in page  # the whole page is fresh
    assert b.request("GET", f"/needs/{code}")[0] == 200

    status, _h, body = a.request(
        "POST",
        f"/api/v1/needs/{code}/withdraw",
        json.dumps({"reason": "家庭情况已好转"}),
        moderator,
    )
    assert status == 200, body
    took = max(
        took,
        _until(lambda: b.request("GET", f"/needs/{code}")[0] == 404, FIRST_SECOND),
    )
    assert "孤儿助学生活费" not in b.request("GET", "/needs")[2].decode()
    assert took < FIRST_SECOND


def _the_login_limit_counts_both_nodes(a: Node, b: Node, victim: str) -> None:
    # (b) The login form's limit for one account (10 a minute) counts the
    # attempts on both nodes: five wrong passwords on each, then neither
    # node lets an eleventh through. The session made on A is good on B
    # (one SECRET_KEY), as behind a load balancer without sticky sessions.
    status, headers, page = a.request("GET", "/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.decode())
    assert token, page[:500]
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    form = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": cookie,
    }
    attempt = f"csrf_token={token.group(1)}&email={victim}&password=wrong-password-1"
    answers = [
        (n.name, n.request("POST", "/login", attempt, form)[0]) for n in (a, b) * 5
    ]
    assert all(status == 200 for _n, status in answers), answers
    for n in (a, b):
        assert n.request("POST", "/login", attempt, form)[0] == 429, n.name


def _claims_across_both_nodes_and_a_dies(
    a: Node, b: Node, codes: list[str], fund_id: int, claims_by: dict[str, str]
) -> tuple[list[tuple[str, int]], list[tuple[int, str]], list[str]]:
    """Four claimers, two on each node; node A killed once both have answered."""
    created: list[tuple[str, int]] = []  # (node, claim id) of every 201
    refused: list[tuple[int, str]] = []
    unanswered: list[str] = []  # sent, no answer: the node died under it
    lock = threading.Lock()
    stop = threading.Event()

    def claimer(n: int, nodes: list[Node]) -> None:
        i = n
        while not stop.is_set():
            i += 1
            target = nodes[0]
            try:
                status, _h, body = target.request(
                    "POST",
                    f"/api/v1/needs/{codes[i % len(codes)]}/claims",
                    json.dumps({"fund_id": fund_id, "amount": 100}),
                    claims_by,
                )
            except (OSError, http.client.HTTPException):  # cut off mid-answer too
                with lock:
                    unanswered.append(target.name)
                # The load balancer takes the dead node out of rotation.
                if len(nodes) > 1:
                    nodes.pop(0)
                continue
            with lock:
                if status == 201:
                    created.append((target.name, json.loads(body)["id"]))
                else:
                    try:
                        code = json.loads(body)["error"]["code"]
                    except (ValueError, KeyError, TypeError):
                        code = body[:200].decode(errors="replace")
                    refused.append((status, code))
                    if code == "insufficient_funds":
                        stop.set()  # the money has run out: the stream is over

    routes = [[a, b], [b], [a, b], [b]]  # two claimers on each node
    threads = [
        threading.Thread(target=claimer, args=(n, route))
        for n, route in enumerate(routes)
    ]
    deadline = time.time() + 40
    try:
        for t in threads:
            t.start()
        # Both nodes have answered claims, then A dies in the middle.
        while time.time() < deadline and (
            len(created) < 12 or {name for name, _id in created} != {"a", "b"}
        ):
            time.sleep(0.02)
        assert {name for name, _id in created} == {"a", "b"}, created
        a.kill()  # mid-stream
        while not stop.is_set() and time.time() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert b.request("GET", "/needs")[0] == 200  # B still serves
    return created, refused, unanswered


def _every_money_rule_holds(
    fund_id: int,
    codes: list[str],
    created: list[tuple[str, int]],
    refused: list[tuple[int, str]],
    unanswered: list[str],
) -> None:
    db.session.expire_all()
    claims = db.session.scalars(select(Claim).where(Claim.fund_id == fund_id)).all()
    ids = {c.id for c in claims}
    # Nothing answered is lost; at most the requests cut off by the kill were
    # committed without an answer.
    assert {claim_id for _n, claim_id in created} <= ids
    assert len(ids) - len(created) <= len(unanswered)
    # Refused: claims on a full need (more than it lacks, or none left), then
    # the first on an empty fund.
    codes_seen = {code for _s, code in refused}
    assert {status for status, _c in refused} == {409}, refused[:5]
    assert codes_seen <= {"over_claim", "not_claimable", "insufficient_funds"}
    assert "insufficient_funds" in codes_seen and len(codes_seen) > 1, refused
    # The fund ran out, and never below zero.
    fund = db.session.get(Fund, fund_id)
    sums = ledger.sums(fund_id)
    assert len(claims) == 30, (len(claims), refused[:5])
    assert fund.available_fen == sums["available_fen"] == 0
    assert fund.reserved_fen == sums["reserved_fen"] == 100 * len(claims)
    reserves = db.session.scalar(
        select(func.count())
        .select_from(LedgerEntry)
        .where(LedgerEntry.fund_id == fund_id, LedgerEntry.kind == "reserve")
    )
    assert reserves == len(claims)
    assert all(c.status == "reserved" and c.amount_fen == 100 for c in claims)
    # No need claimed beyond its amount; each need's counter equals its claims.
    for code in codes:
        need = db.session.scalar(select(Need).where(Need.code == code))
        mine = [c for c in claims if c.need_id == need.id]
        assert need.claimed_fen == 100 * len(mine) <= need.amount_fen
        if need.amount_fen == 500:
            assert need.status == "fully_claimed"
