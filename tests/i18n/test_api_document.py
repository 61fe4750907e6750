"""The API document in English: every title, description and summary
translated, nothing else changed; Chinese stays the default."""

from __future__ import annotations

import re

from charitylink.api.document_text import TEXT_KEYS, texts

CJK = re.compile(r"[\u3001-\u303f\u3400-\u9fff\uff01-\uff60]")


def _strip_prose(node):  # type: ignore[no-untyped-def]
    if isinstance(node, dict):
        return {k: "" if k in TEXT_KEYS else _strip_prose(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_strip_prose(v) for v in node]
    return node


def test_the_english_document_has_no_chinese_prose(client):
    zh = client.get("/api/v1/openapi.json").json
    en = client.get("/api/v1/openapi.json", headers={"Accept-Language": "en"}).json
    assert len(list(texts(zh))) > 150  # the document's prose is Chinese by default
    assert list(texts(en)) == []
    assert en["info"]["title"] == "CharityLink API"
    # Only the prose differs: paths, schemas, patterns, enums are the same.
    assert _strip_prose(en) == _strip_prose(zh)


def test_the_docs_page_in_english_names_fields_in_english(client):
    client.set_cookie("lang", "en")
    html = client.get("/api/v1/docs").get_data(as_text=True)
    assert "Need code: XQ-province code" in html
    assert "需求编号" not in html


def test_a_422_names_the_field_by_its_english_title(client):
    resp = client.post(
        "/api/v1/orgs",
        json={"name": "x" * 300},
        headers={"Accept-Language": "en"},
    )
    assert resp.status_code == 422
    fields = resp.json["error"]["fields"]
    message = " ".join(fields.values())
    assert not CJK.search(message), message
    assert "Admin" in fields["admin"]  # the schema's title, translated
