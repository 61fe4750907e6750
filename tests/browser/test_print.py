"""Printing: each printable page rendered to PDF by Chromium (as the browser's
"Save as PDF" does, with the print style sheet) and read back: A4, the
document's text, no menu, footer or buttons; the receipt on one page.
(SCREENSHOTS=<dir> keeps a picture of each page in print emulation.)"""

from __future__ import annotations

import io
import os
import unicodedata
from typing import Any

import pytest
from pypdf import PdfReader

from charitylink.claims import services as claims
from charitylink.core.timeutil import today
from charitylink.extensions import db
from charitylink.funds import services as funds
from charitylink.printing.services import receipt_number
from tests.factories import PASSWORD, org_admin_of

pytestmark = pytest.mark.browser

A4 = (595.3, 841.9)  # points
# On every page of the site, never on paper: the menu, the footer, buttons.
SCREEN_ONLY = (
    "需求库",
    "慈善组织",
    "退出",
    "政府救助与慈善帮扶衔接平台",
    "登记捐赠",
    "打印收据",
    "←",
    "Ctrl+P",
)


# A CJK font draws 长 and the radical ⻓ with one glyph, and the PDF's text layer
# may name either. NFKC folds the Kangxi radicals (⾦ → 金); the simplified
# radicals have no such mapping, so the ones our texts use are listed here.
RADICALS = str.maketrans("⺠⻓⻔⻚⻅⻋⻢⻛⻜⻄⻘⻝⻩⻰", "民长门页见车马风飞西青食黄龙")


def _plain(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(RADICALS).replace(" ", "")


def _log_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]:has-text('登录')")
    page.wait_for_url(f"{base}/org")


def _print(page: Any, url: str, name: str) -> tuple[int, str]:
    """The page as Chromium prints it: (number of pages, text), each page A4."""
    # The screenshot is as wide as A4's printable width (210 − 2 × 15 mm).
    page.set_viewport_size({"width": 680, "height": 960})
    page.goto(url)
    page.emulate_media(media="print")
    assert not page.locator("header.site-header").is_visible()
    assert not page.locator("footer.site-footer").is_visible()
    if os.environ.get("SCREENSHOTS"):
        page.screenshot(
            path=os.path.join(os.environ["SCREENSHOTS"], f"print-{name}.png"),
            full_page=True,
        )
    pdf = PdfReader(io.BytesIO(page.pdf(prefer_css_page_size=True)))
    page.emulate_media(media="screen")
    for sheet in pdf.pages:
        box = sheet.mediabox
        assert abs(float(box.width) - A4[0]) < 2 and abs(float(box.height) - A4[1]) < 2
    text = _plain("\n".join(sheet.extract_text() for sheet in pdf.pages))
    for word in SCREEN_ONLY:
        assert word not in text, f"{name}: {word!r} printed"
    return len(pdf.pages), text


def test_receipt_claim_record_and_fund_pages_print_on_a4(
    live_server, page, create_org, create_fund, create_need, create_user
):
    base = live_server
    org = create_org(name="长春市春晖助学基金会")
    admin = org_admin_of(org)
    fund = create_fund(org=org, donations_fen=1_000_000_00, name="春晖助学冠名基金")
    entry = funds.record_donation(
        fund,
        admin,
        amount_fen=8_888_800,
        donor_name="吉林某某爱心企业有限公司",
        reference="BANK-20261206-01",
    )
    need = create_need(amount_fen=300_000, title="困难家庭学生学费帮扶")
    claim = claims.claim_need(need, admin, fund, 300_000)
    claims.deliver_claim(claim, admin, 300_000, today(), "cash", note="已转账")
    claims.confirm_claim(claim, create_user("moderator", region_prefix="2201"))
    db.session.commit()
    _log_in(page, base, admin.email)

    pages, text = _print(
        page, f"{base}/org/funds/{fund.id}/receipts/{entry.id}", "receipt"
    )
    assert pages == 1
    for word in (
        "捐赠收据",
        receipt_number(entry),
        "长春市春晖助学基金会",
        "春晖助学冠名基金",
        "吉林某某爱心企业有限公司",
        "¥88,888.00",
        "人民币捌万捌仟捌佰捌拾捌元整",
        "BANK-20261206-01",
        f"/funds/{fund.id}",
    ):
        assert word in text, (word, text)
    assert page.locator("svg.qr").is_visible()

    pages, text = _print(page, f"{base}/claims/{claim.id}/print", "claim")
    assert pages == 1
    for word in ("认领与交付记录", need.code, "困难家庭学生学费帮扶", "回访确认"):
        assert word in text, (word, text)
    assert "尚未回访确认" not in text

    pages, text = _print(page, f"{base}/org/funds/{fund.id}", "fund-ledger")
    assert "春晖助学冠名基金" in text and "基金台账" in text

    pages, text = _print(page, f"{base}/funds/{fund.id}", "fund-public")
    assert "春晖助学冠名基金" in text and "最近捐赠" in text
    assert not page.problems  # type: ignore[attr-defined]
