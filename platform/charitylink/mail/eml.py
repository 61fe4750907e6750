"""A Flask-Mailman backend for development: each message becomes one ``.eml``
file (the raw message a mail program opens as it is), so a newcomer running
``make run`` without an SMTP server can read what the platform would have sent."""

from __future__ import annotations

import os
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask_mailman.backends.base import BaseEmailBackend


class EmailBackend(BaseEmailBackend):
    _lock = threading.Lock()

    def __init__(self, *args: Any, file_path: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.directory = Path(file_path or self.mailman.file_path or "mail")

    def send_messages(self, email_messages: Any) -> int:
        if not email_messages:
            return 0
        self.directory.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            name = f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
            data = message.message().as_bytes()
            # Written aside and renamed: a reader never sees half a message.
            tmp = self.directory / f".{name}.tmp"
            tmp.write_bytes(data)
            os.replace(tmp, self.directory / name)
            sent += 1
        return sent
