"""The projects work lists: the moderators' review queue of their regions'
projects and the org's own projects, paged, filtered and sorted through
core/paging.py. "Overdue" is the project model's own rule (a progress update
past the disclosure cadence)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, func, literal_column, select

from charitylink.accounts.models import User
from charitylink.core.i18n import _, _l
from charitylink.core.paging import ListParser, Page, Sort, paginate
from charitylink.core.permissions import in_scope, prefix_range
from charitylink.orgs.models import Organization
from charitylink.projects import queries
from charitylink.projects.models import Project, ProjectStatus

ALL = "all"


def sorts() -> dict[str, Sort]:
    return {
        "submitted": Sort(_l("提交时间"), [Project.submitted_at]),
        "updated": Sort(_l("最近更新"), [Project.updated_at], reverse=True),
        "target": Sort(_l("目标金额"), [Project.target_fen], reverse=True),
        "title": Sort(_l("项目名称"), [Project.title]),
    }


def _status_and_overdue(stmt: Any, p: ListParser, default: str) -> Any:
    values = [s.value for s in ProjectStatus]
    status = p.choice("status", [*values, ALL], _("状态"))
    if not status:
        status = default
    if status and status != ALL:
        stmt = stmt.where(Project.status == status)
    if p.choice("overdue", ("1",), _("进展逾期")):
        stmt = stmt.where(Project.overdue_clause())
    return stmt


def mod_projects(user: User, args: Any) -> Page:
    """Projects of orgs in the moderator's regions (an admin: all); without a
    status asked for, the ones waiting for review, oldest first."""
    p = ListParser(args, sorts(), "submitted")
    stmt = select(Project).join(
        Organization,
        # As in projects/queries.py: walk projects, not the orgs (SQLite plan).
        Organization.id == literal_column("+projects.org_id", Integer),
    )
    stmt = stmt.where(in_scope(user, Organization.region_code))
    stmt = _status_and_overdue(stmt, p, ProjectStatus.SUBMITTED.value)
    region = p.region("region", _("地区"))
    if region:
        stmt = stmt.where(prefix_range(Organization.region_code, region))
    stmt = stmt.where(*p.date_range(Project.submitted_at))
    return paginate(stmt, p, Project.id)


def org_projects(org_id: int, user: User, args: Any) -> Page:
    """One org's projects, never another's."""
    p = ListParser(args, sorts(), "updated")
    stmt = select(Project).where(Project.org_id == org_id)
    stmt = _status_and_overdue(stmt, p, "")
    if p.choice("mine", ("entered",), _("范围")) == "entered":
        stmt = stmt.where(Project.created_by_id == user.id)
    stmt = stmt.where(*p.date_range(Project.updated_at))
    return paginate(stmt, p, Project.id)


def overdue_projects(user: User, args: Any) -> Page:
    """Published projects in the moderator's regions whose progress update is
    overdue, longest silent first (the model's cadence rule)."""
    last = func.coalesce(Project.last_progress_at, Project.published_at)
    overdue_sorts = {
        "silent": Sort(_l("最久未公开在前"), [last], reverse_label=_l("最近公开在前")),
        "target": Sort(_l("目标金额"), [Project.target_fen], reverse=True),
    }
    p = ListParser(args, overdue_sorts, "silent")
    stmt = queries.overdue_in_scope(user)
    region = p.region("region", _("地区"))
    if region:
        stmt = stmt.where(prefix_range(Organization.region_code, region))
    return paginate(stmt, p, Project.id)
