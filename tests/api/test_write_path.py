"""The one write path: no view or API endpoint commits; every view runs in
core.transaction.one_transaction, which commits what it did when it returns and
rolls it all back when it raises."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select

from charitylink.claims.models import Claim
from charitylink.extensions import db
from charitylink.needs.models import Need
from tests.factories import org_admin_of

PACKAGE = Path(__file__).parents[2] / "platform" / "charitylink"


def test_no_view_or_api_endpoint_commits() -> None:
    # The idempotency records keep their own transactions around the endpoint's
    # (core/idempotency.py).
    modules = [
        *PACKAGE.glob("*/views.py"),
        *PACKAGE.glob("*/*_views.py"),
        *PACKAGE.glob("api/*.py"),
    ]
    assert len(modules) > 20
    for path in sorted(modules):
        text = path.read_text(encoding="utf-8")
        assert not re.findall(r"\.commit\(\)", text), path


def test_every_view_runs_in_one_transaction(app) -> None:
    for endpoint, view in app.view_functions.items():
        if endpoint != "static":
            assert getattr(view, "one_transaction", False), endpoint


def test_a_refusal_after_writes_leaves_nothing_behind(
    client, create_org, create_fund, create_need, api_token
) -> None:
    """A claim raises the need's claimed amount and writes the claim before the
    fund's guarded reservation finds too little money: the whole request is
    rolled back, so the need shows nothing claimed and no claim exists."""
    org = create_org()
    fund = create_fund(org=org, donations_fen=1_000)
    need = create_need(amount_fen=50_000)
    resp = client.post(
        f"/api/v1/needs/{need.code}/claims",
        json={"fund_id": fund.id, "amount": 5_000},
        headers=api_token(org_admin_of(org)),
    )
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "insufficient_funds"
    db.session.expire_all()
    assert db.session.get(Need, need.id).claimed_fen == 0
    assert db.session.scalar(select(func.count(Claim.id))) == 0
