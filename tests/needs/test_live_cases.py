"""Live cases on needs: withdrawal with open claims, extending a deadline (and
re-opening an expired need once), editing by PATCH, and bulk review — each
transition and its refusals (wrong role, wrong region, wrong state)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from charitylink.claims import services as claims
from charitylink.claims.models import Claim
from charitylink.core.audit import AuditEvent
from charitylink.core.timeutil import today
from charitylink.extensions import db
from charitylink.funds import ledger
from charitylink.funds.models import Fund
from charitylink.needs.models import Need
from charitylink.notifications.models import Notification
from tests.factories import org_admin_of
from tests.imports.rows import need_row


@pytest.fixture
def third_moderator(create_user):  # type: ignore[no-untyped-def]
    return create_user("moderator", region_prefix="22", name="审核员丁")


def fresh(obj):  # type: ignore[no-untyped-def]
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def actions(code: str, action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.object_id == code, AuditEvent.action == action
            )
        )
    )


def error(resp):  # type: ignore[no-untyped-def]
    return resp.status_code, resp.get_json()["error"]["code"]


def assert_fund_matches_ledger(fund: Fund) -> None:
    fund = fresh(fund)
    sums = ledger.sums(fund.id)
    assert sums["reserved_fen"] == fund.reserved_fen
    assert sums["available_fen"] == fund.available_fen
    reserved = db.session.scalar(
        select(func.coalesce(func.sum(Claim.amount_fen), 0)).where(
            Claim.fund_id == fund.id, Claim.status == "reserved"
        )
    )
    assert fund.reserved_fen == reserved


# --------------------------------------------------------------------------
# Withdrawal with open claims
# --------------------------------------------------------------------------


def test_withdrawal_cancels_reserved_claims_and_keeps_delivered_ones(
    app, client, api_token, create_need, create_fund, create_org, second_moderator
):
    fund_a = create_fund(donations_fen=5_000_000)
    fund_b = create_fund(donations_fen=5_000_000)
    bystander = create_org()  # claimed before, cancelled itself: not told again
    fund_c = create_fund(org=bystander, donations_fen=5_000_000)
    a, b = org_admin_of(fund_a.org), org_admin_of(fund_b.org)
    need = create_need(status="published", amount_fen=600_000)
    gone = claims.claim_need(need, org_admin_of(bystander), fund_c, 50_000)
    claims.cancel_claim(gone, org_admin_of(bystander))
    delivered = claims.claim_need(need, a, fund_a, 200_000)
    claims.deliver_claim(delivered, a, 200_000, today(), "cash")
    open_a = claims.claim_need(need, a, fund_a, 100_000)
    open_b = claims.claim_need(need, b, fund_b, 300_000)
    db.session.commit()
    assert fresh(need).status == "fully_claimed"
    assert client.get(f"/api/v1/needs/{need.code}").status_code == 200
    found = client.get("/api/v1/needs?q=医疗费用").get_json()["items"]
    assert need.code in {n["code"] for n in found}

    resp = client.post(
        f"/api/v1/needs/{need.code}/withdraw",
        json={"reason": "家庭已获其他救助"},
        headers=api_token(second_moderator),
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "withdrawn"
    need = fresh(need)
    assert need.status == "withdrawn" and need.status_reason == "家庭已获其他救助"
    assert need.claimed_fen == 200_000 and need.delivered_fen == 200_000
    assert fresh(open_a).status == fresh(open_b).status == "cancelled"
    assert fresh(delivered).status == "delivered"
    for fund in (fund_a, fund_b, fund_c):
        assert_fund_matches_ledger(fund)
    assert fresh(fund_b).available_fen == 5_000_000
    cancels = actions(str(open_a.id), "claim.cancel") + actions(
        str(open_b.id), "claim.cancel"
    )
    assert len(cancels) == 2
    assert all("家庭已获其他救助" in (e.reason or "") for e in cancels)
    assert len(actions(need.code, "need.withdraw")) == 1
    # Told: the staff of the two orgs whose reservations were cancelled.
    told = set(
        db.session.scalars(
            select(Notification.user_id).where(Notification.kind == "need_withdrawn")
        )
    )
    assert told == {a.id, b.id}
    # Gone from the public library, its page and the search index at once.
    assert client.get(f"/api/v1/needs/{need.code}").status_code == 404
    assert client.get(f"/needs/{need.code}").status_code == 404
    assert need.code not in client.get("/needs").get_data(as_text=True)
    found = client.get("/api/v1/needs?q=医疗费用").get_json()["items"]
    assert need.code not in {n["code"] for n in found}
    # The delivery still follows its own path: the moderator confirms it.
    claims.confirm_claim(fresh(delivered), second_moderator)
    db.session.commit()
    assert fresh(delivered).status == "confirmed"


def test_withdrawal_refusals(
    client, api_token, create_need, create_org, other_region_moderator, moderator
):
    need = create_need(status="published")
    draft = create_need(status="draft")
    org = create_org()
    url = f"/api/v1/needs/{need.code}/withdraw"
    body = {"reason": "情况变化"}
    assert error(client.post(url, json=body, headers=api_token(org_admin_of(org)))) == (
        403,
        "forbidden",
    )
    resp = client.post(url, json=body, headers=api_token(other_region_moderator))
    assert error(resp) == (404, "not_found")
    resp = client.post(url, json={"reason": " "}, headers=api_token(moderator))
    assert error(resp) == (422, "validation_failed")
    resp = client.post(
        f"/api/v1/needs/{draft.code}/withdraw", json=body, headers=api_token(moderator)
    )
    assert error(resp) == (409, "invalid_transition")
    assert fresh(need).status == "published" and fresh(draft).status == "draft"


def test_withdrawal_on_the_page_says_what_it_cancelled(
    client, login_as, create_need, create_fund, moderator
):
    fund = create_fund(donations_fen=1_000_000)
    need = create_need(status="published", amount_fen=300_000)
    claims.claim_need(need, org_admin_of(fund.org), fund, 300_000)
    db.session.commit()
    login_as(moderator)
    page = client.get(f"/mod/needs/{need.code}").get_data(as_text=True)
    assert "撤回会取消尚未交付的认领" in page
    resp = client.post(
        f"/mod/needs/{need.code}/withdraw",
        data={"reason": "家庭已搬离"},
        follow_redirects=True,
    )
    assert "1 笔待交付的认领已取消" in resp.get_data(as_text=True)
    assert fresh(need).status == "withdrawn" and fresh(need).claimed_fen == 0
    assert_fund_matches_ledger(fund)


# --------------------------------------------------------------------------
# Extending a deadline; re-opening an expired need once
# --------------------------------------------------------------------------


def extend(client, headers, code, days, reason="家庭情况仍未改善"):  # type: ignore[no-untyped-def]
    deadline = (today() + timedelta(days=days)).isoformat()
    return client.post(
        f"/api/v1/needs/{code}/extend",
        json={"deadline": deadline, "reason": reason},
        headers=headers,
    )


def test_extend_a_published_need(client, api_token, create_need, moderator):
    need = create_need(status="published", deadline_on=today() + timedelta(days=10))
    headers = api_token(moderator)
    resp = extend(client, headers, need.code, 40)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["deadline"] == (today() + timedelta(days=40)).isoformat()
    assert fresh(need).status == "published"
    (row,) = actions(need.code, "need.extend")
    assert "家庭情况仍未改善" in row.reason and row.to_status == "published"
    # Not earlier than the deadline it has, not in the past, not years ahead,
    # and a reason is needed.
    for days, reason in ((20, "x"), (0, "x"), (-3, "x"), (400, "x"), (60, "")):
        resp = extend(client, headers, need.code, days, reason)
        assert error(resp) == (422, "validation_failed"), (days, resp.get_json())
    resp = client.post(
        f"/api/v1/needs/{need.code}/extend",
        json={"deadline": "2026-13-40", "reason": "x"},
        headers=headers,
    )
    assert resp.status_code == 422
    assert fresh(need).deadline_on == today() + timedelta(days=40)


def test_an_expired_need_is_reopened_once(
    client, api_token, create_need, create_fund, moderator
):
    fund = create_fund(donations_fen=1_000_000)
    need = create_need(status="published", deadline_on=today() + timedelta(days=1))
    claims.claim_need(need, org_admin_of(fund.org), fund, 100_000)
    db.session.commit()
    claims.expire_overdue(today() + timedelta(days=3))
    db.session.commit()
    need = fresh(need)
    assert need.status == "expired" and need.claimed_fen == 0
    assert client.get(f"/api/v1/needs/{need.code}").status_code == 404
    headers = api_token(moderator)
    resp = extend(client, headers, need.code, 30)
    assert resp.status_code == 200, resp.get_json()
    need = fresh(need)
    assert need.status == "published" and need.reopened_at is not None
    assert need.closed_at is None
    assert client.get(f"/api/v1/needs/{need.code}").status_code == 200
    (row,) = actions(need.code, "need.extend")
    assert (row.from_status, row.to_status) == ("expired", "published")
    assert_fund_matches_ledger(fund)
    # It expires again: a second re-open is refused, clearly.
    claims.expire_overdue(today() + timedelta(days=60))
    db.session.commit()
    assert fresh(need).status == "expired"
    resp = extend(client, headers, need.code, 90)
    assert error(resp) == (409, "invalid_transition")
    assert "重新开放过一次" in resp.get_json()["error"]["message"]
    assert fresh(need).status == "expired"


def test_extend_refusals(
    client, api_token, create_need, create_org, moderator, other_region_moderator
):
    need = create_need(status="published")
    for status in ("draft", "submitted", "withdrawn", "confirmed"):
        other = create_need(status=status)
        resp = extend(client, api_token(moderator), other.code, 90)
        assert error(resp) == (409, "invalid_transition"), status
    resp = extend(client, api_token(other_region_moderator), need.code, 90)
    assert error(resp) == (404, "not_found")
    resp = extend(client, api_token(org_admin_of(create_org())), need.code, 90)
    assert error(resp) == (403, "forbidden")
    assert not actions(need.code, "need.extend")


def test_extend_on_the_page(client, login_as, create_need, moderator):
    need = create_need(status="published", deadline_on=today() + timedelta(days=5))
    login_as(moderator)
    page = client.get(f"/mod/needs/{need.code}").get_data(as_text=True)
    assert 'name="deadline"' in page and "延期原因" in page
    new_day = (today() + timedelta(days=45)).isoformat()
    resp = client.post(
        f"/mod/needs/{need.code}/extend",
        data={"deadline": new_day, "reason": "等待医院结算"},
        follow_redirects=True,
    )
    assert "截止日期已延长" in resp.get_data(as_text=True)
    assert fresh(need).deadline_on.isoformat() == new_day
    resp = client.post(
        f"/mod/needs/{need.code}/extend",
        data={"deadline": "", "reason": "x"},
        follow_redirects=True,
    )
    assert "请填写新的截止日期" in resp.get_data(as_text=True)


# --------------------------------------------------------------------------
# PATCH /needs/{code}
# --------------------------------------------------------------------------


def test_patch_changes_only_the_fields_given(
    client, api_token, create_need, moderator, second_moderator
):
    need = create_need(status="draft", entered_by=moderator)
    headers = api_token(second_moderator)
    resp = client.patch(
        f"/api/v1/needs/{need.code}",
        json={"title": "修改后的标题：康复器材", "household": {"phone": "13700001111"}},
        headers=headers,
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["title"] == "修改后的标题：康复器材"
    need = fresh(need)
    assert need.last_edited_by_id == second_moderator.id
    assert need.amount_fen == 500_000 and need.status == "draft"
    private = client.get(f"/api/v1/needs/{need.code}/private", headers=headers)
    household = private.get_json()["household"]
    assert household["phone"] == "13700001111" and household["name"].startswith(
        "测试户"
    )
    assert actions(need.code, "need.update")
    # A rejected need goes back to draft; a need without a deadline keeps none.
    rejected = create_need(status="rejected", deadline_on=None)
    resp = client.patch(
        f"/api/v1/needs/{rejected.code}", json={"amount": 123_400}, headers=headers
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "draft" and resp.get_json()["deadline"] is None


def test_patch_refusals(
    client, api_token, create_need, create_org, moderator, other_region_moderator
):
    need = create_need(status="draft")
    url = f"/api/v1/needs/{need.code}"
    body = {"title": "新的标题"}
    assert error(
        client.patch(url, json=body, headers=api_token(other_region_moderator))
    ) == (
        404,
        "not_found",
    )
    org_headers = api_token(org_admin_of(create_org()))
    assert error(client.patch(url, json=body, headers=org_headers)) == (
        403,
        "forbidden",
    )
    resp = client.patch(url, json={"amount": -5}, headers=api_token(moderator))
    assert error(resp) == (422, "validation_failed")
    resp = client.patch(
        url,
        json={"description": "身份证 220102195803120016"},
        headers=api_token(moderator),
    )
    assert resp.status_code == 422
    published = create_need(status="published")
    resp = client.patch(
        f"/api/v1/needs/{published.code}", json=body, headers=api_token(moderator)
    )
    assert error(resp) == (409, "invalid_transition")
    assert fresh(need).title != "新的标题"


# --------------------------------------------------------------------------
# Bulk review; four eyes on every path
# --------------------------------------------------------------------------


def bulk(client, headers, action, codes, reason=None):  # type: ignore[no-untyped-def]
    body = {"action": action, "codes": codes}
    if reason is not None:
        body["reason"] = reason
    return client.post("/api/v1/needs/bulk", json=body, headers=headers)


def test_bulk_approve_checks_each_need_on_its_own(
    client,
    api_token,
    create_need,
    moderator,
    second_moderator,
    third_moderator,
    other_region_moderator,
):
    mine = create_need(status="submitted", entered_by=second_moderator)
    edited = create_need(status="submitted", entered_by=moderator)
    edited.last_edited_by_id = second_moderator.id
    ok = [create_need(status="submitted", entered_by=moderator) for _ in range(3)]
    draft = create_need(status="draft", entered_by=moderator)
    elsewhere = create_need(status="submitted", region_code="220203")
    db.session.commit()
    codes = [n.code for n in [*ok, mine, edited, draft]] + ["XQ-22-999999"]
    resp = bulk(client, api_token(second_moderator), "approve", codes)
    assert resp.status_code == 200, resp.get_json()
    results = resp.get_json()["results"]
    assert set(results) == set(codes)
    assert all(results[n.code] == "ok" for n in ok)
    assert results[mine.code]["code"] == "four_eyes"
    assert "录入人" in results[mine.code]["message"]
    assert results[edited.code]["code"] == "four_eyes"
    assert "最后修改" in results[edited.code]["message"]
    assert results[draft.code]["code"] == "invalid_transition"
    assert results["XQ-22-999999"]["code"] == "not_found"
    # 2201 does not cover 2202: as if it did not exist.
    resp = bulk(client, api_token(moderator), "approve", [elsewhere.code])
    assert resp.get_json()["results"][elsewhere.code]["code"] == "not_found"
    for n in ok:
        assert fresh(n).status == "published"
        assert len(actions(n.code, "need.approve")) == 1
    for n in (mine, edited, draft, elsewhere):  # elsewhere: 2201 is not 2202
        assert fresh(n).status in ("submitted", "draft") and not actions(
            n.code, "need.approve"
        )
    # The refused ones go through for a moderator the rules allow.
    resp = bulk(client, api_token(third_moderator), "approve", [mine.code, edited.code])
    assert set(resp.get_json()["results"].values()) == {"ok"}
    assert other_region_moderator  # (fixture used for the region case above)


def test_bulk_submit_and_reject(client, api_token, create_need, moderator):
    drafts = [create_need(status="draft") for _ in range(2)]
    headers = api_token(moderator)
    resp = bulk(client, headers, "submit", [n.code for n in drafts])
    assert set(resp.get_json()["results"].values()) == {"ok"}
    assert all(fresh(n).status == "submitted" for n in drafts)
    # Reject needs a reason: refused per need, nothing moves.
    resp = bulk(client, headers, "reject", [n.code for n in drafts])
    assert {r["code"] for r in resp.get_json()["results"].values()} == {
        "validation_failed"
    }
    resp = bulk(client, headers, "reject", [n.code for n in drafts], "材料不全")
    assert set(resp.get_json()["results"].values()) == {"ok"}
    for n in drafts:
        assert fresh(n).status == "rejected" and fresh(n).status_reason == "材料不全"
        assert len(actions(n.code, "need.reject")) == 1


def test_bulk_refusals(client, api_token, create_need, create_org, moderator):
    org_headers = api_token(org_admin_of(create_org()))
    need = create_need(status="submitted")
    assert error(bulk(client, org_headers, "approve", [need.code])) == (
        403,
        "forbidden",
    )
    headers = api_token(moderator)
    too_many = [f"XQ-22-{i:06d}" for i in range(501)]
    assert error(bulk(client, headers, "approve", too_many)) == (
        422,
        "validation_failed",
    )
    assert bulk(client, headers, "publish", [need.code]).status_code == 422
    assert bulk(client, headers, "approve", []).status_code == 422
    assert fresh(need).status == "submitted"


def test_four_eyes_holds_in_bulk_after_a_reimport(
    client, api_token, moderator, second_moderator, third_moderator
):
    enterer, editor = api_token(moderator), api_token(second_moderator)
    client.post("/api/v1/needs/import", json=[need_row(11)], headers=enterer)
    changed = need_row(11, title="改过的标题：大额医疗费用")
    resp = client.post("/api/v1/needs/import", json=[changed], headers=editor)
    assert resp.get_json()["rows"][0]["status"] == "updated"
    need = db.session.scalar(select(Need).where(Need.external_id == "JL-000011"))
    assert need.last_edited_by_id == second_moderator.id
    bulk(client, editor, "submit", [need.code])
    for headers in (editor, enterer):
        result = bulk(client, headers, "approve", [need.code]).get_json()["results"]
        assert result[need.code]["code"] == "four_eyes"
    result = bulk(client, api_token(third_moderator), "approve", [need.code])
    assert result.get_json()["results"][need.code] == "ok"


def flashes(resp) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r'class="flash[^"]*">([^<]*)', resp.get_data(as_text=True))


def test_bulk_on_the_review_queue(
    client, login_as, create_need, moderator, second_moderator
):
    ok = [
        create_need(status="submitted", entered_by=second_moderator) for _ in range(2)
    ]
    own = create_need(status="submitted", entered_by=moderator)
    login_as(moderator)
    page = client.get("/mod/needs").get_data(as_text=True)
    assert 'name="codes"' in page and "全选本页" in page and " checked" not in page
    # Without scripts, "select all on this page" is a reload with every box ticked.
    page = client.get("/mod/needs?select=all").get_data(as_text=True)
    assert page.count('name="codes"') == page.count(" checked") == 3
    codes = [n.code for n in [*ok, own]]
    resp = client.post(
        "/mod/needs/bulk",
        data={"action": "approve", "codes": codes, "back": "status=submitted"},
    )
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/mod/needs?status=submitted")
    shown = client.get(resp.headers["Location"])
    text = shown.get_data(as_text=True)
    assert any("2 条成功，1 条未处理" in m for m in flashes(shown))
    assert 'id="bulk-results"' in text and "录入人不能审核" in text
    # Shown once (the results leave the session with that page).
    assert 'id="bulk-results"' not in client.get("/mod/needs").get_data(as_text=True)
    assert [fresh(n).status for n in ok] == ["published", "published"]
    assert fresh(own).status == "submitted"
    # Reject needs a reason; nothing is picked; an unknown action.
    for data, message in (
        ({"action": "reject", "codes": [own.code]}, "请填写原因"),
        ({"action": "approve"}, "请先勾选"),
        ({"action": "publish", "codes": [own.code]}, "请选择要执行的操作"),
    ):
        resp = client.post("/mod/needs/bulk", data=data, follow_redirects=True)
        assert any(message in m for m in flashes(resp)), data
    assert fresh(own).status == "submitted"
    login_as(second_moderator)
    resp = client.post(
        "/mod/needs/bulk",
        data={"action": "reject", "codes": [own.code], "reason": "材料不全"},
        follow_redirects=True,
    )
    assert fresh(own).status == "rejected"


def test_the_last_editor_by_patch_cannot_approve_in_bulk_on_the_page(
    client, login_as, api_token, create_need, moderator, second_moderator
):
    need = create_need(status="draft", entered_by=moderator)
    headers = api_token(second_moderator)
    resp = client.patch(
        f"/api/v1/needs/{need.code}", json={"amount": 250_000}, headers=headers
    )
    assert resp.status_code == 200, resp.get_json()
    client.post(f"/api/v1/needs/{need.code}/submit", headers=headers)
    login_as(second_moderator)
    resp = client.post(
        "/mod/needs/bulk",
        data={"action": "approve", "codes": [need.code]},
        follow_redirects=True,
    )
    assert "您最后修改过这条需求" in resp.get_data(as_text=True)
    assert fresh(need).status == "submitted"
