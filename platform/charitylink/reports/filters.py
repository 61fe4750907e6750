"""Reading the dashboard's filters from a query string, with a clear Chinese
message for each bad value (rule 8, docs/product.md: bad input never yields a 500)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from charitylink.core.i18n import _
from charitylink.core.timeutil import InvalidDate, parse_day
from charitylink.regions import services as regions
from charitylink.reports.queries import LEVEL_LENGTH, Filters

__all__ = ["Filters", "parse"]


def _date(raw: str, label: str, errors: dict[str, str], key: str) -> date | None:
    try:
        return parse_day(raw, label)
    except InvalidDate as exc:
        errors[key] = str(exc)
        return None


def parse(args: Mapping[str, Any], scope: str | None) -> tuple[Filters, dict[str, str]]:
    """``scope`` is the user's region prefix (None: everywhere). ``region`` may
    narrow it to a sub-prefix; it can never widen it."""
    errors: dict[str, str] = {}
    date_from = _date(str(args.get("from", "")), _("开始日期"), errors, "from")
    date_to = _date(str(args.get("to", "")), _("结束日期"), errors, "to")
    if date_from and date_to and date_to < date_from:
        errors["to"] = _("结束日期不能早于开始日期。")
    level = str(args.get("level", "") or "").strip()
    if not level:
        level = _default_level(scope)
    elif level not in LEVEL_LENGTH:
        errors["level"] = _(
            "统计层级应为 province（省）、city（市）或 county（区县）。"
        )
        level = _default_level(scope)
    prefix = scope
    region = str(args.get("region", "") or "").strip()
    if region:
        code = regions.prefix_of(region) if len(region) == 6 else region
        if not code.isdigit() or len(code) not in (2, 4, 6):
            errors["region"] = _("地区应为行政区划代码，例如 2201 或 220102。")
        elif scope and not code.startswith(scope):
            errors["region"] = _("所选地区不在您负责的行政区划（%(p)s）内。", p=scope)
        elif not regions.exists(code.ljust(6, "0")):
            errors["region"] = _("找不到行政区划代码 %(c)s。", c=region[:12])
        else:
            prefix = code
    return Filters(prefix, date_from, date_to, level), errors


def _default_level(scope: str | None) -> str:
    if not scope:
        return "province"
    return "city" if len(scope) == 2 else "county"
