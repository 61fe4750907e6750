"""The served OpenAPI spec matches the app: routes both ways, docs page, and
schemathesis against the live app with a moderator's and an org's token."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import org_admin_of

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _spec_routes(spec: dict) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
    }


def _app_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method, path))
    return routes


def test_every_api_route_is_in_the_spec_and_vice_versa(app, client) -> None:
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert _app_routes(app) == _spec_routes(spec)


def test_spec_documents_envelope_409_codes_and_bearer(client) -> None:
    spec = client.get("/api/v1/openapi.json").json
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    error = spec["components"]["schemas"]["Error"]["properties"]["error"]
    assert error["required"] == ["code", "message", "fields"]
    claim = spec["paths"]["/api/v1/needs/{code}/claims"]["post"]
    for code in ("over_claim", "insufficient_funds", "fund_purpose", "not_claimable"):
        assert code in claim["responses"]["409"]["description"]
    for item in spec["paths"].values():
        post = item.get("post")
        if post and post["operationId"] != "createToken":
            names = [p["name"] for p in post.get("parameters", [])]
            assert "Idempotency-Key" in names, post["operationId"]


def test_docs_page_renders_every_endpoint_without_external_assets(client) -> None:
    resp = client.get("/api/v1/docs")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    spec = client.get("/api/v1/openapi.json").json
    for path in spec["paths"]:
        assert f"<code>{path}</code>" in html, path
    assert "curl -X POST" in html and "Idempotency-Key" in html
    assert "Authorization: Bearer" in html
    assert not re.search(r"""(src|href)=["']https?://""", html)
    assert "<script" not in html


@pytest.fixture
def tokens(create_user, create_org, create_fund, api_token):
    moderator = create_user("moderator", region_prefix="22")
    org = create_org()
    create_fund(org=org, donations_fen=1_000_000)
    return {
        "moderator": api_token(moderator),
        "org": api_token(org_admin_of(org)),
    }


def _fuzz(operation, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=5,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    def run(case) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS)

    run()


def test_schemathesis_responses_match_the_spec(app, tokens) -> None:
    """Every operation, ~5 generated inputs each, with each token: no 500, every
    status documented, every body matching its schema."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for who, headers in tokens.items():
            try:
                _fuzz(operation, headers)
            except Exception as exc:  # collect all, report together
                failures.append(f"{operation.label} as {who}: {exc}"[:1500])
    assert not failures, "\n\n".join(failures)


def test_out_of_range_numbers_are_422_or_404_never_500(
    client, create_org, api_token
) -> None:
    headers = api_token(org_admin_of(create_org()))
    resp = client.post(
        "/api/v1/projects", json={"fund_id": 2**70, "title": "x"}, headers=headers
    )
    assert resp.status_code == 422
    assert resp.json["error"]["code"] == "validation_failed"
    assert client.get(f"/api/v1/orgs/{2**70}").status_code == 404
    assert client.get(f"/api/v1/projects/{2**62}").status_code == 404
    assert client.get(f"/projects/{2**62}").status_code == 404
    assert client.get(f"/api/v1/funds/{2**40}").status_code == 404
