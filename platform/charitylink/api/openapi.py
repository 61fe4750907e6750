"""``GET /api/v1/openapi.json`` and the documentation page ``GET /api/v1/docs``.

The page is rendered on the server from the same spec (no JavaScript, no CDN):
government networks are often closed.
"""

from __future__ import annotations

import json
from typing import Any

from flask import jsonify, render_template, request
from flask.typing import ResponseReturnValue

from charitylink.api import bp
from charitylink.api.spec import build_spec

_METHOD_ORDER = ("get", "post")


def _schema_name(schema: dict[str, Any] | None) -> str:
    if not schema:
        return ""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    return schema.get("type", "")


def _example(name: str, spec: dict[str, Any], depth: int = 0) -> Any:
    """A small example value built from a schema (for the curl lines)."""
    schemas = spec["components"]["schemas"]
    schema = schemas.get(name, {})
    return _example_of(schema, schemas, depth)


def _example_of(schema: dict[str, Any], schemas: dict[str, Any], depth: int) -> Any:
    if "$ref" in schema:
        return _example_of(schemas[schema["$ref"].rsplit("/", 1)[-1]], schemas, depth)
    if "oneOf" in schema:
        return _example_of(schema["oneOf"][0], schemas, depth)
    kind = schema.get("type")
    if "enum" in schema:
        return next(v for v in schema["enum"] if v is not None)
    if kind == "object":
        if depth > 2:
            return {}
        props = schema.get("properties", {})
        required = schema.get("required") or list(props)[:3]
        return {
            k: _example_of(props[k], schemas, depth + 1) for k in required if k in props
        }
    if kind == "array":
        return [_example_of(schema.get("items", {}), schemas, depth + 1)]
    if kind == "integer":
        return 1
    if kind == "boolean":
        return False
    if schema.get("format") == "date":
        return "2027-06-30"
    return "…"


def _operations(spec: dict[str, Any], base: str) -> list[dict[str, Any]]:
    ops = []
    for path, item in spec["paths"].items():
        for method in _METHOD_ORDER:
            op = item.get(method)
            if op is None:
                continue
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
                example = json.dumps(_example(body_name, spec), ensure_ascii=False)
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
                    "params": op.get("parameters", []),
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
def openapi_json() -> ResponseReturnValue:
    return jsonify(build_spec())


@bp.get("/docs")
def docs() -> ResponseReturnValue:
    spec = build_spec()
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
    )
