"""Four eyes (rule 6) against editing: neither the moderator who entered a need
nor the one who changed its content last approves it — on the review page, in
the API and after a re-import by external id. A third moderator may."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from charitylink.core.audit import AuditEvent
from charitylink.extensions import db
from charitylink.needs.models import Need
from tests.factories import make_id_number
from tests.imports.rows import need_row
from tests.needs.test_pages import form_data

EDITOR_REFUSAL = "您最后修改过这条需求，不能再审核通过它"
ENTERER_REFUSAL = "录入人不能审核自己录入的需求"


@pytest.fixture
def third_moderator(create_user):  # type: ignore[no-untyped-def]
    return create_user("moderator", region_prefix="22", name="审核员丁")


def flashes(resp) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r'class="flash[^"]*">([^<]*)', resp.get_data(as_text=True))


def fresh(need: Need) -> Need:
    db.session.expire_all()
    return db.session.get(Need, need.id)


def approvals(code: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.object_id == code, AuditEvent.action == "need.approve"
            )
        )
    )


def edit_on_page(client, login_as, need, user):  # type: ignore[no-untyped-def]
    """The finding's edit: another title, ¥99,999 and another household."""
    login_as(user)
    resp = client.post(
        f"/mod/needs/{need.code}/edit",
        data=form_data(
            title="改过的标题：大额医疗费用",
            amount="99999",
            household_name="另一户人家",
            household_id_number=make_id_number(424, birth="19800101"),
            household_phone="13800001111",
        ),
    )
    assert resp.status_code == 302, flashes(resp)
    stored = fresh(need)
    assert stored.amount_fen == 9_999_900 and stored.last_edited_by_id == user.id


def test_last_editor_cannot_approve_on_the_page(
    client, login_as, create_need, moderator, second_moderator, third_moderator
):
    need = create_need(status="draft", entered_by=moderator)
    edit_on_page(client, login_as, need, second_moderator)
    assert client.post(f"/mod/needs/{need.code}/submit").status_code == 302
    assert fresh(need).status == "submitted"
    page = client.get(f"/mod/needs/{need.code}").get_data(as_text=True)
    assert EDITOR_REFUSAL in page and "审核通过并公开" not in page
    resp = client.post(f"/mod/needs/{need.code}/approve", follow_redirects=True)
    assert any(EDITOR_REFUSAL in m for m in flashes(resp))
    assert fresh(need).status == "submitted" and not approvals(need.code)
    # The enterer is still refused ...
    login_as(moderator)
    resp = client.post(f"/mod/needs/{need.code}/approve", follow_redirects=True)
    assert any(ENTERER_REFUSAL in m for m in flashes(resp))
    assert fresh(need).status == "submitted"
    # ... and a third moderator approves.
    login_as(third_moderator)
    resp = client.post(f"/mod/needs/{need.code}/approve", follow_redirects=True)
    assert any("审核通过" in m for m in flashes(resp))
    stored = fresh(need)
    assert stored.status == "published"
    assert stored.reviewed_by_id == third_moderator.id
    assert [e.actor_id for e in approvals(need.code)] == [third_moderator.id]


def test_last_editor_cannot_approve_in_the_api(
    client,
    login_as,
    api_token,
    create_need,
    moderator,
    second_moderator,
    third_moderator,
):
    need = create_need(status="draft", entered_by=moderator)
    edit_on_page(client, login_as, need, second_moderator)
    editor = api_token(second_moderator)
    resp = client.post(f"/api/v1/needs/{need.code}/submit", headers=editor)
    assert resp.status_code == 200
    resp = client.post(f"/api/v1/needs/{need.code}/approve", headers=editor)
    assert resp.status_code == 409
    error = resp.get_json()["error"]
    assert error["code"] == "four_eyes" and EDITOR_REFUSAL in error["message"]
    resp = client.post(
        f"/api/v1/needs/{need.code}/approve", headers=api_token(moderator)
    )
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "four_eyes"
    assert fresh(need).status == "submitted" and not approvals(need.code)
    resp = client.post(
        f"/api/v1/needs/{need.code}/approve", headers=api_token(third_moderator)
    )
    assert resp.status_code == 200 and resp.get_json()["status"] == "published"


def test_reimport_by_external_id_makes_the_importer_the_last_editor(
    client, api_token, moderator, second_moderator, third_moderator
):
    enterer, editor = api_token(moderator), api_token(second_moderator)
    resp = client.post("/api/v1/needs/import", json=[need_row(7)], headers=enterer)
    assert resp.get_json()["rows"][0]["status"] == "created"
    changed = need_row(7, title="改过的标题：大额医疗费用", amount=9_999_900)
    changed["household"]["name"] = "另一户人家"
    resp = client.post("/api/v1/needs/import", json=[changed], headers=editor)
    assert resp.get_json()["rows"][0]["status"] == "updated"
    need = db.session.scalar(select(Need).where(Need.external_id == "JL-000007"))
    assert need.entered_by_id == moderator.id
    assert need.last_edited_by_id == second_moderator.id
    resp = client.post(f"/api/v1/needs/{need.code}/submit", headers=editor)
    assert resp.status_code == 200
    for headers in (editor, enterer):
        resp = client.post(f"/api/v1/needs/{need.code}/approve", headers=headers)
        assert resp.status_code == 409
        assert resp.get_json()["error"]["code"] == "four_eyes"
    assert fresh(need).status == "submitted" and not approvals(need.code)
    resp = client.post(
        f"/api/v1/needs/{need.code}/approve", headers=api_token(third_moderator)
    )
    assert resp.status_code == 200 and resp.get_json()["status"] == "published"


def test_an_unchanged_reimport_edits_nothing(
    client, api_token, moderator, second_moderator
):
    """Re-sending the same row changes no content: no editor is recorded, and
    the second moderator stays free to approve."""
    client.post(
        "/api/v1/needs/import", json=[need_row(8)], headers=api_token(moderator)
    )
    other = api_token(second_moderator)
    resp = client.post("/api/v1/needs/import", json=[need_row(8)], headers=other)
    assert resp.get_json()["rows"][0]["status"] == "unchanged"
    need = db.session.scalar(select(Need).where(Need.external_id == "JL-000008"))
    assert need.last_edited_by_id is None
    client.post(f"/api/v1/needs/{need.code}/submit", headers=api_token(moderator))
    resp = client.post(f"/api/v1/needs/{need.code}/approve", headers=other)
    assert resp.status_code == 200
