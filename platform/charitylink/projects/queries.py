"""Read side of projects: the public list, progress figures, work-area lists."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, String, case, cast, func, literal_column, select
from sqlalchemy.sql import Select

from charitylink.accounts.models import User
from charitylink.claims.models import Claim, ClaimStatus
from charitylink.core import cache
from charitylink.core.permissions import in_scope
from charitylink.core.timeutil import today
from charitylink.extensions import db
from charitylink.needs.models import NEED_TYPE_LABELS, Need
from charitylink.orgs.models import Organization, OrgStatus
from charitylink.projects.models import (
    PUBLIC_PROJECT_STATUSES,
    Project,
    ProjectStatus,
    ProjectUpdate,
)

SORTS = ("newest", "target")
# "relevance" only means something to the search engine (with ``q``); the
# database query treats it as "newest", so the choice survives clearing the box.
ACCEPTED_SORTS = (*SORTS, "relevance")
MAX_PER_PAGE = 100
_REGION = re.compile(r"\d{2,12}")


@dataclass
class Progress:
    claimed_fen: int = 0
    delivered_fen: int = 0
    households: int = 0


@dataclass
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int
    progress: dict[int, Progress] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


@dataclass
class Filters:
    """Validated public filters; bad values are dropped and named in ``errors``."""

    region: str | None = None
    need_type: str | None = None
    org_id: int | None = None
    status: str | None = None
    overdue: bool = False
    sort: str = "newest"
    errors: dict[str, str] = field(default_factory=dict)


def parse_filters(args: Any) -> Filters:  # noqa: C901, PLR0912 — one branch per filter of the public library, each with its own warning
    from charitylink.core.i18n import _

    f = Filters()
    region = (args.get("region") or "").strip()
    if region:
        if _REGION.fullmatch(region):
            f.region = region
        else:
            f.errors["region"] = _("地区应为行政区划代码或其前缀，例如 22 或 220102。")
    need_type = (args.get("need_type") or "").strip()
    if need_type:
        if need_type in NEED_TYPE_LABELS:
            f.need_type = need_type
        else:
            f.errors["need_type"] = _("未知的需求类型。")
    org = (args.get("org_id") or args.get("org") or "").strip()
    if org:
        if org.isdigit() and len(org) < 10:
            f.org_id = int(org)
        else:
            f.errors["org_id"] = _("机构编号应为数字。")
    status = (args.get("status") or "").strip()
    if status:
        if status in PUBLIC_PROJECT_STATUSES:
            f.status = status
        else:
            f.errors["status"] = _(
                "状态只能是 published（进行中）或 closed（已结束）。"
            )
    overdue = (args.get("overdue") or "").strip()
    if overdue in ("1", "true"):
        f.overdue = True
    elif overdue not in ("", "0", "false"):
        f.errors["overdue"] = _("overdue 只能是 1（只看进展逾期的项目）或 0。")
    sort = (args.get("sort") or "newest").strip()
    if sort in ACCEPTED_SORTS:
        f.sort = sort
    else:
        f.errors["sort"] = _(
            "排序只能是 relevance（最相关）、newest（最新）或 target（目标金额）。"
        )
    return f


def parse_page(
    args: Any, default_per_page: int = 20
) -> tuple[int, int, dict[str, str]]:
    from charitylink.core.i18n import _

    errors: dict[str, str] = {}
    page, per_page = 1, default_per_page
    raw = (args.get("page") or "1").strip()
    if raw.isdigit() and 0 < int(raw[:9]) < 1_000_000:
        page = int(raw)
    else:
        errors["page"] = _("页码应为正整数。")
    raw = (args.get("per_page") or str(default_per_page)).strip()
    if raw.isdigit() and 0 < int(raw[:9]) <= MAX_PER_PAGE:
        per_page = int(raw)
    else:
        errors["per_page"] = _("每页条数应为 1–100 的整数。")
    return page, per_page, errors


def _json_contains(column: Any, token: str) -> Any:
    # JSON lists are stored as text like ["220102", "220103"] on SQLite and
    # PostgreSQL alike; the token is validated (digits or an enum value) so it
    # holds no LIKE wildcard.
    return cast(column, String).like(f'%"{token}%')


def public_query(f: Filters) -> Select[Any]:
    stmt = (
        select(Project)
        # ``+projects.org_id`` (a no-op on both databases) keeps SQLite from
        # starting at the orgs and sorting all their projects: it walks projects
        # newest first and stops after a page (docs/funds-projects.md, "Measured").
        .join(
            Organization,
            Organization.id == literal_column("+projects.org_id", Integer),
        )
        .where(
            Project.status.in_(PUBLIC_PROJECT_STATUSES),
            Organization.status == OrgStatus.VERIFIED,
        )
    )
    if f.status:
        stmt = stmt.where(Project.status == f.status)
    if f.org_id is not None:
        stmt = stmt.where(Project.org_id == f.org_id)
    if f.region:
        stmt = stmt.where(_json_contains(Project.region_codes, f.region))
    if f.need_type:
        stmt = stmt.where(_json_contains(Project.need_types, f.need_type + '"'))
    if f.overdue:
        stmt = stmt.where(Project.overdue_clause())
    return stmt


def public_page(f: Filters, page: int, per_page: int) -> Page:
    stmt = public_query(f)

    def count() -> int:
        # Ids only: a subquery of every column would read each whole project row.
        ids = stmt.with_only_columns(Project.id).subquery()
        return db.session.scalar(select(func.count()).select_from(ids)) or 0

    # Kept until the data changes (core/cache.py): the next page needs it too.
    # The overdue count also changes with the day, without any write.
    overdue = today().isoformat() if f.overdue else ""
    key = f"{f.region}|{f.need_type}|{f.org_id}|{f.status}|{overdue}"
    total = cache.get_or_set(f"projects.count|{key}", count)
    order = (
        [Project.target_fen.desc(), Project.id.desc()]
        if f.sort == "target"
        else [Project.published_at.desc(), Project.id.desc()]
    )
    items = list(
        db.session.scalars(
            stmt.order_by(*order).limit(per_page).offset((page - 1) * per_page)
        ).unique()
    )
    return Page(items, total, page, per_page, progress([p.id for p in items]))


def progress(project_ids: list[int]) -> dict[int, Progress]:
    """Claimed and delivered amounts and households helped, per project.

    claimed = reserved claims' amounts + what delivered/confirmed claims actually
    delivered (the undelivered rest went back to the fund); delivered = the latter
    alone; households = distinct household keys of delivered/confirmed claims
    (a count only: the keys never leave this function)."""
    result = {pid: Progress() for pid in project_ids}
    if not project_ids:
        return result
    done = Claim.status.in_((ClaimStatus.DELIVERED, ClaimStatus.CONFIRMED))
    delivered = case((done, func.coalesce(Claim.delivered_fen, 0)), else_=0)
    reserved = case((Claim.status == ClaimStatus.RESERVED, Claim.amount_fen), else_=0)
    rows = db.session.execute(
        select(
            Claim.project_id,
            func.coalesce(func.sum(reserved), 0),
            func.coalesce(func.sum(delivered), 0),
            func.count(func.distinct(case((done, Need.household_key), else_=None))),
        )
        .join(Need, Need.id == Claim.need_id)
        .where(Claim.project_id.in_(project_ids))
        .group_by(Claim.project_id)
    )
    for pid, res, dlv, households in rows:
        result[pid] = Progress(int(res) + int(dlv), int(dlv), int(households))
    return result


def progress_of(project: Project) -> Progress:
    return progress([project.id])[project.id]


def updates(project: Project) -> list[ProjectUpdate]:
    return list(
        db.session.scalars(
            select(ProjectUpdate)
            .where(ProjectUpdate.project_id == project.id)
            .order_by(ProjectUpdate.created_at.desc(), ProjectUpdate.id.desc())
        )
    )


def public_for_fund(fund_id: int, limit: int = 50) -> list[Project]:
    return list(
        db.session.scalars(
            public_query(Filters())
            .where(Project.fund_id == fund_id)
            .order_by(Project.published_at.desc(), Project.id.desc())
            .limit(limit)
        ).unique()
    )


def latest_public(limit: int = 6) -> list[Project]:
    return list(
        db.session.scalars(
            public_query(Filters(status=ProjectStatus.PUBLISHED))
            .order_by(Project.published_at.desc(), Project.id.desc())
            .limit(limit)
        ).unique()
    )


def overdue_for_org(org_id: int) -> list[Project]:
    """The org's published projects whose progress update is overdue."""
    return list(
        db.session.scalars(
            select(Project)
            .where(Project.org_id == org_id, Project.overdue_clause())
            .order_by(Project.id)
        ).unique()
    )


def overdue_in_scope(user: User) -> Any:
    """SELECT of the overdue projects of orgs in the moderator's region."""
    return (
        select(Project)
        .join(
            Organization,
            Organization.id == literal_column("+projects.org_id", Integer),
        )
        .where(Project.overdue_clause(), in_scope(user, Organization.region_code))
    )
