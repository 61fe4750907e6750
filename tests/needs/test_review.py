"""Need review: every transition allowed or refused, audited; four eyes; regions."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from charitylink.core.audit import AuditEvent
from charitylink.extensions import db
from charitylink.needs.models import Need


def events(code: str) -> list[tuple[str, str | None, str | None]]:
    return [
        (e.action, e.from_status, e.to_status)
        for e in db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_id == code)
            .order_by(AuditEvent.id)
        )
    ]


def flashes(resp) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r'class="flash[^"]*">([^<]*)', resp.get_data(as_text=True))


def act(client, headers, code, action, reason=None):  # type: ignore[no-untyped-def]
    body = {"reason": reason} if reason is not None else None
    return client.post(f"/api/v1/needs/{code}/{action}", json=body, headers=headers)


def test_full_review_path_is_audited(
    client, api_token, create_need, moderator, second_moderator
):
    need = create_need(status="draft", entered_by=moderator)
    entering, reviewer = api_token(moderator), api_token(second_moderator)
    assert act(client, entering, need.code, "submit").status_code == 200
    resp = act(client, reviewer, need.code, "approve")
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "published"
    assert resp.get_json()["published_at"]
    resp = act(client, reviewer, need.code, "withdraw", "家庭情况已好转")
    assert resp.get_json()["status"] == "withdrawn"
    db.session.expire_all()
    stored = db.session.get(Need, need.id)
    assert stored.reviewed_by_id == second_moderator.id
    assert stored.status_reason == "家庭情况已好转"
    assert events(need.code) == [
        ("need.create", None, "draft"),
        ("need.submit", "draft", "submitted"),
        ("need.approve", "submitted", "published"),
        ("need.withdraw", "published", "withdrawn"),
    ]


def test_entering_moderator_cannot_approve(client, api_token, create_need, moderator):
    need = create_need(status="submitted", entered_by=moderator)
    resp = act(client, api_token(moderator), need.code, "approve")
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "four_eyes"
    db.session.expire_all()
    assert db.session.get(Need, need.id).status == "submitted"
    assert ("need.approve", "submitted", "published") not in events(need.code)


def test_reject_needs_reason_then_edit_returns_to_draft(
    client, api_token, create_need, moderator, second_moderator
):
    need = create_need(status="submitted", entered_by=moderator)
    reviewer = api_token(second_moderator)
    resp = act(client, reviewer, need.code, "reject", "")
    assert resp.status_code == 422 and "reason" in resp.get_json()["error"]["fields"]
    resp = act(client, reviewer, need.code, "reject", "金额依据不足，请补充")
    assert resp.get_json()["status"] == "rejected"
    assert resp.get_json()["status_reason"] == "金额依据不足，请补充"
    # Resubmission only after going back to draft.
    resp = act(client, api_token(moderator), need.code, "submit")
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "invalid_transition"
    from charitylink.needs import services

    db.session.expire_all()
    fresh = db.session.get(Need, need.id)
    data = services.editable_input(fresh, services.get_private(fresh, moderator))
    data["amount"] = 200_000
    services.update_need(fresh, data, moderator)
    db.session.commit()
    assert fresh.status == "draft" and fresh.amount_fen == 200_000
    assert act(client, api_token(moderator), need.code, "submit").status_code == 200
    actions = [a for a, *_ in events(need.code)]
    assert actions == [
        "need.create",
        "need.reject",
        "need.private_view",
        "need.update",
        "need.submit",
    ]
    reject_event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "need.reject")
    )
    assert reject_event.reason == "金额依据不足，请补充"


def test_reason_carrying_household_data_is_refused(
    client, api_token, create_need, moderator, second_moderator
):
    need = create_need(
        status="submitted", entered_by=moderator, household={"name": "司马青云"}
    )
    resp = act(
        client, api_token(second_moderator), need.code, "reject", "司马青云材料不全"
    )
    assert resp.status_code == 422
    assert "司马青云" in resp.get_json()["error"]["fields"]["reason"]
    assert not db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "need.reject")
    ).all()


@pytest.mark.parametrize(
    ("status", "action", "allowed"),
    [
        ("draft", "submit", True),
        ("draft", "approve", False),
        ("draft", "reject", False),
        ("draft", "withdraw", False),
        ("submitted", "submit", False),
        ("submitted", "approve", True),
        ("submitted", "reject", True),
        ("submitted", "withdraw", False),
        ("rejected", "submit", False),
        ("rejected", "approve", False),
        ("published", "submit", False),
        ("published", "approve", False),
        ("published", "reject", False),
        ("published", "withdraw", True),
        ("fully_claimed", "withdraw", True),
        ("withdrawn", "withdraw", False),
        ("withdrawn", "approve", False),
        ("expired", "submit", False),
        ("confirmed", "withdraw", False),
    ],
)
def test_transition_matrix(
    client, api_token, create_need, moderator, second_moderator, status, action, allowed
):
    need = create_need(status=status, entered_by=moderator)
    before = len(events(need.code))
    resp = act(client, api_token(second_moderator), need.code, action, "原因说明")
    if allowed:
        assert resp.status_code == 200, resp.get_json()
        assert len(events(need.code)) == before + 1
    else:
        assert resp.status_code == 409
        assert resp.get_json()["error"]["code"] == "invalid_transition"
        assert "不能" in resp.get_json()["error"]["message"]
        db.session.expire_all()
        assert db.session.get(Need, need.id).status == status
        assert len(events(need.code)) == before


def test_withdraw_with_open_claims_cancels_them(
    client, api_token, create_need, create_fund, create_user, second_moderator
):
    """Covered in depth in tests/needs/test_live_cases.py; here the matrix's
    other half: a need with money reserved on it is withdrawable now."""
    from charitylink.claims import services as claims

    fund = create_fund(donations_fen=1_000_000)
    need = create_need(status="published", amount_fen=200_000)
    claim = claims.claim_need(
        need, create_user("org_admin", org=fund.org), fund, 100_000
    )
    db.session.commit()
    resp = act(client, api_token(second_moderator), need.code, "withdraw", "原因")
    assert resp.status_code == 200, resp.get_json()
    db.session.expire_all()
    assert db.session.get(type(claim), claim.id).status == "cancelled"
    assert db.session.get(Need, need.id).claimed_fen == 0


@pytest.mark.parametrize(
    ("prefix", "role", "expected"),
    [
        ("220102", "moderator", 200),
        ("2201", "moderator", 200),
        ("22", "moderator", 200),
        ("2202", "moderator", 404),
        ("62", "moderator", 404),
        (None, "admin", 200),
    ],
)
def test_region_scoping_matrix(
    client, api_token, login_as, create_need, create_user, prefix, role, expected
):
    need = create_need(status="submitted")
    user = create_user(role, region_prefix=prefix)
    headers = api_token(user)
    assert (
        client.get(f"/api/v1/needs/{need.code}/private", headers=headers).status_code
        == expected
    )
    assert act(client, headers, need.code, "reject", "区划测试").status_code == expected
    login_as(user)
    assert client.get(f"/mod/needs/{need.code}").status_code == expected
    if expected == 404:
        db.session.expire_all()
        assert db.session.get(Need, need.id).status == "submitted"
        listing = client.get("/mod/needs").get_data(as_text=True)
        assert need.code not in listing


def test_org_staff_and_public_are_kept_out(
    client, api_token, login_as, create_need, create_org
):
    from tests.factories import org_admin_of

    need = create_need(status="submitted")
    staff = org_admin_of(create_org())
    headers = api_token(staff)
    assert (
        client.get(f"/api/v1/needs/{need.code}/private", headers=headers).status_code
        == 403
    )
    assert act(client, headers, need.code, "approve").status_code == 403
    assert client.get(f"/api/v1/needs/{need.code}/private").status_code == 401
    login_as(staff)
    assert client.get(f"/mod/needs/{need.code}").status_code == 403
    assert client.get("/mod/needs/new").status_code == 403


def test_page_actions_follow_the_same_rules(
    client, login_as, create_need, moderator, second_moderator
):
    need = create_need(status="draft", entered_by=moderator)
    login_as(moderator)
    resp = client.post(f"/mod/needs/{need.code}/submit", follow_redirects=True)
    assert "需求已提交审核。" in flashes(resp)
    resp = client.post(f"/mod/needs/{need.code}/approve", follow_redirects=True)
    assert "录入人不能审核自己录入的需求，请由另一位审核员审核。" in flashes(resp)
    login_as(second_moderator)
    resp = client.post(f"/mod/needs/{need.code}/approve", follow_redirects=True)
    assert "需求已审核通过并公开。" in flashes(resp)
    db.session.expire_all()
    assert db.session.get(Need, need.id).status == "published"
    resp = client.post(
        f"/mod/needs/{need.code}/withdraw", data={"reason": ""}, follow_redirects=True
    )
    assert "请填写原因。" in flashes(resp)
    assert db.session.get(Need, need.id).status == "published"


@pytest.mark.parametrize(
    "status",
    ["draft", "submitted", "rejected", "published", "withdrawn", "expired"],
)
def test_each_action_moves_exactly_from_the_statuses_its_table_names(
    status, create_need, moderator, second_moderator
):
    """NEED_ACTIONS is the need's state machine: every moderator action is run
    on a need in every status, and the service accepts it exactly where the
    table lets it start, landing where the table says."""
    from charitylink.errors import InvalidTransition
    from charitylink.needs import services
    from charitylink.needs.models import NEED_ACTIONS, NeedStatus

    run = {
        "update": lambda n: services.update_need(
            n,
            services.editable_input(n, services.get_private(n, second_moderator)),
            second_moderator,
        ),
        "submit": lambda n: services.submit_need(n, second_moderator),
        "approve": lambda n: services.approve_need(n, second_moderator),
        "reject": lambda n: services.reject_need(n, second_moderator, "材料不全"),
        "to_draft": lambda n: services.return_to_draft(n, second_moderator),
        "withdraw": lambda n: services.withdraw_need(n, second_moderator, "已解决"),
    }
    assert set(run) == set(NEED_ACTIONS)
    for action, (sources, target) in NEED_ACTIONS.items():
        need = create_need(status=status, entered_by=moderator)
        if NeedStatus(status) in sources:
            run[action](need)
            assert need.status == target, (action, status)
        else:
            with pytest.raises(InvalidTransition):
                run[action](need)
            assert need.status == status, (action, status)
        db.session.rollback()
