"""An org's offers as a spreadsheet (CSV or XLSX): export, and import of new
offers.

The file is read by the needs import's own readers (``needs.import_files``:
the same encoding detection, the same XLSX checks against archive bombs and
entity tricks, the same column limit), so an offers file is held to exactly
the rules of a needs file. Every row is checked by the offers service before
anything is saved; one bad row and nothing is imported, each bad row named
with its line number and field.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from charitylink.accounts.models import User
from charitylink.core import audit
from charitylink.core.i18n import _
from charitylink.core.money import InvalidAmount, parse_yuan
from charitylink.errors import ValidationFailed
from charitylink.extensions import db
from charitylink.needs import import_files
from charitylink.needs.models import NEED_TYPE_LABELS
from charitylink.offers import services
from charitylink.offers.models import OFFER_KIND_LABELS, OFFER_STATUS_LABELS, Offer
from charitylink.orgs.models import Organization

MAX_ROWS = 500

# (service field, Chinese header) in file order; the export adds 状态.
COLUMNS: list[tuple[str, str]] = [
    ("title", "供给名称"),
    ("kind", "类别"),
    ("description", "说明"),
    ("need_types", "需求类型"),
    ("region_prefix", "服务地区代码"),
    ("unit", "计量单位"),
    ("capacity_per_month", "每月可提供数量"),
    ("unit_value", "每单位估值(元)"),
    ("start_on", "开始日期"),
    ("end_on", "结束日期"),
]
REQUIRED = ("title", "kind", "need_types", "region_prefix", "unit")
_SEPARATORS = ("、", ",", "，", ";", "；", " ")


def header() -> list[str]:
    return [h for _k, h in COLUMNS] + ["状态"]


def _label(labels: dict[Any, str], value: Any) -> str:
    for key, label in labels.items():
        if str(key) == str(value):
            return _(label)
    return str(value)


def export_rows(org_id: int) -> Iterator[list[Any]]:
    offers = db.session.scalars(
        db.select(Offer).where(Offer.org_id == org_id).order_by(Offer.id)
    )
    for o in offers:
        yield [
            o.title,
            _label(OFFER_KIND_LABELS, o.kind),
            o.description,
            "、".join(_label(NEED_TYPE_LABELS, t) for t in o.need_types or []),
            o.region_prefix,
            o.unit,
            o.capacity_per_month,
            f"{o.unit_value_fen / 100:.2f}",
            o.start_on,
            o.end_on,
            _label(OFFER_STATUS_LABELS, o.status),
        ]


def _code(text: str, labels: dict[Any, str]) -> str:
    """A label (物资, 养老服务) or the API word itself → the API word."""
    for key, label in labels.items():
        if text in (str(key), label, _(label)):
            return str(key)
    return text


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def convert(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """One line of the file → the service's input, and the line's own
    conversion errors (an amount that is not one)."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {}
    for key, _h in COLUMNS:
        text = _text(raw.get(key))
        if key == "kind":
            data[key] = _code(text, OFFER_KIND_LABELS)
        elif key == "need_types":
            for sep in _SEPARATORS[1:]:
                text = text.replace(sep, _SEPARATORS[0])
            data[key] = [
                _code(t.strip(), NEED_TYPE_LABELS)
                for t in text.split(_SEPARATORS[0])
                if t.strip()
            ]
        elif key == "unit_value":
            try:
                data[key] = parse_yuan(text, allow_zero=True)
            except InvalidAmount as exc:
                errors[key] = _("每单位估值：%(msg)s", msg=str(exc))
        else:
            data[key] = text or None
    return data, errors


def _lines(raw: bytes, filename: str) -> Iterator[Sequence[Any]]:
    is_xlsx = raw[:4] == b"PK\x03\x04" or filename.lower().endswith(".xlsx")
    if is_xlsx:
        return import_files._xlsx_lines(raw)
    return import_files._csv_lines(raw)


def parse(
    raw: bytes, filename: str
) -> list[tuple[int, dict[str, Any], dict[str, str]]]:
    """The file's data lines as ``(line number, data, errors)``; raises
    ImportFileError for a file that cannot be read or lacks a column."""
    by_header = {h: k for k, h in COLUMNS}
    lines = enumerate(_lines(raw, filename), start=1)
    head = next((line for _n, line in lines if not import_files._blank(line)), None)
    if head is None:
        raise import_files.ImportFileError(_("文件是空的。"))
    columns = [by_header.get(_text(c)) for c in head]
    missing = [h for k, h in COLUMNS if k in REQUIRED and k not in columns]
    if missing:
        raise import_files.ImportFileError(
            _("缺少必需的列：%(c)s。请使用导出的文件作模板。", c="、".join(missing))
        )
    out: list[tuple[int, dict[str, Any], dict[str, str]]] = []
    for number, line in lines:
        if import_files._blank(line):
            continue
        if len(out) >= MAX_ROWS:
            raise import_files.ImportFileError(
                _("一次最多导入 %(n)s 行，请拆分文件后分批导入。", n=MAX_ROWS)
            )
        raw_row = {
            key: line[i] if i < len(line) else None
            for i, key in enumerate(columns)
            if key is not None
        }
        data, errors = convert(raw_row)
        out.append((number, data, errors))
    return out


def import_offers(
    org: Organization,
    actor: User,
    rows: list[tuple[int, dict[str, Any], dict[str, str]]],
) -> list[Offer]:
    """Create one offer per row, or none: every row is checked first and all
    problems are raised together, keyed ``第N行·field``."""
    from charitylink.core.permissions import require_org_can_act

    require_org_can_act(actor, org.id)
    problems: dict[str, str] = {}
    for number, data, errors in rows:
        found = dict(errors)
        try:
            services.clean_fields(org, data)
        except ValidationFailed as exc:
            for k, v in exc.fields.items():
                found.setdefault(k, v)
        for field, message in found.items():
            problems[_("第%(n)s行 · %(f)s", n=number, f=field)] = message
    if problems:
        raise ValidationFailed(
            _("有 %(n)s 处错误，没有导入任何供给。请修改后重新上传。", n=len(problems)),
            problems,
        )
    created = [services.create_offer(org, actor, data) for _n, data, _e in rows]
    audit.record(
        actor,
        "offer.import",
        org,
        reason=_("导入 %(n)s 项供给", n=len(created)),
        region_code=org.region_code,
        org_id=org.id,
    )
    return created
