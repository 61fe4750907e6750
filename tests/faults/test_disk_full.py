"""A full disk while an upload is written: a clear message, nothing delivered,
no half-written file.

The upload folder is a 64 KiB tmpfs (the tests run as root in CI). Where mounting
is not permitted the write is made to fail with ENOSPC at the file-system
boundary (``os.fsync``) instead; the test says which one it used."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from charitylink.claims.models import Claim
from charitylink.core.timeutil import today
from charitylink.extensions import db
from tests.security.conftest import state_counts


@pytest.fixture
def full_disk(app, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    mount = tmp_path / "tiny"
    mount.mkdir()
    mounted = (
        os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
            capture_output=True,
        ).returncode
        == 0
    )
    app.config["UPLOAD_DIR"] = str(mount)
    if mounted:
        (mount / "evidence").mkdir()
        # Fill it up, leaving less room than the upload needs.
        with open(mount / "filler", "wb") as fh, contextlib.suppress(OSError):
            fh.write(b"\0" * 60 * 1024)
    else:

        def enospc(_fd: int) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr("charitylink.claims.evidence.os.fsync", enospc)
    yield mount, "tmpfs" if mounted else "patched fsync"
    if mounted:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_upload_on_a_full_disk_gets_a_clear_error(app, world, login_as, full_disk):
    mount, how = full_disk
    img = io.BytesIO()
    Image.effect_noise((120, 120), 90).convert("RGB").save(img, format="PNG")
    assert len(img.getvalue()) > 8 * 1024
    img.seek(0)
    before = state_counts()
    c = login_as(world.user("member_a"), app.test_client())
    resp = c.post(
        f"/org/claims/{world.claim.id}/deliver",
        data={
            "delivered_amount": "1000.00",
            "delivered_on": (today() - timedelta(days=1)).isoformat(),
            "method": "cash",
            "evidence": (img, "receipt.png"),
        },
        content_type="multipart/form-data",
    )
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422, (how, body[:2000])
    assert "存储空间不足" in body, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))[
        -1500:
    ]
    assert "Traceback" not in body and "Errno" not in body
    db.session.expire_all()
    assert db.session.get(Claim, world.claim.id).status == "reserved"
    assert state_counts() == before
    leftovers = [p for p in Path(mount, "evidence").glob("*") if p.is_file()]
    assert leftovers == [], how


def test_api_answers_507_on_a_full_disk(app, world, full_disk):
    from charitylink.claims import evidence
    from charitylink.errors import StorageFull

    img = io.BytesIO()
    Image.effect_noise((120, 120), 90).convert("RGB").save(img, format="PNG")
    with pytest.raises(StorageFull) as info:
        evidence.store(("receipt.png", img.getvalue()))
    assert info.value.status == 507 and "evidence" in info.value.fields
