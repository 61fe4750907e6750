"""``GET /api/v1/openapi.json`` and the documentation page ``GET /api/v1/docs``.

The page is rendered on the server from the same spec (no JavaScript, no CDN):
government networks are often closed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import jsonify, render_template, request
from flask.typing import ResponseReturnValue
from markupsafe import Markup, escape

from charitylink.api import PUBLIC, bp, localized_document, operation
from charitylink.core.i18n import _, list_separator

_METHOD_ORDER = ("get", "post", "put", "delete")


_CHINESE_RUN = re.compile(r"[\u3001-\u303f\u3400-\u9fff\uff01-\uff60]+")


@bp.app_template_filter("mark_chinese")
def mark_chinese(text: str) -> Markup:
    """Escape ``text`` and mark each run of Chinese in it as such (an example
    value the API takes in Chinese, such as an offer's unit 次): screen readers
    read it in the right voice, and an English page says which words are the
    API's own Chinese values."""
    parts = []
    last = 0
    for m in _CHINESE_RUN.finditer(text):
        parts.append(escape(text[last : m.start()]))
        parts.append(Markup('<span lang="zh-CN">%s</span>') % m.group(0))
        last = m.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def _schema_name(schema: dict[str, Any] | None) -> str:
    if not schema:
        return ""
    if "$ref" in schema:
        return str(schema["$ref"].rsplit("/", 1)[-1])
    if "oneOf" in schema:
        return " | ".join(_schema_name(s) for s in schema["oneOf"])
    kind = schema.get("type", "")
    return kind if isinstance(kind, str) else " | ".join(kind)


# An example value of each scalar type (a date by its format).
_SCALARS: dict[str, Any] = {"integer": 1, "boolean": False, "date": "2027-06-30"}


def _example_of(schema: dict[str, Any], schemas: dict[str, Any], depth: int) -> Any:
    """A small example value built from a schema (for the curl lines)."""
    if "$ref" in schema:
        return _example_of(schemas[schema["$ref"].rsplit("/", 1)[-1]], schemas, depth)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return _example_of(schema[key][0], schemas, depth)
    kind = schema.get("type")
    if isinstance(kind, list):  # ["string", "null"]: a value of the first type
        kind = kind[0]
    if "enum" in schema:
        return next(v for v in schema["enum"] if v is not None)
    if kind == "object":
        props = schema.get("properties", {})
        required = schema.get("required") or list(props)[:3]
        return {
            k: _example_of(props[k], schemas, depth + 1)
            for k in required
            if k in props and depth <= 2
        }
    if kind == "array":
        return [_example_of(schema.get("items", {}), schemas, depth + 1)]
    return _SCALARS.get(schema.get("format") or kind or "", "…")


def _ref_name(schema: dict[str, Any]) -> str:
    return str(schema.get("$ref", "")).rsplit("/", 1)[-1]


def field_type(fs: dict[str, Any]) -> dict[str, Any]:
    """How the docs page shows a property's type: the words, the schema it
    links to (if any), and whether null is allowed."""
    nullable = False
    for part in fs.get("anyOf", []):  # an object or null
        if part.get("type") == "null":
            nullable = True
        else:
            fs = {**fs, **part}
    kinds = fs.get("type", "")
    if isinstance(kinds, list):
        nullable = nullable or "null" in kinds
        kinds = list_separator().join(k for k in kinds if k != "null")
    ref = _ref_name(fs) or _ref_name(fs.get("items") or {})
    words = kinds if not _ref_name(fs) else ""
    if fs.get("format"):
        words = _("%(type)s（%(format)s）", type=words, format=fs["format"])
    return {"words": words, "ref": ref, "array": kinds == "array", "nullable": nullable}


def _operations(spec: dict[str, Any], base: str) -> list[dict[str, Any]]:
    ops = []
    for path, item in spec["paths"].items():
        for method in _METHOD_ORDER:
            op = item.get(method)
            if op is None:
                continue
            params = [*item.get("parameters", []), *op.get("parameters", [])]
            body = (
                op.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema")
            )
            body_name = _schema_name(body)
            secured = {"bearer": []} in op.get("security", [])
            anonymous_ok = {} in op.get("security", [])
            curl = [f"curl -X {method.upper()} '{base}{path}'"]
            if secured and op["operationId"] != "createToken":
                curl.append("-H 'Authorization: Bearer $TOKEN'")
            if body_name:
                example = json.dumps(
                    _example_of(body, spec["components"]["schemas"], 0),
                    ensure_ascii=False,
                )
                curl.append("-H 'Content-Type: application/json'")
                if method == "post":
                    curl.append("-H 'Idempotency-Key: $(uuidgen)'")
                curl.append(f"-d '{example}'")
            ops.append(
                {
                    "id": op["operationId"],
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "tag": op.get("tags", [""])[0],
                    "auth": "optional"
                    if anonymous_ok
                    else ("bearer" if secured else ""),
                    "params": params,
                    "body": body_name,
                    "responses": [
                        (
                            status,
                            r.get("description", ""),
                            _schema_name(
                                next(
                                    iter(r.get("content", {}).values()),
                                    dict[str, Any](),
                                ).get("schema")
                            ),
                        )
                        for status, r in op["responses"].items()
                    ],
                    "curl": " \\\n  ".join(curl),
                }
            )
    return ops


@bp.get("/openapi.json")
@operation(
    "getOpenapi", "本 API 的 OpenAPI 描述", "meta", errors=("401",), security=PUBLIC
)
@bp.doc(
    responses={
        "200": {
            "description": "OpenAPI 3.1 文档（由接口的 schema 生成）",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    }
)
def openapi_json() -> ResponseReturnValue:
    return jsonify(localized_document())


@bp.get("/docs")
@operation("getDocs", "API 文档页面（HTML）", "meta", errors=("401",), security=PUBLIC)
@bp.doc(
    responses={
        "200": {
            "description": "HTML 页面",
            "content": {"text/html": {"schema": {"type": "string"}}},
        }
    }
)
def docs() -> ResponseReturnValue:
    spec = localized_document()
    base = request.host_url.rstrip("/")
    ops = _operations(spec, base)
    tags = [
        (t["name"], t["description"], [o for o in ops if o["tag"] == t["name"]])
        for t in spec["tags"]
    ]
    return render_template(
        "api/docs.html",
        spec=spec,
        tags=tags,
        schemas=spec["components"]["schemas"],
        base=base,
        field_type=field_type,
    )
