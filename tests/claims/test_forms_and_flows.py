"""The claim and delivery forms as a person uses them: only funds that can pay
are offered, a refused claim comes back with its reason next to the form and
the amount still typed, a delivery is typed (not prefilled) and checked in one
round, destructive actions ask first, and the org's claim list pages."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from charitylink.claims import services
from charitylink.claims.models import Claim, ClaimStatus
from charitylink.core.timeutil import today
from charitylink.extensions import db
from charitylink.funds.models import FundKind


def _text(resp) -> str:  # type: ignore[no-untyped-def]
    return resp.get_data(as_text=True)


def _options(html: str, name: str) -> list[tuple[str, str, bool]]:
    select_html = re.search(
        rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S
    )
    assert select_html, name
    return [
        (value, text, bool(selected))
        for value, selected, text in re.findall(
            r'<option(?: selected)? value="([^"]*)"( selected)?>([^<]*)</option>',
            select_html.group(1),
        )
    ]


def test_claim_form_offers_only_funds_that_can_pay_and_preselects_none(
    client, login_as, org_world, create_fund, create_need
):
    org = org_world["org"]
    medical = create_fund(
        org=org, donations_fen=5_000_000, kind=FundKind.SPECIAL, name="医疗专项基金"
    )
    empty = create_fund(org=org, name="空基金")
    second = create_fund(org=org, donations_fen=29_310_000, name="第二冠名基金")
    need = create_need(need_type="living", amount_fen=100_000)
    login_as(org_world["member"])
    html = _text(client.get(f"/needs/{need.code}"))
    offered = _options(html, "fund_id")
    values = [v for v, _t, _s in offered]
    assert str(medical.id) not in values  # a medical fund cannot pay for 基本生活
    assert str(empty.id) not in values  # nothing available
    assert str(org_world["fund"].id) in values and str(second.id) in values
    assert offered[0][0] == "0" and "请选择基金" in offered[0][1]
    assert not any(selected for v, _t, selected in offered if v != "0")
    assert "可用 ¥293,100.00" in html  # thousands separators
    # Choosing nothing is refused in Chinese, next to the form.
    resp = client.post(
        f"/needs/{need.code}/claim",
        data={"fund_id": 0, "amount": "100", "project_id": 0},
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith("#claim")
    page = _text(client.get(resp.headers["Location"]))
    assert "请选择基金" in page and 'value="100"' in page


def test_a_single_fund_that_can_pay_is_chosen_for_the_person(
    client, login_as, org_world, create_need
):
    need = create_need(need_type="living", amount_fen=100_000)
    login_as(org_world["member"])
    offered = _options(_text(client.get(f"/needs/{need.code}")), "fund_id")
    assert [v for v, _t, _s in offered] == [str(org_world["fund"].id)]


def test_no_fund_can_pay_says_why(
    client, login_as, create_org, create_fund, create_need, create_user
):
    org = create_org()
    create_fund(org=org, donations_fen=1_000_000, kind=FundKind.SPECIAL)
    need = create_need(need_type="education")
    login_as(create_user("org_member", org=org))
    html = _text(client.get(f"/needs/{need.code}"))
    assert "本机构的基金都不能资助此需求" in html and "确认认领" not in html


def test_a_refused_claim_keeps_the_amount_and_shows_why_next_to_the_form(
    client, login_as, org_world, create_need
):
    need = create_need(amount_fen=10_000)
    login_as(org_world["member"])
    resp = client.post(
        f"/needs/{need.code}/claim",
        data={"fund_id": org_world["fund"].id, "amount": "150.25", "project_id": 0},
    )
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/needs/{need.code}#claim")
    html = _text(client.get(resp.headers["Location"]))
    section = html[html.index('id="claim"') :]
    assert "仅剩 ¥100.00" in section  # the reason, inside the claim section
    assert 'value="150.25"' in section  # what was typed
    assert "仅剩 ¥100.00" not in html[: html.index('id="claim"')]  # not at the top
    # Shown once: the next view of the page offers the full remaining amount.
    again = _text(client.get(f"/needs/{need.code}"))
    assert "仅剩" not in again and 'value="100.00"' in again
    assert db.session.scalar(select(func.count(Claim.id))) == 0


def test_no_fund_and_too_much_are_both_named_in_one_round(
    client, login_as, org_world, create_need
):
    need = create_need(amount_fen=10_000)
    login_as(org_world["member"])
    resp = client.post(
        f"/needs/{need.code}/claim",
        data={"fund_id": 0, "amount": "150", "project_id": 0},
    )
    html = _text(client.get(resp.headers["Location"]))
    section = html[html.index('id="claim"') :]
    assert "请选择基金" in section and "仅剩 ¥100.00" in section
    assert 'value="150"' in section
    assert db.session.scalar(select(func.count(Claim.id))) == 0


def test_org_claims_page_has_labels_for_phones_and_pages(
    client, login_as, org_world, create_need
):
    need = create_need(amount_fen=10_000_000)
    for _ in range(23):
        services.claim_need(need, org_world["member"], org_world["fund"], 100)
    db.session.commit()
    login_as(org_world["member"])
    html = _text(client.get("/org/claims"))
    assert html.count("详情与联系人") == 20
    assert "共 23 条，当前第 1–20 条" in html and 'href="?page=2"' in html
    # Totals are over every claim, not the page shown.
    assert "<b>23</b>" in html
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    for td in re.findall(r"<td[^>]*>", body):
        assert "data-label=" in td, td
    second = _text(client.get("/org/claims?page=2"))
    assert second.count("详情与联系人") == 3
    filtered = _text(client.get("/org/claims?status=cancelled"))
    assert "暂无认领记录" in filtered


def _claim(world, need, amount=10_000):  # type: ignore[no-untyped-def]
    claim = services.claim_need(need, world["member"], world["fund"], amount)
    db.session.commit()
    return claim


def test_delivery_form_is_not_prefilled_with_the_amount(
    client, login_as, org_world, create_need
):
    claim = _claim(org_world, create_need())
    login_as(org_world["member"])
    html = _text(client.get(f"/org/claims/{claim.id}/deliver"))
    amount_input = re.search(r'<input[^>]*name="delivered_amount"[^>]*>', html)
    assert amount_input and "value=" not in amount_input.group(0).replace(
        'value=""', ""
    )
    assert "novalidate" in html
    # Submitting as it is records nothing.
    resp = client.post(
        f"/org/claims/{claim.id}/deliver",
        data={"delivered_on": today().isoformat(), "method": "", "note": ""},
    )
    assert resp.status_code == 422 and "请填写交付金额" in _text(resp)
    db.session.refresh(claim)
    assert claim.status == ClaimStatus.RESERVED


def test_delivery_names_every_problem_in_one_round(
    client, login_as, org_world, create_need
):
    import io

    claim = _claim(org_world, create_need())
    login_as(org_world["member"])
    resp = client.post(
        f"/org/claims/{claim.id}/deliver",
        data={
            "delivered_amount": "",
            "delivered_on": "2026-13-45",
            "method": "teleport",
            "note": "已送达",
            "evidence": (io.BytesIO(b"<html>not a photo</html>"), "photo.jpg"),
        },
        content_type="multipart/form-data",
    )
    html = _text(resp)
    assert resp.status_code == 422
    assert "请填写交付金额" in html
    assert "交付日期格式不正确" in html
    assert "交付方式必须是" in html
    assert "只接受 JPEG、PNG 图片或 PDF" in html
    assert 'value="已送达"' in html or "已送达</textarea>" in html
    db.session.refresh(claim)
    assert claim.status == ClaimStatus.RESERVED


def test_cancel_asks_first_without_javascript(client, login_as, org_world, create_need):
    claim = _claim(org_world, create_need(amount_fen=10_000))
    login_as(org_world["admin"])
    detail = _text(client.get(f"/org/claims/{claim.id}"))
    assert f'href="/org/claims/{claim.id}/cancel"' in detail
    assert f'action="/org/claims/{claim.id}/cancel"' not in detail  # no one-click
    ask = client.get(f"/org/claims/{claim.id}/cancel")
    assert ask.status_code == 200
    page = _text(ask)
    assert "取消认领" in page and "¥100.00" in page and "不能撤销" in page
    assert f'action="/org/claims/{claim.id}/cancel"' in page
    db.session.refresh(claim)
    assert claim.status == ClaimStatus.RESERVED  # asking changed nothing
    done = client.post(
        f"/org/claims/{claim.id}/cancel", data={"reason": "已由他人捐赠"}
    )
    assert done.status_code == 302
    db.session.refresh(claim)
    assert claim.status == ClaimStatus.CANCELLED
    gone = client.get(f"/org/claims/{claim.id}/cancel", follow_redirects=True)
    assert "只有待交付的认领可以取消" in _text(gone)


def test_follow_up_confirmation_asks_first(
    client, login_as, org_world, create_need, create_user
):
    need = create_need(region_code="220102")
    claim = _claim(org_world, need)
    services.deliver_claim(claim, org_world["member"], 10_000, today(), "cash")
    db.session.commit()
    login_as(create_user("moderator", region_prefix="2201"))
    queue = _text(client.get("/mod/claims"))
    assert f'href="/mod/claims/{claim.id}/confirm"' in queue
    assert f'action="/mod/claims/{claim.id}/confirm"' not in queue
    ask = _text(client.get(f"/mod/claims/{claim.id}/confirm"))
    assert "回访" in ask and "¥100.00" in ask and org_world["org"].name in ask
    db.session.refresh(claim)
    assert claim.status == ClaimStatus.DELIVERED
    client.post(f"/mod/claims/{claim.id}/confirm")
    db.session.refresh(claim)
    assert claim.status == ClaimStatus.CONFIRMED
    again = client.get(f"/mod/claims/{claim.id}/confirm", follow_redirects=True)
    assert "只有已登记交付的认领可以回访确认" in _text(again)


def test_reloading_the_contact_result_goes_back_to_the_claim(
    client, login_as, org_world, create_need
):
    from tests.claims.conftest import HOUSEHOLD

    need = create_need(household=HOUSEHOLD, consent_share_contact=True)
    claim = _claim(org_world, need)
    login_as(org_world["member"])
    resp = client.get(f"/org/claims/{claim.id}/contact")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/org/claims/{claim.id}")
    assert HOUSEHOLD["phone"] not in _text(client.get(resp.headers["Location"]))


def test_overdue_claims_still_sort_first(client, login_as, org_world, create_need):
    need = create_need(amount_fen=100_000)
    late = _claim(org_world, need, 100)
    late.due_on = today() - timedelta(days=2)
    _claim(org_world, need, 200)
    db.session.commit()
    login_as(org_world["member"])
    html = _text(client.get("/org/claims"))
    assert html.index("已逾期") < html.index("¥2.00")


def test_follow_up_confirmation_offers_the_evidence(
    client, login_as, org_world, create_need, create_user
):
    claim = _claim(org_world, create_need(region_code="220102"))
    services.deliver_claim(
        claim,
        org_world["member"],
        10_000,
        today(),
        "goods",
        evidence=("收据.pdf", b"%PDF-1.4\n%%EOF\n"),
    )
    db.session.commit()
    login_as(create_user("moderator", region_prefix="2201"))
    ask = _text(client.get(f"/mod/claims/{claim.id}/confirm"))
    assert f'href="/claims/{claim.id}/evidence"' in ask and "收据.pdf" in ask
