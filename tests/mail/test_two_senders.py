"""Two senders at once (two cron runs, two nodes) send each mail once."""

from __future__ import annotations

import threading
from collections import Counter

from flask import Flask

from charitylink.extensions import db
from charitylink.mail.outbox import enqueue
from charitylink.mail.sender import claim_due, send_all_due

MAILS = 40


def _run_together(app: Flask, work, n: int = 2) -> list:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        with app.app_context():  # a session of its own
            try:
                barrier.wait()
                results[i] = work()
            except BaseException as exc:  # noqa: BLE001 (reported below)
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return results


def _queue() -> None:
    for n in range(MAILS):
        enqueue(f"r{n}@example.org", f"并发 {n}", "正文")
    db.session.commit()


def test_two_claims_at_once_never_share_a_row(app):
    _queue()
    a, b = _run_together(app, lambda: claim_due(limit=MAILS))
    assert not set(a) & set(b)
    assert len(a) + len(b) == MAILS


def test_two_senders_at_once_send_each_mail_once(app, smtp_server):
    _queue()
    results = _run_together(app, send_all_due)
    assert sum(r.sent for r in results) == MAILS
    counts = Counter(smtp_server.recorder.outbox_ids())
    assert len(counts) == MAILS
    assert set(counts.values()) == {1}
