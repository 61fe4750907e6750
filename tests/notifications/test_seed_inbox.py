"""The demo's logins have a few unread notifications, so ``make run`` shows
the bell with something in it, and not the hundreds the seeded history made."""

from __future__ import annotations

from sqlalchemy import func, select

from charitylink.accounts.models import User
from charitylink.extensions import db
from charitylink.mail.models import OutboxMail
from charitylink.notifications.models import Notification
from charitylink.seeding import demo


def test_demo_logins_have_a_few_unread_notifications(app):
    demo.load_demo(needs_count=60)
    unread = dict(
        db.session.execute(
            select(User.email, func.count(Notification.id))
            .join(Notification, Notification.user_id == User.id)
            .where(Notification.read_at.is_(None))
            .group_by(User.email)
        ).all()
    )
    for email in (
        "mod.jilin@charitylink.example.org",
        "mod.changchun@charitylink.example.org",
        "admin@aixin.example.org",
        "staff@aixin.example.org",
    ):
        assert 1 <= unread.get(email, 0) <= demo.UNREAD_KEPT, (email, unread)
    mails = db.session.scalar(select(func.count(OutboxMail.id))) or 0
    assert mails <= demo.UNREAD_KEPT * len(unread)
