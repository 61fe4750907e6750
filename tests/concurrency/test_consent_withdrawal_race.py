"""A household withdraws its consent while an org's staff open its contact 20
times at once: 21 threads, each with its own test client (own session, own
connection), released by a barrier. A release either committed before the
withdrawal (its audit row comes first) or was refused; none lands after the
withdrawal. SQLite and PostgreSQL (``TEST_DATABASE_URL``)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select

from charitylink.claims import services as claim_services
from charitylink.core.audit import AuditEvent
from charitylink.extensions import db
from charitylink.notifications.models import Notification
from charitylink.privacy import consents
from tests.factories import org_admin_of

RELEASES = 20
PHONE = "13912345678"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **app_config,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": RELEASES + 6, "max_overflow": 5},
    }


def test_consent_withdrawal_racing_twenty_contact_releases(
    app, login_as, create_org, create_fund, create_need, create_user, api_token
):  # type: ignore[no-untyped-def]
    org = create_org()
    staff = org_admin_of(org)
    fund = create_fund(org=org, donations_fen=1_000_000)
    need = create_need(household={"phone": PHONE}, consent_share_contact=True)
    claim = claim_services.claim_need(need, staff, fund, 10_000)
    moderator = create_user("moderator", region_prefix="22")
    consent = consents.active_consent(need, "share_contact")
    assert consent is not None
    db.session.commit()
    consent_id, claim_id = consent.id, claim.id
    mod_headers = api_token(moderator)
    clients = [login_as(staff, app.test_client()) for _ in range(RELEASES)]

    barrier = threading.Barrier(RELEASES + 1)
    results: list[Any] = [None] * (RELEASES + 1)

    def release(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            resp = clients[i].post(f"/org/claims/{claim_id}/contact", data={})
            results[i] = ("release", resp.status_code, PHONE in resp.data.decode())
        except Exception as exc:  # recorded, and the test fails below
            results[i] = ("exception", repr(exc), False)

    def withdraw() -> None:
        client = app.test_client()
        barrier.wait(timeout=30)
        try:
            resp = client.post(
                f"/api/v1/consents/{consent_id}/withdraw",
                json={"reason": "家属要求不再提供"},
                headers=mod_headers,
            )
            results[RELEASES] = ("withdraw", resp.status_code, False)
        except Exception as exc:
            results[RELEASES] = ("exception", repr(exc), False)

    threads = [threading.Thread(target=release, args=(i,)) for i in range(RELEASES)]
    threads.append(threading.Thread(target=withdraw))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a request hung"

    assert results[RELEASES] == ("withdraw", 200, False), results[RELEASES]
    releases = results[:RELEASES]
    assert all(r[0] == "release" and r[1] in (200, 302) for r in releases), releases
    shown = sum(1 for r in releases if r[1] == 200 and r[2])

    db.session.expire_all()
    withdrawal = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "consent.withdraw")
    )
    views = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "claim.contact_view")
    ).all()
    assert withdrawal is not None
    # Every contact shown was audited, and every audited release was written
    # while the consent was still held: before the withdrawal's own row.
    assert len(views) == shown
    assert all(v.id < withdrawal.id for v in views)
    # After the withdrawal nobody gets the contact.
    late = clients[0].post(f"/org/claims/{claim_id}/contact", data={})
    assert late.status_code == 302 and PHONE not in late.data.decode()
    # The org was told iff its staff had seen the contact.
    told = db.session.scalars(
        select(Notification).where(Notification.kind == "consent_withdrawn")
    ).all()
    assert bool(told) == bool(shown)
    assert all(PHONE not in str(n.params) for n in told)
