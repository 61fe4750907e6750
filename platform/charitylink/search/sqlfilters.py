"""The search filters and sorts as SQL over the live needs/projects rows: used
by the PostgreSQL backend and by the database fallback, so both are exact."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, cast, func, select

from charitylink.needs.models import Need
from charitylink.orgs.models import Organization, OrgStatus
from charitylink.projects.models import Project
from charitylink.search.documents import PUBLIC_NEED_STATUSES, PUBLIC_PROJECT_STATUSES
from charitylink.search.query import Filters


def need_clauses(f: Filters) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [
        Need.status.in_([f.status] if f.status else PUBLIC_NEED_STATUSES)
    ]
    if f.region:  # digits only (validated), so no LIKE escaping is needed
        clauses.append(Need.public_region_code.startswith(f.region, autoescape=True))
    if f.category:
        clauses.append(Need.category == f.category)
    if f.need_type:
        clauses.append(Need.need_type == f.need_type)
    if f.urgency:
        clauses.append(Need.urgency == f.urgency)
    if f.min_amount is not None:
        clauses.append(Need.amount_fen >= f.min_amount)
    if f.max_amount is not None:
        clauses.append(Need.amount_fen <= f.max_amount)
    return clauses


def _json_text(column: Any) -> Any:
    return cast(column, String)


def project_clauses(f: Filters) -> list[ColumnElement[bool]]:
    """Projects keep need types and regions as JSON lists: matched on their JSON
    text (``"2201…``), the same on SQLite and PostgreSQL; projects are few."""
    verified = select(Organization.id).where(Organization.status == OrgStatus.VERIFIED)
    clauses: list[ColumnElement[bool]] = [
        Project.status.in_([f.status] if f.status else PUBLIC_PROJECT_STATUSES),
        Project.org_id.in_(verified),  # only verified orgs' projects are public
    ]
    if f.org_id is not None:
        clauses.append(Project.org_id == f.org_id)
    if f.region:
        clauses.append(_json_text(Project.region_codes).contains(f'"{f.region}'))
    if f.need_type:
        clauses.append(_json_text(Project.need_types).contains(f'"{f.need_type}"'))
    if f.min_amount is not None:
        clauses.append(Project.target_fen >= f.min_amount)
    if f.max_amount is not None:
        clauses.append(Project.target_fen <= f.max_amount)
    if f.overdue:
        clauses.append(Project.overdue_clause())
    return clauses


def need_order(sort: str) -> list[Any]:
    if sort == "deadline":
        return [Need.deadline_on.asc().nulls_last(), Need.id.desc()]
    if sort == "amount":
        return [Need.amount_fen.desc(), Need.id.desc()]
    if sort == "amount_asc":
        return [Need.amount_fen.asc(), Need.id.desc()]
    return [Need.published_at.desc().nulls_last(), Need.id.desc()]


def project_order(sort: str) -> list[Any]:
    if sort == "deadline":
        return [Project.end_on.asc().nulls_last(), Project.id.desc()]
    if sort == "amount":
        return [Project.target_fen.desc(), Project.id.desc()]
    if sort == "amount_asc":
        return [Project.target_fen.asc(), Project.id.desc()]
    return [Project.published_at.desc().nulls_last(), Project.id.desc()]


def region_facet(length: int) -> Any:
    return func.substr(Need.public_region_code, 1, length)
