"""The fields the API's schemas are built from.

A schema (marshmallow) is the one description of a payload: ``/api/v1/openapi.json``
is generated from it (apispec, through flask-smorest), a request body is checked
against the JSON Schema generated from it (``api/validation.py``), and an answer is
serialised by it. Each helper below declares a field once: its type, bounds,
pattern, Chinese name (``title``, which the 422 messages use) and, for a rule no
schema can state, the marker ``x-depends-on`` / ``x-refers-to`` naming what the
service checks.

The JSON types are strict, as the published document means them: an integer is
never ``true`` nor ``"12"``, a boolean never ``1`` nor ``"yes"``, and a pattern
is found anywhere in the text (JSON Schema's ``pattern``), not only at its start.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from charitylink.core.i18n import N_
from charitylink.core.money import MAX_AMOUNT_FEN
from charitylink.core.timeutil import InvalidDate, iso_utc, parse_day
from charitylink.errors import ValidationFailed

ID_MAX = 2**31 - 1
DAY_PATTERN = r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
PRIVACY_SCAN = N_("公开显示；不得含个人信息（姓名、身份证号、电话、地址），否则 422")
FEN_TEXT = N_("金额，单位分（整数）")


class Pattern(validate.Regexp):
    """JSON Schema's ``pattern``: matched anywhere in the text (``re.search``);
    marshmallow's ``Regexp`` would anchor it at the start."""

    def __call__(self, value: Any) -> Any:
        if self.regex.search(value) is None:
            raise ValidationError(self._format_error(value))
        return value


# Messages for a value of the wrong JSON type. The 422 a caller reads comes from
# the JSON Schema check (api/validation.py), which runs first and names the
# field; these answer only if marshmallow ever disagreed with it.
_WRONG = {"required": N_("必须填写。"), "null": N_("不能为 null。")}


class Text(fields.String):
    default_error_messages = {**_WRONG, "invalid": N_("应为文本。")}


class Integer(fields.Integer):
    default_error_messages = {**_WRONG, "invalid": N_("应为整数。")}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _validated(self, value: Any) -> int:
        if isinstance(value, bool):  # JSON's true is not the integer 1
            raise self.make_error("invalid", input=value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON's 12.0 is the integer 12 (JSON Schema agrees)
        return super()._validated(value)


class Boolean(fields.Boolean):
    default_error_messages = {**_WRONG, "invalid": N_("应为 true 或 false。")}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class Day(fields.Date):
    """A date written YYYY-MM-DD (dumped from a ``date``)."""


class Timestamp(fields.DateTime):
    """A moment as the API writes every one: RFC 3339 with its UTC offset."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return iso_utc(value) if isinstance(value, datetime) else value


class StrictList(fields.List):
    default_error_messages = {**_WRONG, "invalid": N_("应为数组。")}


class Object(fields.Nested):
    default_error_messages = {**_WRONG, "type": N_("应为对象。")}


def _meta(
    title: str | None,
    description: str | None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = dict(extra or {})
    if title:
        meta["title"] = title
    if description:
        meta["description"] = description
    return meta


def text(
    max_len: int,
    title: str | None = None,
    *,
    filled: bool = False,
    nullable: bool = False,
    required: bool = False,
    min_len: int | None = None,
    pattern: str | None = None,
    description: str | None = None,
    **extra: Any,
) -> Text:
    """A string of at most ``max_len`` characters; ``filled``: not blank."""
    checks: list[Any] = [
        validate.Length(min=min_len or (1 if filled else None), max=max_len)
    ]
    if filled and pattern is None:
        pattern = r"\S"
    if pattern is not None:
        checks.append(Pattern(pattern))
    return Text(
        required=required,
        allow_none=nullable,
        validate=checks,
        metadata=_meta(title, description, extra),
    )


def string(
    title: str | None = None,
    *,
    nullable: bool = False,
    required: bool = False,
    pattern: str | None = None,
    description: str | None = None,
    **extra: Any,
) -> Text:
    """A string whose form a pattern (or nothing) states."""
    checks = [Pattern(pattern)] if pattern else []
    return Text(
        required=required,
        allow_none=nullable,
        validate=checks,
        metadata=_meta(title, description, extra),
    )


def values(members: type[enum.Enum] | Iterable[str]) -> list[str]:
    if isinstance(members, type) and issubclass(members, enum.Enum):
        return [str(m.value) for m in members]
    return [str(m) for m in members]


def choice(
    members: type[enum.Enum] | Iterable[str],
    title: str | None = None,
    *,
    nullable: bool = False,
    required: bool = False,
    description: str | None = None,
    **extra: Any,
) -> Text:
    """One of a fixed set of words (an enum's values)."""
    return Text(
        required=required,
        allow_none=nullable,
        validate=[validate.OneOf(values(members))],
        metadata=_meta(title, description, extra),
    )


def integer(
    title: str | None = None,
    *,
    low: int | None = None,
    high: int | None = None,
    nullable: bool = False,
    required: bool = False,
    description: str | None = None,
    **extra: Any,
) -> Integer:
    checks = [validate.Range(min=low, max=high)] if (low, high) != (None, None) else []
    return Integer(
        required=required,
        allow_none=nullable,
        validate=checks,
        metadata=_meta(title, description, extra),
    )


def money(
    title: str | None = None,
    *,
    low: int = 1,
    nullable: bool = False,
    required: bool = False,
    **extra: Any,
) -> Integer:
    """An amount in fen: 1 (or ``low``) to the platform's maximum."""
    description = extra.pop("description", None)
    text_ = "；".join(filter(None, [description, FEN_TEXT]))
    return integer(
        title,
        low=low,
        high=MAX_AMOUNT_FEN,
        nullable=nullable,
        required=required,
        description=text_,
        **extra,
    )


def fen(description: str = FEN_TEXT, nullable: bool = False) -> Integer:
    """An amount in fen in an answer."""
    return Integer(allow_none=nullable, metadata={"description": description})


def day(
    title: str | None = None,
    *,
    nullable: bool = False,
    required: bool = False,
    description: str | None = None,
    **extra: Any,
) -> Text:
    """A date in a request: YYYY-MM-DD between 2000-01-01 and 2100-12-31 (the
    service reads it; the calendar check is its own)."""
    hint = N_("YYYY-MM-DD，2000-01-01 至 2100-12-31")
    return string(
        title,
        nullable=nullable,
        required=required,
        pattern=DAY_PATTERN,
        description="；".join(filter(None, [description, hint])),
        format="date",
        **extra,
    )


def ref_id(
    target: str,
    title: str,
    description: str,
    *,
    nullable: bool = False,
    required: bool = False,
) -> Integer:
    """The id of another object the caller must be allowed to use (the service
    checks which: ``x-refers-to``)."""
    return integer(
        title,
        low=1,
        high=ID_MAX,
        nullable=nullable,
        required=required,
        description=description,
        **{"x-refers-to": target},
    )


def depends(field: fields.Field, on: str, description: str) -> fields.Field:
    """A rule beyond the schema, checked by the service (a 422 naming the field):
    ``on`` names what it depends on (another field, today's date, the privacy
    scan)."""
    meta = dict(field.metadata)
    meta["x-depends-on"] = on
    meta["description"] = "；".join(
        filter(None, [description, meta.get("description")])
    )
    field.metadata = meta
    return field


def items(
    inner: fields.Field,
    title: str | None = None,
    *,
    min_items: int | None = None,
    max_items: int | None = None,
    nullable: bool = False,
    required: bool = False,
    description: str | None = None,
    **extra: Any,
) -> StrictList:
    checks = (
        [validate.Length(min=min_items, max=max_items)]
        if (min_items, max_items) != (None, None)
        else []
    )
    return StrictList(
        inner,
        required=required,
        allow_none=nullable,
        validate=checks,
        metadata=_meta(title, description, extra),
    )


def nested(
    schema: type[Schema],
    title: str | None = None,
    *,
    nullable: bool = False,
    required: bool = False,
    description: str | None = None,
) -> Object:
    return Object(
        schema,
        required=required,
        allow_none=nullable,
        metadata=_meta(title, description),
    )


class Body(Schema):
    """A request body. Fields it does not know are ignored, as they always were."""

    class Meta:
        unknown = EXCLUDE


class Answer(Schema):
    """A response body (dumped from the objects the services return)."""


def requiring(base: type[Schema], names: Iterable[str], name: str) -> type[Schema]:
    """``base`` with ``names`` required: the body that creates what ``base``
    edits (editing may leave any field out)."""
    import copy

    wanted = set(names)
    declared = {}
    for key, field in base._declared_fields.items():
        field = copy.deepcopy(field)
        if key in wanted:
            field.required = True
        declared[key] = field
    return base.from_dict(declared, name=name)


def iso_day(value: date | None) -> str | None:
    return value.isoformat() if value else None


REGION_6 = r"^[0-9]{6}$"


def email(title: str, *, required: bool = False) -> Text:
    from charitylink.accounts.services import EMAIL_PATTERN

    return text(
        254, title, min_len=3, pattern=EMAIL_PATTERN, required=required, format="email"
    )


def phone(title: str, description: str | None = None) -> Text:
    """A phone number, or empty for none (the platform's own check says which
    numbers are real: ``format: cn-phone``)."""
    hint = N_("手机号码（11 位）或固定电话（如 010-12345678）；空为不填")
    return text(
        32,
        title,
        nullable=True,
        pattern=r"^([0-9+() -]{7,32})?$",
        description="；".join(filter(None, [description, hint])),
        format="cn-phone",
    )


def region(
    title: str, description: str, *, required: bool = False, fmt: str = "region"
) -> Text:
    """A 6-digit region code that must exist (``format: region``)."""
    return string(
        title, pattern=REGION_6, required=required, description=description, format=fmt
    )


class Many(fields.List):
    """A list in an answer: never null (a missing list is empty)."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return super()._serialize(value or [], attr, obj, **kwargs)


class Alternatives(fields.List):
    """A list in an answer whose items follow one of several schemas, the same
    one for the whole list, chosen from the answer (``pick(answer)``); the
    document says ``anyOf`` them (``alternatives_property``)."""

    def __init__(
        self,
        schemas: tuple[type[Schema], ...],
        pick: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(fields.Raw(), **kwargs)
        self.schemas = schemas
        self.pick = pick

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return self.pick(obj)(many=True).dump(value or [])


def alternatives_property(self: Any, field: fields.Field, **kwargs: Any) -> dict:
    """apispec: the items of an ``Alternatives`` list, one of its schemas."""
    if isinstance(field, Alternatives):
        return {
            "items": {"anyOf": [self.resolve_nested_schema(s) for s in field.schemas]}
        }
    return {}


def body_day(data: dict[str, Any], key: str, label: str) -> date | None:
    """A day in a checked body as a date. The schema's pattern bounds its form;
    the calendar (no 2 月 30 日) is ``parse_day``'s, and a day that does not
    exist is a 422 naming the field."""
    try:
        return parse_day(data[key], label)
    except InvalidDate as exc:
        raise ValidationFailed(str(exc), {key: str(exc)}) from None
