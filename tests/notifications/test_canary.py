"""A canary: distinctive private-half values put into a need must never reach
a notification (its params, its rendered title and body in both languages, its
url) or a mail in the outbox, whatever happens to the need and its claims."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from charitylink.claims import services as claims
from charitylink.core.timeutil import today
from charitylink.extensions import db
from charitylink.mail.models import OutboxMail
from charitylink.needs import services as needs
from charitylink.notifications.kinds import render
from charitylink.notifications.models import Notification
from tests.factories import make_id_number, org_admin_of

CANARY = {
    "name": "司马金凤",
    "id_number": make_id_number(913, birth="19470815"),
    "phone": "13977770913",
    "address": "金凤巷913号",
    "notes": "金凤独居需上门核实",
}


def test_private_values_reach_no_notification_or_mail(
    app, create_user, create_org, create_fund, create_need
):
    city = create_user("moderator", region_prefix="2201")
    province = create_user("moderator", region_prefix="22")
    org = create_org()
    create_user("org_member", org=org)
    fund = create_fund(org=org, donations_fen=5_000_000)
    admin = org_admin_of(org)
    # Everyone wants every kind by e-mail, so each event also writes mail.
    from charitylink.notifications.kinds import KINDS

    for user in (city, province, admin):
        user.email_kinds = list(KINDS)
    db.session.commit()

    def need(status: str):  # type: ignore[no-untyped-def]
        return create_need(
            status=status, amount_fen=100_000, household=CANARY, entered_by=city
        )

    draft = need("draft")
    needs.submit_need(draft, city)
    needs.reject_need(draft, province, "材料不全")
    submitted = need("submitted")
    needs.approve_need(submitted, province)
    db.session.commit()
    one = claims.claim_need(submitted, admin, fund, 100_000)
    claims.deliver_claim(one, admin, 100_000, today(), "cash")
    claims.confirm_claim(one, province)
    two = claims.claim_need(need("published"), admin, fund, 50_000)
    claims.cancel_claim(two, admin)
    three = claims.claim_need(need("published"), admin, fund, 50_000)
    needs.withdraw_need(three.need, province, "情况变化")
    claims.claim_need(need("published"), admin, fund, 50_000)
    db.session.commit()
    claims.expire_overdue(today() + timedelta(days=400))
    db.session.commit()

    rows = db.session.scalars(select(Notification)).all()
    kinds = {r.kind for r in rows}
    assert {
        "need_submitted",
        "need_rejected",
        "need_approved",
        "claim_created",
        "delivery_reported",
        "delivery_confirmed",
        "claim_cancelled",
        "need_withdrawn",
        "claim_expired",
    } <= kinds
    texts = []
    for row in rows:
        texts.append(json.dumps(row.params, ensure_ascii=False))
        texts.append(row.url + row.event_key)
        for lang in ("zh", "en"):
            with app.test_request_context(f"/?lang={lang}"):
                texts.extend(render(row.kind, row.params))
    mails = db.session.scalars(select(OutboxMail)).all()
    assert mails
    for mail in mails:
        texts.extend([mail.subject, mail.text_body, mail.html_body, mail.to_address])
    blob = "\n".join(texts)
    digits = "".join(c for c in blob if c.isdigit() or c == "\n")
    for key, value in CANARY.items():
        assert value not in blob, key
    assert CANARY["id_number"][:14] not in digits
    assert CANARY["phone"] not in digits
