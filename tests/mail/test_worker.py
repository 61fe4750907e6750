"""``flask --app wsgi mail worker`` as an operator runs it: it sends what is
due, keeps going, and stops cleanly on SIGTERM (systemd, docker stop)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from charitylink.extensions import db
from charitylink.mail.models import MailStatus, OutboxMail
from charitylink.mail.outbox import enqueue

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_worker_sends_and_stops_on_a_signal(app, smtp_server, sig):
    enqueue("w@example.org", "后台发送", "正文")
    db.session.commit()
    db.engine.dispose()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "platform"),
        "CHARITYLINK_INSTANCE": app.config["INSTANCE_PATH"],
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "DATA_KEY": app.config["DATA_KEY"],
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_server.port),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "mail", "worker"]
        + ["--interval", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 60
        while not smtp_server.recorder.received:
            assert worker.poll() is None, worker.stderr.read()  # type: ignore[union-attr]
            assert time.time() < deadline, "the worker sent nothing"
            time.sleep(0.1)
        worker.send_signal(sig)
        out, err = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, err
    assert "已发送 1 封" in out and "邮件发送进程已停止" in out
    db.session.expire_all()
    assert db.session.query(OutboxMail).one().status == MailStatus.SENT
