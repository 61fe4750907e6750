"""What the API document says about a request is what the API enforces.

Every POST with a body refuses a body that breaks its documented schema with a
422 naming the field, on real objects in the state the action needs (so the
check is reached, not a 404 before it). Every list refuses a query parameter
beyond its documented bound or pattern with a 422 naming it, and accepts the
value on the bound.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from charitylink.claims import services as claims
from charitylink.complaints import services as complaint_services
from charitylink.extensions import db
from charitylink.orgs.models import OrgStatus
from charitylink.privacy.models import Consent
from charitylink.projects.models import ProjectStatus
from tests.factories import org_admin_of

MODERATOR_LISTS = {
    "/api/v1/complaints",
    "/api/v1/integrity/signals",
    "/api/v1/privacy-requests",
}
WRONG_TYPE = {"string": 12345, "integer": "x", "boolean": "x", "array": "x"}


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


@pytest.fixture
def world(
    create_user, create_org, create_fund, create_project, create_need, make_offer
):
    org = create_org()
    admin = org_admin_of(org)
    fund = create_fund(org=org, donations_fen=1_000_000)
    need = create_need(status="published", amount_fen=50_000)
    submitted = create_need(status="submitted")
    unclaimed = create_need(status="published")
    draft_need = create_need(status="draft")
    claim = claims.claim_need(need, admin, fund, 10_000)
    from charitylink.claims import pairing

    paired = pairing.claim_with_schedule(
        create_need(status="published", amount_fen=50_000),
        admin,
        fund,
        20_000,
        2,
        10_000,
    )
    db.session.commit()
    from charitylink.claims import matching

    offer = make_offer(org=org)
    match = matching.match(offer, need, 1, 1, admin)
    db.session.commit()
    consent = Consent(
        need_id=need.id,
        scope="share_contact",
        method="written",
        given_on=date(2026, 1, 5),
    )
    db.session.add(consent)
    db.session.commit()
    return {
        "offer": offer,
        "match": match,
        "consent": consent,
        "moderator": create_user("moderator", region_prefix="22"),
        "admin": admin,
        "pending_org": create_org(status=OrgStatus.PENDING),
        "org": org,
        "fund": fund,
        "draft": create_project(fund=fund, status=ProjectStatus.DRAFT),
        "submitted_project": create_project(fund=fund, status=ProjectStatus.SUBMITTED),
        "published": create_project(fund=fund),
        "need": need,
        "submitted_need": submitted,
        "unclaimed": unclaimed,
        "draft_need": draft_need,
        "claim": claim,
        "paired": paired,
        "complaint": complaint_services.submit(
            {
                "subject_type": "org",
                "subject_id": org.id,
                "category": "other",
                "text": "请核查",
            },
            None,
        )[0],
        "privacy_request": _privacy_request(need),
    }


def _privacy_request(need: Any) -> Any:
    from datetime import timedelta

    from charitylink.core.timeutil import today
    from charitylink.privacy.purge_models import PrivacyRequest

    req = PrivacyRequest(
        kind="access",
        household_key=need.household_key,
        region_code=need.region_code,
        due_on=today() + timedelta(days=15),
        note="",
    )
    db.session.add(req)
    db.session.commit()
    return req


def _cases(w: dict[str, Any]) -> dict[str, tuple[str | None, str]]:
    """operationId → (who calls, the path with real objects in the right state)."""
    return {
        "createToken": (None, "/api/v1/tokens"),
        "registerOrg": (None, "/api/v1/orgs"),
        "rejectOrg": ("moderator", f"/api/v1/orgs/{w['pending_org'].id}/reject"),
        "suspendOrg": ("moderator", f"/api/v1/orgs/{w['org'].id}/suspend"),
        "createFund": ("admin", "/api/v1/funds"),
        "createDonation": ("admin", f"/api/v1/funds/{w['fund'].id}/donations"),
        "createProject": ("admin", "/api/v1/projects"),
        "updateProject": ("admin", f"/api/v1/projects/{w['draft'].id}"),
        "rejectProject": (
            "moderator",
            f"/api/v1/projects/{w['submitted_project'].id}/reject",
        ),
        "closeProject": ("admin", f"/api/v1/projects/{w['published'].id}/close"),
        "createNeed": ("moderator", "/api/v1/needs"),
        "importNeeds": ("moderator", "/api/v1/needs/import"),
        "rejectNeed": (
            "moderator",
            f"/api/v1/needs/{w['submitted_need'].code}/reject",
        ),
        "withdrawNeed": ("moderator", f"/api/v1/needs/{w['unclaimed'].code}/withdraw"),
        "extendNeed": ("moderator", f"/api/v1/needs/{w['unclaimed'].code}/extend"),
        "updateNeed": ("moderator", f"/api/v1/needs/{w['draft_need'].code}"),
        "bulkReviewNeeds": ("moderator", "/api/v1/needs/bulk"),
        "createClaim": ("admin", f"/api/v1/needs/{w['need'].code}/claims"),
        "deliverClaim": ("admin", f"/api/v1/claims/{w['claim'].id}/deliver"),
        "cancelClaim": ("admin", f"/api/v1/claims/{w['claim'].id}/cancel"),
        "disputeClaim": ("moderator", f"/api/v1/claims/{w['claim'].id}/dispute"),
        "respondClaim": ("admin", f"/api/v1/claims/{w['claim'].id}/respond"),
        "resolveClaim": ("moderator", f"/api/v1/claims/{w['claim'].id}/resolve"),
        "extendClaim": ("moderator", f"/api/v1/claims/{w['claim'].id}/extend"),
        "reverseDonation": (
            "admin",
            f"/api/v1/funds/{w['fund'].id}/donations/1/reverse",
        ),
        "setNotificationSettings": ("admin", "/api/v1/account/notification-settings"),
        "submitComplaint": (None, "/api/v1/complaints"),
        "resolveComplaint": (
            "moderator",
            f"/api/v1/complaints/{w['complaint'].id}/resolve",
        ),
        "dismissIntegritySignal": (
            "moderator",
            "/api/v1/integrity/signals/fast_delivery.org-1/dismiss",
        ),
        "createWebhook": ("moderator", "/api/v1/webhooks"),
        "createPrivacyRequest": ("moderator", "/api/v1/privacy-requests"),
        "closePrivacyRequest": (
            "moderator",
            f"/api/v1/privacy-requests/{w['privacy_request'].id}/close",
        ),
        "deliverInstalment": (
            "admin",
            f"/api/v1/claims/{w['paired'].id}/instalments/1/deliver",
        ),
        "endPairing": ("admin", f"/api/v1/claims/{w['paired'].id}/end"),
        "createOffer": ("admin", "/api/v1/offers"),
        "updateOffer": ("admin", f"/api/v1/offers/{w['offer'].id}"),
        "matchOffer": ("admin", f"/api/v1/offers/{w['offer'].id}/match"),
        "proposeOfferMatch": (
            "moderator",
            f"/api/v1/offers/{w['offer'].id}/proposals",
        ),
        "createClaimSession": ("admin", f"/api/v1/claims/{w['match'].id}/sessions"),
        "createNeedConsent": ("moderator", f"/api/v1/needs/{w['need'].code}/consents"),
        "withdrawConsent": (
            "moderator",
            f"/api/v1/consents/{w['consent'].id}/withdraw",
        ),
    }


def test_every_body_is_checked_against_its_documented_schema(
    client, world, api_token
) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    cases = _cases(world)
    with_body = {
        op["operationId"]: op
        for item in spec["paths"].values()
        for op in item.values()
        if "requestBody" in op
    }
    methods = {
        op["operationId"]: method
        for item in spec["paths"].values()
        for method, op in item.items()
        if "requestBody" in op
    }
    assert set(with_body) == set(cases), "every operation with a body has a case"
    failures = []
    for op_id, op in sorted(with_body.items()):
        who, path = cases[op_id]
        headers = api_token(world[who]) if who else {}
        schema = _resolve(spec, op["requestBody"]["content"]["application/json"])
        schema = _resolve(spec, schema["schema"])
        if "oneOf" in schema:  # the import: rows, as an array or {"rows": [...]}
            body: Any = {"rows": "x"}
            expected = "rows"
        else:
            name, prop = next(iter(schema["properties"].items()))
            kind = _resolve(spec, prop).get("type")
            if isinstance(kind, list):  # ["string", "null"]: a nullable string
                kind = kind[0]
            body = {name: WRONG_TYPE.get(kind, "x")}
            expected = name
        resp = client.open(path, method=methods[op_id], json=body, headers=headers)
        error = (resp.get_json() or {}).get("error", {})
        if resp.status_code != 422 or expected not in error.get("fields", {}):
            failures.append(f"{op_id} {body}: {resp.status_code} {error}")
    assert not failures, "\n".join(failures)


SYNC = {"updated_since", "after_id", "external_id"}


def _too_far(schema: dict) -> str:
    if "enum" in schema:
        return "no-such-value"
    if schema["type"] == "integer":
        return str(schema.get("maximum", 0) + 1)
    if schema["type"] == "boolean":
        return "maybe"
    return "abc!" if "pattern" in schema else "x" * (schema["maxLength"] + 1)


def _on_the_bound(schema: dict) -> str:
    if "examples" in schema:  # a form (date-time) no bound states
        return schema["examples"][0]
    if "enum" in schema:
        return schema["enum"][-1]
    if schema["type"] == "integer":
        return str(schema["maximum"])
    if schema["type"] == "boolean":
        return "false"
    if "pattern" in schema:
        return "22"
    return "x" * schema["maxLength"]


def test_every_query_parameter_is_refused_beyond_its_documented_bound(
    client, world, api_token
) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    headers = api_token(world["admin"])
    # Lists only moderators may read, read as a moderator.
    moderators = api_token(world["moderator"])
    failures = []
    for path, item in spec["paths"].items():
        op = item.get("get")
        if not op or "{" in path:
            continue
        caller = moderators if path in MODERATOR_LISTS else headers
        for param in op.get("parameters", []):
            if param["in"] != "query":
                continue
            schema = param["schema"]
            # Every parameter states what it accepts.
            assert {"enum", "pattern", "maximum", "maxLength"} & set(schema) or (
                schema["type"] == "boolean"
            ), (path, param["name"])
            name = param["name"]
            # The sync parameters of the needs list are for moderators.
            who = moderators if name in SYNC else caller
            bad = client.get(path, query_string={name: _too_far(schema)}, headers=who)
            fields = (bad.get_json() or {}).get("error", {}).get("fields", {})
            if bad.status_code != 422 or name not in fields:
                failures.append(f"{path}?{name}={_too_far(schema)}: {bad.status_code}")
            good = client.get(
                path, query_string={name: _on_the_bound(schema)}, headers=who
            )
            if good.status_code != 200:
                failures.append(
                    f"{path}?{name}={_on_the_bound(schema)}: {good.status_code}"
                )
    assert not failures, "\n".join(failures)


def test_an_empty_filter_value_is_refused_by_the_api(client) -> None:
    resp = client.get("/api/v1/needs?region=")
    assert resp.status_code == 422
    assert "不筛选时请省略" in resp.get_json()["error"]["fields"]["region"]


def test_schema_and_service_problems_come_back_in_one_answer(
    client, world, api_token
) -> None:
    """A body off its schema is also run through the service's own check, so a
    caller fixes every field at once: here an empty name (the schema) and a
    guessable password and a wrong check digit (the services)."""
    resp = client.post(
        "/api/v1/orgs",
        json={
            "name": "",
            "uscc": "52220100MJ0000550",  # 17 characters
            "org_type": "foundation",
            "region_code": "220102",
            "admin": {
                "email": "liu@example.cn",
                "password": "password1234",
                "name": "刘",
            },
        },
    )
    assert resp.status_code == 422
    fields = resp.get_json()["error"]["fields"]
    assert set(fields) == {"name", "uscc", "admin.password"}
    assert "18位" in fields["uscc"] and "太常见" in fields["admin.password"]

    need = {
        "title": "",
        "description": "老人需要轮椅",
        "category": "tekun",
        "need_type": "elderly_care",
        "region_code": "220102",
        "household_size": 1,
        "amount": 100_000,
        "deadline": "2020-01-01",
        "household": {"name": "王某", "id_number": "220102195803120010"},
    }
    resp = client.post(
        "/api/v1/needs", json=need, headers=api_token(world["moderator"])
    )
    assert resp.status_code == 422
    fields = resp.get_json()["error"]["fields"]
    assert {"title", "deadline", "household.id_number"} <= set(fields)


def test_the_privacy_scan_and_taken_names_come_in_the_same_round(
    client, world, api_token
) -> None:
    """Registration: a bad field, a phone number in the public description and
    a name already registered are named in one answer, not one after another;
    a need: a bad amount and an ID number in its description likewise."""
    taken = world["org"].name
    resp = client.post(
        "/api/v1/orgs",
        json={
            "name": taken,
            "uscc": "52220100MJ0000550",
            "org_type": "foundation",
            "region_code": "220102",
            "description": "有事请打 13912345678 联系刘春辉",
            "admin": {
                "email": "x@example.cn",
                "password": "kT9-vQ2#mzW7pL",
                "name": "刘",
            },
        },
    )
    assert resp.status_code == 422
    assert {"name", "uscc", "description"} <= set(resp.get_json()["error"]["fields"])

    need = {
        "title": "老人需要轮椅",
        "description": "身份证 220102195803120016，家中困难",
        "category": "tekun",
        "need_type": "elderly_care",
        "region_code": "220102",
        "household_size": 1,
        "amount": 0,
        "household": {"name": "王某", "id_number": "220102195803120016"},
    }
    resp = client.post(
        "/api/v1/needs", json=need, headers=api_token(world["moderator"])
    )
    assert resp.status_code == 422
    assert {"amount", "description"} <= set(resp.get_json()["error"]["fields"])
