"""Exports with private data (privacy/exports.py): a reason is required, the
file names the exporter, the time and the reason, each household's export is
audited, and the link works once, for 24 hours, for its exporter only; the
file is gone after download or expiry."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from sqlalchemy import select, update

from charitylink.core.audit import AuditEvent
from charitylink.core.timeutil import utcnow
from charitylink.extensions import db
from charitylink.privacy import exports as private
from charitylink.privacy.models import PrivateExport

CANARY = "金丝雀导出户"


def _link(resp) -> str:  # type: ignore[no-untyped-def]
    found = re.search(
        r'href="http://[^/"]+(/mod/exports/download/[^"]+)"', resp.data.decode()
    )
    assert found is not None
    return found.group(1)


def test_a_private_export_needs_a_reason(client, login_as, create_user) -> None:
    login_as(create_user("moderator", region_prefix="22"))
    resp = client.post("/mod/exports/needs", data={"fmt": "csv", "reason": ""})
    assert resp.status_code == 422 and "请填写原因" in resp.data.decode()
    assert db.session.scalar(select(PrivateExport.id)) is None
    # The old direct address sends the moderator to the form.
    old = client.get("/mod/exports/needs.csv")
    assert old.status_code == 302 and "private-export" in old.headers["Location"]


def test_the_link_works_once_and_the_file_carries_exporter_time_reason(
    client, login_as, create_user, create_need
) -> None:
    need = create_need(household={"name": CANARY})
    mod = create_user("moderator", region_prefix="22", name="导出员乙")
    login_as(mod)
    page = client.post(
        "/mod/exports/needs", data={"fmt": "csv", "reason": "年度审计抽查"}
    )
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    link = _link(page)
    row = db.session.scalar(select(PrivateExport))
    assert row is not None and row.stored_name
    # Only the token's hash is stored; the file at rest is encrypted.
    assert link.rsplit("/", 1)[1] not in row.token_hash
    stored = private.exports_dir() / row.stored_name
    assert CANARY.encode() not in stored.read_bytes()

    other = create_user("moderator", region_prefix="22")
    login_as(other)
    assert client.get(link).status_code == 404  # not the exporter's
    login_as(mod)
    got = client.get(link)
    assert got.status_code == 200
    rows = list(csv.reader(io.StringIO(got.data.decode("utf-8-sig"))))
    assert rows[0][0] == "导出人" and "导出员乙" in rows[0][1]
    assert rows[0][2].startswith("导出时间") and rows[0][3][:4].isdigit()
    assert rows[0][5] == "年度审计抽查"
    assert rows[2][0] == "需求编号" and rows[3][0] == need.code
    assert not stored.exists()  # not kept after the download

    again = client.get(link)
    assert again.status_code == 410 and "只能下载一次" in again.data.decode()
    audited = db.session.scalars(
        select(AuditEvent.action).where(
            AuditEvent.action.in_(
                (
                    "export.needs_private",
                    "need.private_export",
                    "export.private_download",
                )
            )
        )
    ).all()
    assert sorted(audited) == [
        "export.needs_private",
        "export.private_download",
        "need.private_export",
    ]
    reasons = db.session.scalars(
        select(AuditEvent.reason).where(AuditEvent.action.like("export.%"))
    ).all()
    assert all("年度审计抽查" in (r or "") for r in reasons)
    assert all(CANARY not in (r or "") for r in reasons)


def test_an_expired_link_is_refused_and_its_file_swept(
    client, login_as, create_user, create_need
) -> None:
    create_need()
    login_as(create_user("moderator", region_prefix="22"))
    link = _link(
        client.post("/mod/exports/needs", data={"fmt": "xlsx", "reason": "核对"})
    )
    row = db.session.scalar(select(PrivateExport))
    assert row is not None
    stored = private.exports_dir() / str(row.stored_name)
    db.session.execute(
        update(PrivateExport).values(expires_at=utcnow() - timedelta(minutes=1))
    )
    db.session.commit()
    assert private.sweep_expired() == 1  # what the page, an export or a job runs
    db.session.commit()
    assert not stored.exists()
    resp = client.get(link)
    assert resp.status_code == 410 and "已过期" in resp.data.decode()
    assert client.get("/mod/exports/download/nonsense").status_code == 404


def test_the_daily_purge_removes_expired_export_files(
    app, client, login_as, create_user, create_need
) -> None:
    create_need()
    login_as(create_user("moderator", region_prefix="22"))
    _link(client.post("/mod/exports/needs", data={"fmt": "csv", "reason": "核对"}))
    row = db.session.scalar(select(PrivateExport))
    assert row is not None
    stored = private.exports_dir() / str(row.stored_name)
    assert stored.exists()
    db.session.execute(
        update(PrivateExport).values(expires_at=utcnow() - timedelta(minutes=1))
    )
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["privacy", "purge"])
    assert result.exit_code == 0, result.output
    assert "删除过期或已下载的导出文件 1 个" in result.output
    assert not stored.exists()
