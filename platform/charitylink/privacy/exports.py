"""Exports with private data: a stated reason, the exporter and the time in the
file, an audit row per household exported, and a download link that works
once, for ``PRIVATE_EXPORT_HOURS`` (24) hours.

The file is built when the moderator asks for it and kept encrypted (the data
key, as the private half) under ``UPLOAD_DIR/exports`` until its one download
or its expiry; the link's token is shown once and only its SHA-256 is stored.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, select, update

from charitylink.accounts.models import User
from charitylink.core import audit
from charitylink.core.i18n import _
from charitylink.core.permissions import require_moderator
from charitylink.core.reasons import clean_reason
from charitylink.core.timeutil import CHINA, as_utc, utcnow
from charitylink.errors import DomainError, NotFound, ValidationFailed
from charitylink.extensions import db
from charitylink.needs import privacy
from charitylink.privacy.models import PrivateExport

FORMATS = ("csv", "xlsx")
MIME = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class LinkGone(DomainError):
    """The download link was used already, or has expired."""

    code = "gone"
    status = 410


def exports_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"]) / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _exporter(user: User) -> str:
    name = (getattr(user, "name", "") or "").strip()
    return f"{name}（{user.email}）" if name else user.email


def file_bytes(
    fmt: str,
    title: str,
    header: list[str],
    rows: Any,
    user: User,
    at: datetime,
    reason: str,
) -> bytes:
    """The sheet with who exported it, when and why on its first line."""
    from charitylink.exports import writers

    local = at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")
    first = [
        "导出人",
        _exporter(user),
        "导出时间（北京时间）",
        local,
        "导出原因",
        reason,
    ]

    def body() -> Any:
        yield []
        yield header
        yield from rows

    if fmt == "csv":
        return writers.to_csv(first, body())
    return writers.to_xlsx(title, first, body())


def create_needs_export(
    moderator: User, fmt: Any, reason: Any
) -> tuple[PrivateExport, str]:
    """Build the region's needs with their private half for ``moderator``
    (audited with the reason, one ``need.private_export`` row per need) and
    store it for one download. Returns the row and the raw token (for the
    link, shown once)."""
    from charitylink.exports import services

    require_moderator(moderator)
    text = clean_reason(reason, required=True)
    if fmt not in FORMATS:
        raise ValidationFailed(_("请选择导出格式。"), {"fmt": _("请选择导出格式。")})
    sweep_expired()
    now = utcnow()
    sheet = services.moderator_needs(moderator, reason=text)
    data = file_bytes(fmt, sheet.title, sheet.header, sheet.rows, moderator, now, text)
    stored = f"{secrets.token_hex(16)}.enc"
    token_text = privacy.cipher().encrypt(base64.b64encode(data).decode("ascii"))
    (exports_dir() / stored).write_text(token_text, encoding="ascii")
    raw = secrets.token_urlsafe(32)
    hours = int(current_app.config.get("PRIVATE_EXPORT_HOURS", 24))
    row = PrivateExport(
        token_hash=_hash(raw),
        user_id=moderator.id,
        kind=sheet.key,
        fmt=fmt,
        reason=text,
        stored_name=stored,
        filename=f"charitylink-{sheet.key}-{now.astimezone(CHINA):%Y%m%d-%H%M}.{fmt}",
        rows=sheet.count,
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    db.session.add(row)
    db.session.flush()
    return row, raw


def _path(stored: str | None) -> Path | None:
    if not stored or len(stored) != 36 or not stored.endswith(".enc"):
        return None
    return exports_dir() / stored


def download(raw: str, user: User) -> tuple[bytes, str, str]:
    """The file behind a link, once: the first use marks it used and deletes
    the file; a second use, an expired link or another account's link is
    refused (410, or 404 for a token that is no link of this account)."""
    sweep_expired()
    row = db.session.scalar(
        select(PrivateExport).where(PrivateExport.token_hash == _hash(raw or ""))
    )
    if row is None or row.user_id != user.id:
        raise NotFound(_("下载链接无效。请回到导出页重新生成。"))
    now = utcnow()
    result = cast(
        CursorResult[Any],
        db.session.execute(
            update(PrivateExport)
            .where(
                PrivateExport.id == row.id,
                PrivateExport.used_at.is_(None),
                PrivateExport.expires_at > now,
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    db.session.refresh(row)
    if result.rowcount != 1:
        if row.used_at is not None:
            raise LinkGone(
                _(
                    "这个下载链接已经用过（每个链接只能下载一次）。请回到导出页重新生成。"
                )
            )
        raise LinkGone(_("这个下载链接已过期（24 小时内有效）。请回到导出页重新生成。"))
    path = _path(row.stored_name)
    if path is None or not path.is_file():
        raise LinkGone(_("导出文件已不存在。请回到导出页重新生成。"))
    data = base64.b64decode(privacy.cipher().decrypt(path.read_text(encoding="ascii")))
    path.unlink(missing_ok=True)
    row.stored_name = None
    audit.record(
        user,
        "export.private_download",
        row,
        reason=f"{row.kind}.{row.fmt}：{row.reason}"[:500],
        region_code=getattr(user, "region_prefix", None),
    )
    db.session.flush()
    return data, row.filename, MIME[row.fmt]


def sweep_expired() -> int:
    """Delete the files of links used or expired (the rows stay, as the record
    of the export); returns how many files went. Run on every export, every
    download and every visit of the exports page; a daily job may call it too
    (the file is useless after expiry, and only its owner could fetch it)."""
    now = utcnow()
    rows = db.session.scalars(
        select(PrivateExport).where(
            PrivateExport.stored_name.is_not(None),
            (PrivateExport.expires_at <= now) | PrivateExport.used_at.is_not(None),
        )
    ).all()
    for row in rows:
        path = _path(row.stored_name)
        if path is not None:
            path.unlink(missing_ok=True)
        row.stored_name = None
    db.session.flush()
    return len(rows)


def pending(user: User) -> list[PrivateExport]:
    """The user's links still usable (for the exports page)."""
    now = utcnow()
    return [
        r
        for r in db.session.scalars(
            select(PrivateExport)
            .where(PrivateExport.user_id == user.id, PrivateExport.used_at.is_(None))
            .order_by(PrivateExport.id.desc())
            .limit(10)
        )
        if as_utc(r.expires_at) > now
    ]
