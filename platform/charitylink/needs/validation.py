"""Checking a need's input (both halves), shared by the form, the API and import.

``clean_need_input`` takes the API's field names (amounts already in fen) and
returns clean values or raises ``ValidationFailed`` whose ``fields`` names every
bad field (``household.id_number``, ``gov_assistance.0.monthly_amount`` ...).
Messages never repeat private values in full.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from charitylink.core import text_guard
from charitylink.core.i18n import _
from charitylink.core.identifiers import (
    InvalidIdentifier,
    age_band,
    birth_date_from_id,
    validate_id_number,
    validate_phone,
)
from charitylink.core.money import InvalidAmount, validate_fen
from charitylink.core.timeutil import InvalidDate, parse_day, today
from charitylink.errors import ValidationFailed, gather
from charitylink.needs.models import AssistanceType, Category, NeedType, Urgency
from charitylink.regions import services as regions

MAX_TITLE = 120
MAX_DESCRIPTION = 5000
MAX_ITEMS = 30
MAX_ASSISTANCE = 10
_TOWNSHIP = re.compile(r"\d{9}|\d{12}")


@dataclass
class CleanNeed:
    public: dict[str, Any] = field(default_factory=dict)
    household: dict[str, Any] = field(default_factory=dict)


def _text(
    data: dict[str, Any],
    key: str,
    errors: dict[str, str],
    name: str,
    *,
    required: bool = False,
    max_len: int = 200,
    prefix: str = "",
) -> str:
    value = data.get(key)
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[prefix + key] = _("%(name)s必须是文本。", name=name)
        return ""
    value = value.strip()
    if required and not value:
        errors[prefix + key] = _("请填写%(name)s。", name=name)
    elif len(value) > max_len:
        errors[prefix + key] = _(
            "%(name)s最多 %(n)s 个字符（当前 %(m)s 个）。",
            name=name,
            n=max_len,
            m=len(value),
        )
    return value


def _choice(
    data: dict[str, Any],
    key: str,
    enum_cls: type[enum.Enum],
    errors: dict[str, str],
    name: str,
    default: str | None = None,
) -> str:
    value = data.get(key)
    if value in (None, "") and default is not None:
        return default
    allowed = [m.value for m in enum_cls]
    if value not in allowed:
        errors[key] = _(
            "%(name)s无效，应为以下之一：%(allowed)s。",
            name=name,
            allowed=", ".join(allowed),
        )
        return default or ""
    return str(value)


def _int(
    value: Any, errors: dict[str, str], key: str, name: str, lo: int, hi: int
) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        errors[key] = _(
            "%(name)s应为 %(lo)s 到 %(hi)s 的整数。", name=name, lo=lo, hi=hi
        )
        return lo
    return value


def _date(value: Any, errors: dict[str, str], key: str, name: str) -> date | None:
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        errors[key] = _("%(name)s格式应为 YYYY-MM-DD。", name=name)
        return None
    try:
        return parse_day(value, name)
    except InvalidDate as exc:
        errors[key] = str(exc)
        return None


def guard_public_text(
    title: str,
    description: str,
    items: list[dict[str, Any]] | None,
    household_name: str,
    external_id: str | None = None,
) -> None:
    """Rule 5: refuse personal data in a need's public text (on every save).

    Title, description and item names are scanned together, so a number split
    between two of them is still one number.

    ``external_id`` is not public, but it travels further than the private half
    (import files, previews, the monitoring platform) and an operator once filled
    it with a household's ID number: it gets the same scan, on its own.
    """
    fields = [("title", _("标题"), title), ("description", _("描述"), description)]
    for i, item in enumerate(items or []):
        fields.append((f"items.{i}.name", _("物品"), str(item.get("name", ""))))
    names = [household_name] if household_name else []
    errors = text_guard.scan_fields(fields, household_names=names)
    if external_id:
        found = text_guard.scan_fields(
            [("external_id", _("外部编号"), external_id)], household_names=names
        )
        if found:
            errors["external_id"] = found["external_id"] + _(
                "外部编号只填监测平台的编号，不能填身份证号、电话等个人信息。"
            )
    if set(errors) == {"external_id"}:
        raise ValidationFailed(_("外部编号包含个人信息，请修改后再保存。"), errors)
    if errors:
        raise ValidationFailed(_("公开内容包含个人信息，请修改后再保存。"), errors)


def _household(raw: Any, county: str, errors: dict[str, str]) -> dict[str, Any]:  # noqa: C901 — one check per field of the private half, all reported together
    if not isinstance(raw, dict):
        errors["household"] = _("请填写家庭信息（household 对象）。")
        return {}
    p = "household."
    hh: dict[str, Any] = {
        "name": _text(
            raw, "name", errors, _("姓名"), required=True, max_len=40, prefix=p
        ),
        "address": _text(raw, "address", errors, _("地址"), max_len=200, prefix=p),
        "notes": _text(raw, "notes", errors, _("备注"), max_len=2000, prefix=p),
    }
    id_raw = raw.get("id_number")
    try:
        if not isinstance(id_raw, str):
            raise InvalidIdentifier(_("请输入身份证号码"))
        hh["id_number"] = validate_id_number(id_raw, today=today())
    except InvalidIdentifier as exc:
        errors[p + "id_number"] = str(exc)
        hh["id_number"] = ""
    phone_raw = raw.get("phone")
    hh["phone"] = ""
    if phone_raw not in (None, ""):
        try:
            if not isinstance(phone_raw, str):
                raise InvalidIdentifier(_("电话号码必须是文本"))
            hh["phone"] = validate_phone(phone_raw)
        except InvalidIdentifier as exc:
            errors[p + "phone"] = str(exc)
    township = raw.get("region_code")
    hh["region_code"] = ""
    if township not in (None, ""):
        township = str(township).strip()
        if county and not (
            township == county
            or (_TOWNSHIP.fullmatch(township) and township.startswith(county))
        ):
            errors[p + "region_code"] = _(
                "乡镇（街道）代码应为以县级代码 %(c)s 开头的9位或12位数字。", c=county
            )
        else:
            hh["region_code"] = township
    consent = raw.get("consent_share_contact", False)
    if not isinstance(consent, bool):
        errors[p + "consent_share_contact"] = _(
            "consent_share_contact 应为 true 或 false。"
        )
        consent = False
    hh["consent_share_contact"] = consent
    if consent and not hh["phone"] and p + "phone" not in errors:
        errors[p + "phone"] = _("家庭同意提供联系方式时，请填写联系电话。")
    return hh


def _assistance(raw: Any, errors: dict[str, str]) -> list[dict[str, Any]]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list) or len(raw) > MAX_ASSISTANCE:
        errors["gov_assistance"] = _(
            "已获政府救助应为列表（最多 %(n)s 项）。", n=MAX_ASSISTANCE
        )
        return []
    allowed = [m.value for m in AssistanceType]
    out = []
    for i, row in enumerate(raw):
        key = f"gov_assistance.{i}"
        if not isinstance(row, dict):
            errors[key] = _("每项应包含 type 与 monthly_amount。")
            continue
        if row.get("type") not in allowed:
            errors[key + ".type"] = _(
                "救助类型无效，应为以下之一：%(a)s。", a=", ".join(allowed)
            )
            continue
        try:
            amount = validate_fen(row.get("monthly_amount", 0), allow_zero=True)
        except InvalidAmount as exc:
            errors[key + ".monthly_amount"] = str(exc)
            continue
        out.append({"type": row["type"], "monthly_amount": amount})
    return out


def _items(raw: Any, errors: dict[str, str]) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw or len(raw) > MAX_ITEMS:
        errors["items"] = _("实物需求请列出物品清单（1 到 %(n)s 项）。", n=MAX_ITEMS)
        return []
    out = []
    for i, row in enumerate(raw):
        key = f"items.{i}"
        if not isinstance(row, dict):
            errors[key] = _("每项应包含 name 与 quantity。")
            continue
        name = row.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 60:
            errors[key + ".name"] = _("物品名称应为 1 到 60 个字符。")
            continue
        qty = _int(
            row.get("quantity", 1), errors, key + ".quantity", _("数量"), 1, 100000
        )
        out.append({"name": name.strip(), "quantity": qty})
    return out


def clean_need_input(data: dict[str, Any]) -> CleanNeed:
    """Validate a whole need (API names, amounts in fen); raise on any error."""
    errors: dict[str, str] = {}
    pub: dict[str, Any] = {}
    external_id = data.get("external_id")
    if external_id in (None, ""):
        pub["external_id"] = None
    else:
        pub["external_id"] = _text(
            data, "external_id", errors, _("外部编号"), max_len=64
        )
    pub["title"] = _text(
        data, "title", errors, _("标题"), required=True, max_len=MAX_TITLE
    )
    pub["description"] = _text(
        data, "description", errors, _("描述"), required=True, max_len=MAX_DESCRIPTION
    )
    pub["category"] = _choice(data, "category", Category, errors, _("家庭类别"))
    pub["need_type"] = _choice(data, "need_type", NeedType, errors, _("需求类型"))
    pub["urgency"] = _choice(
        data, "urgency", Urgency, errors, _("紧急程度"), default=Urgency.NORMAL.value
    )
    county = data.get("region_code")
    if not isinstance(county, str) or not regions.exists(county.strip()):
        errors["region_code"] = _("请选择有效的县级行政区划代码（6位）。")
        county = ""
    elif not regions.is_claimable_level(county.strip()):
        errors["region_code"] = _(
            "需求应登记到县（市、区）一级，「%(n)s」不是县级区划。",
            n=regions.region_name(county.strip()),
        )
        county = ""
    pub["region_code"] = county.strip()
    pub["household_size"] = _int(
        data.get("household_size"), errors, "household_size", _("家庭人口"), 1, 30
    )
    pub["gov_assistance"] = _assistance(data.get("gov_assistance"), errors)
    try:
        pub["amount_fen"] = validate_fen(data.get("amount"))
    except InvalidAmount as exc:
        errors["amount"] = str(exc)
    in_kind = data.get("in_kind", False)
    if not isinstance(in_kind, bool):
        errors["in_kind"] = _("in_kind 应为 true 或 false。")
        in_kind = False
    pub["in_kind"] = in_kind
    pub["items"] = _items(data.get("items"), errors) if in_kind else None
    deadline = _date(data.get("deadline"), errors, "deadline", _("截止日期"))
    if deadline is not None and deadline < today():
        errors["deadline"] = _("截止日期不能早于今天。")
    pub["deadline_on"] = deadline
    household = _household(data.get("household"), pub["region_code"], errors)
    if household.get("id_number"):
        pub["age_band"] = age_band(birth_date_from_id(household["id_number"]), today())
    # The privacy scan is part of the same round: one answer names every field
    # to fix, a bad amount and a phone number in the description alike.
    gather(
        errors,
        lambda: guard_public_text(
            pub["title"],
            pub["description"],
            pub["items"],
            household.get("name", ""),
            external_id=pub["external_id"],
        ),
    )
    if errors:
        raise ValidationFailed(_("需求信息有误，请检查标出的字段。"), errors)
    return CleanNeed(public=pub, household=household)
