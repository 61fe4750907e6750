"""A process killed (SIGKILL) in the middle of a claim leaves no partial ledger
rows and loses no committed claim (rules 1, 2; the transaction is atomic)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from charitylink.claims.models import Claim
from charitylink.extensions import db
from charitylink.funds import ledger
from charitylink.funds.models import Fund, LedgerEntry
from charitylink.needs.models import Need

ROOT = Path(__file__).resolve().parents[2]


def test_sigkill_in_the_middle_of_a_claim(
    app, tmp_path, create_fund, create_need, create_user
):
    fund = create_fund(donations_fen=1_000_000)
    member = create_user("org_member", org=fund.org)
    need = create_need(amount_fen=500_000)
    entries_before = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    ready = tmp_path / "ready"
    db.engine.dispose()  # the child gets the database to itself for writing

    child = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests" / "faults" / "claim_child.py"),
            app.config["SQLALCHEMY_DATABASE_URI"],
            app.config["DATA_KEY"],
            app.config["SECRET_KEY"],
            str(ready),
            str(need.id),
            str(fund.id),
            str(member.id),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'platform'}:{ROOT}"},
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 60
    while not ready.exists():
        assert child.poll() is None, child.stderr.read().decode()[-3000:]
        assert time.time() < deadline, "the child never reached the ledger write"
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    assert child.returncode == -signal.SIGKILL

    db.session.expire_all()
    claims = db.session.scalars(select(Claim).where(Claim.need_id == need.id)).all()
    assert [(c.amount_fen, c.status) for c in claims] == [(10_000, "reserved")]
    entries = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.fund_id == fund.id)
    ).all()
    assert (
        db.session.scalar(select(func.count()).select_from(LedgerEntry))
        == entries_before + 1
    )
    assert [e.kind for e in entries if e.claim_id is not None] == ["reserve"]
    fund = db.session.get(Fund, fund.id)
    need = db.session.get(Need, need.id)
    assert fund.reserved_fen == 10_000
    assert need.claimed_fen == 10_000
    sums = ledger.sums(fund.id)
    assert sums["reserved_fen"] == fund.reserved_fen
    assert sums["available_fen"] == fund.available_fen
    # The database is usable at once: the next claim goes through.
    from charitylink.claims import services

    services.claim_need(need, member, fund, 20_000)
    db.session.commit()
    assert db.session.get(Need, need.id).claimed_fen == 30_000
