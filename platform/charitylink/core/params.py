"""Query parameters of the API, declared once: each declaration both checks a
request's value and writes the parameter into the OpenAPI document, so the
document states exactly the patterns, bounds and values the code accepts.

The API is strict where the pages are lenient: a value the declaration does not
allow (an unknown status, ``region=abc``, ``page=0``, an empty value, spaces
around a number) is a 422 naming the parameter, never silently dropped, so an
integrator learns of a typo at once. Patterns use ``[0-9]``, not ``\\d`` (which
in Python also matches Arabic-Indic and other digits), and are matched whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from charitylink.core.i18n import N_, _, list_separator

BOOLEAN_VALUES = {"true": True, "false": False}


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    kind: str = "string"  # string, integer or boolean
    enum: tuple[str, ...] | None = None
    pattern: str | None = None
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    default: Any = None
    # Documentation only: the form a value takes (``date-time``) and one value
    # that is accepted; the endpoint checks the form itself.
    format: str | None = None
    example: str | None = None

    def openapi(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": self.kind}
        if self.format is not None:
            schema["format"] = self.format
        if self.example is not None:
            schema["examples"] = [self.example]
        if self.enum is not None:
            schema["enum"] = list(self.enum)
        if self.pattern is not None:
            schema["pattern"] = self.pattern
        if self.kind == "string" and self.enum is None:
            schema["minLength"] = 1
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if self.default is not None:
            schema["default"] = self.default
        return {
            "name": self.name,
            "in": "query",
            "required": False,
            "description": self.description,
            "schema": schema,
        }

    def check(self, raw: str) -> tuple[Any, str | None]:
        """The value, or None and a message saying what is allowed."""
        if self.kind == "boolean":
            return self._boolean(raw)
        if self.kind == "integer":
            return self._integer(raw)
        if self.enum is not None:
            if raw in self.enum:
                return raw, None
            return None, _(
                "%(n)s 只能是：%(v)s。", n=self.name, v=list_separator().join(self.enum)
            )
        return self._text(raw)

    def _boolean(self, raw: str) -> tuple[Any, str | None]:
        if raw in BOOLEAN_VALUES:
            return BOOLEAN_VALUES[raw], None
        return None, _("%(n)s 只能是 true 或 false。", n=self.name)

    def _integer(self, raw: str) -> tuple[Any, str | None]:
        low = self.minimum if self.minimum is not None else 0
        high = self.maximum
        if re.fullmatch(r"-?[0-9]{1,19}", raw):
            value = int(raw)
            if value >= low and (high is None or value <= high):
                return value, None
        if high is None:
            return None, _("%(n)s 应为不小于 %(a)d 的整数。", n=self.name, a=low)
        return None, _(
            "%(n)s 应为 %(a)d 到 %(b)d 之间的整数。", n=self.name, a=low, b=high
        )

    def _text(self, raw: str) -> tuple[Any, str | None]:
        if not raw:
            return None, _("%(n)s 不能为空；不筛选时请省略这个参数。", n=self.name)
        if self.max_length is not None and len(raw) > self.max_length:
            return None, _(
                "%(n)s 不能超过 %(m)d 个字符。", n=self.name, m=self.max_length
            )
        if self.pattern is not None and not re.fullmatch(self.pattern[1:-1], raw):
            return None, _("%(n)s 的格式不正确：%(d)s", n=self.name, d=self.description)
        return raw, None


def parse(params: Sequence[Param], args: Mapping[str, Any]) -> dict[str, Any]:
    """The declared parameters' values (defaults where absent). Every bad value
    is collected and the request refused with one 422 naming each of them.
    Parameters not declared are ignored (a cache-busting ``_=…`` harms no one)."""
    from charitylink.errors import ValidationFailed

    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for param in params:
        raw = args.get(param.name)
        if raw is None:
            values[param.name] = param.default
            continue
        value, error = param.check(raw)
        if error:
            errors[param.name] = error
        values[param.name] = value
    if errors:
        raise ValidationFailed(_("查询参数有误，请检查标出的参数。"), errors)
    return values


def region_prefix(description: str, low: int = 2, high: int = 12) -> Param:
    return Param(
        "region",
        description,
        pattern=f"^[0-9]{{{low},{high}}}$",
        max_length=high,
    )


def paging(default_per_page: int = 20, max_page: int = 100_000) -> list[Param]:
    return [
        Param(
            "page",
            f"页码，从 1 开始（最大 {max_page}）",
            kind="integer",
            minimum=1,
            maximum=max_page,
            default=1,
        ),
        Param(
            "per_page",
            N_("每页条数（1–100）"),
            kind="integer",
            minimum=1,
            maximum=100,
            default=default_per_page,
        ),
    ]


def enum_values(cls: Any) -> tuple[str, ...]:
    return tuple(m.value for m in cls)
