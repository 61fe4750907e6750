"""Schema first: one marshmallow schema per payload validates the request,
serialises the answer and is the source of /api/v1/openapi.json."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from marshmallow import ValidationError

from charitylink.api.claims import ClaimCreateSchema
from charitylink.api.fields import Body, Boolean, choice, integer, text

API = Path(__file__).parents[2] / "platform" / "charitylink" / "api"


def test_no_hand_written_description_or_serialiser() -> None:
    """The document is generated and every answer is dumped by its schema: no
    spec module, no ``*_json`` builder, no ``jsonify`` of a payload by hand."""
    assert not (API / "spec.py").exists()
    for path in sorted(API.glob("*.py")):
        if path.name == "openapi.py":  # serves the document itself
            continue
        text_ = path.read_text(encoding="utf-8")
        assert not re.findall(r"def \w+_json\(", text_), path
        assert "jsonify(" not in text_, path


def test_every_answer_and_body_in_the_document_is_a_named_schema(client) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method == "parameters" or op["operationId"] in ("getOpenapi", "getDocs"):
                continue
            ok = [s for s in op["responses"] if s.startswith("2")]
            assert len(ok) == 1, (path, method)
            answer = op["responses"][ok[0]]["content"]["application/json"]["schema"]
            assert answer["$ref"].rsplit("/", 1)[-1] in schemas, (path, method)
            for status, response in op["responses"].items():
                if not status.startswith("2"):
                    error = response["content"]["application/json"]["schema"]
                    assert error == {"$ref": "#/components/schemas/Error"}
            if "requestBody" in op:
                body = op["requestBody"]["content"]["application/json"]["schema"]
                refs = re.findall(r"#/components/schemas/(\w+)", str(body))
                assert refs and set(refs) <= set(schemas), (path, method)


def _document_agrees(schema_cls, value) -> tuple[bool, bool]:
    """(JSON Schema of the generated document accepts, marshmallow accepts)."""
    from apispec import APISpec
    from apispec.ext.marshmallow import MarshmallowPlugin

    spec = APISpec("t", "1", "3.1.0", plugins=[MarshmallowPlugin()])
    spec.components.schema("S", schema=schema_cls)
    document = spec.to_dict()["components"]["schemas"]
    root = {"$ref": "#/components/schemas/S", "components": {"schemas": document}}
    by_document = Draft202012Validator(root).is_valid(value)
    try:
        schema_cls().load(value)
        by_schema = True
    except ValidationError:
        by_schema = False
    return by_document, by_schema


class _Sample(Body):
    count = integer("数量", low=1, high=10)
    word = choice(("a", "b"), "词", nullable=True)
    name = text(10, "名称", filled=True)
    flag = Boolean()


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ({"count": 3}, True),
        ({"count": 3.0}, True),  # JSON's 3.0 is the integer 3
        ({"count": True}, False),  # true is not 1
        ({"count": "3"}, False),
        ({"count": 11}, False),
        ({"word": None}, True),
        ({"word": "c"}, False),
        ({"name": "  x"}, True),  # "not blank" is found anywhere, as JSON Schema means
        ({"name": "   "}, False),
        ({"name": "x" * 11}, False),
        ({"flag": False}, True),
        ({"flag": 1}, False),  # nor is 1 true
        ({"flag": "yes"}, False),
        ({"unknown": 1}, True),  # fields it does not know are ignored
    ],
)
def test_schema_and_its_document_agree(value, accepted) -> None:
    assert _document_agrees(_Sample, value) == (accepted, accepted)


def test_loaded_body_holds_integers_not_floats() -> None:
    loaded = ClaimCreateSchema().load({"fund_id": 7.0, "amount": 500.0})
    assert loaded == {"fund_id": 7, "amount": 500}
    assert all(type(v) is int for v in loaded.values())
