"""A real SMTP server on loopback (aiosmtpd) for the mail tests, and an app
configured to send to it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import base_config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Recorder:
    """The server's behaviour, set by the test: accept, answer a code at RCPT
    or DATA, or drop the connection in the middle of the DATA."""

    received: list[EmailMessage] = field(default_factory=list)
    rcpt_answer: str | None = None
    data_answer: str | None = None
    drop: bool = False

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.rcpt_answer:
            return self.rcpt_answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        if self.drop:
            server.transport.abort()  # the line goes dead mid-conversation
            return "250 OK"
        if self.data_answer:
            return self.data_answer
        msg = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append(msg)  # type: ignore[arg-type]
        return "250 OK"

    def outbox_ids(self) -> list[int]:
        return [int(m["X-CharityLink-Outbox"]) for m in self.received]


class SMTPServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.recorder = Recorder()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(
            self.recorder, hostname="127.0.0.1", port=self.port
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app_config(tmp_path: Path, db_url: str, smtp_server: SMTPServer) -> dict[str, Any]:
    return {
        **base_config(tmp_path, db_url),
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_server.port,
        "MAIL_TIMEOUT": 5,
        "MAIL_DEFAULT_SENDER": "善联 CharityLink <no-reply@charitylink.test>",
        "BASE_URL": "https://cl.example.gov.cn",
    }
