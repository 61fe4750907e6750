"""A gunicorn worker killed (SIGKILL) while claims are in flight: the real serving
stack (gunicorn.conf.py, two workers) takes a stream of claims over HTTP, one
worker is killed in the middle of it, and afterwards every figure still adds up —
no partial ledger rows, no lost claim, the master has replaced the worker."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import threading
import time

from sqlalchemy import func, select

from charitylink.claims.models import Claim
from charitylink.extensions import db
from charitylink.funds import ledger
from charitylink.funds.models import Fund, LedgerEntry
from charitylink.needs.models import Need
from tests.serving import gunicorn


def _workers(master: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True
    ).stdout
    return [int(p) for p in out.split()]


def test_sigkill_of_a_worker_during_claims_leaves_every_figure_whole(
    app, create_fund, create_need, create_user, api_token
):
    fund = create_fund(donations_fen=100_000_000)
    member = create_user("org_member", org=fund.org)
    headers = {**api_token(member), "Content-Type": "application/json"}
    codes = [create_need(amount_fen=5_000_000).code for _ in range(6)]
    fund_id = fund.id
    db.session.commit()
    db.session.close()  # no transaction of ours stays open beside the server
    created: list[int] = []
    refused: list[tuple[int, bytes]] = []
    errors: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()
    port = 0  # set once the server runs, before any claimer starts

    def claimer(n: int) -> None:
        i = n
        while not stop.is_set():
            i += 1
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
                conn.request(
                    "POST",
                    f"/api/v1/needs/{codes[i % len(codes)]}/claims",
                    json.dumps({"fund_id": fund_id, "amount": 100}),
                    headers,
                )
                resp = conn.getresponse()
                body = resp.read()
            except OSError as exc:
                errors.append(repr(exc))
                continue  # the killed worker's connection: no answer, retried
            if resp.status == 201:
                with lock:
                    created.append(json.loads(body)["id"])
            else:
                refused.append((resp.status, body[:300]))

    with gunicorn(app, REPORTS_CACHE_SECONDS="0") as server:
        port = server.port
        deadline = time.time() + 60
        try:
            threads = [threading.Thread(target=claimer, args=(n,)) for n in range(4)]
            for t in threads:
                t.start()
            while len(created) < 20 and time.time() < deadline:
                assert not refused, refused[:3]
                assert len(errors) < 50, errors[:3]
                time.sleep(0.05)
            assert len(created) >= 20, (refused[:3], errors[:3])
            victims = _workers(server.pid)
            os.kill(victims[0], signal.SIGKILL)  # in the middle of the stream
            before_kill = len(created)
            while len(created) < before_kill + 20 and time.time() < deadline + 30:
                time.sleep(0.05)
            stop.set()
            for t in threads:
                t.join(30)
            # The master replaced the worker and the site still answers.
            assert victims[0] not in _workers(server.pid)
            assert len(_workers(server.pid)) == 2
            assert len(created) >= before_kill + 20, (refused[:3], errors[:3])
        finally:
            stop.set()  # never leave a claimer running on a failure

    db.session.expire_all()
    claims = db.session.scalars(select(Claim).where(Claim.fund_id == fund_id)).all()
    # Every claim answered 201 exists; none is half-made.
    assert set(created) <= {c.id for c in claims}
    assert all(c.status == "reserved" and c.amount_fen == 100 for c in claims)
    # One reserve entry per claim, and the fund's figures equal its ledger.
    reserves = db.session.scalar(
        select(func.count())
        .select_from(LedgerEntry)
        .where(LedgerEntry.fund_id == fund_id, LedgerEntry.kind == "reserve")
    )
    assert reserves == len(claims)
    fund = db.session.get(Fund, fund_id)
    sums = ledger.sums(fund_id)
    assert sums["reserved_fen"] == fund.reserved_fen == 100 * len(claims)
    assert sums["available_fen"] == fund.available_fen
    # Each need's counter equals its claims.
    for code in codes:
        need = db.session.scalar(select(Need).where(Need.code == code))
        mine = [c for c in claims if c.need_id == need.id]
        assert need.claimed_fen == 100 * len(mine)
