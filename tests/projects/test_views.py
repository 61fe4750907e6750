"""Project pages: the org's work area, the moderators' review, the public list
and detail with progress, the overdue flag, and the home page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from charitylink.claims.models import ClaimStatus
from charitylink.core.audit import AuditEvent
from charitylink.core.timeutil import utcnow
from charitylink.extensions import db
from charitylink.projects.models import Project, ProjectStatus, ProjectUpdate
from tests.funds.claim_rows import add_claim, add_need

FORM = {
    "title": "困境儿童助学帮扶项目",
    "summary": "为困难家庭儿童提供助学金。",
    "body": "## 项目介绍\n\n资助**困难家庭**学生。",
    "need_types": ["education", "child"],
    "region_codes": "220102，220103 220104",
    "target_amount": "100,000",
    "start_on": "2026-01-01",
    "end_on": "2026-12-31",
    "filing_number": "",
}


def _text(resp) -> str:  # type: ignore[no-untyped-def]
    return resp.get_data(as_text=True)


def _events(project_id: int) -> list[str]:
    return list(
        db.session.scalars(
            db.select(AuditEvent.action)
            .where(AuditEvent.object_type == "project")
            .where(AuditEvent.object_id == str(project_id))
            .order_by(AuditEvent.id)
        )
    )


def test_member_creates_submits_moderator_approves_public_sees(world, client, login_as):
    app = client.application
    login_as(world["member_a"])
    resp = client.post(
        "/org/projects/new", data={**FORM, "fund_id": world["fund_a"].id}
    )
    assert resp.status_code == 302, _text(resp)
    project = db.session.scalars(db.select(Project)).one()
    assert project.status == ProjectStatus.DRAFT and project.target_fen == 10_000_000
    assert project.region_codes == ["220102", "220103", "220104"]
    assert project.filing_number is None
    public = app.test_client()
    assert public.get(f"/projects/{project.id}").status_code == 404
    # the org previews its draft in the work area
    page = _text(client.get(f"/org/projects/{project.id}"))
    assert (
        "困境儿童助学帮扶项目" in page
        and "草稿" in page
        and "<h2>项目介绍</h2>" in page
    )

    assert client.post(f"/org/projects/{project.id}/submit").status_code == 302
    mod = login_as(world["mod_in"], app.test_client())
    queue = _text(mod.get("/mod/projects"))
    assert "困境儿童助学帮扶项目" in queue
    assert "困境儿童助学帮扶项目" not in _text(
        login_as(world["mod_out"], app.test_client()).get("/mod/projects")
    )
    resp = mod.post(f"/mod/projects/{project.id}/approve", follow_redirects=True)
    assert "项目已审核通过并公开发布" in _text(resp)

    page = _text(public.get(f"/projects/{project.id}"))
    assert "困境儿童助学帮扶项目" in page and "进行中" in page
    assert "南关区" in page and "¥100,000.00" in page
    assert "困境儿童助学帮扶项目" in _text(public.get("/projects"))
    assert _events(project.id) == [
        "project.create",
        "project.submit",
        "project.approve",
    ]


def test_rejection_reason_shown_and_org_resubmits(
    world, create_project, client, login_as
):
    app = client.application
    project = create_project(fund=world["fund_a"], status=ProjectStatus.SUBMITTED)
    mod = login_as(world["mod_in"], app.test_client())
    resp = mod.post(f"/mod/projects/{project.id}/reject", data={"reason": ""})
    db.session.refresh(project)
    assert project.status == ProjectStatus.SUBMITTED
    assert "请填写原因" in _text(mod.get(f"/mod/projects/{project.id}"))
    resp = mod.post(
        f"/mod/projects/{project.id}/reject", data={"reason": "请补充预算明细"}
    )
    assert resp.status_code == 302
    login_as(world["admin_a"])
    page = _text(client.get(f"/org/projects/{project.id}"))
    assert "请补充预算明细" in page and "已驳回" in page
    edit = _text(client.get(f"/org/projects/{project.id}/edit"))
    assert 'value="100000.00"' in edit
    resp = client.post(
        f"/org/projects/{project.id}/edit",
        data={**FORM, "title": "修改后的项目", "fund_id": world["fund_a"].id},
    )
    assert resp.status_code == 302
    db.session.refresh(project)
    assert project.status == ProjectStatus.DRAFT and project.title == "修改后的项目"
    client.post(f"/org/projects/{project.id}/submit")
    db.session.refresh(project)
    assert project.status == ProjectStatus.SUBMITTED
    assert _events(project.id) == [
        "project.reject",
        "project.redraft",
        "project.submit",
    ]


def test_refused_transition_on_a_page_shows_message_and_changes_nothing(
    world, create_project, client, login_as
):
    project = create_project(fund=world["fund_a"], status=ProjectStatus.PUBLISHED)
    login_as(world["admin_a"])
    resp = client.post(f"/org/projects/{project.id}/submit", follow_redirects=True)
    assert resp.status_code == 200
    assert "项目当前状态为「进行中」，不能执行此操作" in _text(resp)
    db.session.refresh(project)
    assert project.status == ProjectStatus.PUBLISHED and _events(project.id) == []
    resp = client.get(f"/org/projects/{project.id}/edit", follow_redirects=True)
    assert "只有草稿或被驳回的项目可以修改" in _text(resp)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"target_amount": "0"}, "金额必须大于零"),
        ({"target_amount": "abc"}, "金额格式不正确"),
        ({"target_amount": "-1"}, "金额必须大于零"),
        ({"target_amount": "999999999999"}, "金额过大"),
        ({"title": ""}, "请填写项目名称"),
        ({"filing_number": "慈善-01"}, "只能由字母和数字组成"),
        ({"region_codes": "999999"}, "未知的行政区划代码"),
        ({"region_codes": ""}, "至少一个"),
        ({"need_types": []}, "至少一种"),
        ({"end_on": "2025-12-31"}, "结束日期不能早于开始日期"),
        ({"start_on": "明天"}, "开始日期格式不正确"),
        ({"fund_id": "abc"}, "请选择支付项目资金"),
    ],
)
def test_project_form_errors_in_chinese(world, client, login_as, overrides, message):
    login_as(world["admin_a"])
    data = {**FORM, "fund_id": str(world["fund_a"].id), **overrides}
    resp = client.post("/org/projects/new", data=data)
    assert resp.status_code == 422
    assert message in _text(resp)
    assert db.session.scalar(db.select(db.func.count(Project.id))) == 0


def test_public_pages_never_show_unpublished_or_unverified(
    world, create_org, create_fund, create_project, client
):
    hidden = [
        create_project(fund=world["fund_a"], status=s, title=f"隐藏项目{s}")
        for s in ("draft", "submitted", "rejected")
    ]
    suspended = create_fund(org=create_org(status="suspended"))
    hidden.append(create_project(fund=suspended, title="暂停机构的项目"))
    create_project(fund=world["fund_a"], title="公开项目甲")
    create_project(fund=world["fund_a"], status="closed", title="已结束项目乙")
    listing = _text(client.get("/projects"))
    home = _text(client.get("/"))
    for p in hidden:
        assert client.get(f"/projects/{p.id}").status_code == 404
        assert p.title not in listing and p.title not in home
    assert "公开项目甲" in listing and "已结束项目乙" in listing
    assert "公开项目甲" in home and "已结束项目乙" not in home


def test_public_list_filters_and_bad_input(world, create_project, client):
    create_project(fund=world["fund_a"], title="医疗项目", need_types=["medical"])
    create_project(fund=world["fund_a"], title="教育项目", need_types=["education"])
    page = _text(client.get("/projects?need_type=medical"))
    assert "医疗项目" in page and "教育项目" not in page
    for query in ("region=abc", "page=-3", "need_type=x", "org_id=1' or 1=1", "sort=x"):
        resp = client.get(f"/projects?{query}")
        assert resp.status_code == 200
        assert "医疗项目" in _text(resp)
    assert "地区应为行政区划代码" in _text(client.get("/projects?region=abc"))


def test_relevance_is_offered_and_accepted_without_a_keyword(
    world, create_project, client
):
    create_project(fund=world["fund_a"], title="较早的项目")
    create_project(fund=world["fund_a"], title="较新的项目")
    page = client.get("/projects")
    assert 'option value="relevance" selected' in page.get_data(as_text=True)
    resp = client.get("/projects?sort=relevance")
    text = _text(resp)
    assert resp.status_code == 200 and "排序只能是" not in text
    assert text.index("较新的项目") < text.index("较早的项目")


def test_public_list_pages_by_twenty(world, create_project, client):
    for i in range(23):
        create_project(fund=world["fund_a"], title=f"项目{i:02d}")
    first = _text(client.get("/projects"))
    assert "共 23 个项目" in first and "第 1 / 2 页" in first
    second = _text(client.get("/projects?page=2"))
    assert second.count('<article class="card">') == 3


def test_progress_from_claims_under_the_project(
    world, create_project, create_user, client
):
    project = create_project(fund=world["fund_a"], target_fen=1_000_000)
    fund = world["fund_a"]
    mod = create_user("moderator")
    same_house = add_need(mod.id, household_key="a" * 64)
    other_need = add_need(mod.id, household_key="a" * 64)
    third = add_need(mod.id, household_key="b" * 64)
    add_claim(fund, same_house, 100_000, project_id=project.id)  # reserved
    add_claim(
        fund, other_need, 200_000, status=ClaimStatus.DELIVERED,
        delivered_fen=150_000, project_id=project.id,
    )  # fmt: skip
    add_claim(
        fund, third, 50_000, status=ClaimStatus.CONFIRMED, delivered_fen=50_000,
        project_id=project.id,
    )  # fmt: skip
    add_claim(fund, third, 70_000, status=ClaimStatus.CANCELLED, project_id=project.id)
    add_claim(fund, third, 90_000)  # not under the project
    db.session.commit()
    body = client.get(f"/api/v1/projects/{project.id}").json
    assert body["claimed_amount"] == 100_000 + 150_000 + 50_000
    assert body["delivered_amount"] == 200_000
    assert body["households_helped"] == 2
    page = _text(client.get(f"/projects/{project.id}"))
    assert "¥3,000.00" in page and "¥2,000.00" in page
    assert 'aria-valuenow="30"' in page and 'width="30"' in page
    assert 'style="width' not in page  # CSP (style-src 'self') blocks inline style
    assert "a" * 64 not in page and "b" * 64 not in page


def test_overdue_progress_is_flagged_and_an_update_clears_it(
    world, create_project, client, login_as
):
    project = create_project(fund=world["fund_a"], title="逾期项目")
    project.published_at = utcnow() - timedelta(days=91)
    fresh = create_project(fund=world["fund_a"], title="新项目")
    db.session.commit()
    app = client.application
    public = app.test_client()
    assert "进展更新逾期" in _text(public.get(f"/projects/{project.id}"))
    assert "进展更新逾期" not in _text(public.get(f"/projects/{fresh.id}"))
    login_as(world["member_a"])
    reminder = _text(client.get("/org/projects"))
    assert "已超过3个月未发布进展" in reminder and "逾期项目" in reminder

    resp = client.post(f"/org/projects/{project.id}/updates", data={"body": "  "})
    assert resp.status_code == 422 and "请填写进展内容" in _text(resp)
    resp = client.post(
        f"/org/projects/{project.id}/updates",
        data={"body": "本季度资助12名学生，发放助学金6万元。"},
    )
    assert resp.status_code == 302
    page = _text(public.get(f"/projects/{project.id}"))
    assert "进展更新逾期" not in page and "本季度资助12名学生" in page
    assert "已超过3个月未发布进展" not in _text(client.get("/org/projects"))
    assert db.session.scalar(db.select(db.func.count(ProjectUpdate.id))) == 1
    assert _events(project.id) == ["project.progress"]


def test_updates_only_on_published_projects(world, create_project, client, login_as):
    project = create_project(fund=world["fund_a"], status="draft")
    login_as(world["admin_a"])
    resp = client.post(
        f"/org/projects/{project.id}/updates", data={"body": "进展"},
        follow_redirects=True,
    )  # fmt: skip
    assert "不能执行此操作" in _text(resp)
    assert db.session.scalar(db.select(db.func.count(ProjectUpdate.id))) == 0


def test_close_by_org_and_by_moderator(world, create_project, client, login_as):
    a = create_project(fund=world["fund_a"])
    b = create_project(fund=world["fund_a"])
    login_as(world["admin_a"])
    client.post(f"/org/projects/{a.id}/close", data={"final_report": "项目已完成。"})
    mod = login_as(world["mod_in"], client.application.test_client())
    mod.post(
        f"/mod/projects/{b.id}/close",
        data={"reason": "项目资金已用完", "final_report": "资金已用完，项目结束。"},
    )
    db.session.expire_all()
    assert db.session.get(Project, a.id).status == ProjectStatus.CLOSED
    assert db.session.get(Project, b.id).status == ProjectStatus.CLOSED
    assert _events(b.id) == ["project.close"]


# --- access matrix over the project pages ----------------------------------

PAGE_EXPECTED = {
    # role: (/org/projects, /org/projects/new, /org/projects/<draft>,
    #        submit draft, /mod/projects, /mod/projects/<submitted>,
    #        approve submitted, /projects/<published>, /projects/<draft>)
    "public": (302, 302, 302, 302, 302, 302, 302, 200, 404),
    "member_a": (200, 200, 200, 302, 403, 403, 403, 200, 404),
    "admin_a": (200, 200, 200, 302, 403, 403, 403, 200, 404),
    "admin_b": (200, 200, 404, 404, 403, 403, 403, 200, 404),
    "mod_in": (403, 403, 403, 403, 200, 200, 302, 200, 404),
    "mod_out": (403, 403, 403, 403, 200, 404, 404, 200, 404),
    "admin": (403, 403, 403, 403, 200, 200, 302, 200, 404),
}


@pytest.mark.parametrize("role", list(PAGE_EXPECTED))
def test_project_pages_access_matrix(world, create_project, client, login_as, role):
    fund = world["fund_a"]
    draft = create_project(fund=fund, status="draft")
    submitted = create_project(fund=fund, status="submitted")
    published = create_project(fund=fund, status="published")
    if world[role] is not None:
        login_as(world[role])
    got = (
        client.get("/org/projects").status_code,
        client.get("/org/projects/new").status_code,
        client.get(f"/org/projects/{draft.id}").status_code,
        client.post(f"/org/projects/{draft.id}/submit").status_code,
        client.get("/mod/projects").status_code,
        client.get(f"/mod/projects/{submitted.id}").status_code,
        client.post(f"/mod/projects/{submitted.id}/approve").status_code,
        client.get(f"/projects/{published.id}").status_code,
        client.get(f"/projects/{draft.id}").status_code,
    )
    assert got == PAGE_EXPECTED[role]
    db.session.expire_all()
    submitted_now = db.session.get(Project, draft.id).status
    approved_now = db.session.get(Project, submitted.id).status
    assert (submitted_now == "submitted") == (role in ("member_a", "admin_a"))
    assert (approved_now == "published") == (role in ("mod_in", "admin"))


def test_home_page_figures_and_latest_projects(
    world, create_org, create_fund, create_project, client
):
    create_fund(org=world["org_b"], donations_fen=250_000)
    create_fund(org=create_org(status="pending"), donations_fen=999_999)
    create_project(fund=world["fund_a"], title="最新的帮扶项目")
    page = _text(client.get("/"))
    # org A and org B are verified; the pending org and its fund do not count
    assert "<b>2</b><span>认证慈善组织</span>" in page
    assert "<b>2</b><span>冠名与专项基金</span>" in page
    assert "<b>¥12,500.00</b><span>基金累计捐赠</span>" in page
    assert "<b>0</b><span>公开需求</span>" in page
    assert "最新的帮扶项目" in page
