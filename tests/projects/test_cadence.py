"""The 3-month disclosure cadence: when the next progress update is due, the
overdue mark and filter, the moderators' list, closing with a final report."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from charitylink.core.audit import AuditEvent
from charitylink.core.timeutil import CHINA, as_utc, today
from charitylink.extensions import db
from charitylink.projects.models import Project, ProjectUpdate

FINAL = "项目已完成：资助38户，交付助学金19万元，结余退回基金。"


def _at(day: date, hour: int = 10) -> datetime:
    return as_utc(datetime.combine(day, time(hour), tzinfo=CHINA)).replace(tzinfo=None)


def _text(resp) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r"\s+", " ", resp.get_data(as_text=True))


def _aged(project: Project, days: int, *, updated: bool = True) -> Project:
    """The project's last update (or publication) ``days`` China days ago."""
    when = _at(today() - timedelta(days=days))
    project.published_at = when if not updated else _at(today() - timedelta(400))
    project.last_progress_at = when if updated else None
    db.session.commit()
    return project


@pytest.mark.parametrize("hour", [0, 1, 9, 15, 23])
@pytest.mark.parametrize("days", [88, 89, 90, 91])
def test_due_day_and_its_sql_form_agree(world, create_project, hour, days):
    project = create_project(fund=world["fund_a"])
    project.last_progress_at = _at(today() - timedelta(days=days), hour)
    db.session.commit()
    assert project.update_due_on == today() - timedelta(days=days) + timedelta(90)
    in_sql = db.session.scalar(
        select(Project.id).where(Project.id == project.id, Project.overdue_clause())
    )
    assert project.progress_overdue() is (days >= 90) is (in_sql is not None)


def test_public_page_shows_last_update_and_next_due(world, create_project, client):
    fresh = _aged(create_project(fund=world["fund_a"], title="按时公开项目"), 10)
    late = _aged(create_project(fund=world["fund_a"], title="逾期项目"), 95)
    page = _text(client.get(f"/projects/{fresh.id}"))
    assert "上次公开进展" in page and "下次进展应公开" in page
    due = today() + timedelta(days=80)
    assert f"{due.year}年{due.month}月{due.day}日 前" in page
    assert "进展更新逾期" not in page
    page = _text(client.get(f"/projects/{late.id}"))
    assert "进展更新逾期" in page and "已逾期" in page
    # Counted from publication while there is no update yet.
    new = _aged(create_project(fund=world["fund_a"]), 30, updated=False)
    assert "尚无（自发布日起计）" in _text(client.get(f"/projects/{new.id}"))


def test_overdue_marked_on_the_org_page_and_filtered_in_the_list(
    world, create_project, client
):
    _aged(create_project(fund=world["fund_a"], title="按时公开项目"), 10)
    late = _aged(create_project(fund=world["fund_a"], title="逾期项目"), 95)
    org_page = _text(client.get(f"/orgs/{world['org_a'].id}"))
    assert "1 个项目超过3个月未公开进展" in org_page
    assert org_page.count("进展更新逾期") == 1
    listed = _text(client.get("/projects?overdue=1"))
    assert "逾期项目" in listed and "按时公开项目" not in listed
    assert "共 1 个项目" in listed
    both = _text(client.get("/projects"))
    assert "按时公开项目" in both and both.count('class="badge warn"') == 1
    api = client.get("/api/v1/projects?overdue=true").json
    assert [p["id"] for p in api["items"]] == [late.id]
    assert api["items"][0]["progress_overdue"] is True
    assert api["items"][0]["update_due_on"] == (today() - timedelta(5)).isoformat()
    assert len(client.get("/api/v1/projects").json["items"]) == 2
    assert client.get("/api/v1/projects?overdue=1").status_code == 422
    assert client.get("/projects?overdue=x").status_code == 200


def test_moderators_overdue_list_is_scoped_by_region(
    world, create_project, create_org, create_fund, login_as, client
):
    late_a = _aged(create_project(fund=world["fund_a"], title="长春逾期项目"), 100)
    fund_b = create_fund(org=world["org_b"])
    _aged(create_project(fund=fund_b, title="兰州逾期项目"), 130)
    _aged(create_project(fund=world["fund_a"], title="长春按时项目"), 20)
    login_as(world["mod_in"])
    page = _text(client.get("/mod/projects/overdue"))
    assert "长春逾期项目" in page and "兰州逾期项目" not in page
    assert "长春按时项目" not in page and "共 1 个项目" in page
    assert f"/mod/projects/{late_a.id}" in page
    home = client.get("/mod").get_data(as_text=True)
    assert "/mod/projects/overdue" in home
    assert re.search(r"<b>1</b><span>进展逾期的项目", home)
    other = login_as(world["mod_out"], client.application.test_client())
    page = _text(other.get("/mod/projects/overdue"))
    assert "兰州逾期项目" in page and "长春逾期项目" not in page
    admin = login_as(world["admin"], client.application.test_client())
    assert "共 2 个项目" in _text(admin.get("/mod/projects/overdue"))


def _closed_state(project_id: int) -> tuple[str, int, int]:
    db.session.expire_all()
    project = db.session.get(Project, project_id)
    assert project is not None
    updates = db.session.scalar(
        select(db.func.count(ProjectUpdate.id)).where(
            ProjectUpdate.project_id == project_id
        )
    )
    audits = db.session.scalar(
        select(db.func.count(AuditEvent.id)).where(AuditEvent.action == "project.close")
    )
    return str(project.status), updates or 0, audits or 0


def test_closing_without_a_final_report_is_refused(
    world, create_project, login_as, client, api_token
):
    project = create_project(fund=world["fund_a"])
    login_as(world["admin_a"])
    resp = client.post(f"/org/projects/{project.id}/close", data={"final_report": "  "})
    assert resp.status_code == 422
    assert "结束项目须填写结项报告" in _text(resp)
    assert _closed_state(project.id) == ("published", 0, 0)
    resp = client.post(
        f"/api/v1/projects/{project.id}/close",
        json={"reason": "完成"},
        headers=api_token(world["admin_a"]),
    )
    assert resp.status_code == 422
    assert "final_report" in resp.json["error"]["fields"]
    mod = login_as(world["mod_in"], client.application.test_client())
    resp = mod.post(f"/mod/projects/{project.id}/close", data={"reason": "到期"})
    assert resp.status_code == 422
    assert _closed_state(project.id) == ("published", 0, 0)


def test_closing_with_a_final_report_publishes_it_last(
    world, create_project, login_as, client
):
    project = create_project(fund=world["fund_a"])
    login_as(world["admin_a"])
    client.post(
        f"/org/projects/{project.id}/updates", data={"body": "第一季度资助12名学生。"}
    )
    resp = client.post(
        f"/org/projects/{project.id}/close",
        data={"final_report": FINAL},
        follow_redirects=True,
    )
    assert resp.status_code == 200 and "结项报告已公开" in _text(resp)
    assert _closed_state(project.id) == ("closed", 2, 1)
    updates = list(
        db.session.scalars(
            select(ProjectUpdate)
            .where(ProjectUpdate.project_id == project.id)
            .order_by(ProjectUpdate.created_at, ProjectUpdate.id)
        )
    )
    assert [u.final for u in updates] == [False, True]
    assert updates[-1].body == FINAL
    page = _text(client.get(f"/projects/{project.id}"))
    assert page.index(FINAL) < page.index("第一季度资助12名学生")  # newest first
    for label in ("结项报告", "筹集（已认领）", "已交付", "帮扶户数", "结项时间"):
        assert label in page
    assert "下次进展应公开" not in page


def test_final_report_is_scanned_for_personal_data(
    world, create_project, login_as, client
):
    project = create_project(fund=world["fund_a"])
    login_as(world["admin_a"])
    resp = client.post(
        f"/org/projects/{project.id}/close",
        data={"final_report": "受助人电话13912345678，已送达。"},
    )
    assert resp.status_code == 422
    assert _closed_state(project.id) == ("published", 0, 0)


def test_overdue_filter_also_applies_with_keywords(world, create_project):
    from charitylink.search.query import parse_args
    from charitylink.search.sqlfilters import project_clauses

    _aged(create_project(fund=world["fund_a"], title="按时公开项目"), 10)
    late = _aged(create_project(fund=world["fund_a"], title="逾期项目"), 95)
    parsed = parse_args({"q": "项目", "overdue": "1"}, "project")
    assert parsed.filters.overdue and not parsed.errors
    ids = db.session.scalars(
        select(Project.id).where(*project_clauses(parsed.filters))
    ).all()
    assert ids == [late.id]
