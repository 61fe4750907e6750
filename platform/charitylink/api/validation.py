"""Request bodies checked against the schema the API document publishes.

The document is generated from the marshmallow schemas (``api/__init__.py``),
and this module checks every body against the JSON Schema the document gives
for its operation (by the ``jsonschema`` library) before an endpoint reads it.
So a limit declared in a schema is the limit documented and the limit
enforced, and a body the document calls invalid is refused with a 422 that
names each bad field in Chinese (the field's ``title``).

The services still check what no schema can say (a fund of the caller's org, a
deadline not in the past, the privacy scan); the schemas mark those fields with
``x-depends-on`` or ``x-refers-to``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

from flask import current_app
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from charitylink.core.i18n import N_, _, list_separator
from charitylink.core.money import (
    MAX_AMOUNT_FEN,
    MSG_NEGATIVE,
    MSG_NOT_INT_FEN,
    MSG_POSITIVE,
    MSG_TOO_LARGE,
)
from charitylink.errors import ValidationFailed, gather


def _format_problem(fmt: str, value: Any) -> str | None:
    """What the platform's own validator for ``fmt`` says about ``value``: more
    precise than "does not match the pattern" ("长度应为18位，当前为16位")."""
    from charitylink.accounts.services import validate_email
    from charitylink.core import identifiers
    from charitylink.core.timeutil import today

    checks = {
        "cn-id-number": lambda v: identifiers.validate_id_number(v, today=today()),
        "uscc": identifiers.validate_uscc,
        "cn-phone": identifiers.validate_phone,
        "email": validate_email,
    }
    if fmt not in checks or not isinstance(value, str):
        return None
    try:
        checks[fmt](value)
    except (identifiers.InvalidIdentifier, ValidationFailed) as exc:
        return str(exc)
    return None


_TYPE_NAMES = {
    "string": N_("文本"),
    "integer": N_("整数"),
    "number": N_("数字"),
    "boolean": N_("true 或 false"),
    "object": N_("对象"),
    "array": N_("数组"),
    "null": "null",
}


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A validator of ``schema`` (an operation's request body in the document,
    whose ``$ref``s point into the document's components), made once per app."""
    from charitylink.api import document

    made = current_app.extensions.setdefault("charitylink.api.validators", {})
    key = json.dumps(schema, sort_keys=True)
    if key not in made:
        components = {"schemas": document()["components"]["schemas"]}
        made[key] = Draft202012Validator({**schema, "components": components})
    return cast(Draft202012Validator, made[key])


def _field(error: ValidationError, root: dict[str, Any]) -> tuple[str, str]:
    """The bad field as the API names it (``household.phone``) and as a person
    reads it (the schema's ``title``: 联系电话; an array's item: 需求类型第 2 项)."""
    path: list[Any] = list(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "required":
        # "'name' is a required property": the missing property's own name.
        missing = error.message.split("'")[1] if "'" in error.message else ""
        path.append(missing)
        schema = (schema.get("properties") or {}).get(missing) or {}
    field = ".".join(map(str, path)) or "body"
    # The schema's Chinese title, in the request's language where the catalogue
    # has it (most match a form label).
    label = _(schema["title"]) if schema.get("title") else None
    if not label and path and isinstance(path[-1], int):
        owner = _schema_at(root, path[:-1]).get("title")
        if owner:
            owner = _(owner)
            label = _("%(f)s第 %(n)s 项", f=owner, n=path[-1] + 1)
    return field, label or field


def _schema_at(root: dict[str, Any], path: list[Any]) -> dict[str, Any]:
    """The schema that describes ``path`` in a body of ``root``'s kind."""
    schemas = root["components"]["schemas"]
    node: Any = root
    for step in [None, *path]:
        while isinstance(node, dict) and "$ref" in node:
            node = schemas[node["$ref"].rsplit("/", 1)[-1]]
        if step is None:
            continue
        if not isinstance(node, dict):
            return {}
        node = (
            node.get("items")
            if isinstance(step, int)
            else (node.get("properties") or {}).get(step)
        )
    while isinstance(node, dict) and "$ref" in node:
        node = schemas[node["$ref"].rsplit("/", 1)[-1]]
    return node if isinstance(node, dict) else {}


def _message(error: ValidationError, label: str) -> str:
    """The Chinese message for one broken rule of the field called ``label``."""
    # Both are set on every error a validator reports (unset only on one made by hand).
    rule, value = cast(str, error.validator), cast(Any, error.validator_value)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if rule in ("required", "minLength") and (rule == "required" or value <= 1):
        return _("请填写%(f)s。", f=label)
    if schema.get("maximum") == MAX_AMOUNT_FEN and rule in _MONEY:
        return _("%(f)s：%(m)s", f=label, m=_(_MONEY[rule](value)))
    if "enum" in schema and rule in ("enum", "type"):
        shown = list_separator().join(
            "null" if v is None else str(v) for v in schema["enum"]
        )
        return _("%(f)s只能是：%(v)s。", f=label, v=shown)
    if rule == "pattern":
        return _pattern_message(error, schema, label)
    if rule in ("minimum", "maximum") and {"minimum", "maximum"} <= set(schema):
        low, high = schema["minimum"], schema["maximum"]
        return _("%(f)s应为 %(a)s 到 %(b)s 的整数。", f=label, a=low, b=high)
    if rule == "type":
        kinds = value if isinstance(value, list) else [value]
        value = _("或").join(_(_TYPE_NAMES.get(k, str(k))) for k in kinds)
    simple = _SIMPLE.get(rule)
    if simple is None:
        return _("%(f)s不符合接口文档的要求。", f=label)
    return _(simple, f=label, n=value)


# An amount in fen: the money module's own words for each broken bound.
_MONEY: dict[str, Callable[[Any], str]] = {
    "type": lambda _v: MSG_NOT_INT_FEN,
    "maximum": lambda _v: MSG_TOO_LARGE,
    "minimum": lambda v: MSG_POSITIVE if v > 0 else MSG_NEGATIVE,
}

# One message per rule (``%(f)s`` the field's name, ``%(n)s`` the rule's value).
_SIMPLE = {
    "type": N_("%(f)s应为%(n)s。"),
    "minLength": N_("%(f)s至少 %(n)s 个字符。"),
    "maxLength": N_("%(f)s最多 %(n)s 个字符。"),
    "minimum": N_("%(f)s不能小于 %(n)s。"),
    "maximum": N_("%(f)s不能大于 %(n)s。"),
    "minItems": N_("%(f)s至少要有 %(n)s 项。"),
    "maxItems": N_("%(f)s最多 %(n)s 项。"),
    "oneOf": N_("请求体的结构不符合接口文档，请对照 /api/v1/docs。"),
}


def _pattern_message(error: ValidationError, schema: dict[str, Any], label: str) -> str:
    if error.validator_value == r"\S":  # "not blank"
        return _("请填写%(f)s。", f=label)
    problem = _format_problem(schema.get("format", ""), error.instance)
    if problem:
        return problem
    hint = schema.get("description")
    if hint:
        return _("%(f)s格式不正确：%(h)s。", f=label, h=hint)
    return _("%(f)s格式不正确。", f=label)


def _specific(error: ValidationError) -> ValidationError:
    """For a body matching none of ``oneOf``'s shapes, the error of the shape
    that came closest (an array of rows that is too long, not "no shape")."""
    while error.validator == "oneOf" and error.context:
        # The shape of the body's own kind (an array, or an object), not one
        # whose only complaint is the body's type.
        fitting = [
            e
            for e in error.context
            if not any(
                o.validator == "type" and not o.path
                for o in error.context
                if o.schema_path[0] == e.schema_path[0]
            )
        ]
        error = best_match(fitting or error.context)
    return error


def check(
    schema: dict[str, Any], body: Any, also: Callable[[Any], object] | None = None
) -> None:
    """Refuse ``body`` with one 422 naming every bad field, or return.

    ``also`` is the service's own check of the same body (pure: it writes
    nothing and raises ``ValidationFailed``). When the schema finds a problem,
    its findings are added for the other fields, so a caller is told of every
    bad field in one answer, not of the schema's first and then the rest."""
    fields: dict[str, str] = {}
    errors = sorted(
        (_specific(e) for e in _validator(schema).iter_errors(body)),
        key=lambda e: list(map(str, e.path)),
    )
    for error in errors:
        field, label = _field(error, cast(dict[str, Any], _validator(schema).schema))
        fields.setdefault(field, _message(error, label))
    if fields and also is not None:
        gather(fields, lambda: also(body))
    if len(fields) == 1:
        raise ValidationFailed(next(iter(fields.values())), fields)
    if fields:
        raise ValidationFailed(_("提交的数据有误，请检查标出的字段。"), fields)
