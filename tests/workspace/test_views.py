"""The work areas as start pages: what waits, counted, with links; the same
in the menu badge; the region by its name."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import event

from charitylink.claims import services as claims
from charitylink.core.timeutil import today, utcnow
from charitylink.extensions import db
from charitylink.orgs.models import OrgStatus
from charitylink.projects.models import ProjectStatus
from charitylink.workspace import queries
from tests.factories import org_admin_of


def _tile(html: str, label: str) -> int:
    match = re.search(r"<b>(\d+)</b><span>" + re.escape(label) + "</span>", html)
    assert match, f"no tile {label!r}"
    return int(match.group(1))


def _badge(html: str) -> int | None:
    match = re.search(r'class="work">[^<]*<span class="badge red"[^>]*>(\d+)<', html)
    return int(match.group(1)) if match else None


def _claim(need, fund, user, amount=100_000):
    claim = claims.claim_need(need, user, fund, amount)
    db.session.commit()
    return claim


def test_moderator_home_counts_what_waits_in_the_region(
    client, login_as, create_user, create_org, create_fund, create_project, create_need
):
    mod = create_user("moderator", region_prefix="2201")
    other = create_user("moderator", region_prefix="2201")
    create_need(status="submitted", entered_by=other)
    create_need(status="submitted", entered_by=other)
    gansu = create_user("moderator", region_prefix="62")
    create_need(status="submitted", region_code="620102", entered_by=gansu)
    create_need(status="draft", entered_by=other)
    expiring = create_need(deadline_on=today() + timedelta(days=3), entered_by=other)
    create_need(deadline_on=today() + timedelta(days=30), entered_by=other)
    create_org(status=OrgStatus.PENDING, region_code="220102")
    create_org(status=OrgStatus.PENDING, region_code="620102")
    org = create_org()
    fund = create_fund(org=org, donations_fen=1_000_000_00)
    create_project(fund=fund, status=ProjectStatus.SUBMITTED)
    staff = org_admin_of(org)
    delivered = _claim(create_need(entered_by=other), fund, staff)
    claims.deliver_claim(delivered, staff, 100_000, today(), "cash", note="已转账")
    overdue = _claim(create_need(entered_by=other), fund, staff)
    overdue.due_on = today() - timedelta(days=2)
    soon = _claim(create_need(entered_by=other), fund, staff)
    soon.due_on = today() + timedelta(days=2)
    db.session.commit()

    html = login_as(mod).get("/mod").get_data(as_text=True)
    assert "负责区划：吉林省长春市" in html
    assert "负责区划：2201" not in html
    assert _tile(html, "待审核需求") == 2
    assert _tile(html, "待审核机构") == 1
    assert _tile(html, "待审核帮扶项目") == 1
    assert _tile(html, "已交付待回访确认") == 1
    assert _tile(html, "即将到期的认领") == 1
    assert _tile(html, "已逾期未交付的认领") == 1
    assert _tile(html, "即将到期的待认领需求") == 1
    assert _tile(html, "需求草稿与被驳回") == 1
    # Each tile leads to where the work is done.
    assert 'href="/mod/needs?status=submitted"><b>2</b>' in html
    assert 'href="/mod/orgs?status=pending"' in html
    assert expiring.code in html and f"/mod/needs/{expiring.code}" in html
    # The menu: what asks for action (reviews and confirmations).
    assert _badge(html) == 2 + 1 + 1 + 1


def test_org_home_counts_claims_due_projects_overdue_and_fund_balances(
    client, login_as, create_org, create_fund, create_project, create_need
):
    org = create_org()
    staff = org_admin_of(org)
    fund = create_fund(org=org, donations_fen=500_000_00, name="春晖助学冠名基金")
    overdue = _claim(create_need(), fund, staff, 200_000)
    overdue.due_on = today() - timedelta(days=1)
    soon = _claim(create_need(), fund, staff, 100_000)
    soon.due_on = today() + timedelta(days=3)
    _claim(create_need(), fund, staff, 100_000)  # due in weeks: open, not urgent
    late = create_project(fund=fund, title="进展逾期的项目")
    late.published_at = utcnow() - timedelta(days=120)
    create_project(fund=fund, title="按时报告的项目")
    create_project(fund=fund, status=ProjectStatus.DRAFT, title="草稿项目")
    other_org = create_org()  # another tenant's claims are not counted
    other_fund = create_fund(org=other_org, donations_fen=100_000_00)
    _claim(create_need(), other_fund, org_admin_of(other_org)).due_on = today()
    db.session.commit()

    html = login_as(staff).get("/org").get_data(as_text=True)
    assert _tile(html, "已逾期未交付的认领") == 1
    assert _tile(html, "7 天内到期的认领") == 1
    assert _tile(html, "进展报告逾期的项目") == 1
    assert _tile(html, "项目草稿与被驳回") == 1
    assert _tile(html, "待交付的认领") == 3
    assert f"/org/claims/{overdue.id}" in html and f"/org/claims/{soon.id}" in html
    assert "已逾期" in html
    # Fund balances: available = donations − reserved (4,000 yuan reserved).
    assert "春晖助学冠名基金" in html
    assert "¥496,000.00" in html
    assert _badge(html) == 1 + 1 + 1


def test_badge_is_zero_free_and_never_for_the_public(client, login_as, create_user):
    mod = create_user("moderator", region_prefix="2201")
    html = login_as(mod).get("/mod").get_data(as_text=True)
    assert _badge(html) is None  # nothing waits: no badge at all
    anonymous = client.application.test_client()
    seen: list[str] = []

    def remember(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", remember)
    try:
        body = anonymous.get("/projects").get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    assert "工作台" not in body
    assert not [s for s in seen if "needs_submitted" in s or "claims_overdue" in s]


def test_counts_are_one_query_per_request(client, login_as, create_user):
    mod = create_user("moderator", region_prefix="22")
    c = login_as(mod)
    seen: list[str] = []

    def remember(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        assert c.get("/mod").status_code == 200  # the page and the menu badge
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    assert len([s for s in seen if "needs_submitted" in s]) == 1


def test_admin_scope_and_region_names(app):
    from charitylink.regions.services import scope_name

    assert scope_name("22") == "吉林省"
    assert scope_name("2201") == "吉林省长春市"
    assert scope_name("220102") == "吉林省长春市南关区"
    assert scope_name("2299") == "2299"  # no such region: the code as typed
    assert queries.SOON_DAYS == 7


def test_soon_is_the_claim_queues_week():
    from charitylink.claims.views import NEAR_EXPIRY_DAYS

    assert queries.SOON_DAYS == NEAR_EXPIRY_DAYS
