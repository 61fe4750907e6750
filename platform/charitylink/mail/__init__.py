"""Outgoing e-mail: an outbox table written with the change, delivered by a job."""

from __future__ import annotations

from flask import Flask
from flask_mailman import Mail

mailman = Mail()


def init_app(app: Flask) -> None:
    """Flask-Mailman from the MAIL_* settings (config.py): SMTP when
    MAIL_SERVER is set, else .eml files under MAIL_FILE_PATH."""
    mailman.init_app(app)
