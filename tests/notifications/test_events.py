"""Every kind whose event exists today is produced by that event for exactly
the right people: the table below names, for each kind, the event and who must
hear of it; everyone else in the little world (another region's moderator,
another org, the org's member where only admins are told, the actor where the
contract leaves them out) must not."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from charitylink.claims import services as claims
from charitylink.core.timeutil import today
from charitylink.extensions import db
from charitylink.needs import services as needs
from charitylink.notifications.models import Notification
from charitylink.orgs import services as orgs
from charitylink.orgs.models import OrgStatus
from charitylink.projects import services as projects
from charitylink.projects.models import ProjectStatus
from tests.factories import org_admin_of
from tests.orgs.conftest import registration


@pytest.fixture
def world(create_user, create_org, create_fund, create_need):  # type: ignore[no-untyped-def]
    """Two moderators over 220102 (the city's and the province's), one over
    another city, an org in 220102 with its admin and a member and a funded
    fund, and another org with its admin."""
    city = create_user("moderator", region_prefix="2201")
    province = create_user("moderator", region_prefix="22")
    elsewhere = create_user("moderator", region_prefix="2202")
    org = create_org()
    member = create_user("org_member", org=org)
    fund = create_fund(org=org, donations_fen=5_000_000)
    other = create_org(region_code="220102")
    w: dict[str, Any] = {
        "city": city,
        "province": province,
        "elsewhere": elsewhere,
        "org": org,
        "admin": org_admin_of(org),
        "member": member,
        "fund": fund,
        "other_admin": org_admin_of(other),
        "create_need": create_need,
        "create_org": create_org,
    }
    return w


def _need(w: dict[str, Any], status: str = "published") -> Any:
    return w["create_need"](status=status, amount_fen=100_000, entered_by=w["city"])


def _claim(w: dict[str, Any]) -> Any:
    claim = claims.claim_need(_need(w), w["admin"], w["fund"], 100_000)
    db.session.commit()
    return claim


def _pending_org(w: dict[str, Any]) -> Any:
    return w["create_org"](status=OrgStatus.PENDING)


def do_org_registered(w: dict[str, Any]) -> None:
    orgs.register_org(registration())


def do_org_verified(w: dict[str, Any]) -> None:
    org = _pending_org(w)
    w["admin"] = org_admin_of(org)
    orgs.verify_org(org, w["province"])


def do_org_rejected(w: dict[str, Any]) -> None:
    org = _pending_org(w)
    w["admin"] = org_admin_of(org)
    orgs.reject_org(org, w["province"], "统一社会信用代码与登记证书不一致")


def do_org_suspended(w: dict[str, Any]) -> None:
    orgs.suspend_org(w["org"], w["province"], "年检未通过")


def do_need_submitted(w: dict[str, Any]) -> None:
    needs.submit_need(_need(w, "draft"), w["city"])


def do_need_approved(w: dict[str, Any]) -> None:
    needs.approve_need(_need(w, "submitted"), w["province"])


def do_need_rejected(w: dict[str, Any]) -> None:
    needs.reject_need(_need(w, "submitted"), w["province"], "金额与材料不符")


def do_need_withdrawn(w: dict[str, Any]) -> None:
    # The withdrawal cancels the open claim: its org hears of it.
    claim = _claim(w)
    db.session.commit()
    needs.withdraw_need(claim.need, w["province"], "家庭情况已变化")


def do_claim_created(w: dict[str, Any]) -> None:
    claims.claim_need(_need(w), w["member"], w["fund"], 60_000)


def do_claim_expired(w: dict[str, Any]) -> None:
    _claim(w)
    claims.expire_overdue(today() + timedelta(days=400))


def do_claim_cancelled(w: dict[str, Any]) -> None:
    claims.cancel_claim(_claim(w), w["member"])


def do_delivery_reported(w: dict[str, Any]) -> None:
    claims.deliver_claim(_claim(w), w["member"], 100_000, today(), "cash")


def do_delivery_confirmed(w: dict[str, Any]) -> None:
    claim = _claim(w)
    claims.deliver_claim(claim, w["member"], 100_000, today(), "cash")
    db.session.commit()
    claims.confirm_claim(claim, w["province"])


def _project(w: dict[str, Any], status: ProjectStatus) -> Any:
    from charitylink.projects.models import Project

    project = Project(
        org_id=w["org"].id,
        fund_id=w["fund"].id,
        title="困境儿童助学帮扶项目",
        summary="为困难家庭儿童提供助学金。",
        body="资助困难家庭学生。",
        need_types=["education"],
        region_codes=["220102"],
        target_fen=1_000_000,
        status=status,
    )
    db.session.add(project)
    db.session.commit()
    return project


def do_project_submitted(w: dict[str, Any]) -> None:
    projects.submit_project(_project(w, ProjectStatus.DRAFT), w["member"])


def do_project_approved(w: dict[str, Any]) -> None:
    projects.approve_project(_project(w, ProjectStatus.SUBMITTED), w["city"])


def do_project_rejected(w: dict[str, Any]) -> None:
    projects.reject_project(
        _project(w, ProjectStatus.SUBMITTED), w["city"], "项目预算需要细化"
    )


MODERATORS = ("city", "province")
ORG_STAFF = ("admin", "member")

# kind → (the event, who hears of it). Everyone else in the world must not.
TABLE: dict[str, tuple[Callable[[dict[str, Any]], None], tuple[str, ...]]] = {
    "org_registered": (do_org_registered, MODERATORS),
    "org_verified": (do_org_verified, ("admin",)),
    "org_rejected": (do_org_rejected, ("admin",)),
    "org_suspended": (do_org_suspended, ("admin",)),
    # The enterer (city) submits it: only the other moderator hears.
    "need_submitted": (do_need_submitted, ("province",)),
    "need_approved": (do_need_approved, ("city",)),
    "need_rejected": (do_need_rejected, ("city",)),
    "need_withdrawn": (do_need_withdrawn, ORG_STAFF),
    "claim_created": (do_claim_created, MODERATORS),
    "claim_expired": (do_claim_expired, ORG_STAFF),
    "claim_cancelled": (do_claim_cancelled, MODERATORS),
    "delivery_reported": (do_delivery_reported, MODERATORS),
    "delivery_confirmed": (do_delivery_confirmed, ORG_STAFF),
    "project_submitted": (do_project_submitted, MODERATORS),
    "project_approved": (do_project_approved, ORG_STAFF),
    "project_rejected": (do_project_rejected, ORG_STAFF),
}

EVERYONE = ("city", "province", "elsewhere", "admin", "member", "other_admin")


@pytest.mark.parametrize("kind", sorted(TABLE))
def test_event_tells_exactly_its_recipients(kind, world):  # type: ignore[no-untyped-def]
    action, expected = TABLE[kind]
    action(world)
    db.session.commit()
    rows = db.session.scalars(select(Notification).where(Notification.kind == kind))
    told = sorted(row.user_id for row in rows)
    names = {world[name].id: name for name in EVERYONE}
    assert sorted(names.get(uid, f"user {uid}") for uid in told) == sorted(expected)
    for row in db.session.scalars(
        select(Notification).where(Notification.kind == kind)
    ):
        assert row.url.startswith("/") and not row.url.startswith("//")
        assert row.event_key.startswith(f"{kind}:")


def test_expire_twice_tells_once(world, runner):  # type: ignore[no-untyped-def]
    claim = _claim(world)
    later = today() + timedelta(days=400)
    claims.expire_overdue(later)
    db.session.commit()
    claims.expire_overdue(later)
    db.session.commit()
    rows = db.session.scalars(
        select(Notification).where(Notification.kind == "claim_expired")
    ).all()
    assert len(rows) == 2  # the admin and the member, once each
    assert {r.event_key for r in rows} == {f"claim_expired:claim:{claim.id}"}


def test_resubmitted_need_is_a_new_event(world):  # type: ignore[no-untyped-def]
    need = _need(world, "draft")
    needs.submit_need(need, world["city"])
    needs.reject_need(need, world["province"], "金额与材料不符")
    needs.return_to_draft(need, world["city"])
    needs.submit_need(need, world["city"])
    db.session.commit()
    rows = db.session.scalars(
        select(Notification).where(
            Notification.kind == "need_submitted",
            Notification.user_id == world["province"].id,
        )
    ).all()
    assert len(rows) == 2


def test_a_refused_change_tells_nobody(world):  # type: ignore[no-untyped-def]
    from charitylink.errors import DomainError

    need = _need(world, "submitted")
    with pytest.raises(DomainError):
        # The enterer may not approve their own need (four eyes).
        needs.approve_need(need, world["city"])
    db.session.rollback()
    assert db.session.scalars(select(Notification)).all() == []
