"""Switching accounts off is a guarded change too: two admins of an org, each
deactivating the other at the same moment (two threads, each with its own test
client, session and database connection, released by a barrier), never leave
the org without an active admin, and each deactivation is audited once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select

from charitylink.accounts.models import Role, User
from charitylink.core.audit import AuditEvent
from charitylink.extensions import db
from tests.factories import org_admin_of

ROUNDS = 8


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **app_config,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 6, "max_overflow": 2},
    }


def _logged_in(app, user: User):  # type: ignore[no-untyped-def]
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
        sess["_fresh"] = True
    return client


def _together(  # type: ignore[no-untyped-def]
    app, jobs: list[tuple[User, str]], data: dict[str, str] | None = None
) -> list[Any]:
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def work(i: int, user: User, url: str) -> None:
        client = _logged_in(app, user)
        barrier.wait(timeout=30)
        try:
            results[i] = client.post(url, data=data or {}).status_code
        except Exception as exc:  # recorded; the test fails on it
            results[i] = repr(exc)

    threads = [
        threading.Thread(target=work, args=(i, *job)) for i, job in enumerate(jobs)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a request hung"
    return results


def test_two_admins_deactivating_each_other_leave_one_admin(
    app, create_org, create_user
):
    for _ in range(ROUNDS):
        org = create_org()
        first = org_admin_of(org)
        second = create_user("org_admin", org=org)
        ids = (first.id, second.id)
        db.session.close()
        results = _together(
            app,
            [
                (first, f"/org/members/{second.id}/deactivate"),
                (second, f"/org/members/{first.id}/deactivate"),
            ],
        )
        assert all(r in (200, 302) for r in results), results
        db.session.expire_all()
        admins = db.session.scalars(
            select(User).where(User.id.in_(ids), User.role == Role.ORG_ADMIN)
        ).all()
        inactive = [u.id for u in admins if not u.active]
        assert len(inactive) <= 1, "both admins deactivated: the org has none"
        audited = db.session.scalars(
            select(AuditEvent.object_id).where(
                AuditEvent.action == "user.deactivate",
                AuditEvent.object_id.in_([str(i) for i in ids]),
            )
        ).all()
        assert sorted(audited) == sorted(str(i) for i in inactive)


def test_two_admins_stepping_down_at_once_leave_one_admin(app, create_org, create_user):
    """Each of the two admins makes themself a member at the same moment: the
    demotion's UPDATE counts the other active admins, so one stays admin."""
    for _ in range(ROUNDS):
        org = create_org()
        first = org_admin_of(org)
        second = create_user("org_admin", org=org)
        ids = (first.id, second.id)
        db.session.close()
        results = _together(
            app,
            [
                (first, f"/org/members/{first.id}/role"),
                (second, f"/org/members/{second.id}/role"),
            ],
            {"role": "org_member"},
        )
        assert all(r in (200, 302) for r in results), results
        db.session.expire_all()
        still = db.session.scalars(
            select(User.id).where(User.id.in_(ids), User.role == Role.ORG_ADMIN)
        ).all()
        assert len(still) >= 1, "both stepped down: the org has no admin"
        audited = db.session.scalars(
            select(AuditEvent.object_id).where(
                AuditEvent.action == "user.role_change",
                AuditEvent.object_id.in_([str(i) for i in ids]),
            )
        ).all()
        assert len(audited) == 2 - len(still)
