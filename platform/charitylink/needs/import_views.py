"""Import of needs from a file, in the moderator's pages (docs/integration.md).

Routes on the needs blueprint (``needs.import_*``), registered by the import at
the end of ``needs/views.py``.

Upload (CSV in UTF-8 with or without BOM, or GB18030; or XLSX) → the parsed rows
and a dry run are stored, encrypted with the data key, in the instance folder
under a random id → the preview shows what would be created, updated and
refused → a confirm POST applies it in committed batches.
"""

from __future__ import annotations

import io
import math
import re
import secrets
import time
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlencode

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from charitylink.core.i18n import N_, TranslatedLabels, _
from charitylink.core.money import format_fen
from charitylink.core.permissions import moderator_required
from charitylink.core.transaction import refused
from charitylink.errors import DomainError
from charitylink.exports import writers
from charitylink.extensions import db
from charitylink.needs import import_files, importing, privacy
from charitylink.needs.models import NEED_TYPE_LABELS
from charitylink.needs.views import bp
from charitylink.regions import services as regions

_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
STALE_SECONDS = 24 * 3600
STATUS_LABELS = {
    "created": N_("新建"),
    "updated": N_("更新"),
    "unchanged": N_("未变化"),
    "refused": N_("拒绝"),
}


# Rows of outcomes per page: a 5,000-row file must stay readable on a phone.
PAGE_SIZE = 100


def _page_of(
    outcomes: list[dict[str, Any]], status: str | None, page: int
) -> tuple[list[dict[str, Any]], int, int]:
    """The outcomes to show (refused first, then in row order; one status
    only if asked), the page number kept within range, and the pages."""
    ordered = [o for o in outcomes if o["status"] == "refused"] + [
        o for o in outcomes if o["status"] != "refused"
    ]
    if status:
        ordered = [o for o in ordered if o["status"] == status]
    pages = max(1, math.ceil(len(ordered) / PAGE_SIZE))
    page = min(max(page, 1), pages)
    return ordered[(page - 1) * PAGE_SIZE : page * PAGE_SIZE], page, pages


def column_of(key: str) -> str:
    """The column a person filled for a message keyed by an API field name
    (``household.phone`` → 电话, ``gov_assistance.1.type`` → 已享受救助): the
    preview speaks of the sheet, not of the API."""
    parts = key.split(".")
    for n in range(len(parts), 0, -1):
        header = import_files.HEADERS.get(".".join(parts[:n]))
        if header:
            return header
    return key


def _summaries(
    rows: list[dict[str, Any]], shown: list[dict[str, Any]]
) -> dict[int, dict[str, str]]:
    """What each shown row is about, from its public columns only (title,
    need type, county, amount): enough to recognise a row before confirming."""
    wanted = {int(o["row"]) for o in shown}
    out: dict[int, dict[str, str]] = {}
    for r in rows:
        if int(r["row"]) not in wanted:
            continue
        raw = r.get("data")
        data: dict[str, Any] = raw if isinstance(raw, dict) else {}
        amount = data.get("amount")
        need_type = data.get("need_type")
        out[int(r["row"])] = {
            "title": str(data.get("title") or ""),
            "need_type": NEED_TYPE_LABELS.get(need_type, "") if need_type else "",
            "region": regions.full_name(str(data.get("region_code") or "")),
            "amount": format_fen(amount)
            if isinstance(amount, int) and not isinstance(amount, bool)
            else "",
        }
    return out


def _folder() -> Path:
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _prune(folder: Path) -> None:
    cutoff = time.time() - STALE_SECONDS
    for path in folder.glob("*.enc"):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


def _save(payload: dict[str, Any]) -> str:
    folder = _folder()
    _prune(folder)
    token = secrets.token_urlsafe(18)
    # The rows carry households' private data: encrypted at rest like a need.
    (folder / f"{token}.enc").write_text(privacy.cipher().encrypt_json(payload))
    return token


def _load(token: str) -> dict[str, Any]:
    if not _TOKEN.fullmatch(token):
        abort(404)
    path = _folder() / f"{token}.enc"
    try:
        payload = privacy.cipher().decrypt_json(path.read_text())
    except (OSError, ValueError):
        abort(404)
    if payload.get("user_id") != current_user.id:
        abort(404)
    return payload


def _rows(payload: dict[str, Any]) -> list[importing.InputRow]:
    return [
        importing.InputRow(r["row"], r["data"], r.get("errors") or {})
        for r in payload["rows"]
    ]


@bp.get("/mod/needs/import")
@moderator_required
def import_upload() -> ResponseReturnValue:
    return render_template(
        "imports/upload.html",
        columns=import_files.COLUMNS,
        max_rows=importing.MAX_ROWS,
    )


@bp.post("/mod/needs/import")
@moderator_required
def import_preview_post() -> ResponseReturnValue:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("请选择要导入的 CSV 或 XLSX 文件。"), "error")
        return redirect(url_for(".import_upload"))
    name = upload.filename
    if not name.lower().endswith((".csv", ".xlsx", ".txt")):
        flash(_("只支持 CSV 或 XLSX 文件（Excel 请另存为 .xlsx）。"), "error")
        return redirect(url_for(".import_upload"))
    try:
        parsed = import_files.parse_file(upload.read(), name, importing.MAX_ROWS)
    except import_files.ImportFileError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".import_upload"))
    rows = [importing.InputRow(r.row, r.data, r.errors) for r in parsed.rows]
    if not rows:
        flash(_("文件中没有数据行。"), "error")
        return redirect(url_for(".import_upload"))
    result = importing.run_import(current_user, rows, dry_run=True)
    db.session.rollback()
    token = _save(
        {
            "user_id": current_user.id,
            "filename": name[:100],
            "unknown_columns": parsed.unknown_columns,
            "rows": [{"row": r.row, "data": r.data, "errors": r.errors} for r in rows],
            "preview": [o.as_dict() for o in result.outcomes],
        }
    )
    return redirect(url_for(".import_preview", token=token))


@bp.get("/mod/needs/import/<token>")
@moderator_required
def import_preview(token: str) -> ResponseReturnValue:
    payload = _load(token)
    outcomes = payload["preview"]
    counts = {k: 0 for k in STATUS_LABELS}
    for o in outcomes:
        counts[o["status"]] += 1
    status = request.args.get("status")
    status = status if status in STATUS_LABELS else None
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        page = 1
    shown, page, pages = _page_of(outcomes, status, page)

    def page_args(n: int) -> str:
        return urlencode({**({"status": status} if status else {}), "page": n})

    return render_template(
        "imports/preview.html",
        token=token,
        filename=payload["filename"],
        unknown_columns=payload.get("unknown_columns") or [],
        shown=shown,
        total=len(outcomes),
        status=status,
        page=page,
        pages=pages,
        page_args=page_args,
        counts=counts,
        labels=TranslatedLabels(STATUS_LABELS),
        summaries=_summaries(payload["rows"], shown),
        column_of=column_of,
        applied=False,
    )


@bp.post("/mod/needs/import/<token>/confirm")
@moderator_required
def import_confirm(token: str) -> ResponseReturnValue:
    payload = _load(token)
    try:
        result = importing.run_import(
            current_user, _rows(payload), commit=db.session.commit
        )
    except DomainError as exc:
        refused(exc)
        return redirect(url_for(".import_preview", token=token))
    (_folder() / f"{token}.enc").unlink(missing_ok=True)
    counts = result.counts
    outcomes = [o.as_dict() for o in result.outcomes]
    shown, _page, _pages = _page_of(outcomes, None, 1)
    flash(
        _(
            "导入完成：新建 %(c)s 条，更新 %(u)s 条，未变化 %(n)s 条，拒绝 %(r)s 条。",
            c=counts["created"],
            u=counts["updated"],
            n=counts["unchanged"],
            r=counts["refused"],
        ),
        "success",
    )
    return render_template(
        "imports/preview.html",
        token=None,
        filename=payload["filename"],
        unknown_columns=[],
        shown=shown,
        total=len(outcomes),
        status=None,
        page=1,
        pages=1,
        counts={k: counts[k] for k in STATUS_LABELS},
        labels=TranslatedLabels(STATUS_LABELS),
        summaries=_summaries(payload["rows"], shown),
        column_of=column_of,
        applied=True,
    )


@bp.get("/mod/needs/import/template.<any(csv, xlsx):fmt>")
@moderator_required
def import_template(fmt: str) -> Response:
    header, example = import_files.template_rows()
    if fmt == "csv":
        return writers.download("csv", "needs-import-template", "", header, [example])
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.worksheet import Worksheet

    wb = Workbook()
    ws = cast(Worksheet, wb.active)  # a new workbook's one sheet, always active
    ws.title = _("需求导入")
    ws.append(header)
    ws.append(example)
    for idx, cell in enumerate(ws[1], start=1):
        cell.font = Font(bold=True)
        letter = get_column_letter(idx)
        ws.column_dimensions[letter].width = max(12, len(header[idx - 1]) * 2 + 2)
        # Every column as text: Excel would turn an 18-digit ID into 2.2E+17.
        ws.column_dimensions[letter].number_format = "@"
    ws.freeze_panes = "A2"
    help_ws = wb.create_sheet(_("填写说明"))
    for line in import_files.template_help():
        help_ws.append(line)
    out = io.BytesIO()
    wb.save(out)
    return writers.download_bytes(
        out.getvalue(), writers.XLSX_MIME, "needs-import-template.xlsx"
    )
