"""Work lists (core/paging.py): no list cut at a fixed count, filters and sorts
kept in the pager's links, bad parameters ignored with a warning (never a 500),
counts beside the menu's links, and scoping: a moderator never sees another
region's rows, an org never another org's."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select

from charitylink.claims.models import Claim, ClaimStatus
from charitylink.core.paging import ListArgs, Page
from charitylink.core.timeutil import today
from charitylink.extensions import db
from charitylink.needs.models import Need

pytestmark = pytest.mark.usefixtures("app")

CODE = re.compile(r"XQ-\d{2}-\d{6}")


def _bulk_needs(user_id: int, n: int, region: str, status: str, seq: int) -> None:
    """``n`` needs in one county, inserted in one statement (the factory's
    one-by-one entry would take minutes for a few hundred)."""
    from charitylink.seeding.generated import need_rows

    rows = []
    for i, row in enumerate(
        need_rows(n, user_id, seed=seq, start_seq=seq, statuses=((status, 1),))
    ):
        row.update(
            region_code=region,
            public_region_code=region,
            code=f"XQ-{region[:2]}-{seq + i:06d}",
            amount_fen=100_000 + i * 100,
            claimed_fen=0,
            delivered_fen=0,
        )
        rows.append(row)
    db.session.execute(insert(Need), rows)
    db.session.commit()


def _codes(html: str) -> set[str]:
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return set(CODE.findall(body))


def _text(resp: Any) -> str:
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def test_review_queue_pages_every_row_and_keeps_to_the_region(
    client, login_as, create_user
):
    mod = create_user("moderator", region_prefix="2201")
    _bulk_needs(mod.id, 250, "220102", "submitted", 100_000)
    _bulk_needs(mod.id, 5, "220202", "submitted", 200_000)  # 吉林市: another region
    login_as(mod)
    seen: set[str] = set()
    for page in (1, 2, 3):
        html = _text(client.get(f"/mod/needs?per_page=100&page={page}"))
        assert "共 250 条" in html
        seen |= _codes(html)
    assert len(seen) == 250
    assert not any(c.startswith("XQ-22-2") for c in seen)
    # Filters and page size ride along in the pager's links.
    html = _text(client.get("/mod/needs?status=submitted&sort=-amount&per_page=50"))
    assert (
        'href="?status=submitted&amp;sort=-amount&amp;per_page=50&amp;page=2"' in html
    )
    # A page past the end shows the last page, not an empty one.
    assert len(_codes(_text(client.get("/mod/needs?per_page=100&page=999")))) == 50
    # The region filter narrows within the moderator's scope, never beyond it.
    assert _codes(_text(client.get("/mod/needs?region=2202"))) == set()
    admin = create_user("admin")
    login_as(admin)
    assert "共 255 条" in _text(client.get("/mod/needs"))


def test_review_queue_sorts_and_filters(client, login_as, create_user, create_need):
    mod = create_user("moderator", region_prefix="2201")
    _bulk_needs(mod.id, 30, "220102", "published", 300_000)
    other = create_user("moderator", region_prefix="2201")
    mine = create_need(status="submitted", title="我录入的需求", entered_by=mod)
    theirs = create_need(status="submitted", title="同事录入的需求", entered_by=other)
    soon = db.session.scalar(
        select(Need).where(Need.code == "XQ-22-300000")  # the cheapest
    )
    soon.deadline_on = today() + timedelta(days=3)
    db.session.commit()
    login_as(mod)
    html = _text(client.get("/mod/needs?per_page=50"))
    # Submitted first (band by band), then the rest.
    body = html[html.index("<tbody>") :]
    assert body.index(theirs.code) < body.index("XQ-22-300000")
    waiting = _codes(_text(client.get("/mod/needs?mine=waiting")))
    assert waiting == {theirs.code}  # four eyes: not the one I entered
    assert mine.code in _codes(_text(client.get("/mod/needs?mine=entered")))
    assert _codes(_text(client.get("/mod/needs?deadline=soon"))) == {soon.code}
    cheapest = _text(client.get("/mod/needs?status=published&sort=amount&per_page=50"))
    body = cheapest[cheapest.index("<tbody>") :]
    assert body.index("XQ-22-300000") < body.index("XQ-22-300001")
    dearest = _text(client.get("/mod/needs?status=published&sort=-amount&per_page=50"))
    body = dearest[dearest.index("<tbody>") :]
    assert body.index("XQ-22-300029") < body.index("XQ-22-300000")


@pytest.mark.parametrize(
    "url",
    [
        "/mod/needs?page=abc&per_page=7&sort=evil&status=bogus&region=xx&mine=zz",
        "/mod/needs?from=2026-13-45&to=x&deadline=never&origin=x&sort=--amount",
        "/mod/claims?status=nope&due=later&region=abc&page=-3&sort=amount!",
        "/mod/orgs?status=zz&region=1&from=yesterday&sort=name;drop",
        "/mod/projects?status=zzz&overdue=maybe&page=99999999999",
        "/mod/audit?from=2026-02-30&mine=all&per_page=100000",
    ],
)
def test_bad_list_parameters_are_ignored_not_500(client, login_as, create_user, url):
    login_as(create_user("moderator", region_prefix="22"))
    html = _text(client.get(url))
    assert "已忽略" in html or "无效" in html or "格式不正确" in html


def test_org_bad_list_parameters(client, login_as, org_world):
    login_as(org_world["member"])
    for url in (
        "/org/claims?status=x&due=y&mine=z&sort=q&page=0",
        "/org/projects?status=x&overdue=2&sort=-&per_page=abc",
    ):
        assert "无效" in _text(client.get(url)), url


def _bulk_claims(org_world: dict, need: Need, n: int, **fields: Any) -> None:
    rows = [
        {
            "need_id": need.id,
            "org_id": org_world["org"].id,
            "fund_id": org_world["fund"].id,
            "amount_fen": 100 + i,
            "status": ClaimStatus.RESERVED,
            "due_on": today() + timedelta(days=30),
            "created_by_id": org_world["member"].id,
            **fields,
        }
        for i in range(n)
    ]
    db.session.execute(insert(Claim), rows)
    db.session.commit()


def test_claims_lists_page_filter_and_scope(
    client, login_as, org_world, create_org, create_fund, create_user, create_need
):
    need = create_need(region_code="220102", status="published")
    far = create_need(region_code="220202", status="published")
    _bulk_claims(org_world, need, 120)
    _bulk_claims(org_world, need, 3, due_on=today() - timedelta(days=2))
    _bulk_claims(
        org_world,
        far,
        4,
        status=ClaimStatus.DELIVERED,
        delivered_fen=100,
        delivered_on=today(),
    )
    other_org = create_org(name="另一家基金会")
    other = {
        "org": other_org,
        "fund": create_fund(org=other_org, donations_fen=100_000),
        "member": create_user("org_member", org=other_org),
    }
    _bulk_claims(other, need, 2, amount_fen=99_999)
    login_as(org_world["member"])
    html = _text(client.get("/org/claims?per_page=100"))
    assert "共 127 条" in html and "999.99" not in html
    last = _text(client.get("/org/claims?per_page=100&page=2"))
    assert "共 127 条，当前第 101–127 条" in last
    assert "共 3 条" in _text(client.get("/org/claims?due=overdue"))
    assert "共 4 条" in _text(client.get("/org/claims?status=delivered"))
    login_as(other["member"])
    assert "共 2 条" in _text(client.get("/org/claims"))

    login_as(create_user("moderator", region_prefix="2201"))
    html = _text(client.get("/mod/claims"))
    assert "共 125 条" in html and far.code not in html  # 吉林市 is not 2201
    # Overdue first in the default order (no deliveries in this region).
    first_row = html[html.index("<tbody>") :].split("</tr>")[0]
    assert "已逾期" in first_row
    assert "共 3 条" in _text(client.get("/mod/claims?due=overdue"))
    login_as(create_user("moderator", region_prefix="2202"))
    html = _text(client.get("/mod/claims?mine=waiting"))
    assert "共 4 条" in html and need.code not in html


def test_claims_status_filter_takes_every_claim_status(client, login_as, create_user):
    """A status added to the model (a dispute's) is a filter without more code."""
    login_as(create_user("moderator", region_prefix="22"))
    for status in ClaimStatus:
        html = _text(client.get(f"/mod/claims?status={status.value}"))
        assert "无效" not in html, status
        assert f'<option value="{status.value}" selected>' in html, status


def test_orgs_queue_and_audit_log_page_and_scope(
    client, login_as, create_org, create_user
):
    for _ in range(23):
        create_org(status="pending")
    far = create_org(status="pending", region_code="220202", name="吉林市某基金会")
    login_as(create_user("moderator", region_prefix="2201"))
    html = _text(client.get("/mod/orgs?status=pending"))
    assert "共 23 条" in html and far.name not in html
    assert 'href="?status=pending&amp;page=2"' in html
    assert "共 23 条，当前第 21–23 条" in _text(
        client.get("/mod/orgs?status=pending&page=2")
    )
    html = _text(client.get("/mod/audit?per_page=20&object_type=organization"))
    assert "共 " in html and f">{far.id}<" not in html


def test_menu_counts_come_from_one_cached_query(
    app, client, login_as, create_user, create_need
):
    mod = create_user("moderator", region_prefix="2201")
    create_need(status="submitted")
    create_need(status="submitted")
    login_as(mod)
    client.get("/mod/needs")  # the counts are computed once and kept
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        html = _text(client.get("/mod/claims"))
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert re.search(r"待审核 <span class=\"badge warn\"[^>]*>2</span>", html)
    # The menu's counts were read from the cache: no count query ran again.
    assert not [s for s in statements if "needs_submitted" in s]


def test_page_helper_links_and_numbers() -> None:
    args = ListArgs(page=7, per_page=50, sort="-due", filters={"status": "reserved"})
    page = Page(list(range(50)), 1_000, 7, 50, args, {}, "attention")
    assert page.pages == 20
    assert page.query(8) == "status=reserved&sort=-due&per_page=50&page=8"
    assert page.query(1) == "status=reserved&sort=-due&per_page=50"
    assert page.page_numbers() == [1, None, 5, 6, 7, 8, 9, None, 20]
    assert (page.first_index, page.last_index) == (301, 350)
