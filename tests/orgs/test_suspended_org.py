"""A suspended org does not act (pen-test finding 6).

Every org action goes through ``core.permissions.require_org_can_act``: claim,
pledge, delivery, the household's contact, funds, donations, projects, progress
updates, profile and members. Each is tried through the pages and the API while
the org is suspended (Chinese message on the page, 403 envelope from the API,
nothing written), then again after a moderator reinstates the org (it works).
What a suspended org may still do: cancel a reserved claim (the money goes back
to the fund), deactivate a staff account, and have a delivery it reported
before the suspension confirmed by the moderator.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from charitylink.accounts.models import User
from charitylink.claims import services as claim_services
from charitylink.claims.models import Claim, ClaimStatus
from charitylink.core.audit import AuditEvent
from charitylink.core.timeutil import today
from charitylink.extensions import db
from charitylink.funds import services as fund_services
from charitylink.funds.models import Fund, LedgerEntry
from charitylink.orgs import services as org_services
from charitylink.orgs.models import Organization
from charitylink.projects import services as project_services
from charitylink.projects.models import Project, ProjectUpdate
from tests.factories import org_admin_of
from tests.projects.conftest import project_payload

REASON = "年检未通过"
BLOCKED = "本机构已被民政部门暂停"

# Every service function an org's staff can trigger, and which org status it
# needs. "verified": the org must be verified (suspended, pending and rejected
# orgs are refused). "verified or pending": a pending org may set itself up.
# "any": allowed whatever the status — it gives something back or takes access
# away and moves no money out, reveals nothing.
ORG_ACTIONS: dict[Callable[..., Any], str] = {
    claim_services.claim_need: "verified",  # 认领 and 认捐
    claim_services.claim_refusal: "verified (the predicate claim_need raises)",
    claim_services.deliver_claim: "verified",
    claim_services.reveal_household_contact: "verified",
    claim_services.cancel_claim: "any",
    # Answering a dispute moves no money; a suspended org still owes the answer.
    claim_services.respond_to_dispute: "any",
    fund_services.create_fund: "verified",
    fund_services.record_donation: "verified",
    fund_services.reverse_donation: "verified",
    project_services.create_project: "verified",
    project_services.update_project: "verified",
    project_services.submit_project: "verified",
    project_services.redraft_project: "verified",
    project_services.close_project: "verified",  # the moderator may still close
    project_services.post_update: "verified",
    org_services.update_profile: "verified or pending",
    org_services.add_member: "verified or pending",
    org_services.deactivate_member: "any",
    org_services.reactivate_member: "verified or pending",
    org_services.change_member_role: "verified or pending",
    org_services.resubmit_org: "rejected only (its own check)",
    project_services.can_view: "any (a read: the org sees its own projects)",
}
SERVICE_MODULES = (claim_services, fund_services, project_services, org_services)


def test_every_org_action_in_the_services_is_listed_with_its_rule():
    """A new service function that checks org staff must be added above with a
    decision; every "verified" one calls the one shared check."""
    for module in SERVICE_MODULES:
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ != module.__name__ or name.startswith("_"):
                continue
            source = inspect.getsource(function)
            if re.search(r"require_org_|is_org_staff\(", source):
                assert function in ORG_ACTIONS, f"{module.__name__}.{name}"
    for function, rule in ORG_ACTIONS.items():
        source = inspect.getsource(function)
        if rule.startswith("verified"):
            assert "require_org_can_act(" in source, function.__name__


# ---------------------------------------------------------------------------
# The world: an org with money, projects, claims, then suspended
# ---------------------------------------------------------------------------


@pytest.fixture
def world(create_org, create_fund, create_project, create_user, create_need):
    org = create_org()
    admin = org_admin_of(org)
    member = create_user("org_member", org=org)
    fund = create_fund(org=org, donations_fen=1_000_000)
    published = create_project(fund=fund, status="published")
    draft = create_project(fund=fund, status="draft", title="草稿项目")
    rejected = create_project(fund=fund, status="rejected", title="被驳回的项目")
    open_need = create_need(amount_fen=50_000)
    held_need = create_need(amount_fen=30_000, consent_share_contact=True)
    delivered_need = create_need(amount_fen=20_000)
    reserved = claim_services.claim_need(held_need, member, fund, 30_000)
    delivered = claim_services.claim_need(delivered_need, member, fund, 20_000)
    claim_services.deliver_claim(delivered, member, 20_000, today(), "cash")
    db.session.commit()
    moderator = create_user("moderator", region_prefix="2201")
    org_services.suspend_org(org, moderator, REASON)
    db.session.commit()
    return {
        "org": org,
        "admin": admin,
        "member": member,
        "fund": fund,
        "published": published,
        "draft": draft,
        "rejected": rejected,
        "open_need": open_need,
        "reserved": reserved,
        "delivered": delivered,
        "moderator": moderator,
    }


def _snapshot(org_id: int) -> dict[str, Any]:
    """Everything an org action could write."""
    db.session.expire_all()
    count = lambda model: db.session.scalar(select(func.count()).select_from(model))  # noqa: E731
    org = db.session.get(Organization, org_id)
    return {
        "audit": count(AuditEvent),
        "ledger": count(LedgerEntry),
        "claims": sorted(
            (c.id, str(c.status)) for c in db.session.scalars(select(Claim))
        ),
        "funds": count(Fund),
        "projects": sorted(
            (p.id, str(p.status), p.title, p.last_progress_at)
            for p in db.session.scalars(select(Project))
        ),
        "updates": count(ProjectUpdate),
        "users": count(User),
        "profile": (org.description, org.contact_name, org.contact_phone),
        "status": str(org.status),
    }


@dataclass
class Action:
    who: str  # "admin" or "member"
    page: Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]
    api: Callable[[dict[str, Any]], tuple[str, dict[str, Any]]] | None = None
    done: str = ""  # the audit action written when it works


def _claim_form(w: dict[str, Any], amount: str) -> tuple[str, dict[str, Any]]:
    return (
        f"/needs/{w['open_need'].code}/claim",
        {"fund_id": w["fund"].id, "amount": amount, "project_id": 0},
    )


ACTIONS: dict[str, Action] = {
    "claim": Action(
        "member",
        lambda w: _claim_form(w, "500"),
        lambda w: (
            f"/api/v1/needs/{w['open_need'].code}/claims",
            {"fund_id": w["fund"].id, "amount": 50_000},
        ),
        "claim.create",
    ),
    "pledge": Action(
        "member",
        lambda w: _claim_form(w, "120"),
        lambda w: (
            f"/api/v1/needs/{w['open_need'].code}/claims",
            {"fund_id": w["fund"].id, "amount": 12_000},
        ),
        "claim.create",
    ),
    "deliver": Action(
        "member",
        lambda w: (
            f"/org/claims/{w['reserved'].id}/deliver",
            {
                "delivered_amount": "300",
                "delivered_on": today().isoformat(),
                "method": "cash",
                "note": "已转账",
            },
        ),
        lambda w: (
            f"/api/v1/claims/{w['reserved'].id}/deliver",
            {
                "delivered_amount": 30_000,
                "delivered_on": today().isoformat(),
                "method": "cash",
            },
        ),
        "claim.deliver",
    ),
    "contact": Action(
        "member",
        lambda w: (f"/org/claims/{w['reserved'].id}/contact", {"reason": ""}),
        None,
        "claim.contact_view",
    ),
    "new_fund": Action(
        "admin",
        lambda w: (
            "/org/funds/new",
            {"name": "暂停期间的基金", "kind": "named", "donor_name": "某集团"},
        ),
        lambda w: (
            "/api/v1/funds",
            {"name": "暂停期间的基金", "kind": "named", "donor_name": "某集团"},
        ),
        "fund.create",
    ),
    "donation": Action(
        "admin",
        lambda w: (
            f"/org/funds/{w['fund'].id}/donations",
            {"amount": "100", "donor": "张先生"},
        ),
        lambda w: (
            f"/api/v1/funds/{w['fund'].id}/donations",
            {"amount": 10_000, "donor_name": "张先生"},
        ),
        "fund.donation",
    ),
    "new_project": Action(
        "member",
        lambda w: ("/org/projects/new", _project_form(w)),
        lambda w: ("/api/v1/projects", project_payload(w["fund"].id)),
        "project.create",
    ),
    "edit_project": Action(
        "member",
        lambda w: (
            f"/org/projects/{w['draft'].id}/edit",
            _project_form(w, title="改过的草稿"),
        ),
        lambda w: (f"/api/v1/projects/{w['draft'].id}", {"title": "改过的草稿"}),
        "project.edit",
    ),
    "submit_project": Action(
        "member",
        lambda w: (f"/org/projects/{w['draft'].id}/submit", {}),
        lambda w: (f"/api/v1/projects/{w['draft'].id}/submit", {}),
        "project.submit",
    ),
    "redraft_project": Action(
        "member",
        lambda w: (f"/org/projects/{w['rejected'].id}/redraft", {}),
        None,
        "project.redraft",
    ),
    "progress_update": Action(
        "member",
        lambda w: (
            f"/org/projects/{w['published'].id}/updates",
            {"body": "本季度资助12名学生。"},
        ),
        None,
        "project.progress",
    ),
    "close_project": Action(
        "member",
        lambda w: (
            f"/org/projects/{w['published'].id}/close",
            {"reason": "完成", "final_report": "项目已完成。"},
        ),
        lambda w: (
            f"/api/v1/projects/{w['published'].id}/close",
            {"reason": "完成", "final_report": "项目已完成。"},
        ),
        "project.close",
    ),
    "profile": Action(
        "admin",
        lambda w: (
            "/org/profile",
            {
                "description": "暂停期间改的简介",
                "contact_name": "王五",
                "contact_phone": "0431-88886666",
                "contact_email": "",
            },
        ),
        None,
        "org.update_profile",
    ),
    "add_member": Action(
        "admin",
        lambda w: (
            "/org/members",
            {
                "name": "新同事",
                "email": "new-colleague@example.org",
                "password": "lantern-orchard-7319",
                "role": "org_member",
            },
        ),
        None,
        "user.create",
    ),
}


def _project_form(w: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "title": "暂停期间的项目",
        "fund_id": w["fund"].id,
        "summary": "简介",
        "body": "详情",
        "need_types": ["education"],
        "region_codes": "220102",
        "target_amount": "1,000",
        "start_on": "2026-01-01",
        "end_on": "2026-12-31",
        "filing_number": "",
        **overrides,
    }


_BANNER = re.compile(r'<div class="flash flash-error org-blocked".*?</div>', re.S)


def _page_refusal(html: str) -> bool:
    """The refusal's own message (the banner, shown on every page, removed)."""
    return BLOCKED in _BANNER.sub("", html) and REASON in _BANNER.sub("", html)


def _audit_count(action: str) -> int:
    db.session.expire_all()
    return db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    )


def _reinstate(w: dict[str, Any]) -> None:
    org = db.session.get(Organization, w["org"].id)
    org_services.reinstate_org(org, w["moderator"])
    db.session.commit()


@pytest.mark.parametrize("name", list(ACTIONS))
def test_page_action_refused_while_suspended_and_works_after_reinstatement(
    world, client, login_as, name
):
    action = ACTIONS[name]
    login_as(world[action.who])
    before = _snapshot(world["org"].id)
    path, data = action.page(world)
    resp = client.post(path, data=data, follow_redirects=True)
    assert resp.status_code in (200, 422), resp.status_code
    assert _page_refusal(resp.get_data(as_text=True)), name
    assert _snapshot(world["org"].id) == before

    _reinstate(world)
    done = _audit_count(action.done)
    path, data = action.page(world)
    resp = client.post(path, data=data, follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and BLOCKED not in html, name
    assert _audit_count(action.done) == done + 1, name


@pytest.mark.parametrize("name", [n for n, a in ACTIONS.items() if a.api])
def test_api_action_refused_while_suspended_and_works_after_reinstatement(
    world, client, api_token, name
):
    action = ACTIONS[name]
    headers = api_token(world[action.who])
    before = _snapshot(world["org"].id)
    path, body = action.api(world)
    resp = client.post(path, json=body, headers=headers)
    assert resp.status_code == 403, (name, resp.get_json())
    error = resp.get_json()["error"]
    assert error["code"] == "forbidden"
    assert BLOCKED in error["message"] and REASON in error["message"]
    assert _snapshot(world["org"].id) == before

    _reinstate(world)
    done = _audit_count(action.done)
    resp = client.post(path, json=body, headers=headers)
    assert resp.status_code in (200, 201), (name, resp.get_json())
    assert _audit_count(action.done) == done + 1, name


# ---------------------------------------------------------------------------
# What a suspended org may still do, and what waits for the moderator
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["page", "api"])
def test_suspended_org_may_cancel_a_reserved_claim_money_goes_back(
    world, client, login_as, api_token, channel
):
    fund_id, claim_id = world["fund"].id, world["reserved"].id
    available = db.session.get(Fund, fund_id).available_fen
    if channel == "page":
        login_as(world["member"])
        resp = client.post(f"/org/claims/{claim_id}/cancel", data={"reason": "暂停"})
        assert resp.status_code == 302
    else:
        resp = client.post(
            f"/api/v1/claims/{claim_id}/cancel",
            json={"reason": "暂停"},
            headers=api_token(world["member"]),
        )
        assert resp.status_code == 200, resp.get_json()
    db.session.expire_all()
    assert db.session.get(Claim, claim_id).status == ClaimStatus.CANCELLED
    assert db.session.get(Fund, fund_id).available_fen == available + 30_000


def test_a_delivery_reported_before_the_suspension_waits_for_the_moderator(
    world, client, api_token
):
    claim_id = world["delivered"].id
    resp = client.post(
        f"/api/v1/claims/{claim_id}/confirm", headers=api_token(world["moderator"])
    )
    assert resp.status_code == 200, resp.get_json()
    db.session.expire_all()
    assert db.session.get(Claim, claim_id).status == ClaimStatus.CONFIRMED


def test_suspended_org_admin_may_deactivate_a_member(world, client, login_as):
    login_as(world["admin"])
    resp = client.post(f"/org/members/{world['member'].id}/deactivate")
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, world["member"].id).active is False


# ---------------------------------------------------------------------------
# What the staff see
# ---------------------------------------------------------------------------

WORK_PAGES = ("/org", "/org/claims", "/org/funds", "/org/projects", "/org/profile")


def test_suspended_org_staff_see_why_on_every_work_page(world, client, login_as):
    login_as(world["admin"])
    for path in (*WORK_PAGES, f"/needs/{world['open_need'].code}"):
        html = client.get(path).get_data(as_text=True)
        banner = _BANNER.search(html)
        assert banner is not None, path
        assert BLOCKED in banner.group(0) and REASON in banner.group(0), path
    # The need's claim panel says why instead of offering the form.
    html = client.get(f"/needs/{world['open_need'].code}").get_data(as_text=True)
    assert 'name="amount"' not in html

    _reinstate(world)
    for path in WORK_PAGES:
        assert BLOCKED not in client.get(path).get_data(as_text=True), path


# ---------------------------------------------------------------------------
# Pending and rejected orgs, at the service level
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["pending", "rejected"])
def test_unverified_org_may_not_act_pending_may_set_itself_up(
    create_org, create_fund, create_need, status
):
    from charitylink.errors import NotAllowed

    org = create_org(status=status)
    admin = org_admin_of(org)
    fund = create_fund(org=org, donations_fen=100_000)
    need = create_need(amount_fen=10_000)
    with pytest.raises(NotAllowed, match="认证"):
        claim_services.claim_need(need, admin, fund, 10_000)
    db.session.rollback()
    with pytest.raises(NotAllowed):
        fund_services.record_donation(fund, admin, amount_fen=100)
    db.session.rollback()
    profile = {"description": "筹备中", "contact_phone": "0431-88886666"}
    member = {"email": "x@example.org", "name": "小王", "password": "quiet-harbor-4821"}
    if status == "pending":
        org_services.update_profile(org, admin, profile)
        org_services.add_member(org, admin, **member)
        db.session.commit()
    else:
        with pytest.raises(NotAllowed, match="驳回"):
            org_services.update_profile(org, admin, profile)
        db.session.rollback()
        with pytest.raises(NotAllowed, match="驳回"):
            org_services.add_member(org, admin, **member)


def test_an_org_admin_without_an_org_is_no_admin_of_no_org(create_user):
    """require_org_admin(user, None) for an org admin whose account lost its org
    refuses, as require_org_staff always did."""
    from charitylink.core.permissions import require_org_admin, require_org_staff
    from charitylink.errors import NotAllowed

    admin = create_user("org_admin")
    admin.org_id = None
    for check in (require_org_admin, require_org_staff):
        with pytest.raises(NotAllowed):
            check(admin, None)
