"""The orgs API: registration, review transitions, reads, access."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from charitylink.extensions import db
from charitylink.orgs.models import Organization
from tests.orgs.conftest import api_registration, audit_rows, uscc

ORG_FIELDS = {"id", "name", "uscc", "org_type", "region_code", "description", "status"}
# The registration answer: what was accepted, built from the submission (no id,
# so it reads the same whether or not the admin e-mail already had an account).
REGISTRATION_FIELDS = (ORG_FIELDS - {"id"}) | {
    "contact_name",
    "contact_phone",
    "contact_email",
    "message",
}


def test_register_returns_201_pending_with_spec_fields(client):
    body = api_registration()
    resp = client.post("/api/v1/orgs", json=body)
    assert resp.status_code == 201
    data = resp.get_json()
    assert set(data) == REGISTRATION_FIELDS
    assert data["status"] == "pending" and data["org_type"] == "social_service"
    assert data["name"] == body["name"] and data["uscc"] == body["uscc"]
    assert "password" not in resp.get_data(as_text=True)
    token = client.post(
        "/api/v1/tokens",
        json={"email": body["admin"]["email"], "password": body["admin"]["password"]},
    )
    assert token.status_code == 201


VALID = uscc("52220100MJ0000555")


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (VALID[:17] + ("0" if VALID[17] != "0" else "1"), "校验位错误"),
        (VALID[:16], "长度应为18位，当前为16位"),
        (VALID[:15] + "I" + VALID[16:], "「I」"),
        (VALID[:15] + "O" + VALID[16:], "「O」"),
        (VALID[:15] + "S" + VALID[16:], "「S」"),
        (VALID[:15] + "V" + VALID[16:], "「V」"),
        (VALID[:15] + "Z" + VALID[16:], "「Z」"),
        ("", "请输入统一社会信用代码"),
        (12345, "统一社会信用代码应为文本"),
    ],
)
def test_register_bad_credit_code_is_422_on_the_field(client, code, message):
    resp = client.post("/api/v1/orgs", json=api_registration(uscc=code))
    assert resp.status_code == 422
    err = resp.get_json()["error"]
    assert err["code"] == "validation_failed"
    assert message in err["fields"]["uscc"]
    assert db.session.scalar(select(Organization.id)) is None


def test_register_accepts_lowercase_code(client):
    resp = client.post("/api/v1/orgs", json=api_registration(uscc=VALID.lower()))
    assert resp.status_code == 201 and resp.get_json()["uscc"] == VALID


def test_register_names_each_bad_field(client):
    resp = client.post(
        "/api/v1/orgs",
        json={
            "name": "",
            "uscc": "x",
            "org_type": "company",
            "region_code": 220102,
            "admin": {"email": "bad", "password": "short"},
        },
    )
    assert resp.status_code == 422
    fields = resp.get_json()["error"]["fields"]
    assert set(fields) == {
        "name",
        "uscc",
        "org_type",
        "region_code",
        "admin.email",
        "admin.name",
        "admin.password",
    }
    assert all(isinstance(v, str) and v for v in fields.values())


@pytest.mark.parametrize(
    ("payload", "content_type", "status"),
    [
        ("not json", "text/plain", 400),
        ("[1, 2]", "application/json", 400),
        ("{bad json", "application/json", 400),
    ],
)
def test_register_malformed_body_is_400(client, payload, content_type, status):
    resp = client.post("/api/v1/orgs", data=payload, content_type=content_type)
    assert resp.status_code == status
    assert resp.get_json()["error"]["code"] == "bad_request"


def test_register_admin_must_be_object(client):
    resp = client.post("/api/v1/orgs", json=api_registration(admin="me"))
    assert resp.status_code == 422
    assert "admin" in resp.get_json()["error"]["fields"]


def test_register_duplicates_are_409_conflict(client, create_org):
    existing = create_org()
    resp = client.post("/api/v1/orgs", json=api_registration(name=existing.name))
    assert resp.status_code == 409
    err = resp.get_json()["error"]
    assert err["code"] == "conflict" and "name" in err["fields"]
    resp = client.post("/api/v1/orgs", json=api_registration(uscc=existing.uscc))
    assert resp.status_code == 409 and "uscc" in resp.get_json()["error"]["fields"]


def test_register_answers_the_same_for_a_taken_admin_email(client, create_user):
    """No account enumeration (pen-test finding 9d): a registration with an
    e-mail that already has an account gets the same status and body as one
    with a new e-mail, and creates nothing."""
    body = api_registration()
    first = client.post("/api/v1/orgs", json=body)
    assert first.status_code == 201
    moderator = create_user("moderator")
    for email in (body["admin"]["email"], moderator.email.upper()):
        again = api_registration()
        again["admin"]["email"] = email
        again["admin"]["password"] = "another-secret-phrase"
        resp = client.post("/api/v1/orgs", json=again)
        assert resp.status_code == 201, resp.get_json()
        data = resp.get_json()
        assert set(data) == set(first.get_json())
        expected = {**first.get_json(), "name": again["name"], "uscc": again["uscc"]}
        assert data == expected
        assert (
            db.session.scalar(
                select(Organization.id).where(Organization.name == again["name"])
            )
            is None
        )
    # The existing account keeps its own password; the submitted one is unused.
    login = {"email": body["admin"]["email"], "password": "another-secret-phrase"}
    assert client.post("/api/v1/tokens", json=login).status_code == 401
    login["password"] = body["admin"]["password"]
    assert client.post("/api/v1/tokens", json=login).status_code == 201


# ------------------------------------------------------------ transitions

TRANSITIONS = {
    "verify": ("pending", "verified"),
    "reject": ("pending", "rejected"),
    "suspend": ("verified", "suspended"),
    "reinstate": ("suspended", "verified"),
}


@pytest.mark.parametrize("action", list(TRANSITIONS))
def test_transition_endpoints(client, api_token, create_org, create_user, action):
    start, end = TRANSITIONS[action]
    org = create_org(status=start)
    headers = api_token(create_user("moderator", region_prefix="2201"))
    resp = client.post(
        f"/api/v1/orgs/{org.id}/{action}", json={"reason": "核查结论"}, headers=headers
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == end
    [event] = audit_rows(f"org.{action}", org.id)
    assert (event.from_status, event.to_status) == (start, end)


@pytest.mark.parametrize(
    ("start", "action"),
    [
        (s, a)
        for s in ("pending", "verified", "rejected", "suspended")
        for a in TRANSITIONS
        if TRANSITIONS[a][0] != s
    ],
)
def test_wrong_state_is_409_invalid_transition(
    client, api_token, create_org, create_user, start, action
):
    org = create_org(status=start)
    headers = api_token(create_user("moderator"))
    resp = client.post(
        f"/api/v1/orgs/{org.id}/{action}", json={"reason": "原因"}, headers=headers
    )
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "invalid_transition"
    assert db.session.get(Organization, org.id).status == start
    assert audit_rows(f"org.{action}", org.id) == []


@pytest.mark.parametrize("action", ["reject", "suspend"])
@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": ["x"]}])
def test_reason_required(client, api_token, create_org, create_user, action, body):
    start = TRANSITIONS[action][0]
    org = create_org(status=start)
    headers = api_token(create_user("moderator"))
    resp = client.post(f"/api/v1/orgs/{org.id}/{action}", json=body, headers=headers)
    assert resp.status_code == 422
    assert "reason" in resp.get_json()["error"]["fields"]
    assert db.session.get(Organization, org.id).status == start


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("public", 401),
        ("member_a", 403),
        ("admin_a", 403),
        ("admin_b", 403),
        ("mod_in", 200),
        ("mod_out", 403),
        ("admin", 200),
    ],
)
def test_verify_access_matrix(client, api_token, people, who, status):
    p = people("pending")
    org = p["org_a"]
    headers = api_token(p[who]) if p[who] is not None else {}
    resp = client.post(f"/api/v1/orgs/{org.id}/verify", headers=headers)
    assert resp.status_code == status
    expected = "verified" if status == 200 else "pending"
    assert db.session.get(Organization, org.id).status == expected
    assert len(audit_rows("org.verify", org.id)) == (1 if status == 200 else 0)


def test_transition_on_unknown_org_is_404(client, api_token, create_user):
    headers = api_token(create_user("admin"))
    resp = client.post("/api/v1/orgs/424242/verify", headers=headers)
    assert resp.status_code == 404


# ------------------------------------------------------------ reads


def test_get_org_verified_only(client, create_org):
    verified = create_org()
    resp = client.get(f"/api/v1/orgs/{verified.id}")
    assert resp.status_code == 200
    assert set(resp.get_json()) >= ORG_FIELDS
    for status in ("pending", "rejected", "suspended"):
        org = create_org(status=status)
        resp = client.get(f"/api/v1/orgs/{org.id}")
        assert resp.status_code == 404
        assert resp.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/orgs/999999").status_code == 404


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("public", 404),
        ("member_a", 200),
        ("admin_a", 200),
        ("admin_b", 404),
        ("mod_in", 200),
        ("mod_out", 404),
        ("admin", 200),
    ],
)
def test_get_pending_org_access_matrix(client, api_token, people, who, status):
    p = people("pending")
    headers = api_token(p[who]) if p[who] is not None else {}
    assert client.get(f"/api/v1/orgs/{p['org_a'].id}", headers=headers).status_code == (
        status
    )


def test_list_orgs_verified_paged_and_filtered(client, create_org):
    for _ in range(3):
        create_org(with_admin=False)
    gs = create_org(with_admin=False, region_code="620102", org_type="social_group")
    create_org(with_admin=False, status="pending")
    data = client.get("/api/v1/orgs?per_page=2").get_json()
    assert data["total"] == 4 and len(data["items"]) == 2 and data["page"] == 1
    assert all(o["status"] == "verified" for o in data["items"])
    data = client.get("/api/v1/orgs?per_page=2&page=2").get_json()
    assert len(data["items"]) == 2
    data = client.get("/api/v1/orgs?region=62").get_json()
    assert [o["id"] for o in data["items"]] == [gs.id]
    data = client.get("/api/v1/orgs?org_type=social_group").get_json()
    assert [o["id"] for o in data["items"]] == [gs.id]
    assert client.get("/api/v1/orgs?org_type=bank").status_code == 422
    assert client.get("/api/v1/orgs?region=abc").status_code == 422
    bad = client.get("/api/v1/orgs?page=x&per_page=-1")
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"page", "per_page"}
