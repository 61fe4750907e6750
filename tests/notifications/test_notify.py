"""The notification primitive: one row per recipient and event, never twice,
one INSERT whatever the number of recipients, mail only for who asked."""

from __future__ import annotations

from sqlalchemy import event, func, select

from charitylink.extensions import db
from charitylink.mail.models import OutboxMail
from charitylink.notifications.kinds import KINDS, render
from charitylink.notifications.models import Notification
from charitylink.notifications.services import notify, org_users, region_moderators


def _count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_the_same_event_is_told_once(app, create_user):
    mod = create_user("moderator", region_prefix="2201")
    told = notify(
        "need_submitted",
        [mod],
        event="need:1",
        params={"code": "XQ-22-000001", "region": "长春市"},
    )
    again = notify(
        "need_submitted",
        [mod],
        event="need:1",
        params={"code": "XQ-22-000001", "region": "长春市"},
    )
    db.session.commit()
    assert told == [mod.id]
    assert again == []
    assert _count(Notification) == 1


def test_moderators_are_chosen_by_region(app, create_user):
    province = create_user("moderator", region_prefix="22")
    city = create_user("moderator", region_prefix="2201")
    other_city = create_user("moderator", region_prefix="2202")
    inactive = create_user("moderator", region_prefix="22", active=False)
    chosen = {u.id for u in region_moderators("220102")}
    assert chosen == {province.id, city.id}
    assert other_city.id not in chosen and inactive.id not in chosen
    assert {u.id for u in region_moderators("220102", exclude=city.id)} == {province.id}


def test_org_users(app, create_org, create_user):
    org = create_org()
    member = create_user("org_member", org=org)
    admins = org_users(org.id, admins_only=True)
    assert member.id not in {u.id for u in admins} and len(admins) == 1
    assert member.id in {u.id for u in org_users(org.id)}


def test_one_insert_for_many_recipients(app, create_user):
    mods = [create_user("moderator", region_prefix="22") for _ in range(20)]
    inserts: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT INTO NOTIFICATIONS"):
            inserts.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        notify(
            "claim_created",
            mods,
            event="claim:1",
            params={
                "code": "XQ-22-1",
                "org": "某基金会",
                "amount_fen": 100,
                "due_on": "2026-12-31",
            },
        )
        db.session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(inserts) == 1
    assert _count(Notification) == 20


def test_mail_only_for_kinds_wanted(app, create_org, create_user):
    org = create_org()
    admin = org_users(org.id)[0]
    quiet = create_user("org_admin", org=org, email_kinds=[])
    notify(
        "org_verified", [admin, quiet], event=f"org:{org.id}", params={"org": org.name}
    )
    db.session.commit()
    mails = db.session.scalars(select(OutboxMail)).all()
    assert [m.to_address for m in mails] == [admin.email]
    assert org.name in mails[0].subject


def test_every_kind_renders_in_both_languages(app):
    params = {
        "org": "某基金会",
        "code": "XQ-22-000001",
        "region": "长春市",
        "project": "助学",
        "amount_fen": 12345,
        "due_on": "2026-12-31",
        "ref": "JB-1",
        "offer": "棉被",
        "submitted_on": "2026-12-01",
        "delivered_on": "2026-12-01",
        "hook": 3,
        "host": "hooks.example.org",
        "account": "mod@example.org",
        "views": 51,
    }
    for kind in KINDS:
        for lang in ("zh", "en"):
            with app.test_request_context(f"/?lang={lang}"):
                title, body = render(kind, params)
                assert title and body, kind
                assert "%(" not in title + body, kind


def test_a_claim_told_to_20_moderators_is_one_insert(
    app, create_user, create_org, create_fund, create_need
):
    """The real event: a claim on a need in a region with 20 moderators adds
    one INSERT into notifications (and one query for the recipients)."""
    from charitylink.claims.services import claim_need
    from tests.factories import org_admin_of

    for _ in range(20):
        create_user("moderator", region_prefix="2201")
    need = create_need(amount_fen=100_000)
    org = create_org()
    fund = create_fund(org=org, donations_fen=1_000_000)
    admin = org_admin_of(org)
    db.session.commit()
    inserts: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT INTO NOTIFICATIONS"):
            inserts.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        claim_need(need, admin, fund, 100_000)
        db.session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(inserts) == 1
    told = db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.kind == "claim_created")
    )
    # The 20, and the need's enterer (a moderator of the province).
    assert told == 21
