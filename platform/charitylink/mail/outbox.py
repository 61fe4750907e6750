"""Putting mail in the outbox (in the caller's transaction). Delivery is the
job of :mod:`charitylink.mail.sender` (``flask --app wsgi mail send``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from flask import g, has_app_context
from sqlalchemy import insert

from charitylink.core.timeutil import utcnow
from charitylink.extensions import db
from charitylink.mail.models import MailStatus, OutboxMail

if TYPE_CHECKING:
    from charitylink.accounts.models import User


def enqueue(
    to_address: str,
    subject: str,
    text_body: str,
    html_body: str = "",
    *,
    user_id: int | None = None,
    kind: str | None = None,
) -> None:
    """One mail, sent by the next run of the mail job."""
    _insert(
        [
            {
                "user_id": user_id,
                "to_address": to_address,
                "kind": kind,
                "subject": subject[:200],
                "text_body": text_body,
                "html_body": html_body,
            }
        ]
    )


def _insert(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    now = utcnow()
    for row in rows:
        row.setdefault("status", MailStatus.QUEUED)
        row.setdefault("attempts", 0)
        row.setdefault("next_attempt_at", now)
        row.setdefault("created_at", now)
    db.session.execute(insert(OutboxMail), rows)
    if has_app_context():
        g.mail_queued = True  # development: written out after the request


def queue_notifications(
    users: Sequence[User], kind: str, params: dict[str, Any], url: str
) -> None:
    """The mails for a notification just created, for those of ``users`` who
    want ``kind`` by e-mail: plain text and HTML from templates/mail/
    notification.*, each in its recipient's language with its own unsubscribe
    link; one INSERT for all of them."""
    from charitylink.mail.render import render_notification

    wanted = [u for u in users if u.wants_email(kind) and u.email]
    if not wanted:
        return
    rows = []
    for u in wanted:
        subject, text, html = render_notification(u, kind, params, url)
        rows.append(
            {
                "user_id": u.id,
                "to_address": u.email,
                "kind": kind,
                "subject": subject[:200],
                "text_body": text,
                "html_body": html,
            }
        )
    _insert(rows)
