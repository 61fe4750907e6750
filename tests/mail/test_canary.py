"""A canary: private-half values put into a need never reach a notification,
an outbox row (address, subject, text or HTML body) or a sent mail."""

from __future__ import annotations

from sqlalchemy import select

from charitylink.claims import services as claims
from charitylink.extensions import db
from charitylink.mail.models import OutboxMail
from charitylink.mail.sender import send_all_due
from charitylink.needs import services as needs
from charitylink.notifications.kinds import KINDS, render
from charitylink.notifications.models import Notification
from charitylink.notifications.services import notify
from charitylink.regions.services import region_name
from tests.factories import make_id_number

CANARY = {
    "name": "金丝雀甲",
    "id_number": make_id_number(777),
    "phone": "13987654321",
    "address": "金丝雀路九十九号",
    "notes": "金丝雀备注不可外泄",
}


def test_private_half_of_a_need_never_reaches_a_mail(
    app, smtp_server, create_need, create_user, create_org, create_fund
):
    entered_by = create_user("moderator", region_prefix="22")
    reviewer = create_user("moderator", region_prefix="2201")
    org = create_org()
    staff = create_user("org_admin", org=org)
    fund = create_fund(org=org, donations_fen=1_000_000)
    everyone = [entered_by, reviewer, staff]
    for user in everyone:
        user.email_kinds = list(KINDS)  # every kind also by e-mail
    db.session.commit()

    need = create_need(
        status="draft", household=dict(CANARY), entered_by=entered_by, amount_fen=9000
    )
    # The real events (their notifications, where the services send them) ...
    needs.submit_need(need, entered_by)
    needs.approve_need(need, reviewer)
    claim = claims.claim_need(need, staff, fund, 9000)
    db.session.commit()
    # ... and every kind about a need told with the values such an event has.
    params = {
        "code": need.code,
        "region": region_name(need.region_code),
        "org": org.name,
        "amount_fen": claim.amount_fen,
        "due_on": claim.due_on,
        "submitted_on": need.submitted_at.date() if need.submitted_at else None,
        "delivered_on": claim.due_on,
        "project": "项目",
        "ref": need.code,
        "offer": "捐赠",
    }
    for kind in KINDS:
        notify(kind, everyone, event=f"canary:{need.id}", params=params, url="/x")
    db.session.commit()
    send_all_due()

    rows = list(db.session.scalars(select(OutboxMail)))
    assert len(rows) >= len(KINDS) * len(everyone)
    texts = [
        " ".join([r.to_address, r.subject, r.text_body, r.html_body]) for r in rows
    ]
    for n in db.session.scalars(select(Notification)):
        texts.append(" ".join(render(n.kind, n.params)) + repr(n.params))
    for m in smtp_server.recorder.received:  # decoded, not base64
        parts = [
            p.get_content() for p in m.walk() if p.get_content_maintype() == "text"
        ]
        texts.append(" ".join([str(m["Subject"]), str(m["To"]), *parts]))
    assert len(smtp_server.recorder.received) == len(rows)
    for value in CANARY.values():
        leaked = [t[:80] for t in texts if value in t]
        assert not leaked, f"{value!r} in {leaked[:3]}"
    # The phone number's digits are not even there in part.
    assert not any(CANARY["phone"][-8:] in t for t in texts)
