"""Projects API: every transition allowed and refused, field
validation, access, the public list."""

from __future__ import annotations

import pytest

from charitylink.core.audit import AuditEvent
from charitylink.core.money import MAX_AMOUNT_FEN
from charitylink.extensions import db
from charitylink.projects.models import Project, ProjectStatus
from tests.projects.conftest import project_payload

# Closing takes the final report (the project's last progress update).
FINAL = {"final_report": "项目已完成：资助38户，交付助学金19万元。"}
STATUSES = ["draft", "submitted", "published", "rejected", "closed"]
ACTIONS = {
    # action: (actor, the one status it is allowed from, resulting status)
    "submit": ("admin_a", "submitted"),
    "approve": ("mod_in", "published"),
    "reject": ("mod_in", "rejected"),
    "close": ("admin_a", "closed"),
}
ALLOWED_FROM = {
    "submit": "draft",
    "approve": "submitted",
    "reject": "submitted",
    "close": "published",
}


def _audit_rows(project_id: int) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            db.select(AuditEvent)
            .where(AuditEvent.object_type == "project")
            .where(AuditEvent.object_id == str(project_id))
            .order_by(AuditEvent.id)
        )
    )


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("status", STATUSES)
def test_every_transition_allowed_or_refused(
    world, create_project, api_token, client, action, status
):
    project = create_project(fund=world["fund_a"], status=status)
    actor, target = ACTIONS[action]
    resp = client.post(
        f"/api/v1/projects/{project.id}/{action}",
        json={"reason": "材料不全，请补充项目预算。", **FINAL},
        headers=api_token(world[actor]),
    )
    db.session.expire_all()
    project = db.session.get(Project, project.id)
    rows = _audit_rows(project.id)
    if ALLOWED_FROM[action] == status:
        assert resp.status_code == 200, resp.json
        assert resp.json["status"] == target == project.status
        (row,) = rows
        assert row.action == f"project.{action}"
        assert (row.from_status, row.to_status) == (status, target)
        assert row.actor_id == world[actor].id and row.org_id == world["org_a"].id
        if action == "reject":
            assert row.reason == "材料不全，请补充项目预算。"
            assert project.status_reason == "材料不全，请补充项目预算。"
    else:
        assert resp.status_code == 409
        assert resp.json["error"]["code"] == "invalid_transition"
        assert "不能执行此操作" in resp.json["error"]["message"]
        assert project.status == status and rows == []


def test_full_lifecycle_with_rejection_and_resubmission(world, api_token, client):
    org_h = api_token(world["member_a"])
    mod_h = api_token(world["mod_in"])
    resp = client.post(
        "/api/v1/projects", json=project_payload(world["fund_a"].id), headers=org_h
    )
    assert resp.status_code == 201, resp.json
    body = resp.json
    pid = body["id"]
    assert body["status"] == "draft" and body["target_amount"] == 10_000_000
    assert body["need_types"] == ["education", "child"]
    assert body["claimed_amount"] == body["delivered_amount"] == 0
    assert body["households_helped"] == 0
    # drafts are invisible to the public
    assert client.get(f"/api/v1/projects/{pid}").status_code == 404
    assert (
        client.post(f"/api/v1/projects/{pid}/submit", headers=org_h).status_code == 200
    )
    resp = client.post(
        f"/api/v1/projects/{pid}/reject", json={"reason": " "}, headers=mod_h
    )
    assert resp.status_code == 422 and "reason" in resp.json["error"]["fields"]
    resp = client.post(
        f"/api/v1/projects/{pid}/reject", json={"reason": "预算不清"}, headers=mod_h
    )
    assert resp.json["status"] == "rejected"
    # the org edits: rejected → draft, then resubmits
    resp = client.post(
        f"/api/v1/projects/{pid}", json={"summary": "补充了预算说明。"}, headers=org_h
    )
    assert resp.status_code == 200 and resp.json["status"] == "draft"
    assert resp.json["summary"] == "补充了预算说明。"
    assert resp.json["title"] == "困境儿童助学帮扶项目"  # fields left out are kept
    resp = client.post(
        f"/api/v1/projects/{pid}", json={"target_amount": 0}, headers=org_h
    )
    assert resp.status_code == 422 and "target_amount" in resp.json["error"]["fields"]
    client.post(f"/api/v1/projects/{pid}/submit", headers=org_h)
    resp = client.post(f"/api/v1/projects/{pid}/approve", headers=mod_h)
    assert resp.json["status"] == "published"
    public = client.get(f"/api/v1/projects/{pid}")
    assert public.status_code == 200 and public.json["status"] == "published"
    resp = client.post(f"/api/v1/projects/{pid}", json={"title": "x"}, headers=org_h)
    assert resp.status_code == 409
    assert (
        client.post(f"/api/v1/projects/{pid}/close", json=FINAL, headers=org_h).json[
            "status"
        ]
        == "closed"
    )
    actions = [r.action for r in _audit_rows(pid)]
    assert actions == [
        "project.create",
        "project.submit",
        "project.reject",
        "project.redraft",
        "project.submit",
        "project.approve",
        "project.close",
    ]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"target_amount": 0}, "target_amount", "大于零"),
        ({"target_amount": -5}, "target_amount", "大于零"),
        ({"target_amount": 12.5}, "target_amount", "整数"),
        ({"target_amount": "12"}, "target_amount", "整数"),
        ({"target_amount": True}, "target_amount", "整数"),
        ({"target_amount": MAX_AMOUNT_FEN + 1}, "target_amount", "过大"),
        ({"title": ""}, "title", "项目名称"),
        ({"title": "x" * 121}, "title", "项目名称"),
        ({"filing_number": "备案-01"}, "filing_number", "字母和数字"),
        ({"filing_number": "A" * 65}, "filing_number", "字母和数字"),
        ({"need_types": []}, "need_types", "需求类型"),
        ({"need_types": ["teeth"]}, "need_types.0", "需求类型第 1 项只能是"),
        ({"need_types": [["x"]]}, "need_types.0", "需求类型第 1 项只能是"),
        ({"region_codes": ["999999"]}, "region_codes", "未知的行政区划"),
        ({"region_codes": "220102"}, "region_codes", "覆盖区划应为数组"),
        ({"start_on": "2026-02-30"}, "start_on", "YYYY-MM-DD"),
        ({"end_on": "2025-01-01"}, "end_on", "不能早于"),
        ({"fund_id": "1"}, "fund_id", "基金"),
        ({"fund_id": 999999}, "fund_id", "基金"),
        ({"body": 5}, "body", "文本"),
    ],
)
def test_create_project_validation(world, api_token, client, overrides, field, message):
    resp = client.post(
        "/api/v1/projects",
        json={**project_payload(world["fund_a"].id), **overrides},
        headers=api_token(world["admin_a"]),
    )
    assert resp.status_code == 422, resp.json
    err = resp.json["error"]
    assert err["code"] == "validation_failed"
    assert message in err["fields"][field]
    assert db.session.scalar(db.select(db.func.count(Project.id))) == 0


def test_filing_number_is_optional_and_normalised(world, api_token, client):
    resp = client.post(
        "/api/v1/projects",
        json=project_payload(world["fund_a"].id, filing_number=None),
        headers=api_token(world["admin_a"]),
    )
    assert resp.status_code == 201 and resp.json["filing_number"] is None
    resp = client.post(
        "/api/v1/projects",
        json=project_payload(world["fund_a"].id, filing_number="ａｂc123"),
        headers=api_token(world["admin_a"]),
    )
    assert resp.json["filing_number"] == "ABC123"


def test_project_must_be_paid_from_own_fund(world, create_fund, api_token, client):
    fund_b = create_fund(org=world["org_b"])
    resp = client.post(
        "/api/v1/projects",
        json=project_payload(fund_b.id),
        headers=api_token(world["admin_a"]),
    )
    assert resp.status_code == 422 and "fund_id" in resp.json["error"]["fields"]


def test_create_project_access(world, create_org, api_token, client):
    payload = project_payload(world["fund_a"].id)
    assert client.post("/api/v1/projects", json=payload).status_code == 401
    for role in ("mod_in", "admin"):
        resp = client.post(
            "/api/v1/projects", json=payload, headers=api_token(world[role])
        )
        assert resp.status_code == 403
    # admin of org B: the fund is not theirs
    resp = client.post(
        "/api/v1/projects", json=payload, headers=api_token(world["admin_b"])
    )
    assert resp.status_code == 422
    from tests.factories import org_admin_of

    pending = create_org(status="pending")
    resp = client.post(
        "/api/v1/projects", json=payload, headers=api_token(org_admin_of(pending))
    )
    assert resp.status_code == 403
    assert db.session.scalar(db.select(db.func.count(Project.id))) == 0


ACCESS = {
    # role: (GET draft, submit draft, approve submitted, close published)
    "member_a": (200, 200, 403, 200),
    "admin_a": (200, 200, 403, 200),
    "admin_b": (404, 404, 404, 403),
    "mod_in": (200, 403, 200, 200),
    "mod_out": (404, 404, 404, 403),
    "admin": (200, 403, 200, 200),
}


@pytest.mark.parametrize("role", list(ACCESS))
def test_project_api_access_matrix(world, create_project, api_token, client, role):
    fund = world["fund_a"]
    draft = create_project(fund=fund, status=ProjectStatus.DRAFT)
    draft2 = create_project(fund=fund, status=ProjectStatus.DRAFT)
    submitted = create_project(fund=fund, status=ProjectStatus.SUBMITTED)
    published = create_project(fund=fund, status=ProjectStatus.PUBLISHED)
    h = api_token(world[role])
    got = (
        client.get(f"/api/v1/projects/{draft.id}", headers=h).status_code,
        client.post(f"/api/v1/projects/{draft2.id}/submit", headers=h).status_code,
        client.post(f"/api/v1/projects/{submitted.id}/approve", headers=h).status_code,
        client.post(
            f"/api/v1/projects/{published.id}/close", json=FINAL, headers=h
        ).status_code,
    )
    assert got == ACCESS[role]
    db.session.expire_all()
    changed = sum(
        1
        for p, before in (
            (draft2, "draft"),
            (submitted, "submitted"),
            (published, "published"),
        )
        if db.session.get(Project, p.id).status != before
    )
    assert changed == sum(1 for code in got[1:] if code == 200)
    project_events = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.object_type == "project")
    ).all()
    assert len(project_events) == changed


def test_public_api_never_shows_unpublished_projects(
    world, create_org, create_fund, create_project, client
):
    for status in ("draft", "submitted", "rejected"):
        p = create_project(fund=world["fund_a"], status=status)
        assert client.get(f"/api/v1/projects/{p.id}").status_code == 404
    hidden_org = create_fund(org=create_org(status="suspended"))
    hidden = create_project(fund=hidden_org, status="published")
    assert client.get(f"/api/v1/projects/{hidden.id}").status_code == 404
    shown = create_project(fund=world["fund_a"], status="published")
    closed = create_project(fund=world["fund_a"], status="closed")
    items = client.get("/api/v1/projects").json["items"]
    assert sorted(i["id"] for i in items) == sorted([shown.id, closed.id])


def test_public_list_filters_sort_and_paging(
    world, create_fund, create_project, client
):
    fund_b = create_fund(org=world["org_b"])
    a1 = create_project(
        fund=world["fund_a"], need_types=["medical"], region_codes=["220102"],
        target_fen=500,
    )  # fmt: skip
    a2 = create_project(
        fund=world["fund_a"], need_types=["education"], region_codes=["220103"],
        target_fen=900, status="closed",
    )  # fmt: skip
    b1 = create_project(
        fund=fund_b, need_types=["medical", "elderly_care"], region_codes=["620102"],
        target_fen=700,
    )  # fmt: skip

    def ids(query: str) -> list[int]:
        resp = client.get(f"/api/v1/projects?{query}")
        assert resp.status_code == 200, resp.json
        return [i["id"] for i in resp.json["items"]]

    assert set(ids("region=22")) == {a1.id, a2.id}
    assert ids("region=220103") == [a2.id]
    assert set(ids("need_type=medical")) == {a1.id, b1.id}
    assert ids(f"org_id={world['org_b'].id}") == [b1.id]
    assert ids("status=closed") == [a2.id]
    assert ids("sort=target") == [a2.id, b1.id, a1.id]
    # Without a keyword "relevance" (the list page's default choice) is the newest first.
    assert ids("sort=relevance") == ids("sort=newest")
    resp = client.get("/api/v1/projects?per_page=2&page=2&sort=target").json
    assert [i["id"] for i in resp["items"]] == [a1.id]
    assert resp["total"] == 3 and resp["pages"] == 2


@pytest.mark.parametrize(
    "query",
    [
        "per_page=101",
        "per_page=0",
        "page=-1",
        "page=abc",
        "status=draft",
        "need_type=teeth",
        "region=22%25",
        "org_id=abc",
        "sort=random",
    ],
)
def test_bad_list_parameters_get_422(world, client, query):
    resp = client.get(f"/api/v1/projects?{query}")
    assert resp.status_code == 422
    assert resp.json["error"]["fields"]
