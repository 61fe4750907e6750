"""Outgoing e-mail: an outbox table written with the change, delivered by a job."""

from __future__ import annotations

import logging

from flask import Flask, Response, g
from flask_mailman import Mail

log = logging.getLogger(__name__)

mailman = Mail()


def init_app(app: Flask) -> None:
    """Flask-Mailman from the MAIL_* settings (config.py): SMTP when
    MAIL_SERVER is set, else .eml files under MAIL_FILE_PATH.

    In development without a mail server (MAIL_SEND_AFTER_REQUEST) a request
    that queued mail also writes it out as .eml files when it is done, so a
    newcomer running ``make run`` finds the mail in instance/mail/ without
    starting the mail job."""
    mailman.init_app(app)

    @app.after_request
    def _send_after_request(response: Response) -> Response:
        if not g.pop("mail_queued", False):
            return response
        if not app.config.get("MAIL_SEND_AFTER_REQUEST"):
            return response
        from charitylink.mail.sender import send_all_due

        try:
            send_all_due()
        except Exception as exc:  # the page must not fail for the mail
            from charitylink.extensions import db

            db.session.rollback()
            log.warning("mail: sending after the request failed (%s); kept", exc)
        return response
