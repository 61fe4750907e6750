"""CSV and XLSX downloads of a report table: the same rows, columns and
suppression marks as the page. CSV is UTF-8 with a byte-order mark so Excel in a
Chinese locale opens it without garbling; amounts are in yuan."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import cast
from urllib.parse import quote

from flask import Response
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from charitylink.core.i18n import _
from charitylink.reports.tables import Table

CSV_MIME = "text/csv; charset=utf-8"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def headers(table: Table) -> list[str]:
    return [c.label + (_("（元）") if c.kind == "fen" else "") for c in table.columns]


def _csv_cell(value: object) -> object:
    # A cell starting with = + - @ is a formula to Excel: neutralise text that
    # could carry one (names come from users).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value


def _xlsx_cell(value: object) -> object:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def to_csv(table: Table) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(headers(table))
    for row in table.rows:
        writer.writerow([_csv_cell(table.raw(row, c)) for c in table.columns])
    if table.has_suppressed:
        writer.writerow([])
        writer.writerow([SUPPRESSION_NOTE()])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(table: Table) -> bytes:
    wb = Workbook()
    ws = cast(Worksheet, wb.active)  # a new workbook's one sheet, always active
    ws.title = table.key[:31]
    ws.append(headers(table))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in table.rows:
        ws.append([_xlsx_cell(table.raw(row, c)) for c in table.columns])
    for idx, col in enumerate(table.columns, start=1):
        if col.kind == "fen":
            for (cell,) in ws.iter_rows(
                min_row=2, min_col=idx, max_col=idx, max_row=ws.max_row
            ):
                if isinstance(cell.value, int | float | Decimal):
                    cell.number_format = "#,##0.00"
        letter = get_column_letter(idx)
        ws.column_dimensions[letter].width = max(10, min(40, len(col.label) * 2 + 4))
    if table.has_suppressed:
        ws.append([])
        ws.append([SUPPRESSION_NOTE()])
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def SUPPRESSION_NOTE() -> str:  # noqa: N802 - reads as a constant, translated late
    return _(
        "说明：“<5”表示该单元格涉及不足5户家庭，不予公开；"
        "“—”表示可由合计推算出受保护数据的单元格，一并不予公开。"
    )


def response(table: Table, fmt: str, stem: str) -> Response:
    if fmt == "csv":
        body, mime = to_csv(table), CSV_MIME
    else:
        body, mime = to_xlsx(table), XLSX_MIME
    filename = f"{stem}-{table.key}.{fmt}"
    resp = Response(body, content_type=mime)
    resp.headers["Content-Disposition"] = (
        f"attachment; filename={filename}; filename*=UTF-8''{quote(filename)}"
    )
    return resp
