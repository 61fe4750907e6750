"""Upload attacks on the delivery evidence (claims/evidence.py; ASVS V12)."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from charitylink.claims.models import Claim
from charitylink.core.timeutil import today
from charitylink.extensions import db
from tests.security.conftest import jpeg_with_exif, state_counts


def _deliver(app, world, login_as, filename: str, data: bytes):  # type: ignore[no-untyped-def]
    c = login_as(world.user("member_a"), app.test_client())
    return c.post(
        f"/org/claims/{world.claim.id}/deliver",
        data={
            "delivered_amount": "1000.00",
            "delivered_on": (today() - timedelta(days=1)).isoformat(),
            "method": "cash",
            "note": "已转账",
            "evidence": (io.BytesIO(data), filename),
        },
        content_type="multipart/form-data",
    )


def _claim(world) -> Claim:  # type: ignore[no-untyped-def]
    db.session.expire_all()
    return db.session.get(Claim, world.claim.id)


def _upload_files(app) -> list[Path]:  # type: ignore[no-untyped-def]
    root = Path(app.config["UPLOAD_DIR"])
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("receipt.jpg", b"<?php system($_GET['c']); ?>"),
        ("receipt.png", b"<html><script>alert(1)</script></html>"),
        ("receipt.pdf", b"MZ\x90\x00\x03" + b"\x00" * 100),  # a Windows executable
        ("receipt.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="x()"/>'),
        ("receipt.jpg", b"\xff\xd8\xff" + b"not really a jpeg" * 10),  # bad image
        ("empty.png", b""),
    ],
)
def test_type_is_decided_by_content_and_refusals_change_nothing(
    app, world, login_as, filename, data
):
    files_before = _upload_files(app)
    before = state_counts()
    resp = _deliver(app, world, login_as, filename, data)
    assert resp.status_code in (200, 422)
    body = resp.get_data(as_text=True)
    assert "凭证文件" in body or "图片" in body
    assert _claim(world).status == "reserved"
    assert state_counts() == before
    assert _upload_files(app) == files_before


def test_exif_is_stripped_and_the_name_is_never_a_path(app, world, login_as):
    resp = _deliver(
        app, world, login_as, "../../../../etc/cron.d/x.jpg", jpeg_with_exif()
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    claim = _claim(world)
    assert claim.status == "delivered"
    assert "/" not in claim.evidence_path and ".." not in claim.evidence_path
    assert ".." not in claim.evidence_name and "/" not in claim.evidence_name
    stored = [p for p in _upload_files(app) if p.name == claim.evidence_path]
    assert len(stored) == 1
    assert Path(app.config["UPLOAD_DIR"]).resolve() in stored[0].resolve().parents
    raw = stored[0].read_bytes()
    img = Image.open(io.BytesIO(raw))
    assert dict(img.getexif()) == {}
    assert b"PhoneMaker" not in raw and b"Exif" not in raw


def test_evidence_is_served_as_an_attachment_that_cannot_be_sniffed(
    app, world, login_as
):
    c = login_as(world.user("member_a"), app.test_client())
    resp = c.get(f"/claims/{world.delivered_claim.id}/evidence")
    assert resp.status_code == 200
    assert resp.headers["Content-Disposition"].startswith("attachment")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.mimetype in ("image/jpeg", "image/png", "application/pdf")


def test_too_large_evidence_gets_a_clear_message(app, world, login_as):
    app.config["EVIDENCE_MAX_BYTES"] = 10_000
    big = io.BytesIO()
    Image.effect_noise((200, 200), 80).convert("RGB").save(big, format="PNG")
    assert len(big.getvalue()) > 10_000
    before = state_counts()
    resp = _deliver(app, world, login_as, "big.png", big.getvalue())
    assert resp.status_code == 422
    assert "凭证文件过大" in resp.get_data(as_text=True)
    assert state_counts() == before


def test_decompression_bomb_is_refused(app, world, login_as):
    bomb = io.BytesIO()
    Image.new("L", (8000, 6000)).save(bomb, format="PNG")  # 48 MP, small file
    before = state_counts()
    resp = _deliver(app, world, login_as, "bomb.png", bomb.getvalue())
    assert resp.status_code == 422
    assert state_counts() == before
