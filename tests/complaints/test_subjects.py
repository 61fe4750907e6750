"""Every kind of subject: the 举报 link on its public page, where the complaint
is routed, which org it counts against, and the signed-in complainant told of
the outcome."""

from __future__ import annotations

from sqlalchemy import select

from charitylink.claims import services as claims
from charitylink.complaints import services
from charitylink.extensions import db
from charitylink.notifications.models import Notification
from charitylink.projects.models import ProjectStatus
from tests.factories import org_admin_of


def test_each_subject_is_linked_routed_and_counted(
    client, create_org, create_fund, create_project, create_need, create_user
) -> None:
    org = create_org(region_code="220102")
    fund = create_fund(org=org, donations_fen=1_000_000)
    project = create_project(fund=fund)
    need = create_need(region_code="220581", amount_fen=50_000)
    claim = claims.claim_need(need, org_admin_of(org), fund, 10_000)
    db.session.commit()
    for kind, ref, page in (
        ("need", need.code, f"/needs/{need.code}"),
        ("project", project.id, f"/projects/{project.id}"),
        ("fund", fund.id, f"/funds/{fund.id}"),
        ("org", org.id, f"/orgs/{org.id}"),
    ):
        html = client.get(page).text
        assert f"/complaints/new?subject_type={kind}&amp;subject_id={ref}" in html
    expected = {
        "need": (need.code, None, "220581"),
        "project": (str(project.id), org.id, "220102"),
        "fund": (str(fund.id), org.id, "220102"),
        "claim": (str(claim.id), org.id, "220581"),
    }
    for kind, (ref, org_id, region) in expected.items():
        resp = client.post(
            "/api/v1/complaints",
            json={
                "subject_type": kind,
                "subject_id": ref,
                "category": "false_info",
                "text": "请核查。",
            },
        )
        assert resp.status_code == 201, (kind, resp.get_json())
        complaint = services.by_tracking_code(resp.get_json()["tracking_code"])
        assert complaint is not None
        assert (complaint.subject_ref, complaint.subject_org_id) == (ref, org_id)
        assert complaint.region_code == region
    # A project not yet public cannot be named.
    draft = create_project(fund=fund, status=ProjectStatus.DRAFT)
    refused = client.post(
        "/api/v1/complaints",
        json={
            "subject_type": "project",
            "subject_id": draft.id,
            "category": "other",
            "text": "x",
        },
    )
    assert refused.status_code == 422


def test_a_signed_in_complainant_is_told_of_the_outcome(
    client, create_org, create_user, api_token
) -> None:
    org = create_org()
    member = create_user("org_member", org=create_org())
    admin = create_user("admin")
    resp = client.post(
        "/api/v1/complaints",
        json={
            "subject_type": "org",
            "subject_id": org.id,
            "category": "conduct",
            "text": "请核查该机构。",
        },
        headers=api_token(member),
    )
    complaint = services.by_tracking_code(resp.get_json()["tracking_code"])
    assert complaint is not None and complaint.complainant_id == member.id
    services.accept(complaint, admin)
    services.resolve(complaint, admin, "unfounded", "不属实")
    db.session.commit()
    told = db.session.scalar(
        select(Notification).where(
            Notification.user_id == member.id,
            Notification.kind == "complaint_resolved",
        )
    )
    assert told is not None and told.params == {"ref": complaint.ref}
    # Nobody else hears of it (not the org complained about, not the admin).
    told_ids = db.session.scalars(
        select(Notification.user_id).where(Notification.kind == "complaint_resolved")
    ).all()
    assert told_ids == [member.id]
