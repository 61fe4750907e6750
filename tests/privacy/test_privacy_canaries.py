"""Canaries through the consent, who-saw, alert and private-export paths:
distinctive private values (the household's, and a guardian's name) reach no
notification, mail, webhook outbox row, audit reason or log line."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from sqlalchemy import select

from charitylink.claims import services as claim_services
from charitylink.core.audit import AuditEvent
from charitylink.core.timeutil import today
from charitylink.extensions import db
from charitylink.mail.models import OutboxMail
from charitylink.notifications.kinds import KINDS, render
from charitylink.notifications.models import Notification
from charitylink.privacy import consents
from charitylink.webhooks.models import WebhookDelivery
from tests.factories import make_id_number, org_admin_of

CANARY = {
    "name": "欧阳金雀",
    "id_number": make_id_number(917, birth="19500917"),
    "phone": "13977770917",
    "address": "金雀巷917号",
    "notes": "金雀独居",
}
GUARDIAN = "慕容金翅"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "PRIVATE_VIEW_ALERT": 1}


def test_consent_and_access_paths_leak_no_private_value(
    app, client, login_as, create_user, create_org, create_fund, create_need, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = create_user("admin")
    org = create_org()
    staff = org_admin_of(org)
    mod = create_user("moderator", region_prefix="22")
    for user in (admin, staff, mod):
        user.email_kinds = list(KINDS)
    need = create_need(household=CANARY, consent_share_contact=True, entered_by=mod)
    other = create_need(household={**CANARY, "id_number": make_id_number(918)})
    claim = claim_services.claim_need(
        need, staff, create_fund(org=org, donations_fen=100_000), 10_000
    )
    claim_services.reveal_household_contact(claim, staff)
    consents.record_consent(
        need,
        mod,
        {
            "scope": "photos",
            "method": "guardian",
            "given_on": today(),
            "guardian_name": GUARDIAN,
        },
    )
    db.session.commit()
    login_as(mod)
    client.post(f"/mod/needs/{need.code}/reveal")
    client.post(f"/mod/needs/{other.code}/reveal")  # past the alert line of 1
    client.post("/mod/exports/needs", data={"fmt": "csv", "reason": "核对"})
    client.get(f"/mod/needs/{need.code}/access")
    withdrawn = consents.active_consent(need, "share_contact")
    assert withdrawn is not None
    client.post(f"/mod/consents/{withdrawn.id}/withdraw", data={"reason": "不再同意"})
    db.session.expire_all()

    kinds = {n.kind for n in db.session.scalars(select(Notification))}
    assert {"consent_withdrawn", "private_views_flagged"} <= kinds
    texts: list[str] = []
    for n in db.session.scalars(select(Notification)):
        texts += [json.dumps(n.params, ensure_ascii=False), n.url or ""]
        for lang in ("zh", "en"):
            with app.test_request_context(f"/?lang={lang}"):
                texts += list(render(n.kind, n.params))
    for m in db.session.scalars(select(OutboxMail)):
        texts += [m.subject, m.text_body, m.html_body]
    texts += [d.body for d in db.session.scalars(select(WebhookDelivery))]
    texts += [e.reason or "" for e in db.session.scalars(select(AuditEvent))]
    texts += [r.getMessage() for r in caplog.records]
    blob = "\n".join(texts)
    for value in [*CANARY.values(), GUARDIAN]:
        assert value not in blob, value
