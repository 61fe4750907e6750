"""Without MAIL_SERVER every mail is an .eml file under instance/mail/."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from charitylink.extensions import db
from charitylink.mail.models import MailStatus, OutboxMail
from charitylink.mail.outbox import enqueue
from charitylink.mail.sender import send_due
from tests.conftest import base_config


@pytest.fixture
def app_config(tmp_path, db_url) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    config = base_config(tmp_path, db_url)
    config.pop("MAIL_SERVER", None)
    return config


def test_mail_becomes_readable_eml_files(app, tmp_path):
    assert app.config["MAIL_SERVER"] == ""
    enqueue("a@example.org", "第一封", "正文一", "<p>正文一</p>")
    enqueue("b@example.org", "第二封", "正文二")
    db.session.commit()
    result = send_due()
    assert result.sent == 2
    folder = Path(app.config["INSTANCE_PATH"]) / "mail"
    files = sorted(folder.glob("*.eml"))
    assert len(files) == 2
    assert not list(folder.glob(".*"))  # no half-written leftovers
    messages = {}
    for f in files:
        msg = message_from_bytes(f.read_bytes(), policy=policy.default)
        messages[msg["To"]] = msg
    first = messages["a@example.org"]
    assert first["Subject"].strip() == "第一封"
    assert first.get_body(("plain",)).get_content().strip() == "正文一"
    assert "<p>正文一</p>" in first.get_body(("html",)).get_content()
    assert messages["b@example.org"].get_content().strip() == "正文二"
    assert {r.status for r in db.session.query(OutboxMail)} == {MailStatus.SENT}


def test_development_writes_mail_after_the_request_that_queued_it(
    app_config, tmp_path, create_user
):
    """``make run`` without a mail server: a page that queued mail leaves the
    .eml file behind at once, no mail job needed (MAIL_SEND_AFTER_REQUEST)."""
    from charitylink import create_app
    from tests.orgs.conftest import registration

    dev = create_app({**app_config, "TESTING": False})
    assert dev.config["MAIL_SEND_AFTER_REQUEST"] is True
    with dev.app_context():
        create_user("moderator", email="owner@example.org")
        resp = dev.test_client().post(
            "/register", data=registration(admin_email="owner@example.org")
        )
        assert resp.status_code in (200, 302)
        [eml] = (Path(dev.config["INSTANCE_PATH"]) / "mail").glob("*.eml")
        msg = message_from_bytes(eml.read_bytes(), policy=policy.default)
        assert msg["To"] == "owner@example.org"
        assert "有人用您的邮箱注册机构" in str(msg["Subject"])
        assert db.session.query(OutboxMail).one().status == MailStatus.SENT
        db.session.remove()
        db.engine.dispose()


def test_not_in_tests_or_production(app):
    assert app.config["MAIL_SEND_AFTER_REQUEST"] is False
