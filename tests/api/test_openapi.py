"""The served OpenAPI spec matches the app: routes both ways, docs page, and
schemathesis against the live app with a moderator's and an org's token."""

from __future__ import annotations

import os
import re
import string
import uuid
from datetime import date

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    positive_data_acceptance,
)
from sqlalchemy import select

from charitylink.core.identifiers import USCC_ALPHABET, id_check_char, uscc_check_char
from charitylink.extensions import db
from charitylink.regions.models import Region, RegionLevel
from tests.factories import org_admin_of


def _spec_routes(spec: dict) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method != "parameters"  # the path's own parameters, not an operation
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
    schemas = spec["components"]["schemas"]
    error = schemas["Error"]["properties"]["error"]
    error = schemas[error["$ref"].rsplit("/", 1)[-1]] if "$ref" in error else error
    assert set(error["required"]) == {"code", "message", "fields"}
    claim = spec["paths"]["/api/v1/needs/{code}/claims"]["post"]
    for code in ("over_claim", "insufficient_funds", "fund_purpose", "not_claimable"):
        assert code in claim["responses"]["409"]["description"]
    for item in spec["paths"].values():
        post = item.get("post")
        # createToken and createWebhook answer a secret shown once: never stored
        # in an idempotency record.
        if post and post["operationId"] not in ("createToken", "createWebhook"):
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
    # Folded, so a phone lists every operation in a few screens: each operation
    # and each schema is a closed <details>; a link to a schema points inside
    # its fold (the browser opens it when the link is followed).
    operations = sum(
        1
        for item in spec["paths"].values()
        for k in item
        if k in ("get", "post", "put", "delete")
    )
    assert html.count('<details class="card fold" id="op-') == operations
    for name in spec["components"]["schemas"]:
        fold = html.index(f'<span id="schema-{name}"></span>')
        assert html.rfind('<details class="card fold">', 0, fold) > html.rfind(
            "</details>", 0, fold
        ), name


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


# The string formats the spec names beyond JSON Schema's own: what a valid value
# looks like, so that generated "valid" requests are valid (a check digit, a
# region that exists). The spec states each one's pattern and meaning; only
# the check digit and the region table cannot be written as a pattern.
@st.composite
def _id_numbers(draw) -> str:
    province = draw(st.sampled_from(["11", "22", "44", "63"]))
    born = draw(st.dates(min_value=date(1930, 1, 1), max_value=date(2020, 12, 31)))
    serial = draw(st.integers(min_value=0, max_value=999))
    body = f"{province}0102{born:%Y%m%d}{serial:03d}"
    return body + id_check_char(body)


def _uscc() -> st.SearchStrategy[str]:
    body = st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17)
    return body.map(lambda b: b + uscc_check_char(b))


def _region_codes(*levels: RegionLevel, within: str = "") -> st.SearchStrategy[str]:
    codes = db.session.scalars(
        select(Region.code)
        .where(Region.level.in_(levels), Region.code.startswith(within))
        .order_by(Region.code)
    ).all()
    return st.sampled_from(codes[:200])


def _register_formats() -> None:
    letters = string.ascii_lowercase + string.digits
    formats = {
        "cn-id-number": _id_numbers(),
        "uscc": _uscc(),
        "cn-phone": st.from_regex(r"\A1[3-9][0-9]{9}\Z"),
        # Long random passwords: the strength estimator scores them high.
        "password": st.text(alphabet=letters, min_size=16, max_size=24),
        "email": st.builds(
            "{}@{}.example.cn".format,
            st.text(alphabet=letters, min_size=1, max_size=20),
            st.text(alphabet=letters, min_size=1, max_size=20),
        ),
        "date": st.dates(date(2000, 1, 1), date(2100, 12, 31)).map(str),
        # Counties of the test moderator's province, so needs get created.
        "region-county": _region_codes(RegionLevel.COUNTY, within="22"),
        "region": _region_codes(
            RegionLevel.PROVINCE, RegionLevel.PREFECTURE, RegionLevel.COUNTY
        ),
    }
    for name, strategy in formats.items():
        schemathesis.openapi.format(name, strategy)


# positive_data_acceptance runs in ``_accepts_valid_data`` with its one allowance.
NOT_HERE = [positive_data_acceptance]
EXAMPLES = {
    GenerationMode.POSITIVE: int(os.environ.get("SCHEMATHESIS_EXAMPLES", 10)),
    GenerationMode.NEGATIVE: int(os.environ.get("SCHEMATHESIS_EXAMPLES", 10)),
}


def _beyond_schema(spec: dict) -> set[str]:
    """Body fields whose rule no schema can state, as dotted paths from their
    body's root (``household.phone``): ``x-refers-to`` (an id that must name an
    object the caller may use) and ``x-depends-on`` (another field, today's
    date, the privacy scan). A 422 naming only such fields is a valid answer to
    data the schema calls valid."""
    schemas = spec["components"]["schemas"]
    found: set[str] = set()

    def walk(node, path: str, seen: frozenset[str]) -> None:
        if not isinstance(node, dict):
            return
        name = node.get("$ref", "").rsplit("/", 1)[-1]
        if name:
            if name not in seen:
                walk(schemas[name], path, seen | {name})
            return
        if path and ("x-refers-to" in node or "x-depends-on" in node):
            found.add(path)
        for key, prop in (node.get("properties") or {}).items():
            walk(prop, f"{path}.{key}" if path else key, seen)
        walk(node.get("items"), path, seen)
        for part in (
            node.get("allOf", []) + node.get("oneOf", []) + node.get("anyOf", [])
        ):
            walk(part, path, seen)

    for name, schema in schemas.items():
        walk(schema, "", frozenset({name}))
    return found


def _fuzz(operation, mode: GenerationMode, beyond: set[str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    def run(case) -> None:
        if mode is GenerationMode.POSITIVE and "Idempotency-Key" in (
            case.headers or {}
        ):
            # A key names one request: generated keys repeat across different
            # bodies, which the API rightly refuses (idempotency_key_reused).
            case.headers["Idempotency-Key"] = str(uuid.uuid4())
        response = case.call()
        # No ``checks=``: all of schemathesis's checks, less NOT_HERE.
        case.validate_response(response, excluded_checks=NOT_HERE)
        if mode is GenerationMode.POSITIVE:
            _accepts_valid_data(case, response, beyond)

    try:
        run()
    except Unsatisfiable:
        # Nothing in the operation can be made invalid (no parameters, no
        # body): there is no negative case to send.
        assert mode is GenerationMode.NEGATIVE, operation.label


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def _accepts_valid_data(case, response, beyond: set[str]) -> None:
    """positive_data_acceptance, except a 422 that names only fields whose rule
    lies beyond the schema (see ``_beyond_schema``)."""
    if response.status_code == 400 and _has_nul(
        [case.body, case.query, case.path_parameters]
    ):
        # Documented for every operation: a NUL anywhere in a request is a 400
        # (PostgreSQL cannot store it); no schema keyword says "no NUL".
        return
    if response.status_code == 422:
        fields = {
            ".".join(p for p in f.split(".") if not p.isdigit())
            for f in response.json()["error"]["fields"]
        }
        if fields and fields <= beyond:
            return
    case.validate_response(response, checks=[positive_data_acceptance])


@pytest.mark.parametrize("who", ["public", "moderator", "org"])
def test_schemathesis_all_checks(app, tokens, who) -> None:
    """Every operation with generated valid and invalid inputs, as the public, a
    moderator and an org admin: no 500, every status and header documented,
    every body matching its schema, valid data accepted and invalid data
    refused (the spec states every pattern and bound the code enforces)."""
    _register_formats()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    token = tokens[who].get("Authorization", "").removeprefix("Bearer ")
    if token:
        # The caller's token through schemathesis's own auth, so that a case
        # that leaves credentials out (to see a 401) is sent without them.
        @schema.auth()
        class Bearer:
            def get(self, case, context):
                return token

            def set(self, case, data, context):
                case.headers = {
                    **(case.headers or {}),
                    "Authorization": f"Bearer {data}",
                }

    beyond = _beyond_schema(schema.raw_schema)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in GenerationMode:
            try:
                _fuzz(operation, mode, beyond)
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
