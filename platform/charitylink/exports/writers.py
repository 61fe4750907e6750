"""Sheets as CSV (UTF-8 with BOM, so Excel in a Chinese locale opens it) or XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from urllib.parse import quote

from flask import Response

CSV_MIME = "text/csv; charset=utf-8"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(value: object) -> object:
    # Text starting with = + - @ is a formula to Excel: neutralise it (titles,
    # notes and names come from people).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        return ""
    return value


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(
    title: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    ws.freeze_panes = "A2"
    ws.append(list(header))
    for row in rows:
        ws.append([_cell(v) for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def download(
    fmt: str,
    stem: str,
    title: str,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
) -> Response:
    if fmt == "xlsx":
        body, mime = to_xlsx(title, header, rows), XLSX_MIME
    else:
        body, mime = to_csv(header, rows), CSV_MIME
    return download_bytes(body, mime, f"{stem}.{fmt}")


def download_bytes(body: bytes, mime: str, filename: str) -> Response:
    resp = Response(body, content_type=mime)
    resp.headers["Content-Disposition"] = (
        f"attachment; filename={quote(filename)}; filename*=UTF-8''{quote(filename)}"
    )
    return resp
