"""Consent records (privacy/consents.py, api/consents.py, the consents page):
the child's guardian, the checks on each field, one active consent per scope,
withdrawal once with a reason, the encrypted signed form, the box on the entry
form, the API, and no private value in audit rows or notifications."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from charitylink.claims import services as claim_services
from charitylink.core.audit import AuditEvent
from charitylink.core.timeutil import today
from charitylink.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from charitylink.extensions import db
from charitylink.notifications.models import Notification
from charitylink.privacy import consents
from charitylink.privacy.models import Consent
from tests.factories import make_id_number, org_admin_of

GUARDIAN = "金丝雀监护人"
CHILD_BIRTH = (today() - timedelta(days=365 * 9)).strftime("%Y%m%d")


def _child_need(create_need, **kw):  # type: ignore[no-untyped-def]
    return create_need(
        household={"id_number": make_id_number(41, birth=CHILD_BIRTH)}, **kw
    )


def _data(**kw):  # type: ignore[no-untyped-def]
    base = {"scope": "publish_story", "method": "written", "given_on": today()}
    base.update(kw)
    return base


def test_a_child_subject_needs_the_guardian_for_every_scope(
    create_need, create_user
) -> None:
    need = _child_need(create_need)
    mod = create_user("moderator", region_prefix="22")
    for scope in ("share_contact", "publish_story", "photos"):
        with pytest.raises(ValidationFailed) as exc:
            consents.record_consent(need, mod, _data(scope=scope))
        assert "method" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        consents.record_consent(need, mod, _data(method="guardian"))
    assert "guardian_name" in exc.value.fields
    consent = consents.record_consent(
        need, mod, _data(method="guardian", guardian_name=GUARDIAN)
    )
    assert consents.guardian_name(consent) == GUARDIAN
    assert GUARDIAN not in (consent.guardian_name_ciphertext or "")
    row = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "consent.record")
    )
    assert row is not None and GUARDIAN not in (row.reason or "")


def test_a_child_need_story_and_photos_need_the_guardian_but_an_adults_contact_not(
    create_need, create_user
) -> None:
    need = create_need(need_type="child")  # an adult registrant (born 1958)
    mod = create_user("moderator", region_prefix="22")
    with pytest.raises(ValidationFailed):
        consents.record_consent(need, mod, _data(scope="photos"))
    consents.record_consent(need, mod, _data(scope="share_contact"))


def test_a_subject_who_was_a_child_on_the_day_of_consent_counts_as_one(
    create_need, create_user
) -> None:
    born = today() - timedelta(days=365 * 14 + 30)  # 14 now, 13 a year ago
    need = create_need(
        household={"id_number": make_id_number(42, birth=born.strftime("%Y%m%d"))}
    )
    mod = create_user("moderator", region_prefix="22")
    with pytest.raises(ValidationFailed):
        consents.record_consent(
            need, mod, _data(given_on=today() - timedelta(days=365))
        )
    consents.record_consent(need, mod, _data())


def test_consent_field_checks_come_in_one_round(create_need, create_user) -> None:
    need = create_need()
    mod = create_user("moderator", region_prefix="22")
    with pytest.raises(ValidationFailed) as exc:
        consents.record_consent(
            need,
            mod,
            {
                "scope": "everything",
                "method": "nodding",
                "given_on": (today() + timedelta(days=1)).isoformat(),
            },
        )
    assert {"scope", "method", "given_on"} <= set(exc.value.fields)
    with pytest.raises(ValidationFailed) as exc:
        consents.record_consent(need, mod, _data(guardian_name="某人"))
    assert "guardian_name" in exc.value.fields


def test_one_active_consent_per_scope_and_withdrawal_once_with_a_reason(
    create_need, create_user
) -> None:
    need = create_need()
    mod = create_user("moderator", region_prefix="22")
    first = consents.record_consent(need, mod, _data())
    with pytest.raises(Conflict):
        consents.record_consent(need, mod, _data())
    with pytest.raises(ValidationFailed):
        consents.withdraw_consent(first, mod, "  ")
    consents.withdraw_consent(first, mod, "家属改变主意")
    assert not first.active and first.withdrawn_reason == "家属改变主意"
    with pytest.raises(InvalidTransition):
        consents.withdraw_consent(first, mod, "再次")
    consents.record_consent(need, mod, _data())  # a new one after withdrawal


def test_moderators_outside_the_region_cannot_record_or_withdraw(
    create_need, create_user
) -> None:
    need = create_need(region_code="220102")
    outsider = create_user("moderator", region_prefix="2202")
    with pytest.raises(NotAllowed):
        consents.record_consent(need, outsider, _data())
    consent = consents.record_consent(
        need, create_user("moderator", region_prefix="22"), _data()
    )
    with pytest.raises(NotAllowed):
        consents.withdraw_consent(consent, outsider, "原因")


def test_the_entry_box_records_a_written_consent_by_the_enterer(
    create_need, create_user
) -> None:
    mod = create_user("moderator", region_prefix="22")
    need = create_need(consent_share_contact=True, entered_by=mod)
    consent = consents.active_consent(need, "share_contact")
    assert consent is not None
    assert (consent.method, consent.recorded_by_id) == ("written", mod.id)
    assert consent.given_on == today()
    # Unticked: nothing recorded; a child subject: the box cannot stand in
    # for the guardian.
    assert not consents.contact_consent_active(create_need())
    assert not consents.contact_consent_active(
        _child_need(create_need, consent_share_contact=True)
    )


def test_the_release_checks_the_consent_and_a_withdrawal_tells_orgs_that_saw(
    create_need, create_org, create_fund, create_user
) -> None:
    seen_org, other_org = create_org(), create_org()
    need = create_need(consent_share_contact=True, household={"name": "金丝雀户"})
    seer = org_admin_of(seen_org)
    claim = claim_services.claim_need(
        need, seer, create_fund(org=seen_org, donations_fen=100_000), 10_000
    )
    claim_services.claim_need(
        need,
        org_admin_of(other_org),
        create_fund(org=other_org, donations_fen=100_000),
        10_000,
    )
    assert claim_services.reveal_household_contact(claim, seer)["name"] == "金丝雀户"
    mod = create_user("moderator", region_prefix="22")
    consent = consents.active_consent(need, "share_contact")
    assert consent is not None
    consents.withdraw_consent(consent, mod, "不再同意")
    assert not claim_services.household_contact_available(claim)
    with pytest.raises(NotAllowed):
        claim_services.reveal_household_contact(claim, seer)
    told = db.session.scalars(
        select(Notification).where(Notification.kind == "consent_withdrawn")
    ).all()
    assert {n.user_id for n in told} == {seer.id}
    assert "金丝雀户" not in str([n.params for n in told])


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(out, format="PNG")
    return out.getvalue()


def test_the_signed_form_is_stored_encrypted_and_its_download_audited(
    client, login_as, create_need, create_user, app
) -> None:
    need = create_need()
    mod = create_user("moderator", region_prefix="22")
    login_as(mod)
    resp = client.post(
        f"/mod/needs/{need.code}/consents",
        data={
            "scope": "photos",
            "method": "oral_witnessed",
            "given_on": today().isoformat(),
            "form": (io.BytesIO(_png()), "签字.png"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    consent = db.session.scalar(select(Consent).where(Consent.need_id == need.id))
    assert consent is not None and consent.form_path
    stored = consents.forms_dir() / consent.form_path
    assert b"PNG" not in stored.read_bytes()  # encrypted at rest
    got = client.get(f"/mod/consents/{consent.id}/form")
    assert got.status_code == 200 and got.data.startswith(b"\x89PNG")
    assert got.headers["Cache-Control"] == "no-store"
    assert db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "need.private_view", AuditEvent.object_id == need.code
        )
    )
    bad = client.post(
        f"/mod/consents/{consent.id}/form",
        data={"form": (io.BytesIO(b"MZ not a scan"), "x.exe")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 302  # refused with the message flashed
    page = client.get(f"/mod/needs/{need.code}/consents")
    assert "JPEG" in page.data.decode()


def test_consents_page_records_and_withdraws_with_messages(
    client, login_as, create_need, create_user
) -> None:
    need = _child_need(create_need)
    login_as(create_user("moderator", region_prefix="22"))
    refused = client.post(
        f"/mod/needs/{need.code}/consents",
        data={"scope": "share_contact", "method": "written", "given_on": ""},
    )
    assert refused.status_code == 422
    html = refused.data.decode()
    assert "监护人" in html and "请填写同意日期" in html
    ok = client.post(
        f"/mod/needs/{need.code}/consents",
        data={
            "scope": "share_contact",
            "method": "guardian",
            "given_on": today().isoformat(),
            "guardian_name": GUARDIAN,
        },
    )
    assert ok.status_code == 302
    consent = consents.active_consent(need, "share_contact")
    assert consent is not None
    page = client.get(f"/mod/needs/{need.code}/consents").data.decode()
    assert GUARDIAN in page and "有效" in page
    client.post(f"/mod/consents/{consent.id}/withdraw", data={"reason": ""})
    db.session.expire_all()
    assert consents.active_consent(need, "share_contact") is not None
    client.post(f"/mod/consents/{consent.id}/withdraw", data={"reason": "搬走了"})
    db.session.expire_all()
    assert consents.active_consent(need, "share_contact") is None


def test_consents_api_lists_records_and_withdraws(
    client, api_token, create_need, create_user
) -> None:
    need = _child_need(create_need)
    headers = api_token(create_user("moderator", region_prefix="22"))
    outsider = api_token(create_user("moderator", region_prefix="2202"))
    url = f"/api/v1/needs/{need.code}/consents"
    refused = client.post(
        url,
        json={"scope": "photos", "method": "written", "given_on": "2026-01-01"},
        headers=headers,
    )
    assert refused.status_code == 422
    assert "method" in refused.get_json()["error"]["fields"]
    created = client.post(
        url,
        json={
            "scope": "photos",
            "method": "guardian",
            "given_on": today().isoformat(),
            "guardian_name": GUARDIAN,
        },
        headers=headers,
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["active"] and body["guardian_name"] == GUARDIAN
    again = client.post(
        url,
        json={
            "scope": "photos",
            "method": "guardian",
            "given_on": today().isoformat(),
            "guardian_name": GUARDIAN,
        },
        headers=headers,
    )
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"
    assert client.get(url, headers=outsider).status_code == 404
    listed = client.get(url, headers=headers)
    assert listed.headers["Cache-Control"] == "no-store"
    assert [c["id"] for c in listed.get_json()["consents"]] == [body["id"]]
    wd = f"/api/v1/consents/{body['id']}/withdraw"
    assert client.post(wd, json={"reason": "x"}, headers=outsider).status_code == 404
    done = client.post(wd, json={"reason": "监护人撤回"}, headers=headers)
    assert done.status_code == 200 and done.get_json()["active"] is False
    twice = client.post(wd, json={"reason": "监护人撤回"}, headers=headers)
    assert twice.status_code == 409
    assert (
        client.post(
            "/api/v1/consents/999999/withdraw", json={"reason": "x"}, headers=headers
        ).status_code
        == 404
    )
