"""Claims pages: the claim form on a need, the org's work area, the contact
showing of rule 5, delivery with evidence files, the moderators' queues."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from PIL import Image
from sqlalchemy import func, select

from charitylink.claims import services
from charitylink.claims.models import Claim, ClaimStatus
from charitylink.core.audit import AuditEvent
from charitylink.core.timeutil import today
from charitylink.extensions import db
from tests.claims.conftest import HOUSEHOLD, audit_actions
from tests.factories import org_admin_of

PRIVATE_ALWAYS = ("id_number", "address", "notes")


def _text(resp) -> str:  # type: ignore[no-untyped-def]
    return resp.get_data(as_text=True)


def _no_private(html: str, *, contact_allowed: bool = False) -> None:
    for key in PRIVATE_ALWAYS:
        assert HOUSEHOLD[key] not in html, key
    if not contact_allowed:
        assert HOUSEHOLD["name"] not in html
        assert HOUSEHOLD["phone"] not in html


def _claim(world, need, amount=10_000):  # type: ignore[no-untyped-def]
    claim = services.claim_need(need, world["member"], world["fund"], amount)
    db.session.commit()
    return claim


def _jpeg_with_exif() -> bytes:
    img = Image.new("RGB", (32, 24), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "LeakyCamCorp"  # Make
    exif[0x010E] = "GPS-HOME-LOCATION"  # ImageDescription
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif.tobytes())
    return buf.getvalue()


def _deliver_form(amount="100.00", **extra):  # type: ignore[no-untyped-def]
    data = {
        "delivered_amount": amount,
        "delivered_on": today().isoformat(),
        "method": "goods",
        "note": "已送达米面油",
    }
    data.update(extra)
    return data


def test_need_page_offers_the_claim_form_to_org_staff_only(
    client, login_as, org_world, create_need
):
    need = create_need(amount_fen=123_450, household=HOUSEHOLD)
    anonymous = _text(client.get(f"/needs/{need.code}"))
    assert "确认认领" not in anonymous
    login_as(org_world["member"])
    html = _text(client.get(f"/needs/{need.code}"))
    assert "确认认领" in html
    assert org_world["fund"].name in html and "可用 ¥10,000.00" in html
    assert 'value="1234.50"' in html  # the remaining amount, ready to claim
    _no_private(html)


def test_claim_form_claims_and_redirects_to_the_claim(
    client, login_as, org_world, create_need
):
    need = create_need(amount_fen=100_000)
    login_as(org_world["member"])
    resp = client.post(
        f"/needs/{need.code}/claim",
        data={"fund_id": org_world["fund"].id, "amount": "300.50", "project_id": 0},
    )
    claim = db.session.scalar(select(Claim))
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/org/claims/{claim.id}")
    assert claim.amount_fen == 30_050
    page = _text(client.get(resp.headers["Location"]))
    assert "已认领 ¥300.50" in page


def test_claim_form_shows_chinese_errors_and_changes_nothing(
    client, login_as, org_world, create_need
):
    need = create_need(amount_fen=10_000)
    login_as(org_world["member"])
    url = f"/needs/{need.code}/claim"
    fund = org_world["fund"].id
    over = client.post(
        url, data={"fund_id": fund, "amount": "100.01"}, follow_redirects=True
    )
    assert "仅剩 ¥100.00" in _text(over)
    bad = client.post(
        url, data={"fund_id": fund, "amount": "12,34"}, follow_redirects=True
    )
    assert "千位分隔符" in _text(bad)
    neg = client.post(
        url, data={"fund_id": fund, "amount": "-5"}, follow_redirects=True
    )
    assert "金额必须大于零" in _text(neg)
    assert db.session.scalar(select(func.count(Claim.id))) == 0


def test_org_claims_page_lists_due_dates_without_private_data(
    client, login_as, org_world, create_need, create_org
):
    need = create_need(household=HOUSEHOLD, consent_share_contact=True)
    claim = _claim(org_world, need)
    login_as(org_world["admin"])
    html = _text(client.get("/org/claims"))
    assert need.code in html and "已认领待交付" in html
    assert f"{claim.due_on.year}年{claim.due_on.month}月{claim.due_on.day}日" in html
    _no_private(html)
    detail = _text(client.get(f"/org/claims/{claim.id}"))
    assert "民政部门联系人" in detail and "查看联系方式" in detail
    _no_private(detail)
    filtered = _text(client.get("/org/claims?status=cancelled"))
    assert need.code not in filtered
    # Another org sees neither the list entry nor the claim.
    login_as(org_admin_of(create_org()))
    assert need.code not in _text(client.get("/org/claims"))
    assert client.get(f"/org/claims/{claim.id}").status_code == 404


def test_household_contact_only_with_consent_and_a_reserved_claim_audited(
    client, login_as, org_world, create_need
):
    need = create_need(household=HOUSEHOLD, consent_share_contact=True)
    claim = _claim(org_world, need)
    login_as(org_world["member"])
    for _ in range(2):
        resp = client.post(f"/org/claims/{claim.id}/contact")
        html = _text(resp)
        assert resp.status_code == 200
        assert HOUSEHOLD["name"] in html and HOUSEHOLD["phone"] in html
        _no_private(html, contact_allowed=True)
    assert audit_actions("claim", claim.id).count("claim.contact_view") == 2
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "claim.contact_view")
    )
    assert event.actor_id == org_world["member"].id
    assert HOUSEHOLD["name"] not in (event.reason or "")
    assert resp.headers["Cache-Control"] == "no-store"
    # Once delivered, the contact is no longer shown.
    services.deliver_claim(claim, org_world["member"], 10_000, today(), "cash")
    db.session.commit()
    after = client.post(f"/org/claims/{claim.id}/contact", follow_redirects=True)
    assert HOUSEHOLD["phone"] not in _text(after)
    assert "待交付" in _text(after)
    assert audit_actions("claim", claim.id).count("claim.contact_view") == 2


def test_no_household_contact_without_consent(client, login_as, org_world, create_need):
    need = create_need(household=HOUSEHOLD, consent_share_contact=False)
    claim = _claim(org_world, need)
    login_as(org_world["member"])
    detail = _text(client.get(f"/org/claims/{claim.id}"))
    assert "查看联系方式" not in detail and "通过民政部门联系" in detail
    resp = client.post(f"/org/claims/{claim.id}/contact", follow_redirects=True)
    assert "未书面同意" in _text(resp)
    _no_private(_text(resp))
    assert "claim.contact_view" not in audit_actions("claim", claim.id)


def test_deliver_with_photo_strips_exif_and_serves_it_to_the_right_people_only(
    app, client, login_as, org_world, create_need, create_user, create_org
):
    need = create_need(region_code="220102")
    claim = _claim(org_world, need)
    login_as(org_world["member"])
    data = _deliver_form()
    data["evidence"] = (io.BytesIO(_jpeg_with_exif()), "../../static/张三家门口.jpg")
    resp = client.post(
        f"/org/claims/{claim.id}/deliver",
        data=data,
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302, _text(resp)
    db.session.refresh(claim)
    assert claim.status == ClaimStatus.DELIVERED
    assert claim.evidence_mime == "image/jpeg"
    assert "/" not in claim.evidence_path and "张三" not in claim.evidence_path
    from pathlib import Path

    stored = Path(app.config["UPLOAD_DIR"]) / "evidence" / claim.evidence_path
    raw = stored.read_bytes()
    assert b"LeakyCamCorp" not in raw and b"GPS-HOME-LOCATION" not in raw
    assert not Image.open(io.BytesIO(raw)).getexif()

    url = f"/claims/{claim.id}/evidence"
    got = client.get(url)
    assert got.status_code == 200 and got.data == raw
    assert got.headers["Content-Disposition"].startswith("attachment")
    assert got.headers["Cache-Control"] == "no-store"
    login_as(create_user("moderator", region_prefix="2201"))
    assert client.get(url).status_code == 200
    login_as(create_user("moderator", region_prefix="2202"))
    assert client.get(url).status_code == 404
    login_as(org_admin_of(create_org()))
    assert client.get(url).status_code == 404
    anonymous = app.test_client()
    resp = anonymous.get(url)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert (
        anonymous.get(
            f"/static/../instance/uploads/evidence/{claim.evidence_path}"
        ).status_code
        == 404
    )


def test_evidence_type_is_checked_by_content(client, login_as, org_world, create_need):
    need = create_need()
    claim = _claim(org_world, need)
    login_as(org_world["member"])
    data = _deliver_form()
    data["evidence"] = (
        io.BytesIO(b"<html><script>alert(1)</script></html>"),
        "photo.jpg",
    )
    resp = client.post(
        f"/org/claims/{claim.id}/deliver", data=data, content_type="multipart/form-data"
    )
    assert resp.status_code == 422
    assert "只接受 JPEG、PNG 图片或 PDF" in _text(resp)
    db.session.refresh(claim)
    assert claim.status == ClaimStatus.RESERVED and claim.evidence_path is None


def test_evidence_too_large_gets_a_clear_message(
    app, client, login_as, org_world, create_need
):
    app.config["EVIDENCE_MAX_BYTES"] = 1024
    need = create_need()
    claim = _claim(org_world, need)
    login_as(org_world["member"])
    data = _deliver_form()
    data["evidence"] = (io.BytesIO(b"%PDF-1.4\n" + b"0" * 2048), "report.pdf")
    resp = client.post(
        f"/org/claims/{claim.id}/deliver", data=data, content_type="multipart/form-data"
    )
    assert resp.status_code == 422 and "凭证文件过大" in _text(resp)
    db.session.refresh(claim)
    assert claim.status == ClaimStatus.RESERVED
    # Beyond MAX_CONTENT_LENGTH the whole request is refused with 413.
    app.config["MAX_CONTENT_LENGTH"] = 4096
    data = _deliver_form()
    data["evidence"] = (io.BytesIO(b"%PDF-1.4\n" + b"0" * 8192), "report.pdf")
    big = client.post(
        f"/org/claims/{claim.id}/deliver", data=data, content_type="multipart/form-data"
    )
    assert big.status_code == 413 and "过大" in _text(big)


def test_pdf_evidence_is_accepted(app, client, login_as, org_world, create_need):
    need = create_need()
    claim = _claim(org_world, need)
    login_as(org_world["member"])
    data = _deliver_form(amount="60.00")
    data["evidence"] = (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "收据.pdf")
    resp = client.post(
        f"/org/claims/{claim.id}/deliver", data=data, content_type="multipart/form-data"
    )
    assert resp.status_code == 302
    db.session.refresh(claim)
    assert claim.evidence_mime == "application/pdf" and claim.delivered_fen == 6_000
    assert claim.evidence_name == "收据.pdf"


def test_deliver_form_errors_in_chinese(client, login_as, org_world, create_need):
    claim = _claim(org_world, create_need())
    login_as(org_world["member"])
    resp = client.post(f"/org/claims/{claim.id}/deliver", data=_deliver_form("200.00"))
    assert resp.status_code == 422 and "不能超过认领金额" in _text(resp)
    future = (today() + timedelta(days=3)).isoformat()
    resp = client.post(
        f"/org/claims/{claim.id}/deliver", data=_deliver_form(delivered_on=future)
    )
    assert resp.status_code == 422 and "不能晚于今天" in _text(resp)


def test_cancel_from_the_org_page(client, login_as, org_world, create_need):
    need = create_need(amount_fen=10_000)
    claim = _claim(org_world, need)
    login_as(org_world["admin"])
    resp = client.post(
        f"/org/claims/{claim.id}/cancel",
        data={"reason": "物资已由他人捐赠"},
        follow_redirects=True,
    )
    assert "认领已取消" in _text(resp)
    db.session.refresh(claim)
    assert claim.status == ClaimStatus.CANCELLED
    again = client.post(f"/org/claims/{claim.id}/cancel", follow_redirects=True)
    assert "不能变为" in _text(again)
    deliver = client.get(f"/org/claims/{claim.id}/deliver", follow_redirects=True)
    assert "只有待交付的认领可以登记交付" in _text(deliver)


def test_moderator_queues_and_confirm(
    client, login_as, org_world, create_need, create_user
):
    need = create_need(region_code="220102", household=HOUSEHOLD)
    delivered = _claim(org_world, need, 10_000)
    services.deliver_claim(delivered, org_world["member"], 10_000, today(), "cash")
    soon = _claim(org_world, need, 5_000)
    soon.due_on = today() + timedelta(days=3)
    late = _claim(org_world, need, 5_000)
    late.due_on = today() - timedelta(days=1)
    db.session.commit()
    login_as(create_user("moderator", region_prefix="2201"))
    html = _text(client.get("/mod/claims"))
    # The quick views carry their counts; the list shows every claim, the
    # delivery to confirm first.
    assert re.search(r"待回访确认 <span[^>]*>1</span>", html)
    assert re.search(r"7 天内到期 <span[^>]*>1</span>", html)
    assert re.search(r"已逾期未交付 <span[^>]*>1</span>", html)
    body = html[html.index("<tbody>") :]
    assert body.index(f"/mod/claims/{delivered.id}/confirm") < body.index("已逾期")
    _no_private(html)
    resp = client.post(f"/mod/claims/{delivered.id}/confirm", follow_redirects=True)
    assert "已确认交付" in _text(resp)
    db.session.refresh(delivered)
    assert delivered.status == ClaimStatus.CONFIRMED
    login_as(create_user("moderator", region_prefix="2202"))
    other = _text(client.get("/mod/claims"))
    assert re.search(r"待回访确认 <span[^>]*>0</span>", other)
    assert need.code not in other
    assert client.post(f"/mod/claims/{soon.id}/confirm").status_code == 404


def test_work_area_pages_require_the_right_role(
    client, login_as, org_world, create_user
):
    assert client.get("/org/claims").status_code == 302
    login_as(create_user("moderator"))
    assert client.get("/org/claims").status_code == 403
    login_as(org_world["member"])
    assert client.get("/mod/claims").status_code == 403
    assert "认领与交付" in _text(client.get("/org"))


def test_png_evidence_loses_its_text_chunks(
    app, client, login_as, org_world, create_need
):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "GPS-HOME-LOCATION")
    buf = io.BytesIO()
    Image.new("P", (16, 16), 3).save(buf, format="PNG", pnginfo=info)
    assert b"GPS-HOME-LOCATION" in buf.getvalue()
    claim = _claim(org_world, create_need())
    login_as(org_world["member"])
    data = _deliver_form()
    data["evidence"] = (io.BytesIO(buf.getvalue()), "scan.png")
    resp = client.post(
        f"/org/claims/{claim.id}/deliver", data=data, content_type="multipart/form-data"
    )
    assert resp.status_code == 302
    db.session.refresh(claim)
    got = client.get(f"/claims/{claim.id}/evidence")
    assert got.status_code == 200 and got.mimetype == "image/png"
    assert got.data.startswith(b"\x89PNG") and b"GPS-HOME-LOCATION" not in got.data
