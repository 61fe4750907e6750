"""Delivery evidence files (ASVS 12.1.1, 12.3.1, 12.4.1, 12.5.2).

The type is decided by the content (magic bytes), never by the name or the
browser's Content-Type: JPEG, PNG and PDF only. Images are decoded and
re-encoded with Pillow, which drops EXIF (a phone photo's GPS position points at
the household's door). Files live under ``UPLOAD_DIR/evidence`` — outside
``static/`` — with a random name; the user's file name is kept only as a label.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

from charitylink.core.i18n import _
from charitylink.errors import StorageFull, ValidationFailed

FIELD = "evidence"
# Larger images are refused rather than decoded (decompression bombs).
MAX_PIXELS = 40_000_000

_KINDS = (
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"%PDF-", "pdf", "application/pdf"),
)
_STORED_NAME = re.compile(r"[0-9a-f]{32}\.(jpg|png|pdf)")


def _fail(message: str) -> ValidationFailed:
    return ValidationFailed(message, {FIELD: message})


def sniff(data: bytes) -> tuple[str, str] | None:
    """(extension, MIME type) from the file's first bytes, or None."""
    for magic, ext, mime in _KINDS:
        if data.startswith(magic):
            return ext, mime
    return None


def evidence_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"]) / "evidence"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _read(upload: Any) -> tuple[str, bytes]:
    limit = int(current_app.config.get("EVIDENCE_MAX_BYTES", 5 * 1024 * 1024))
    if isinstance(upload, tuple):
        filename, data = upload
    else:
        filename = getattr(upload, "filename", "") or ""
        data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise _fail(
            _(
                "凭证文件过大：不能超过 %(mb)s MB。",
                mb=f"{limit / 1024 / 1024:.0f}",
            )
        )
    if not data:
        raise _fail(_("凭证文件是空的。"))
    return str(filename), data


def _clean_image(data: bytes, ext: str) -> bytes:
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.width * opened.height > MAX_PIXELS:
                raise _fail(_("图片尺寸过大，请缩小后再上传。"))
            opened.load()
            img: Image.Image = ImageOps.exif_transpose(opened) or opened
            if ext == "jpg":
                img = img.convert("RGB")
            elif img.mode not in ("RGB", "RGBA", "L", "LA"):
                img = img.convert("RGBA")
            # A fresh image from the pixels alone: no EXIF, XMP, ICC or text chunks.
            clean = Image.frombytes(img.mode, img.size, img.tobytes())
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise _fail(_("图片文件已损坏或无法识别。")) from None
    out = io.BytesIO()
    if ext == "jpg":
        clean.save(out, format="JPEG", quality=88)
    else:
        clean.save(out, format="PNG", optimize=True)
    return out.getvalue()


def display_name(filename: str, ext: str) -> str:
    """A harmless label for the user's file name (never used as a path)."""
    base = os.path.basename(filename.replace("\\", "/"))
    base = re.sub(r"[\x00-\x1f\x7f/\\:*?\"<>|]", "", base).strip(". ")[:100]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return f"{stem or 'evidence'}.{ext}"


@dataclass(frozen=True)
class Prepared:
    """An upload that passed the checks: its cleaned bytes, ready to write."""

    data: bytes
    ext: str
    mime: str
    display_name: str

    @property
    def sha256(self) -> str:
        """Hash of the bytes stored (after cleaning): the same photo uploaded
        for two claims hashes the same whatever metadata it carried."""
        return hashlib.sha256(self.data).hexdigest()


def prepare(upload: Any) -> Prepared:
    """Check an upload and clean it (images re-encoded without metadata);
    writes nothing.

    Raises ValidationFailed (field ``evidence``) for a wrong type, an empty or
    too large file, or an image that does not decode."""
    filename, data = _read(upload)
    kind = sniff(data)
    if kind is None:
        raise _fail(_("凭证文件只接受 JPEG、PNG 图片或 PDF 文件（按文件内容判断）。"))
    ext, mime = kind
    if ext in ("jpg", "png"):
        data = _clean_image(data, ext)
    return Prepared(data, ext, mime, display_name(filename, ext))


def write(prepared: Prepared) -> tuple[str, str, str]:
    """Store a prepared upload under a random name; returns (stored name,
    display name, MIME)."""
    stored = f"{secrets.token_hex(16)}.{prepared.ext}"
    target = evidence_dir() / stored
    try:
        with open(target, "xb") as fh:
            fh.write(prepared.data)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        # Disk full, quota, read-only volume: no half-written file, a clear
        # message, and the caller's transaction rolls back (nothing delivered).
        target.unlink(missing_ok=True)
        raise StorageFull(
            _("服务器存储空间不足，凭证文件未能保存，请稍后再试或联系管理员。"),
            {FIELD: _("凭证文件未能保存（服务器存储空间不足）。")},
        ) from exc
    return stored, prepared.display_name, prepared.mime


def store(upload: Any) -> tuple[str, str, str]:
    """Check and store an upload (:func:`prepare`, then :func:`write`)."""
    return write(prepare(upload))


def path_of(stored: str) -> Path | None:
    """The file behind a stored name, or None if the name is not one of ours."""
    if not stored or not _STORED_NAME.fullmatch(stored):
        return None
    path = evidence_dir() / stored
    return path if path.is_file() else None


def discard(stored: str) -> None:
    path = path_of(stored)
    if path is not None:
        path.unlink(missing_ok=True)


def file_sha256(stored: str) -> str | None:
    """Hash of a stored evidence file (None when it is missing): the backfill
    for files stored before the hash was kept."""
    path = path_of(stored)
    if path is None:
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()
