"""Who saw what (privacy/access.py): every path to a household's private data
lands on the household's page for its region's moderators; the alert flags an
account past PRIVATE_VIEW_ALERT once per hour, to the admins."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from charitylink.claims import services as claim_services
from charitylink.extensions import db
from charitylink.notifications.models import Notification
from charitylink.privacy.models import PrivateViewFlag
from tests.factories import make_id_number, org_admin_of

SAME_ID = make_id_number(88, birth="19700101")


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "PRIVATE_VIEW_ALERT": 3}


def test_who_saw_the_household_lists_page_api_export_and_contact(
    client, login_as, api_token, create_need, create_user, create_org, create_fund
) -> None:
    need = create_need(household={"id_number": SAME_ID}, consent_share_contact=True)
    sibling = create_need(household={"id_number": SAME_ID})  # same household
    stranger = create_need()
    org = create_org()
    staff = org_admin_of(org)
    claim = claim_services.claim_need(
        need, staff, create_fund(org=org, donations_fen=100_000), 10_000
    )
    claim_services.reveal_household_contact(claim, staff)
    db.session.commit()
    viewer = create_user("moderator", region_prefix="22", name="查看员甲")
    login_as(viewer)
    assert client.post(f"/mod/needs/{sibling.code}/reveal").status_code == 200
    assert (
        client.get(
            f"/api/v1/needs/{need.code}/private", headers=api_token(viewer)
        ).status_code
        == 200
    )
    client.post(f"/mod/needs/{stranger.code}/reveal")
    client.post("/mod/exports/needs", data={"fmt": "csv", "reason": "核对"})

    reader = create_user("moderator", region_prefix="2201")
    login_as(reader)
    html = client.get(f"/mod/needs/{need.code}/access").data.decode()
    for label in ("页面", "API", "导出", "向机构提供联系方式"):
        assert label in html, label
    assert "查看员甲" in html and staff.email in html
    assert sibling.code in html
    assert stranger.code not in html  # another household
    # The need's moderator page links to it; outside the region it is a 404.
    assert (
        f"/mod/needs/{need.code}/access"
        in client.get(f"/mod/needs/{need.code}").data.decode()
    )
    login_as(create_user("moderator", region_prefix="2202"))
    assert client.get(f"/mod/needs/{need.code}/access").status_code == 404


def test_more_than_the_limit_in_an_hour_flags_the_account_once_to_admins(
    client, login_as, create_need, create_user
) -> None:
    admin = create_user("admin")
    needs = [create_need() for _ in range(6)]
    nosy = create_user("moderator", region_prefix="22")
    login_as(nosy)
    for need in needs[:3]:  # at the limit: nothing yet
        client.post(f"/mod/needs/{need.code}/reveal")
    for _ in range(2):  # the same need again is not a new household
        client.post(f"/mod/needs/{needs[0].code}/reveal")
    assert db.session.scalar(select(func.count(PrivateViewFlag.id))) == 0
    for need in needs[3:]:
        client.post(f"/mod/needs/{need.code}/reveal")
    flags = db.session.scalars(select(PrivateViewFlag)).all()
    assert [(f.user_id, f.views) for f in flags] == [(nosy.id, 4)]
    told = db.session.scalars(
        select(Notification).where(Notification.kind == "private_views_flagged")
    ).all()
    assert [n.user_id for n in told] == [admin.id]
    assert told[0].params == {"account": nosy.email, "views": 4}
    login_as(admin)
    page = client.get("/admin/privacy/flags")
    assert page.status_code == 200 and nosy.email in page.data.decode()
