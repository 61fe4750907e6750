"""Every page that renders HTML, looked at in Chromium as each role that uses
it, at a phone width (390 px) and a desktop width (1,280 px).

The list of pages is the app's URL map: every GET route is either swept here or
named in ``NOT_HTML`` (files and JSON), and its viewers come from the access
matrix (``tests/security/test_access_matrix.py``), so a new page is looked at
without anyone adding it here. On each page ``looks.js`` measures what a person
sees (sideways scroll, progress fills, one character per line, tiny text,
labels shown twice or missing), axe-core audits it (no serious or critical
violation), and a screenshot is saved as
``artifacts/screens/<role>/<endpoint>-<width>.png`` (``SCREENS_DIR`` overrides
the folder; CI keeps it as an artifact). docs/testing-pages.md says more.

The sweep runs in the SQLite pass only: the browser sees the same HTML from
either database, and one sweep takes minutes.
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from charitylink.extensions import db
from charitylink.funds.models import FundKind
from charitylink.needs import import_files
from charitylink.orgs.models import OrgStatus
from charitylink.projects.models import ProjectStatus
from tests.conftest import _pg_url
from tests.factories import PASSWORD, org_admin_of
from tests.imports.rows import need_row
from tests.security.conftest import jpeg_with_exif
from tests.security.routes import methods, path_values, rules
from tests.security.test_access_matrix import EXPECT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
LOOKS_JS = (Path(__file__).parent / "looks.js").read_text(encoding="utf-8")
WIDTHS = (390, 1280)

# GET routes that answer with a file or JSON, not a page.
NOT_HTML = {
    "api_v1.get_claim",
    "api_v1.get_fund",
    "api_v1.get_need",
    "api_v1.get_notification_settings",
    "api_v1.get_org",
    "api_v1.get_private",
    "api_v1.list_need_claims",
    "api_v1.get_project",
    "api_v1.list_claims",
    "api_v1.list_complaints",
    "api_v1.track_complaint",
    "api_v1.list_signals",
    "api_v1.list_needs",
    "api_v1.list_orgs",
    "api_v1.list_notifications",
    "api_v1.list_projects",
    "api_v1.openapi_json",
    "api_v1.stats",
    "api_v1.list_webhooks",
    "api_v1.get_webhook",
    "api_v1.list_consents",
    "privacy.form_file",
    "exports.mod_private_download",
    "api_v1.list_webhook_deliveries",
    "api_v1.list_privacy_requests",
    "api_v1.get_privacy_request_file",
    "api_v1.list_instalments",
    "claims.evidence_file",
    "claims.response_evidence_file",
    "api_v1.list_sessions",
    "exports.mod_export",
    "exports.org_export",
    "needs.import_template",
    "portals.needs_feed",
    "portals.projects_feed",
    "portals.robots",
    "portals.sitemap",
    "portals.sitemap_page",
    "reports.mod_export",
    "reports.transparency_export",
    "api_v1.list_offers",
    "api_v1.get_offer",
    "api_v1.offer_matches",
    "api_v1.need_matches",
    "offers.export",
}

# One viewer per kind of user, in this order of preference within the kind: a
# page is looked at by every kind allowed to use it. The platform admin looks
# only at pages no moderator may open (elsewhere it sees a moderator's page).
KINDS = (
    ("public",),
    ("admin_a", "member_a", "admin_b"),
    ("mod_in", "mod_out"),
)

# Pages whose useful state needs another object than the access matrix's
# (which shows their redirect): endpoint → (role, {argument: world attribute}).
SPECIAL = {
    "needs.edit": ("mod_in", {"code": "draft_need"}),
    "projects.edit": ("admin_a", {"project_id": "draft_project"}),
    "projects.mod_detail": ("mod_in", {"project_id": "submitted_project"}),
    "orgs.review": ("mod_in", {"org_id": "pending_org"}),
    "orgs.resubmit": ("admin_r", {}),
    "needs.import_preview": ("mod_in", {"token": "import_token"}),
    "mail.unsubscribe": ("public", {"token": "unsubscribe_token"}),
    # E-mailed links: the page a valid link opens (the matrix sees a bad one's).
    "accounts.reset": ("public", {"token": "reset_token"}),
    "accounts.confirm": ("public", {"token": "confirm_token"}),
    # The same long reference for everyone; looked at once (it is most of the time).
    "api_v1.docs": ("public", {}),
}
# States of pages the URL map does not name: (name, role, path, status).
EXTRA = [
    ("errors.not_found", "public", "/no-such-page", 404),
    ("needs.index.search", "public", "/needs?q=医疗", 200),
    ("projects.public_list.search", "admin_a", "/projects?q=助学", 200),
    ("mail.unsubscribe.invalid", "public", "/unsubscribe/forged.token", 404),
    ("projects.public_list.overdue", "public", "/projects?overdue=1", 200),
    ("accounts.reset.bad_link", "public", "/reset/not-a-real-link", 400),
    ("workspace.org_home.claim_limit", "admin_b", "/org", 200),
    ("integrity.index.dismissed", "mod_in", "/mod/integrity?dismissed=1", 200),
    (
        "privacy_requests.index.overdue",
        "mod_in",
        "/mod/privacy-requests?state=all",
        200,
    ),
    # A pairing's month strip ({pairing} is the sweep world's pairing claim).
    ("claims.org_detail.pairing", "admin_a", "/org/claims/{pairing}", 200),
    ("claims.mod_detail.pairing", "mod_in", "/mod/claims/{pairing}", 200),
]
# States whose path names the sweep world's objects: (name, role, world →
# path, status).
WORLD_EXTRA = [
    (
        "claims.offer_match.need",
        "admin_a",
        lambda w: f"/org/offers/{w.offer_a.id}/match?need={w.match_need.code}",
        200,
    ),
    (
        "claims.propose_match.need",
        "mod_in",
        lambda w: f"/mod/offers/{w.offer_a.id}/propose?need={w.need.code}",
        200,
    ),
    (
        "claims.org_detail.match",
        "admin_a",
        lambda w: f"/org/claims/{w.match_claim.id}",
        200,
    ),
    (
        "claims.deliver.match",
        "admin_a",
        lambda w: f"/org/claims/{w.match_claim.id}/deliver",
        200,
    ),
    (
        "claims.mod_detail.match",
        "mod_in",
        lambda w: f"/mod/claims/{w.delivered_match.id}",
        200,
    ),
    (
        "claims.confirm.match",
        "mod_in",
        lambda w: f"/mod/claims/{w.delivered_match.id}/confirm",
        200,
    ),
]
# Screenshots stop this far down: a page taller than this is in report.txt anyway.
SHOT_MAX_HEIGHT = 16_000

# Defects this sweep finds in pages another change is fixing: (endpoint, start of
# the problem) → who fixes it. They are printed, not failed; an entry that no
# longer matches anything fails, so the list only shrinks.
KNOWN: dict[tuple[str, str], str] = {}


@dataclass
class SweepWorld:
    users: dict[str, Any] = field(default_factory=dict)
    org_a: Any = None
    org_b: Any = None
    fund_a: Any = None
    project_a: Any = None
    need: Any = None
    claim: Any = None
    delivered_claim: Any = None
    draft_need: Any = None
    draft_project: Any = None
    submitted_project: Any = None
    pending_org: Any = None
    import_token: str = ""
    unsubscribe_token: str = ""
    reset_token: str = ""
    confirm_token: str = ""
    privacy_request: Any = None
    pairing_id: int = 0
    offer_a: Any = None
    match_need: Any = None
    match_claim: Any = None
    delivered_match: Any = None

    def attr(self, name: str) -> Any:
        value = getattr(self, name)
        return getattr(value, "code", None) or getattr(value, "id", value)


TYPE_WORDS = ["医疗", "助学", "住房", "基本生活", "就业"]

# Counties of Jilin with long and short names, so tiles and tables wrap.
COUNTIES = ["220102", "220104", "220581", "222401", "220182", "222426", "220722"]


@pytest.fixture
def sweep_world(
    app, create_user, create_org, create_fund, create_project, create_need
) -> SweepWorld:  # type: ignore[no-untyped-def]
    """The access matrix's world (same names, so its path values apply) with
    enough around it that lists, tables, charts and bars are not empty."""
    from charitylink.claims import services as claims
    from charitylink.core.timeutil import today, utcnow

    w = SweepWorld()
    w.org_a = create_org(name="吉林省甲慈善基金会")
    w.org_b = create_org(name="乙慈善基金会")
    w.users["admin_a"] = org_admin_of(w.org_a)
    w.users["admin_b"] = org_admin_of(w.org_b)
    w.users["member_a"] = create_user("org_member", org=w.org_a)
    w.users["mod_in"] = create_user("moderator", region_prefix="22")
    w.users["mod_out"] = create_user("moderator", region_prefix="62")
    w.users["admin"] = create_user("admin")
    mod = w.users["mod_in"]
    w.fund_a = create_fund(
        org=w.org_a, donations_fen=100_000_00, name="长春爱心企业冠名助学助医基金"
    )
    special = create_fund(
        org=w.org_a,
        donations_fen=50_000_00,
        kind=FundKind.SPECIAL,
        name="大病救助专项基金",
        purpose_need_types=["medical", "housing"],
    )
    w.project_a = create_project(fund=w.fund_a, target_fen=1_000_000)
    late = create_project(
        fund=special,
        title="大病患者医疗费用帮扶行动（第二期）",
        need_types=["medical"],
        region_codes=COUNTIES[:4],
        target_fen=400_000,
    )
    # Overdue for its progress update: the mark, the filter, the moderators' list.
    late.published_at = utcnow() - timedelta(days=130)
    w.draft_project = create_project(fund=w.fund_a, status=ProjectStatus.DRAFT)
    w.submitted_project = create_project(
        fund=special, status=ProjectStatus.SUBMITTED, title="危房改造帮扶项目"
    )
    w.pending_org = create_org(
        name="吉林省延边朝鲜族自治州某某社会工作服务中心", status=OrgStatus.PENDING
    )
    rejected = create_org(name="丙公益协会", status=OrgStatus.REJECTED)
    w.users["admin_r"] = org_admin_of(rejected)
    # The links mailed to an account nobody in the sweep signs in with.
    from charitylink.accounts import links

    mailed = create_user("org_admin", org=w.pending_org, name="刘春晖")
    w.reset_token = links.reset_token(mailed)
    w.confirm_token = links.confirm_token(mailed)

    w.need = create_need(amount_fen=300_000, entered_by=mod)
    other = create_need(amount_fen=200_000, entered_by=mod)
    w.claim = claims.claim_need(w.need, w.users["member_a"], w.fund_a, 100_000)
    w.delivered_claim = claims.claim_need(other, w.users["member_a"], w.fund_a, 200_000)
    claims.deliver_claim(
        w.delivered_claim,
        w.users["member_a"],
        200_000,
        today() - timedelta(days=1),
        "cash",
        note="已转账",
        evidence=("receipt.jpg", jpeg_with_exif()),
    )
    types = ["medical", "education", "housing", "living", "employment"]
    categories = ["dibao", "tekun", "dibao_edge", "relapse_watch", "rigid_expense"]
    for i in range(24):
        need = create_need(
            amount_fen=50_000 + 37_500 * i,
            region_code=COUNTIES[i % len(COUNTIES)],
            need_type=types[i % len(types)],
            category=categories[i % len(categories)],
            urgency=("normal", "high", "critical")[i % 3],
            title=f"困难家庭{TYPE_WORDS[i % len(types)]}帮扶需求（第{i + 1}号）",
            entered_by=mod,
        )
        fund = special if need.need_type in ("medical", "housing") else w.fund_a
        if i % 3 == 0:  # fully claimed, then delivered and confirmed every other
            claim = claims.claim_need(need, w.users["admin_a"], fund, need.amount_fen)
            if i % 2 == 0:
                claims.deliver_claim(
                    claim,
                    w.users["admin_a"],
                    need.amount_fen,
                    today() - timedelta(days=1),
                    "cash",
                    note="银行转账",
                )
                claims.confirm_claim(claim, mod)
        elif i % 3 == 1:  # a part pledged
            claims.claim_need(need, w.users["admin_a"], fund, need.amount_fen // 3)
    # A need claimed under the published project, so its bars are not empty.
    for_project = create_need(
        amount_fen=600_000, need_type="education", title="困境儿童学费", entered_by=mod
    )
    claims.claim_need(
        for_project, w.users["admin_a"], w.fund_a, 600_000, project=w.project_a
    )
    create_need(status="submitted", entered_by=create_user("moderator"))
    w.draft_need = create_need(status="draft", entered_by=mod)
    create_need(
        amount_fen=120_000,
        in_kind=True,
        items=[{"name": "电动护理床", "quantity": 1}, {"name": "轮椅", "quantity": 2}],
        title="独居老人需要护理床和轮椅",
        entered_by=mod,
    )
    _pairing(w)
    _outbox(w)
    _matches(w, create_need)
    _integrity(w, create_fund, create_need)
    _webhook_log(w)
    _privacy(w, create_need)
    _offers(w)
    _consents(w)
    db.session.commit()
    return w


def _privacy(w: SweepWorld, create_need: Any) -> None:
    """A request from the world's need's household, an overdue one, and an
    ended need of that household whose private half was purged (the
    request's page shows both states)."""
    from charitylink.core.timeutil import today, utcnow
    from charitylink.needs import privacy
    from charitylink.privacy import purge
    from charitylink.privacy.purge_models import PrivacyRequest

    household = privacy.decrypt_household(w.need)
    ended = create_need(
        status="withdrawn",
        title="临时困难家庭生活费帮扶（已撤回）",
        household={"id_number": household["id_number"], "name": "测试户"},
    )
    ended.closed_at = utcnow()
    purge.erase_private(ended)
    w.privacy_request = PrivacyRequest(
        kind="copy",
        household_key=w.need.household_key,
        region_code=w.need.region_code,
        due_on=today() + timedelta(days=15),
        note="本人到民政局窗口申请复制其家庭信息",
    )
    late = PrivacyRequest(
        kind="erase",
        household_key=w.need.household_key,
        region_code=w.need.region_code,
        received_on=today() - timedelta(days=20),
        due_on=today() - timedelta(days=5),
        note="本人来电要求删除",
    )
    db.session.add_all([w.privacy_request, late])
    db.session.flush()
    w._privacy_request = w.privacy_request.id


def _pairing(w: SweepWorld) -> None:
    """A 12-month pairing on the world's need: months confirmed, delivered,
    missed and pending in its strip (the need's pages show it too)."""
    from charitylink.claims import pairing
    from charitylink.core.timeutil import today

    claim = pairing.claim_with_schedule(
        w.need, w.users["admin_a"], w.fund_a, 120_000, 12, 10_000
    )
    pairing.deliver_instalment(claim, 1, w.users["admin_a"], today())
    pairing.confirm_instalment(claim, 1, w.users["mod_in"])
    pairing.deliver_instalment(claim, 2, w.users["admin_a"], today(), note="按月转账")
    db.session.flush()
    third = pairing.instalments(claim)[2]
    pairing.check_instalments(third.due_on + timedelta(days=11))
    w.pairing_id = claim.id


def _offers(w: SweepWorld) -> None:
    """Org A's offers in each state and kind, with long titles, so the lists,
    the offer page and a need's 可对接的供给 are not empty."""
    from tests.security.conftest import make_offer

    w.offer_a = make_offer(w.org_a, title="长者助餐（每日午餐配送到户，含两荤一素）")
    make_offer(
        w.org_a,
        kind="volunteer",
        title="志愿者陪伴就医",
        unit="小时",
        region_prefix="22",
        capacity_per_month=40,
        unit_value_fen=3000,
    )
    make_offer(w.org_a, kind="goods", title="冬季棉被", unit="件", status="paused")
    make_offer(w.org_b, title="康养讲座", unit="次", region_prefix="220102")


def _consents(w: SweepWorld) -> None:
    """Consents on the world's need (one active, one withdrawn with its
    reason), sightings of its household through each path, and a flagged
    account for the admins' list."""
    from charitylink.claims import services as claims
    from charitylink.core.timeutil import today, utcnow
    from charitylink.needs import services as need_services
    from charitylink.privacy import consents
    from charitylink.privacy.models import PrivateViewFlag

    mod = w.users["mod_in"]
    consents.record_consent(
        w.need,
        mod,
        {"scope": "share_contact", "method": "written", "given_on": today()},
    )
    old = consents.record_consent(
        w.need,
        mod,
        {"scope": "photos", "method": "oral_witnessed", "given_on": today()},
    )
    consents.withdraw_consent(old, mod, "家属不再同意使用照片")
    need_services.get_private(w.need, mod)
    need_services.get_private(w.need, mod, api=True)
    claims.reveal_household_contact(w.claim, w.users["member_a"])
    hour = utcnow().replace(minute=0, second=0, microsecond=0)
    w_flag = PrivateViewFlag(user_id=w.users["mod_out"].id, hour=hour, views=57)
    db.session.add(w_flag)


def _integrity(w: SweepWorld, create_fund: Any, create_need: Any) -> None:
    """Org B over the claim-abandon line at its open-claim limit (its
    workspace shows why and how to lift it), and the delivered claim's
    evidence file used again (the moderators' integrity page has signals)."""
    from charitylink.claims import services as claims
    from charitylink.core.timeutil import today

    fund_b = create_fund(org=w.org_b, donations_fen=10_000_00, name="乙基金会助困基金")
    need = create_need(amount_fen=400_000, title="困难家庭生活费帮扶需求")
    for _ in range(5):
        claims.cancel_claim(
            claims.claim_need(need, w.users["admin_b"], fund_b, 10_000),
            w.users["admin_b"],
        )
    for _ in range(3):
        claims.claim_need(need, w.users["admin_b"], fund_b, 10_000)
    again = create_need(amount_fen=80_000, title="残疾人康复辅具帮扶需求")
    claims.deliver_claim(
        claims.claim_need(again, w.users["admin_a"], w.fund_a, 80_000),
        w.users["admin_a"],
        80_000,
        today(),
        "goods",
        evidence=("receipt-copy.jpg", jpeg_with_exif()),
    )


def _matches(w: SweepWorld, create_need: Any) -> None:
    """Org A's offer, a match with sessions to deliver and a delivered one
    for the 回访 (matching, 供需对接)."""
    from charitylink.claims import matching
    from charitylink.core.timeutil import today
    from charitylink.offers.models import Offer

    w.offer_a = Offer(
        org_id=w.org_a.id,
        kind="service",
        title="社区老年人上门助浴与居家照护服务",
        need_types=["medical", "elderly_care"],
        region_prefix="22",
        unit="次",
        capacity_per_month=20,
        unit_value_fen=8_000,
        start_on=today(),
    )
    db.session.add(w.offer_a)
    db.session.flush()
    admin = w.users["admin_a"]
    w.match_need = create_need(amount_fen=96_000, title="失能老人需要上门照护")
    w.match_claim = matching.match(w.offer_a, w.match_need, 4, 1, admin)
    for quantity, hours, people, note in ((2, 1.5, 2, "上门助浴"), (1, 2, 3, "")):
        matching.record_session(
            w.match_claim, admin, today(), quantity, hours, people, note
        )
    w.delivered_match = matching.match(w.offer_a, w.match_need, 3, 1, admin)
    matching.record_session(w.delivered_match, admin, today(), 3, 4, 2, "居家照护")
    matching.deliver_match(w.delivered_match, admin)
    from charitylink.claims import proposals

    # A moderator's proposal waiting on the offer's match page.
    proposals.propose(w.offer_a, w.need, 2, 3, w.users["mod_in"])


def _outbox(w: SweepWorld) -> None:
    """Mail in each state for the admin's outbox page, and an unsubscribe link."""
    from charitylink.core.timeutil import utcnow
    from charitylink.mail.models import MailStatus, OutboxMail
    from charitylink.mail.unsubscribe import make_token
    from charitylink.notifications.services import notify

    admin = w.users["admin_a"]
    notify(
        "org_verified",
        [admin],
        event=f"org:{w.org_a.id}",
        params={"org": w.org_a.name},
        url=f"/orgs/{w.org_a.id}",
    )
    now = utcnow()
    db.session.add_all(
        [
            OutboxMail(
                to_address="a.very.long.mailbox.name@charity-foundation.example.org",
                subject="需求 XQ-22-000123 的认领将于 2026年12月20日 到期",
                text_body="…",
                status=MailStatus.FAILED,
                attempts=8,
                next_attempt_at=now,
                last_error="SMTPRecipientsRefused: 550 5.1.1 <a.very.long.mailbox"
                ".name@charity-foundation.example.org>: Recipient address rejected",
            ),
            OutboxMail(
                to_address="sent@example.org",
                subject="项目「助学帮扶」进展公开已逾期",
                text_body="…",
                status=MailStatus.SENT,
                attempts=1,
                next_attempt_at=now,
                sent_at=now,
            ),
            OutboxMail(
                to_address="retry@example.org",
                subject="「乙慈善基金会」已通过认证",
                text_body="…",
                status=MailStatus.QUEUED,
                attempts=2,
                next_attempt_at=now,
                last_error="SMTPDataError: 451 4.3.0 Try again later",
            ),
        ]
    )
    w.unsubscribe_token = make_token(admin.id, "claim_due_soon")


@dataclass
class Viewer:
    role: str
    page: Any
    problems: list[str] = field(default_factory=list)


def _webhook_log(w: SweepWorld) -> None:
    """Org A's admin's hook with a log of sent, retried and failed tries."""
    from charitylink.core.timeutil import utcnow
    from charitylink.extensions import db
    from charitylink.webhooks.models import WebhookAttempt, WebhookDelivery
    from tests.security.routes import _webhook_of

    hook_id = _webhook_of(w.users["admin_a"])
    for n, (status, codes) in enumerate(
        [("sent", [200]), ("sent", [503, 503, 204]), ("pending", [None])]
    ):
        delivery = WebhookDelivery(
            webhook_id=hook_id,
            event_id=f"evt_{n:032x}",
            event="claim.created",
            body="{}",
            status=status,
            attempts=len(codes),
        )
        db.session.add(delivery)
        db.session.flush()
        for attempt, code in enumerate(codes, 1):
            db.session.add(
                WebhookAttempt(
                    webhook_id=hook_id,
                    delivery_id=delivery.id,
                    attempt=attempt,
                    at=utcnow(),
                    status_code=code,
                    duration_ms=120 + attempt,
                    error=None
                    if code and code < 300
                    else "ConnectTimeout: HTTPSConnectionPool(host='hooks.example.org', "
                    "port=443): Max retries exceeded",
                    ok=bool(code and code < 300),
                )
            )
    db.session.commit()


def _viewer(browser: Any, base: str, role: str, user: Any) -> Viewer:
    context = browser.new_context(locale="zh-CN")
    context.set_default_timeout(20_000)
    page = context.new_page()
    viewer = Viewer(role, page)
    page.on("pageerror", lambda exc: viewer.problems.append(f"page error: {exc}"))
    page.on(
        "console",
        lambda msg: (
            viewer.problems.append(f"console: {msg.text}")
            if msg.type == "error"
            else None
        ),
    )
    if user is not None:
        page.goto(f"{base}/login")
        page.fill("#email", user.email)
        page.fill("#password", PASSWORD)
        page.click("form button[type=submit]:has-text('登录')")
        page.wait_for_load_state()
        assert "/login" not in page.url, f"{role} could not log in"
    return viewer


def _import_token(viewer: Viewer, base: str, tmp: Path) -> str:
    """An import preview of the moderator's own upload (two rows, one refused)."""
    rows = [
        need_row(901),
        need_row(902, region_code="220581"),
        need_row(903, amount=-1),
    ]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([h for _p, h, _e in import_files.COLUMNS])
    writer.writerows(import_files.row_to_file_cells(r) for r in rows)
    path = tmp / "需求导入.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    page = viewer.page
    page.goto(f"{base}/mod/needs/import")
    page.set_input_files("#file", str(path))
    page.click("form button[type=submit]:has-text('上传并预览')")
    page.wait_for_load_state()
    return page.url.rsplit("/", 1)[-1]


def sweep_plan(app: Flask) -> tuple[list[tuple[str, str]], list[str]]:
    """(endpoint, role) pairs to look at, and GET routes the plan cannot place."""
    plan: list[tuple[str, str]] = []
    unplaced: list[str] = []
    for rule in rules(app):
        if "GET" not in methods(rule) or rule.endpoint in NOT_HTML:
            continue
        allowed = EXPECT.get(rule.endpoint, {}).get("GET")
        if not allowed:
            unplaced.append(rule.endpoint)
            continue
        if rule.endpoint in SPECIAL:
            plan.append((rule.endpoint, SPECIAL[rule.endpoint][0]))
            continue
        roles = [next((r for r in kind if r in allowed), None) for kind in KINDS]
        picked = [r for r in roles if r]
        if (
            not any(r in allowed for kind in KINDS[1:] for r in kind)
            and "admin" in allowed
        ):
            picked.append("admin")
        if rule.endpoint == "accounts.login":
            picked = ["public"]  # the others are sent home
        plan.extend((rule.endpoint, r) for r in picked)
    return plan, unplaced


def test_every_get_route_is_a_swept_page_or_a_file(app) -> None:
    """A new page cannot ship without being looked at: each GET route is either
    in the sweep (viewers from the access matrix) or listed as a file/JSON."""
    plan, unplaced = sweep_plan(app)
    assert not unplaced, (
        "GET routes with neither an access expectation (tests/security/"
        f"test_access_matrix.py) nor a NOT_HTML entry here: {unplaced}"
    )
    known = {r.endpoint for r in rules(app)}
    assert not sorted(NOT_HTML - known), "stale NOT_HTML entries"
    assert not sorted(set(SPECIAL) - known), "stale SPECIAL entries"
    assert len({e for e, _r in plan}) >= 40


def _url(app: Flask, endpoint: str, world: SweepWorld) -> str:
    from flask import url_for

    rule = next(r for r in rules(app) if r.endpoint == endpoint)
    values = path_values(rule, world)
    for arg, attr in SPECIAL.get(endpoint, ("", {}))[1].items():
        values[arg] = world.attr(attr)
    with app.test_request_context():
        return url_for(endpoint, **values)


def screens_dir() -> Path:
    return Path(os.environ.get("SCREENS_DIR") or ROOT / "artifacts" / "screens")


@pytest.fixture
def viewers(browser, live_server, sweep_world) -> Iterator[dict[str, Viewer]]:  # type: ignore[no-untyped-def]
    roles = {r for kind in KINDS for r in kind} | {"admin", "admin_r"}
    out = {
        role: _viewer(browser, live_server, role, sweep_world.users.get(role))
        for role in sorted(roles)
    }
    yield out
    for v in out.values():
        v.page.context.close()


def _look(page: Any, axe: Any) -> list[str]:
    found = list(page.evaluate(LOOKS_JS))
    result = axe.run(page, options={"resultTypes": ["violations"]})
    for v in result.response["violations"]:
        if v["impact"] in ("serious", "critical"):
            where = ", ".join(str(n["target"][0]) for n in v["nodes"][:3])
            found.append(f"axe {v['id']} ({v['impact']}): {v['help']} — {where}")
    return found


@pytest.mark.timeout(900)
@pytest.mark.skipif(
    bool(_pg_url()),
    reason="the page sweep runs once, in the SQLite pass: the browser sees the "
    "same pages on PostgreSQL",
)
def test_every_page_looks_right_for_every_role_at_both_widths(
    app, live_server, sweep_world, viewers, tmp_path
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    sweep_world.import_token = _import_token(viewers["mod_in"], live_server, tmp_path)
    plan, _ = sweep_plan(app)
    only = os.environ.get("SWEEP_ONLY")  # e.g. SWEEP_ONLY=needs.review,public.home
    if only:
        plan = [(e, r) for e, r in plan if e in only.split(",")]
    screens = screens_dir()
    problems: list[str] = []
    heights: list[str] = []
    started = time.monotonic()
    for width in WIDTHS:
        looks = [(e, r, _url(app, e, sweep_world), 200) for e, r in plan] + [
            (e, r, u.replace("{pairing}", str(sweep_world.pairing_id)), s)
            for e, r, u, s in EXTRA
            if not only or e in only.split(",")
        ]
        looks += [
            (name, role, path(sweep_world), status)
            for name, role, path, status in WORLD_EXTRA
            if not only or name in only.split(",")
        ]
        for endpoint, role, url, expected in looks:
            viewer = viewers[role]
            page = viewer.page
            page.set_viewport_size({"width": width, "height": 900})
            viewer.problems.clear()
            resp = page.goto(f"{live_server}{url}")
            where = f"{role} {endpoint} {url} @{width}"
            status = resp.status if resp else 0
            kind = (resp.headers.get("content-type", "") if resp else "").split(";")[0]
            if status != expected or kind != "text/html":
                problems.append(f"{where}: answered {status} {kind} ({page.url})")
                continue
            found = _look(page, axe) + [
                p
                for p in viewer.problems
                # The browser logs the error status of an error page itself.
                if not (expected != 200 and "Failed to load resource" in p)
            ]
            height = page.evaluate("document.documentElement.scrollHeight")
            heights.append(f"{height:>6} px  {role} {endpoint} @{width}")
            shot = screens / role / f"{endpoint}-{width}.png"
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(
                path=str(shot),
                full_page=True,
                clip={
                    "x": 0,
                    "y": 0,
                    "width": width,
                    "height": min(height, SHOT_MAX_HEIGHT),
                },
            )
            problems.extend(f"{where}: {p}" for p in found)
    elapsed = time.monotonic() - started
    known_hits = {key: False for key in KNOWN}
    failing = []
    for p in problems:
        key = next((k for k in KNOWN if f" {k[0]} " in p and k[1] in p), None)
        if key:
            known_hits[key] = True
        else:
            failing.append(p)
    report = screens / "report.txt"
    report.write_text(
        f"{len(looks)} pages × {len(WIDTHS)} widths in {elapsed:.0f} s\n\n"
        + "\n".join(problems or ["no problems"])
        + "\n\nPage heights:\n"
        + "\n".join(sorted(heights, reverse=True))
        + "\n",
        encoding="utf-8",
    )
    print(f"page sweep: {len(plan) * len(WIDTHS)} looks in {elapsed:.0f} s; {report}")
    swept = {e for e, _r in plan}
    stale = [
        f"{k}: {v}" for k, v in KNOWN.items() if not known_hits[k] and k[0] in swept
    ]
    assert not stale, f"KNOWN defects that no longer occur (remove them): {stale}"
    assert not failing, f"{len(failing)} problems (see {report}):\n" + "\n".join(
        failing
    )
