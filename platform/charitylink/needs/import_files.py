"""Reading import files (CSV or XLSX) into API-shaped rows (the API's field names).

A civil-affairs clerk's spreadsheet has Chinese headers (外部编号, 标题 ...), Chinese
labels for the enums (最低生活保障对象), amounts in yuan and dates the way Excel
writes them. ``parse_file`` turns each line into the dict the JSON import takes
(amounts in fen, API codes), plus the conversion errors of that line, so the file,
the API and the CLI all go through the same import engine (``needs.importing``).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from xml.parsers import expat

from charitylink.core.i18n import _
from charitylink.core.money import InvalidAmount, fen_to_yuan_str, parse_yuan
from charitylink.needs.models import (
    ASSISTANCE_LABELS,
    CATEGORY_LABELS,
    NEED_TYPE_LABELS,
    URGENCY_LABELS,
)

# (API field path, Chinese header, example value) in template order.
COLUMNS: list[tuple[str, str, str]] = [
    ("external_id", "外部编号", "JL-2026-000001"),
    ("title", "标题", "患儿白血病化疗费用缺口"),
    ("description", "描述", "孩子确诊急性淋巴细胞白血病，医保报销后仍有费用缺口。"),
    ("category", "家庭类别", "最低生活保障对象"),
    ("need_type", "需求类型", "医疗"),
    ("region_code", "区县代码", "220102"),
    ("household_size", "家庭人口", "3"),
    ("gov_assistance", "已享受救助", "最低生活保障金:650；医疗救助:200"),
    ("amount", "需求金额(元)", "12000.00"),
    ("urgency", "紧急程度", "紧急"),
    ("deadline", "截止日期", "2027-06-30"),
    ("household.name", "姓名", "（户主姓名）"),
    ("household.id_number", "身份证号", "（18位身份证号码）"),
    ("household.phone", "电话", "（手机或座机）"),
    ("household.address", "地址", "（详细住址）"),
    ("household.region_code", "乡镇街道代码", "220102001"),
    ("household.notes", "备注", "（经办人备注，不公开）"),
    ("household.consent_share_contact", "同意向认领机构提供联系方式", "否"),
]
HEADERS = {path: header for path, header, _ex in COLUMNS}
REQUIRED_COLUMNS = ("external_id", "title", "category", "need_type", "region_code")

_ENUMS: dict[str, dict[Any, str]] = {
    "category": CATEGORY_LABELS,
    "need_type": NEED_TYPE_LABELS,
    "urgency": URGENCY_LABELS,
}
_TRUE = {"是", "同意", "y", "yes", "true", "1", "有"}
_FALSE = {"否", "不同意", "n", "no", "false", "0", "无", ""}
_SPLIT_ITEMS = re.compile(r"[；;，,、\n]+")
_SPLIT_PAIR = re.compile(r"[:：\s]+")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


class ImportFileError(ValueError):
    """The file as a whole cannot be read; ``str(exc)`` is a Chinese message."""


@dataclass
class FileRow:
    row: int  # the line number in the sheet (the header is line 1)
    data: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class ParsedFile:
    rows: list[FileRow]
    unknown_columns: list[str] = field(default_factory=list)


def _norm_header(text: Any) -> str:
    text = unicodedata.normalize("NFKC", str(text or "")).strip().lstrip("\ufeff")
    return re.sub(r"\s+", "", text).lower()


def _header_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for path, header, _ex in COLUMNS:
        index[_norm_header(header)] = path
        index[_norm_header(path)] = path
        index[_norm_header(re.sub(r"\(.*\)", "", header))] = path
    index["amount_yuan"] = "amount"
    index["需求金额(元)"] = "amount"
    return index


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return unicodedata.normalize("NFKC", str(value)).strip()


def _label_to_code(value: str, labels: dict[Any, str]) -> str | None:
    codes = {str(code): str(code) for code in labels}
    by_label = {label: str(code) for code, label in labels.items()}
    return codes.get(value.lower()) or by_label.get(value)


def _yuan(value: Any, errors: dict[str, str], key: str) -> int | None:
    try:
        if isinstance(value, float):
            value = f"{value:.2f}" if round(value, 2) == value else str(value)
        return parse_yuan(value if isinstance(value, int) else _cell_text(value))
    except InvalidAmount as exc:
        errors[key] = str(exc)
        return None


def _assistance(text: str, errors: dict[str, str]) -> list[dict[str, Any]]:
    if text in ("", "无", "none", "-"):
        return []
    out: list[dict[str, Any]] = []
    for part in filter(None, (p.strip() for p in _SPLIT_ITEMS.split(text))):
        pieces = _SPLIT_PAIR.split(part, maxsplit=1)
        code = _label_to_code(pieces[0], ASSISTANCE_LABELS)
        if code is None:
            errors["gov_assistance"] = _(
                "救助类型「%(v)s」无法识别，应为：%(a)s。",
                v=pieces[0][:20],
                a="、".join(ASSISTANCE_LABELS.values()),
            )
            return []
        monthly = 0
        if len(pieces) > 1 and pieces[1].strip():
            amount = pieces[1].strip().removesuffix("元/月").removesuffix("元")
            try:
                monthly = parse_yuan(amount, allow_zero=True)
            except InvalidAmount as exc:
                errors["gov_assistance"] = _("%(t)s的月金额：%(m)s", t=pieces[0], m=exc)
                return []
        out.append({"type": code, "monthly_amount": monthly})
    return out


def _date_text(value: Any, errors: dict[str, str]) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = _cell_text(value)
    if not text:
        return None
    match = _DATE.fullmatch(text)
    if not match:
        errors["deadline"] = _("截止日期格式应为 2027-06-30。")
        return None
    try:
        return date(*(int(g) for g in match.groups())).isoformat()
    except ValueError:
        errors["deadline"] = _("截止日期不是有效日期。")
        return None


def convert_row(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:  # noqa: C901, PLR0912 — one branch per spreadsheet column, each with its own message
    """One sheet line (API paths → cell values) → (API-shaped need, errors)."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {}
    household: dict[str, Any] = {}
    for path, value in raw.items():
        if path == "amount":
            data["amount"] = _yuan(value, errors, "amount")
        elif path == "gov_assistance":
            data[path] = _assistance(_cell_text(value), errors)
        elif path == "deadline":
            data[path] = _date_text(value, errors)
        elif path in _ENUMS:
            text = _cell_text(value)
            code = _label_to_code(text, _ENUMS[path]) if text else None
            if code is None and (text or path != "urgency"):
                errors[path] = _(
                    "%(h)s「%(v)s」无法识别，应为：%(a)s。",
                    h=HEADERS[path],
                    v=text[:20],
                    a="、".join(_ENUMS[path].values()),
                )
            data[path] = code
        elif path == "household_size":
            text = _cell_text(value).removesuffix("人")
            data[path] = int(text) if text.isdigit() else (text or None)
        elif path == "household.consent_share_contact":
            text = _cell_text(value).lower()
            if text in _TRUE:
                household["consent_share_contact"] = True
            elif text in _FALSE:
                household["consent_share_contact"] = False
            else:
                errors[path] = _("「同意向认领机构提供联系方式」应填 是 或 否。")
        elif path == "household.id_number" and isinstance(value, int | float):
            # Excel stored the ID as a number: 18 digits do not survive a float.
            errors[path] = _(
                "身份证号被 Excel 存成了数字（会丢失末几位），请把该列设为文本格式后重新填写。"
            )
        elif path.startswith("household."):
            household[path.removeprefix("household.")] = _cell_text(value)
        else:
            data[path] = _cell_text(value)
    if household:
        data["household"] = household
    return data, errors


def _decode(raw: bytes) -> str:
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8) :].decode("utf-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        # Excel in China saves "CSV" as GB18030 (a superset of GBK and GB2312).
        return raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            _("无法识别文件编码：请保存为 UTF-8 或 GB18030（GBK）编码的 CSV。")
        ) from exc


# What a file may make the server hold. The template has 18 columns; a few more
# are read so that unknown ones can be named, the rest are never looked at.
MAX_COLUMNS = 64
# XLSX (a zip of XML parts). zipfile never returns more bytes than a member's
# declared size, so checking the declared sizes first bounds what is inflated.
XLSX_MAX_MEMBERS = 1_000
XLSX_MAX_PART_BYTES = 64 * 1024 * 1024  # one worksheet or the shared strings
XLSX_MAX_TOTAL_BYTES = 160 * 1024 * 1024
XLSX_MAX_ROWS = 100_000  # <row> elements in a part, filled or not
XLSX_MAX_STRINGS = 500_000  # shared strings
XLSX_MAX_INNER = 10_000  # elements inside one row or one shared string
XLSX_MAX_OTHER = 200_000  # every other element of a part
_BIG_PARTS = re.compile(r"xl/(worksheets/sheet\d+|sharedStrings)\.xml", re.I)
_OTHER_PART_BYTES = 8 * 1024 * 1024


class _Refused(Exception):
    """Raised from the XML scan's handlers; carries the Chinese message."""


class _PartScan:
    """Streams one XML part through expat (no tree is built) and refuses, before
    openpyxl reads the workbook, anything that would make it hold more than a
    bounded amount: a DTD or entity declaration (entity expansion), too many
    rows, a row or string with too many elements, too many other elements.

    openpyxl keeps every (cleared) row element of a sheet and every element of
    the other parts while it reads, so these counts bound its memory."""

    def __init__(self) -> None:
        self.rows = self.strings = self.other = 0
        self.inside: str | None = None
        self.depth = self.inner = 0

    def start(self, tag: str, _attrs: Any) -> None:
        if self.inside is not None:
            self.depth += 1
            self.inner += 1
            if self.inner > XLSX_MAX_INNER:
                raise _Refused(
                    _(
                        "工作表的一行（或一个文字）包含的单元格过多（超过 %(n)s 个）。"
                        "请使用导入模板，只保留需要的列。",
                        n=XLSX_MAX_INNER,
                    )
                )
            return
        local = tag.rpartition(":")[2]
        if local in ("row", "si"):
            self.inside, self.depth, self.inner = local, 1, 0
            if local == "row":
                self.rows += 1
                if self.rows > XLSX_MAX_ROWS:
                    raise _Refused(
                        _(
                            "工作表的行数过多（超过 %(n)s 行，含空行）。"
                            "请删除多余的行，或拆分文件后分批导入。",
                            n=XLSX_MAX_ROWS,
                        )
                    )
            else:
                self.strings += 1
                if self.strings > XLSX_MAX_STRINGS:
                    raise _Refused(_("文件包含的文字条目过多，无法导入。"))
            return
        self.other += 1
        if self.other > XLSX_MAX_OTHER:
            raise _Refused(_("XLSX 文件结构过于复杂，无法导入。请使用导入模板。"))

    def end(self, _tag: str) -> None:
        if self.inside is not None:
            self.depth -= 1
            if self.depth == 0:
                self.inside = None


def _refuse_declarations(*_args: Any) -> None:
    raise _Refused(_("XLSX 文件包含文档类型或实体声明（DTD），出于安全原因拒绝导入。"))


def _scan_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    scan = _PartScan()
    parser = expat.ParserCreate()
    parser.StartElementHandler = scan.start
    parser.EndElementHandler = scan.end
    parser.StartDoctypeDeclHandler = _refuse_declarations
    parser.EntityDeclHandler = _refuse_declarations
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    with archive.open(info) as part:
        head = part.read(64 * 1024)
        # Only what an XML parser would accept is scanned; anything else (an
        # image) is never parsed as XML by openpyxl either.
        if not head.lstrip(b" \t\r\n\xef\xbb\xbf\xff\xfe\x00").startswith(b"<"):
            return
        try:
            chunk = head
            while chunk:
                parser.Parse(chunk, False)
                chunk = part.read(64 * 1024)
            parser.Parse(b"", True)
        except expat.ExpatError as exc:
            raise ImportFileError(_("无法读取 XLSX 文件，文件可能已损坏。")) from exc


def _check_xlsx(raw: bytes) -> None:
    """Refuse, with a Chinese message, an XLSX that would take unbounded memory
    or time to read (a zip bomb, a sheet of a million rows, entity expansion)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportFileError(_("无法读取 XLSX 文件，文件可能已损坏。")) from exc
    too_big = _(
        "XLSX 文件解压后过大（工作表或文字超过 %(n)s MB），无法导入。"
        "请拆分文件后分批导入。",
        n=XLSX_MAX_PART_BYTES // (1024 * 1024),
    )
    if len(infos) > XLSX_MAX_MEMBERS:
        raise ImportFileError(_("XLSX 文件结构过于复杂，无法导入。请使用导入模板。"))
    if sum(i.file_size for i in infos) > XLSX_MAX_TOTAL_BYTES:
        raise ImportFileError(too_big)
    with archive:
        for info in infos:
            limit = (
                XLSX_MAX_PART_BYTES
                if _BIG_PARTS.fullmatch(info.filename)
                else _OTHER_PART_BYTES
            )
            if info.file_size > limit:
                raise ImportFileError(too_big)
            try:
                _scan_part(archive, info)
            except _Refused as exc:
                raise ImportFileError(str(exc)) from exc
            except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
                raise ImportFileError(
                    _("无法读取 XLSX 文件，文件可能已损坏。")
                ) from exc


def _csv_lines(raw: bytes) -> Iterator[Sequence[Any]]:
    text = _decode(raw)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    try:
        for line in csv.reader(io.StringIO(text), dialect):
            yield line[:MAX_COLUMNS]
    except csv.Error as exc:  # e.g. one field longer than csv's field limit
        raise ImportFileError(
            _(
                "CSV 文件格式有误（%(e)s），请用 Excel 另存为 CSV 或 XLSX 后重试。",
                e=str(exc)[:80],
            )
        ) from exc


def _xlsx_lines(raw: bytes) -> Iterator[Sequence[Any]]:
    """The first sheet's lines, read lazily, each at most ``MAX_COLUMNS`` wide.

    The sheet's declared ``<dimension>`` is ignored: openpyxl's read-only reader
    would otherwise pad every line to it (a 1.7 KB file can declare XFD1048576).
    Missing rows come back one empty line at a time, never as one list."""
    from openpyxl import load_workbook

    _check_xlsx(raw)
    try:
        wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise ImportFileError(_damaged_message(exc)) from exc
    try:
        if not wb.worksheets:
            raise ImportFileError(_("XLSX 文件中没有工作表。"))
        sheet = wb.worksheets[0]
        sheet.reset_dimensions()
        lines = sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
        while True:
            try:
                line = next(lines)
            except StopIteration:
                return
            except ImportFileError:
                raise
            except Exception as exc:  # a damaged part found while reading
                raise ImportFileError(_damaged_message(exc)) from exc
            yield line
    finally:
        wb.close()


def _damaged_message(exc: Exception) -> str:
    if type(exc).__module__.startswith("defusedxml"):
        return _("XLSX 文件包含文档类型或实体声明（DTD），出于安全原因拒绝导入。")
    return _("无法读取 XLSX 文件，文件可能已损坏。")


def _blank(line: Sequence[Any]) -> bool:
    if line.count(None) == len(line):  # the common case, at C speed
        return True
    return not any(_cell_text(c) for c in line)


def parse_file(raw: bytes, filename: str, max_rows: int) -> ParsedFile:
    """Read a CSV or XLSX upload; raise ``ImportFileError`` for an unreadable file.

    Lines are read lazily and reading stops at the first data line past
    ``max_rows``, so memory follows the rows kept, not the file's claims."""
    is_xlsx = raw[:4] == b"PK\x03\x04" or filename.lower().endswith(".xlsx")
    # Numbered as the spreadsheet shows them (the first line is 1).
    lines = enumerate(_xlsx_lines(raw) if is_xlsx else _csv_lines(raw), start=1)
    header = next((line for _n, line in lines if not _blank(line)), None)
    if header is None:
        raise ImportFileError(_("文件是空的。"))
    index = _header_index()
    columns: list[str | None] = []
    unknown: list[str] = []
    for cell in header:
        path = index.get(_norm_header(cell))
        if path is None and _cell_text(cell):
            unknown.append(_cell_text(cell)[:40])
        columns.append(path)
    missing = [HEADERS[p] for p in REQUIRED_COLUMNS if p not in columns]
    if missing:
        raise ImportFileError(
            _("缺少必需的列：%(c)s。请使用导入模板。", c="、".join(missing))
        )
    rows: list[FileRow] = []
    for number, line in lines:
        if _blank(line):
            continue
        if len(rows) >= max_rows:
            raise ImportFileError(
                _("一次最多导入 %(n)s 行，请拆分文件后分批导入。", n=max_rows)
            )
        raw_row = {
            path: line[i] if i < len(line) else None
            for i, path in enumerate(columns)
            if path is not None
        }
        data, errors = convert_row(raw_row)
        rows.append(FileRow(number, data, errors))
    return ParsedFile(rows, unknown)


def template_help() -> list[list[str]]:
    """The "填写说明" sheet of the template: one line per column."""
    enum_help = {path: "、".join(labels.values()) for path, labels in _ENUMS.items()}
    notes = {
        "external_id": _(
            "必填。本地系统中的唯一编号；再次导入同一编号会更新或保持不变。"
        ),
        "title": _("必填，公开显示。不得包含姓名、电话、身份证号、详细地址。"),
        "description": _("必填，公开显示。同样不得包含个人信息。"),
        "region_code": _("必填，6位县级行政区划代码，例如 220102。"),
        "household_size": _("1 到 30 的整数。"),
        "gov_assistance": _("「类型:每月金额(元)」，多项用；分隔；没有填 无。"),
        "amount": _("必填，单位元，最多两位小数。"),
        "deadline": _("格式 2027-06-30，不早于今天。"),
        "household.id_number": _("必填，18位，校验码须正确。"),
        "household.region_code": _("9位或12位，以区县代码开头；可不填。"),
        "household.notes": _("经办人备注，只有民政审核员可见。"),
        "household.consent_share_contact": _("是 或 否；填是须同时填写电话。"),
    }
    lines = [[_("列名"), _("字段（API）"), _("说明")]]
    for path, header, _example in COLUMNS:
        text = notes.get(path, "")
        if path in enum_help:
            text = _("可填：%(v)s（或 API 代码）。", v=enum_help[path])
        lines.append([header, path, text])
    return lines


def template_rows() -> list[list[str]]:
    """The header line and one example line of the import template."""
    return [[h for _p, h, _e in COLUMNS], [e for _p, _h, e in COLUMNS]]


def row_to_file_cells(data: dict[str, Any]) -> list[str]:
    """The inverse of ``convert_row`` (API-shaped need → template cells)."""
    household = data.get("household") or {}
    cells: list[str] = []
    for path, _h, _e in COLUMNS:
        if path.startswith("household."):
            value = household.get(path.removeprefix("household."), "")
        else:
            value = data.get(path, "")
        if path == "amount" and isinstance(value, int):
            value = fen_to_yuan_str(value)
        elif path == "gov_assistance":
            value = "；".join(
                f"{ASSISTANCE_LABELS.get(a['type'], a['type'])}:"
                f"{fen_to_yuan_str(a['monthly_amount'])}"
                for a in value or []
            )
        elif isinstance(value, bool):
            value = "是" if value else "否"
        elif path in _ENUMS and value:
            value = {str(k): v for k, v in _ENUMS[path].items()}.get(value, value)
        cells.append("" if value is None else str(value))
    return cells
