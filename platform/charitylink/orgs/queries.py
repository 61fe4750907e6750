"""Read-side of the orgs feature: lists, scoped look-ups, the audit log query."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select

from charitylink.accounts.models import Role, User
from charitylink.core.audit import AuditEvent
from charitylink.core.permissions import (
    covers,
    in_scope,
    is_org_staff,
    prefix_range,
    scope_prefix,
)
from charitylink.core.timeutil import CHINA
from charitylink.extensions import db
from charitylink.funds.models import Fund
from charitylink.needs.models import Need
from charitylink.orgs.models import Organization, OrgStatus
from charitylink.projects.models import Project, ProjectStatus

MAX_PER_PAGE = 100


def page_args(page: Any, per_page: Any = 20) -> tuple[int, int]:
    """Page number and size from untrusted input, clamped to sane values."""
    try:
        p = int(page)
    except (TypeError, ValueError):
        p = 1
    try:
        n = int(per_page)
    except (TypeError, ValueError):
        n = 20
    return max(1, min(p, 100_000)), max(1, min(n, MAX_PER_PAGE))


def verified_orgs(region: str | None = None, org_type: str | None = None) -> Select:
    stmt = select(Organization).where(Organization.status == OrgStatus.VERIFIED)
    if region:
        stmt = stmt.where(prefix_range(Organization.region_code, region))
    if org_type:
        stmt = stmt.where(Organization.org_type == org_type)
    return stmt.order_by(Organization.name, Organization.id)


def visible_org(org_id: int, viewer: User | None) -> Organization | None:
    """The org if ``viewer`` may see it: verified ones are public; the org's own
    staff and moderators of its region also see it in other states."""
    org = db.session.get(Organization, org_id)
    if org is None:
        return None
    if org.is_verified:
        return org
    if viewer is not None and (
        is_org_staff(viewer, org.id) or covers(viewer, org.region_code)
    ):
        return org
    return None


def org_for_moderator(org_id: int, moderator: User) -> Organization | None:
    """The org if it lies in the moderator's region (admins: any); else None, so
    the caller answers 404 and does not reveal that it exists."""
    org = db.session.get(Organization, org_id)
    if org is None or not covers(moderator, org.region_code):
        return None
    return org


def moderation_queue(moderator: User, status: str | None = None) -> Select:
    """Orgs of the moderator's region: pending first; among them those whose
    admin confirmed the registration's e-mail address first (a confirmed
    address is one less thing to check); then newest."""
    stmt = select(Organization).where(in_scope(moderator, Organization.region_code))
    if status:
        stmt = stmt.where(Organization.status == status)
    pending_first = (Organization.status != OrgStatus.PENDING).asc()
    confirmed_first = (~email_confirmed(Organization.id)).asc()
    return stmt.order_by(pending_first, confirmed_first, Organization.created_at.desc())


def email_confirmed(org_id: Any) -> ColumnElement[bool]:
    """True for an org with an admin who confirmed their e-mail address."""
    return (
        select(User.id)
        .where(
            User.org_id == org_id,
            User.role == Role.ORG_ADMIN,
            User.email_confirmed_at.is_not(None),
        )
        .exists()
    )


def confirmed_org_ids(org_ids: list[int]) -> set[int]:
    """Of these orgs, those with an admin who confirmed their address."""
    if not org_ids:
        return set()
    return set(
        db.session.scalars(
            select(User.org_id).where(
                User.org_id.in_(org_ids),
                User.role == Role.ORG_ADMIN,
                User.email_confirmed_at.is_not(None),
            )
        )
    )


def funds_of(org: Organization) -> list[Fund]:
    return list(
        db.session.scalars(select(Fund).where(Fund.org_id == org.id).order_by(Fund.id))
    )


def published_projects_of(org: Organization) -> list[Project]:
    return list(
        db.session.scalars(
            select(Project)
            .where(
                Project.org_id == org.id,
                Project.status.in_([ProjectStatus.PUBLISHED, ProjectStatus.CLOSED]),
            )
            .order_by(Project.published_at.desc(), Project.id.desc())
        )
    )


def _utc_start(day: date) -> datetime:
    start = datetime.combine(day, time.min, CHINA)
    return start.astimezone(UTC).replace(tzinfo=None)


def _same_object(object_id: str) -> list[str]:
    """A need's history is filed under the code it had at the time: the first
    release's county code (now ``legacy_code``) before the codes changed, the
    province code after. Asked for either, the audit log shows both."""
    row = db.session.execute(
        select(Need.code, Need.legacy_code).where(
            or_(Need.code == object_id, Need.legacy_code == object_id)
        )
    ).first()
    if row is None:
        return [object_id]
    return [code for code in row if code]


def audit_events(
    viewer: User,
    *,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Select:
    """Audit events the viewer may read, newest first.

    Admins read everything. A moderator reads the events whose region lies in
    its prefix, plus those of orgs in its region (funds, members...)."""
    stmt = select(AuditEvent)
    if scope_prefix(viewer) is not None:
        orgs_in_region = select(Organization.id).where(
            in_scope(viewer, Organization.region_code)
        )
        stmt = stmt.where(
            or_(
                in_scope(viewer, AuditEvent.region_code),
                AuditEvent.org_id.in_(orgs_in_region),
            )
        )
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action))
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditEvent.object_id.in_(_same_object(object_id)))
    # Dates are China calendar days; stored times are naive UTC.
    if date_from:
        stmt = stmt.where(AuditEvent.created_at >= _utc_start(date_from))
    if date_to:
        stmt = stmt.where(AuditEvent.created_at < _utc_start(date_to + timedelta(1)))
    return stmt.order_by(AuditEvent.id.desc())
