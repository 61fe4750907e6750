"""Status changes fired in pairs at the real serving stack (gunicorn.conf.py, two
sync workers, each request in its own process and transaction): a withdrawal
against a claim, an approval against a rejection — for needs, orgs and projects.
Each pair is released together many times; afterwards exactly one action of
each pair won (a withdrawal against a claim: the withdrawal, which cancels the
claim if it landed first), exactly one audit row says so, and the money adds
up.

Every status change is a guarded ``UPDATE … WHERE id = :id AND status = :from``
(plus the rule); a check done in Python before the first write of a
transaction would let both requests of a pair pass it."""

from __future__ import annotations

import http.client
import json
import threading
from typing import Any

from sqlalchemy import func, select

from charitylink.claims.models import Claim, ClaimStatus
from charitylink.core.audit import AuditEvent
from charitylink.core.timeutil import today as china_today
from charitylink.extensions import db
from charitylink.funds import ledger
from charitylink.funds.models import Fund, LedgerEntry
from charitylink.needs.models import Need
from charitylink.orgs.models import Organization, OrgStatus
from charitylink.projects.models import Project, ProjectStatus
from tests.serving import gunicorn

ROUNDS = 12  # pairs per kind of object
Request = tuple[dict[str, str], str, dict[str, Any]]  # headers, path, JSON body


def serve(app):  # type: ignore[no-untyped-def]
    # Idle workers at the end: a short graceful stop keeps a loaded machine
    # from holding the test up on the way out.
    return gunicorn(app, REPORTS_CACHE_SECONDS="0", GUNICORN_GRACEFUL_TIMEOUT="3")


def _send(
    port: int, request: Request, barrier: threading.Barrier, answers: list, i: int
) -> None:
    headers, path, body = request
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.connect()
        barrier.wait(timeout=30)
        conn.request(
            "POST",
            path,
            json.dumps(body),
            {**headers, "Content-Type": "application/json"},
        )
        resp = conn.getresponse()
        raw = resp.read()
        answers[i] = (resp.status, json.loads(raw) if raw else None)
    except Exception as exc:  # recorded; the test fails on it
        answers[i] = ("exception", repr(exc))
    finally:
        conn.close()


def fire_pairs(port: int, pairs: list[tuple[Request, Request]]) -> list[list[Any]]:
    """Send the two requests of each pair at the same moment (connections open
    first, then a barrier); returns ``[(status, body), (status, body)]`` per pair."""
    results: list[list[Any]] = []
    for pair in pairs:
        barrier = threading.Barrier(2)
        answers: list[Any] = [None, None]
        threads = [
            threading.Thread(target=_send, args=(port, r, barrier, answers, i))
            for i, r in enumerate(pair)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads), "a request hung"
        results.append(answers)
    return results


def post(port: int, headers: dict[str, str], path: str, body: dict) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            "POST",
            path,
            json.dumps(body),
            {**headers, "Content-Type": "application/json"},
        )
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def error_code(answer: Any) -> str | None:
    status, body = answer
    if isinstance(body, dict) and "error" in body:
        return body["error"]["code"]
    return None


def audit_actions(object_id: str, actions: tuple[str, ...]) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.object_id == object_id, AuditEvent.action.in_(actions)
            )
        )
    )


def assert_one_winner(
    results: list[list[Any]], ok: tuple[int, int], refusal: str
) -> list[int]:
    """Each pair: exactly one answer is its success status, the other the named
    refusal (409). Returns the index of the winner per pair."""
    winners = []
    for a, b in results:
        assert a[0] != "exception" and b[0] != "exception", (a, b)
        won = [a[0] == ok[0], b[0] == ok[1]]
        assert sum(won) == 1, (a, b)
        loser = b if won[0] else a
        assert loser[0] == 409 and error_code(loser) == refusal, loser
        winners.append(0 if won[0] else 1)
    return winners


def test_withdrawal_racing_a_claim_never_leaves_money_on_a_withdrawn_need(
    app, create_fund, create_need, create_user, api_token
):
    fund = create_fund(donations_fen=100_000_000)
    member = create_user("org_member", org=fund.org)
    moderator = create_user("moderator", region_prefix="22")
    staff, mod = api_token(member), api_token(moderator)
    needs = [create_need(amount_fen=500_000) for _ in range(30)]
    codes = [n.code for n in needs]
    fund_id = fund.id
    today = china_today().isoformat()
    db.session.commit()
    db.session.close()  # no transaction of ours stays open beside the server
    pairs = [
        (
            (mod, f"/api/v1/needs/{code}/withdraw", {"reason": "家庭情况已好转"}),
            (staff, f"/api/v1/needs/{code}/claims", {"fund_id": fund_id, "amount": 1}),
        )
        for code in codes
    ]
    with serve(app) as server:
        results = fire_pairs(server.port, pairs)
        for withdraw, claim in results:
            # The withdrawal always goes through (open claims no longer stop
            # it); the claim either landed first and was cancelled by it, or
            # found the need withdrawn.
            assert withdraw[0] == 200, (withdraw, claim)
            assert claim[0] in (201, 409), claim
            if claim[0] == 409:
                assert error_code(claim) == "not_claimable"
        landed = [claim[1]["id"] for _w, claim in results if claim[0] == 201]
        # A claim cancelled with its need delivers nothing.
        for claim_id in landed[:3]:
            status, body = post(
                server.port,
                staff,
                f"/api/v1/claims/{claim_id}/deliver",
                {"delivered_amount": 1, "delivered_on": today, "method": "cash"},
            )
            assert status == 409, body

    db.session.expire_all()
    for code in codes:
        need = db.session.scalar(select(Need).where(Need.code == code))
        claims = db.session.scalars(select(Claim).where(Claim.need_id == need.id)).all()
        assert need.status == "withdrawn" and need.claimed_fen == 0
        assert all(c.status == ClaimStatus.CANCELLED for c in claims)
        assert audit_actions(code, ("need.withdraw",)) == ["need.withdraw"]
    # The fund's figures equal its ledger, and its reservations equal the claims.
    fund = db.session.get(Fund, fund_id)
    sums = ledger.sums(fund_id)
    assert sums["reserved_fen"] == fund.reserved_fen
    assert sums["available_fen"] == fund.available_fen
    reserved_total = db.session.scalar(
        select(func.coalesce(func.sum(Claim.amount_fen), 0)).where(
            Claim.fund_id == fund_id, Claim.status == ClaimStatus.RESERVED
        )
    )
    assert fund.reserved_fen == reserved_total
    # Paid out only on needs that are not withdrawn.
    paid_on = db.session.scalars(
        select(Need.status)
        .join(Claim, Claim.need_id == Need.id)
        .join(LedgerEntry, LedgerEntry.claim_id == Claim.id)
        .where(LedgerEntry.kind == "disburse")
    ).all()
    assert "withdrawn" not in paid_on


def test_approval_racing_a_rejection_has_one_winner_for_needs_orgs_and_projects(
    app, create_fund, create_need, create_org, create_project, create_user, api_token
):
    """Needs, orgs and projects in one server run (its start is the slow part):
    each object gets an approval (verification) and a rejection at once."""
    enterer = create_user("moderator", region_prefix="22")
    approver = api_token(create_user("moderator", region_prefix="22"))
    rejecter = api_token(create_user("moderator", region_prefix="2201"))
    codes = [
        create_need(status="submitted", entered_by=enterer).code for _ in range(ROUNDS)
    ]
    org_ids = [create_org(status=OrgStatus.PENDING).id for _ in range(ROUNDS)]
    fund = create_fund()
    project_ids = [
        create_project(fund=fund, status=ProjectStatus.SUBMITTED).id
        for _ in range(ROUNDS)
    ]
    db.session.close()
    kinds = {
        "need": [
            (
                (approver, f"/api/v1/needs/{code}/approve", {}),
                (rejecter, f"/api/v1/needs/{code}/reject", {"reason": "金额依据不足"}),
            )
            for code in codes
        ],
        "org": [
            (
                (approver, f"/api/v1/orgs/{org_id}/verify", {}),
                (rejecter, f"/api/v1/orgs/{org_id}/reject", {"reason": "材料不全"}),
            )
            for org_id in org_ids
        ],
        "project": [
            (
                (approver, f"/api/v1/projects/{pid}/approve", {}),
                (rejecter, f"/api/v1/projects/{pid}/reject", {"reason": "预算不足"}),
            )
            for pid in project_ids
        ],
    }
    with serve(app) as server:
        results = {
            kind: fire_pairs(server.port, pairs) for kind, pairs in kinds.items()
        }
    db.session.expire_all()

    winners = assert_one_winner(results["need"], (200, 200), "invalid_transition")
    for code, winner in zip(codes, winners, strict=True):
        need = db.session.scalar(select(Need).where(Need.code == code))
        status, action = (
            ("published", "need.approve")
            if winner == 0
            else ("rejected", "need.reject")
        )
        assert need.status == status
        assert audit_actions(code, ("need.approve", "need.reject")) == [action]

    winners = assert_one_winner(results["org"], (200, 200), "invalid_transition")
    for org_id, winner in zip(org_ids, winners, strict=True):
        org = db.session.get(Organization, org_id)
        status, action = (
            ("verified", "org.verify") if winner == 0 else ("rejected", "org.reject")
        )
        assert org.status == status
        assert (org.verified_at is not None) == (winner == 0)
        assert audit_actions(str(org_id), ("org.verify", "org.reject")) == [action]

    winners = assert_one_winner(results["project"], (200, 200), "invalid_transition")
    for pid, winner in zip(project_ids, winners, strict=True):
        project = db.session.get(Project, pid)
        status, action = (
            ("published", "project.approve")
            if winner == 0
            else ("rejected", "project.reject")
        )
        assert project.status == status
        assert audit_actions(str(pid), ("project.approve", "project.reject")) == [
            action
        ]
