"""What waits for a person in their work area: the counts on /org and /mod and
the badge beside the work-area link in the menu.

All counts of one person come from one SELECT of scalar subqueries (one round
trip), kept in ``core.cache`` for a minute under the person's key: any change to
needs, claims, projects or orgs moves the cache's generation stamp, so a count
is never older than the last change. Only plain numbers are cached.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import g
from sqlalchemy import Integer as SAInteger
from sqlalchemy import func, literal_column, select

from charitylink.accounts.models import User
from charitylink.claims.models import (
    Claim,
    ClaimInstalment,
    ClaimStatus,
    InstalmentStatus,
)
from charitylink.complaints.models import Complaint, ComplaintStatus
from charitylink.core import cache
from charitylink.core.permissions import (
    MODERATION_ROLES,
    ORG_ROLES,
    in_scope,
    role_of,
    scope_prefix,
)
from charitylink.core.timeutil import today
from charitylink.extensions import db
from charitylink.needs.models import Need, NeedStatus
from charitylink.orgs.models import Organization, OrgStatus
from charitylink.privacy.purge_models import PrivacyRequest
from charitylink.projects import queries as project_queries
from charitylink.projects.models import Project, ProjectStatus

# "Soon" is the coming week, the horizon of the moderators' claim queue and of
# the reports' expiring claims.
SOON_DAYS = 7
CACHE_TTL = 60.0

# The counts that ask for someone's action: they make up the menu badge. The
# others on the page (open claims, deliveries waiting for the civil-affairs
# visit, drafts) are the state of the work, not a call to act now.
ORG_ACTION_KEYS = (
    "claims_overdue",
    "claims_due_soon",
    "claims_disputed",
    "projects_overdue",
)
MOD_ACTION_KEYS = (
    "needs_submitted",
    "orgs_pending",
    "projects_submitted",
    "claims_to_confirm",
    "claims_disputed",
    "privacy_requests_overdue",
    "complaints_received",
)


def _count(stmt: Any) -> Any:
    return select(func.count()).select_from(stmt.subquery()).scalar_subquery()


def _claims_in_region(user: User) -> Any:
    return (
        select(Claim.id)
        .join(Need, Need.id == Claim.need_id)
        .where(in_scope(user, Need.region_code))
    )


def _mod_counts(user: User, day: date) -> dict[str, int]:
    soon = day + timedelta(days=SOON_DAYS)
    needs = select(Need.id).where(in_scope(user, Need.region_code))
    claims = _claims_in_region(user)
    reserved = claims.where(Claim.status == ClaimStatus.RESERVED)
    parts = {
        "needs_submitted": needs.where(Need.status == NeedStatus.SUBMITTED),
        "needs_drafts": needs.where(
            Need.status.in_([NeedStatus.DRAFT, NeedStatus.REJECTED])
        ),
        "needs_expiring": needs.where(
            Need.status == NeedStatus.PUBLISHED,
            Need.deadline_on >= day,
            Need.deadline_on <= soon,
        ),
        "orgs_pending": select(Organization.id).where(
            Organization.status == OrgStatus.PENDING,
            in_scope(user, Organization.region_code),
        ),
        "projects_submitted": select(Project.id)
        .join(
            Organization,
            Organization.id == literal_column("+projects.org_id", SAInteger),
        )
        .where(
            Project.status == ProjectStatus.SUBMITTED,
            in_scope(user, Organization.region_code),
        ),
        "claims_to_confirm": claims.where(Claim.status == ClaimStatus.DELIVERED),
        "claims_disputed": claims.where(Claim.status == ClaimStatus.DISPUTED),
        # The cadence's rule is the project model's (Project.overdue_clause).
        "projects_overdue": project_queries.overdue_in_scope(user).with_only_columns(
            Project.id
        ),
        "claims_overdue": reserved.where(Claim.due_on < day),
        "claims_due_soon": reserved.where(Claim.due_on >= day, Claim.due_on <= soon),
        # Requests from the person past their deadline (docs/privacy.md).
        "privacy_requests_overdue": select(PrivacyRequest.id).where(
            in_scope(user, PrivacyRequest.region_code),
            PrivacyRequest.closed_at.is_(None),
            PrivacyRequest.due_on < day,
        ),
        # Complaints from the public not yet taken up (complaints/services.py
        # queue: the same scope).
        "complaints_received": select(Complaint.id).where(
            in_scope(user, Complaint.region_code),
            Complaint.status == ComplaintStatus.RECEIVED,
        ),
        # Pairing months not delivered 10 days past their date (claims.pairing).
        "pairing_missed": select(ClaimInstalment.id).where(
            ClaimInstalment.status == InstalmentStatus.MISSED,
            ClaimInstalment.claim_id.in_(reserved),
        ),
    }
    return _run(parts)


def _org_counts(org_id: int, day: date) -> dict[str, int]:
    soon = day + timedelta(days=SOON_DAYS)
    claims = select(Claim.id).where(Claim.org_id == org_id)
    reserved = claims.where(Claim.status == ClaimStatus.RESERVED)
    projects = select(Project.id).where(Project.org_id == org_id)
    parts = {
        "claims_open": reserved,
        "claims_overdue": reserved.where(Claim.due_on < day),
        "claims_due_soon": reserved.where(Claim.due_on >= day, Claim.due_on <= soon),
        "claims_delivered": claims.where(Claim.status == ClaimStatus.DELIVERED),
        "claims_disputed": claims.where(Claim.status == ClaimStatus.DISPUTED),
        "projects_drafts": projects.where(
            Project.status.in_([ProjectStatus.DRAFT, ProjectStatus.REJECTED])
        ),
        "projects_submitted": projects.where(Project.status == ProjectStatus.SUBMITTED),
        # When a progress report is due is the project model's rule.
        "projects_overdue": projects.where(Project.overdue_clause(day)),
    }
    return _run(parts)


def _run(parts: dict[str, Any]) -> dict[str, int]:
    row = db.session.execute(
        select(*(_count(stmt).label(key) for key, stmt in parts.items()))
    ).one()
    return {key: int(value or 0) for key, value in zip(parts, row, strict=True)}


def _cache_key(user: User, day: date) -> str:
    return (
        f"work-counts|{user.id}|{user.role}|{user.org_id}|"
        f"{scope_prefix(user)}|{day.isoformat()}"
    )


def counts_for(user: User | None) -> dict[str, int]:
    """The work-area counts of a signed-in person ({} for anyone else)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return {}
    memo = g.get("_work_counts")
    if memo is not None and memo[0] == user.id:
        return memo[1]
    role = role_of(user)
    day = today()
    counts: dict[str, int] = {}
    if role in ORG_ROLES and user.org_id is not None:
        org_id = user.org_id
        counts = cache.get_or_set(
            _cache_key(user, day), lambda: _org_counts(org_id, day), CACHE_TTL
        )
    elif role in MODERATION_ROLES:
        counts = cache.get_or_set(
            _cache_key(user, day), lambda: _mod_counts(user, day), CACHE_TTL
        )
    g._work_counts = (user.id, counts)
    return counts


def waiting_total(user: User | None) -> int:
    """The number in the menu badge: what asks for this person's action."""
    counts = counts_for(user)
    keys = MOD_ACTION_KEYS if role_of(user) in MODERATION_ROLES else ORG_ACTION_KEYS
    return sum(counts.get(k, 0) for k in keys)


# Short lists on the start pages: the most pressing few, each linking further.


def org_claims_due(org_id: int, limit: int = 5) -> list[Claim]:
    """The org's open claims due within the week or overdue, soonest first."""
    horizon = today() + timedelta(days=SOON_DAYS)
    return list(
        db.session.scalars(
            select(Claim)
            .where(
                Claim.org_id == org_id,
                Claim.status == ClaimStatus.RESERVED,
                Claim.due_on <= horizon,
            )
            .order_by(Claim.due_on, Claim.id)
            .limit(limit)
        )
    )


def needs_expiring(user: User, limit: int = 5) -> list[Need]:
    """Published needs in the moderator's region whose deadline falls within
    the week (they expire unclaimed after it), soonest first."""
    day = today()
    return list(
        db.session.scalars(
            select(Need)
            .where(
                in_scope(user, Need.region_code),
                Need.status == NeedStatus.PUBLISHED,
                Need.deadline_on >= day,
                Need.deadline_on <= day + timedelta(days=SOON_DAYS),
            )
            .order_by(Need.deadline_on, Need.id)
            .limit(limit)
        )
    )


def region_filter_choices(user: User) -> list[tuple[str, str]]:
    """(prefix, indented name) of the regions in the person's scope, for the
    region filter of a work list: a prefecture's prefix covers its counties."""
    from charitylink.core.permissions import covers
    from charitylink.regions import services as regions

    return [
        (regions.prefix_of(code), name)
        for code, name in regions.choices(("province", "prefecture", "county"))
        if covers(user, code)
    ]
