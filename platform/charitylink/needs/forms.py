"""The moderator's need form. Amounts are typed in yuan; the service checks the rest.

The form does little validation of its own: it turns what was typed into the
input the API also sends, so the service's messages (keyed by the API's
field names) are mapped back onto these fields by :func:`field_for`.
"""

from __future__ import annotations

import re
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField

from charitylink.core.i18n import _, _l
from charitylink.core.money import InvalidAmount, fen_to_yuan_str, parse_yuan
from charitylink.needs.models import (
    ASSISTANCE_LABELS,
    CATEGORY_LABELS,
    NEED_TYPE_LABELS,
    URGENCY_LABELS,
    Urgency,
)

ASSISTANCE_ROWS = 3
_ITEM_LINE = re.compile(r"^(.*?)(?:\s*[×xX*，,\s]\s*(\d+))?\s*$")


class NeedForm(FlaskForm):
    external_id = StringField(_l("外部编号（可选，监测平台编号）"))
    title = StringField(_l("标题（公开）"))
    description = TextAreaField(_l("需求描述（公开）"))
    category = SelectField(
        _l("家庭类别"),
        choices=[(k.value, _l(v)) for k, v in CATEGORY_LABELS.items()],
        validate_choice=False,
    )
    need_type = SelectField(
        _l("需求类型"),
        choices=[(k.value, _l(v)) for k, v in NEED_TYPE_LABELS.items()],
        validate_choice=False,
    )
    region_code = SelectField(_l("所在县（市、区）"), choices=[], validate_choice=False)
    household_size = StringField(_l("家庭人口"))
    amount = StringField(_l("需求金额（元）；实物需求填估算价值"))
    in_kind = BooleanField(_l("实物需求"))
    items = TextAreaField(_l("物品清单（实物需求，每行一项：名称×数量）"))
    urgency = SelectField(
        _l("紧急程度"),
        choices=[(k.value, _l(v)) for k, v in URGENCY_LABELS.items()],
        default=Urgency.NORMAL.value,
        validate_choice=False,
    )
    deadline = StringField(_l("截止日期"), render_kw={"type": "date"})

    household_name = StringField(_l("姓名"))
    household_id_number = StringField(_l("身份证号码"))
    household_phone = StringField(_l("联系电话"))
    household_address = StringField(_l("住址"))
    household_region_code = StringField(_l("乡镇（街道）/村代码（9 或 12 位，可选）"))
    household_notes = TextAreaField(_l("工作人员备注（不公开）"))
    consent_share_contact = BooleanField(
        _l("家庭已书面同意向认领机构提供联系人姓名和电话")
    )


_assistance_choices = [("", "—")] + [
    (k.value, _l(v)) for k, v in ASSISTANCE_LABELS.items()
]
for _i in range(ASSISTANCE_ROWS):
    setattr(
        NeedForm,
        f"ga_type_{_i}",
        SelectField(
            _l("已获救助类型"), choices=_assistance_choices, validate_choice=False
        ),
    )
    setattr(NeedForm, f"ga_amount_{_i}", StringField(_l("每月金额（元）")))


def assistance_rows(form: NeedForm) -> list[tuple[Any, Any]]:
    return [
        (getattr(form, f"ga_type_{i}"), getattr(form, f"ga_amount_{i}"))
        for i in range(ASSISTANCE_ROWS)
    ]


def _parse_items(text: str) -> list[dict[str, Any]]:
    items = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        m = _ITEM_LINE.match(line)
        name, qty = (m.group(1), m.group(2)) if m else (line, None)
        items.append({"name": name.strip() or line, "quantity": int(qty or 1)})
    return items


def form_to_input(form: NeedForm) -> tuple[dict[str, Any], dict[str, str]]:
    """The API-shaped input for the service, and errors of yuan amounts typed."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {
        "external_id": form.external_id.data or None,
        "title": form.title.data or "",
        "description": form.description.data or "",
        "category": form.category.data,
        "need_type": form.need_type.data,
        "region_code": form.region_code.data or "",
        "household_size": (form.household_size.data or "").strip(),
        "in_kind": bool(form.in_kind.data),
        "items": _parse_items(form.items.data or ""),
        "urgency": form.urgency.data,
        "deadline": (form.deadline.data or "").strip() or None,
        "household": {
            "name": form.household_name.data or "",
            "id_number": form.household_id_number.data or "",
            "phone": form.household_phone.data or "",
            "address": form.household_address.data or "",
            "region_code": (form.household_region_code.data or "").strip(),
            "notes": form.household_notes.data or "",
            "consent_share_contact": bool(form.consent_share_contact.data),
        },
    }
    try:
        data["amount"] = parse_yuan(form.amount.data)
    except InvalidAmount as exc:
        errors["amount"] = str(exc)
        data["amount"] = None
    assistance = []
    for i, (type_field, amount_field) in enumerate(assistance_rows(form)):
        if not type_field.data:
            continue
        try:
            monthly = parse_yuan(amount_field.data or "0", allow_zero=True)
        except InvalidAmount as exc:
            errors[f"ga_amount_{i}"] = str(exc)
            continue
        assistance.append({"type": type_field.data, "monthly_amount": monthly})
    data["gov_assistance"] = assistance
    return data, errors


def fill_form(form: NeedForm, data: dict[str, Any]) -> None:
    """Prefill the form from API-shaped input (editing a draft)."""
    for key in ("external_id", "title", "description", "category", "need_type"):
        getattr(form, key).data = data.get(key) or ""
    form.region_code.data = data.get("region_code")
    form.household_size.data = str(data.get("household_size") or "")
    form.amount.data = fen_to_yuan_str(data["amount"]) if data.get("amount") else ""
    form.in_kind.data = bool(data.get("in_kind"))
    form.items.data = "\n".join(
        f"{it['name']}×{it.get('quantity', 1)}" for it in data.get("items") or []
    )
    form.urgency.data = data.get("urgency") or Urgency.NORMAL.value
    form.deadline.data = data.get("deadline") or ""
    for i, row in enumerate((data.get("gov_assistance") or [])[:ASSISTANCE_ROWS]):
        getattr(form, f"ga_type_{i}").data = row.get("type")
        getattr(form, f"ga_amount_{i}").data = fen_to_yuan_str(
            int(row.get("monthly_amount") or 0)
        )
    hh = data.get("household") or {}
    for key in ("name", "id_number", "phone", "address", "region_code", "notes"):
        getattr(form, f"household_{key}").data = hh.get(key) or ""
    form.consent_share_contact.data = bool(hh.get("consent_share_contact"))


def field_for(key: str) -> str:
    """The form field that shows a service error keyed by an API field name."""
    if key.startswith("household."):
        sub = key.split(".")[1]
        return (
            "consent_share_contact"
            if sub == "consent_share_contact"
            else (f"household_{sub}")
        )
    if key.startswith("gov_assistance."):
        parts = key.split(".")
        return f"ga_amount_{parts[1]}" if parts[1].isdigit() else "ga_type_0"
    if key.startswith("items"):
        return "items"
    if key == "gov_assistance":
        return "ga_type_0"
    return key


def apply_errors(form: NeedForm, fields: dict[str, str]) -> None:
    for key, message in fields.items():
        name = field_for(key)
        target = getattr(form, name, None) or form.title
        errors = list(target.errors) if isinstance(target.errors, list | tuple) else []
        if message not in errors:
            errors.append(message)
        target.errors = errors


def item_hint() -> str:
    return _("例如：轮椅×1")
