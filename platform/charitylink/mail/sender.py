"""Delivering the outbox: ``flask --app wsgi mail send`` (one pass) and
``mail worker`` (a loop) call :func:`send_due`.

Each pass claims the due rows before sending them, in one short transaction
that moves their ``next_attempt_at`` past a lease and counts the attempt. A
second sender running at the same moment (another cron run, another node)
finds them not due and leaves them alone; on PostgreSQL it also skips rows
still locked by the claim (``FOR UPDATE SKIP LOCKED``), on SQLite the claim is
one conditional UPDATE and SQLite lets one writer through at a time. A sender
that dies after claiming loses nothing: the lease runs out and the next pass
tries again.

A refused or failed send keeps the row queued with a later ``next_attempt_at``
(1, 2, 4, 8 … minutes, capped); after ``MAIL_MAX_ATTEMPTS`` tries it is
``failed`` with the server's reason in ``last_error``, never the body.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from flask_mailman import EmailMultiAlternatives
from sqlalchemy import select, update

from charitylink.extensions import db
from charitylink.mail import mailman
from charitylink.mail.models import MailStatus, OutboxMail

log = logging.getLogger(__name__)

# How long a claimed row belongs to its sender: longer than a batch can take
# (BATCH × MAIL_TIMEOUT), so nobody sends it while it is being sent.
LEASE = timedelta(minutes=15)
BATCH = 20
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=4)
ERROR_MAX = 500


@dataclass
class SendResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def __iadd__(self, other: SendResult) -> SendResult:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        return self

    @property
    def total(self) -> int:
        return self.sent + self.retrying + self.failed


def _naive(moment: datetime | None) -> datetime:
    # The columns hold UTC without a zone.
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed try: 1, 2, 4, 8 … minutes."""
    wait = BACKOFF_FIRST * (2 ** max(0, min(attempts - 1, 20)))
    return min(wait, BACKOFF_MAX)


def claim_due(now: datetime | None = None, limit: int = BATCH) -> list[int]:
    """Take up to ``limit`` due rows for this sender and commit the claim."""
    at = _naive(now)
    due = (
        select(OutboxMail.id)
        .where(OutboxMail.status == MailStatus.QUEUED)
        .where(OutboxMail.next_attempt_at <= at)
        .order_by(OutboxMail.next_attempt_at, OutboxMail.id)
        .limit(limit)
        # PostgreSQL: rows another sender is claiming are skipped, not waited
        # for. SQLite renders no FOR UPDATE: its single writer does that job.
        .with_for_update(skip_locked=True)
    )
    claimed = db.session.execute(
        update(OutboxMail)
        .where(OutboxMail.id.in_(due))
        # Again here: the row must still be due when the UPDATE reaches it.
        .where(OutboxMail.status == MailStatus.QUEUED)
        .where(OutboxMail.next_attempt_at <= at)
        .values(attempts=OutboxMail.attempts + 1, next_attempt_at=at + LEASE)
        .returning(OutboxMail.id)
        .execution_options(synchronize_session=False)
    )
    ids = sorted(row[0] for row in claimed)
    db.session.commit()
    return ids


def _message(row: OutboxMail, connection: Any) -> EmailMultiAlternatives:
    headers: dict[str, str] = {}
    if row.user_id is not None and row.kind:
        from charitylink.mail.unsubscribe import unsubscribe_url

        # RFC 8058: a mail program offers "unsubscribe" and POSTs to this URL.
        headers["List-Unsubscribe"] = f"<{unsubscribe_url(row.user_id, row.kind)}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    headers["X-CharityLink-Outbox"] = str(row.id)
    message = EmailMultiAlternatives(
        subject=row.subject,
        body=row.text_body,
        from_email=current_app.config.get("MAIL_DEFAULT_SENDER"),
        to=[row.to_address],
        headers=headers,
        connection=connection,
    )
    if row.html_body:
        message.attach_alternative(row.html_body, "text/html")
    return message


def _reason(exc: BaseException) -> str:
    """What went wrong, as the server or the network said it (no body)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = [
            f"{code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
            for code, msg in exc.recipients.values()
        ]
        text = "SMTPRecipientsRefused: " + "; ".join(parts)
    elif isinstance(exc, smtplib.SMTPResponseException):
        msg = exc.smtp_error
        detail = msg.decode(errors="replace") if isinstance(msg, bytes) else str(msg)
        text = f"{type(exc).__name__}: {exc.smtp_code} {detail}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text[:ERROR_MAX]


def _sent(row: OutboxMail, at: datetime) -> None:
    row.status = MailStatus.SENT
    row.sent_at = at
    row.last_error = None


def _failed(row: OutboxMail, at: datetime, reason: str, max_attempts: int) -> bool:
    """Record a failed try; True when it was the last one."""
    row.last_error = reason
    if row.attempts >= max_attempts:
        row.status = MailStatus.FAILED
        return True
    row.next_attempt_at = at + backoff(row.attempts)
    return False


class _Connection:
    """One SMTP (or .eml) connection for a batch, opened on first use and
    opened again after a failure left it in an unknown state."""

    def __init__(self) -> None:
        self.backend: Any = None
        # Set when the server could not be reached: the rest of the batch fails
        # with the same reason at once instead of each waiting for a timeout.
        self.down: str | None = None

    def send(self, row: OutboxMail) -> str | None:
        """None when sent, else the reason it was not."""
        if self.down is not None:
            return self.down
        if self.backend is None:
            backend = mailman.get_connection(fail_silently=False)
            try:
                backend.open()
            except (OSError, smtplib.SMTPException) as exc:
                self.down = _reason(exc)
                return self.down
            self.backend = backend
        try:
            message = _message(row, self.backend)
        except ValueError as exc:
            # A row that cannot become a message (a line break in the address
            # or subject: header injection) fails its tries like any other
            # refusal instead of stopping every batch it is claimed in.
            return _reason(exc)
        try:
            if self.backend.send_messages([message]) != 1:
                return "the mail backend did not accept the message"
        except (OSError, smtplib.SMTPException, ValueError) as exc:
            self.close()
            return _reason(exc)
        return None

    def close(self) -> None:
        if self.backend is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.backend.close()
            self.backend = None


def send_due(now: datetime | None = None, limit: int = BATCH) -> SendResult:
    """One batch: claim the due rows, send them over one connection, record
    each outcome as soon as it is known (committed row by row, so a sender
    killed half-way keeps what it did)."""
    at = _naive(now)
    result = SendResult()
    ids = claim_due(at, limit)
    if not ids:
        return result
    max_attempts = int(current_app.config.get("MAIL_MAX_ATTEMPTS", 8))
    connection = _Connection()
    try:
        for row_id in ids:
            row = db.session.get(OutboxMail, row_id)
            if row is None:  # pragma: no cover - rows are never deleted
                continue
            reason = connection.send(row)
            if reason is None:
                _sent(row, at)
                result.sent += 1
            elif _failed(row, at, reason, max_attempts):
                log.warning(
                    "mail %s failed after %s tries: %s", row.id, row.attempts, reason
                )
                result.failed += 1
            else:
                result.retrying += 1
            db.session.commit()
    finally:
        connection.close()
    return result


def send_all_due(now: datetime | None = None) -> SendResult:
    """Batches until nothing is due (a cron pass); stops early when a batch
    sent nothing, so a server that is down does not keep the pass busy."""
    total = SendResult()
    while True:
        batch = send_due(now)
        total += batch
        if batch.total < BATCH or batch.sent == 0:
            return total
