"""Organizations in the API: register, review, read."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from charitylink.api import (
    bp,
    created,
    current_user_or_none,
    json_body,
    reason_body,
)
from charitylink.api import require_user as _require_user
from charitylink.core import params
from charitylink.core.i18n import _
from charitylink.core.security import registration_account_key
from charitylink.errors import Conflict, DomainError, NotFound, ValidationFailed
from charitylink.extensions import db, limiter
from charitylink.orgs import queries, services
from charitylink.orgs.models import Organization, OrgType

# Service field names → the API's names (the admin account is a nested object).
_FIELD_NAMES = {
    "admin_email": "admin.email",
    "admin_name": "admin.name",
    "admin_password": "admin.password",
}


def org_json(org: Organization) -> dict[str, Any]:
    return {
        "id": org.id,
        "name": org.name,
        "uscc": org.uscc,
        "org_type": str(org.org_type),
        "region_code": org.region_code,
        "description": org.description,
        "status": str(org.status),
        "contact_name": org.contact_name,
        "contact_phone": org.contact_phone,
        "contact_email": org.contact_email,
    }


def _renamed(exc: DomainError) -> DomainError:
    exc.fields = {_FIELD_NAMES.get(k, k): v for k, v in exc.fields.items()}
    return exc


# The organization half of a registration, as sent and as answered.
ORG_FIELDS = (
    "name",
    "uscc",
    "org_type",
    "region_code",
    "description",
    "contact_name",
    "contact_phone",
    "contact_email",
)
REGISTRATION_FIELDS = (*ORG_FIELDS, "status")


def _service_data(body: dict[str, Any]) -> dict[str, Any]:
    """The body's fields under the service's names (the admin account is a
    nested object in the API)."""
    admin = body.get("admin")
    admin = admin if isinstance(admin, dict) else {}
    data = {k: body.get(k) for k in ORG_FIELDS}
    data["admin_email"] = admin.get("email")
    data["admin_name"] = admin.get("name")
    data["admin_password"] = admin.get("password")
    return data


def _check_registration(body: dict[str, Any]) -> None:
    try:
        services.check_registration(_service_data(body))
    except ValidationFailed as exc:
        raise _renamed(exc) from None


@bp.post("/orgs")
@limiter.limit("10/hour")
@limiter.limit("5/hour", key_func=registration_account_key)
def register_org() -> ResponseReturnValue:
    body = json_body("OrgRegistration", also=_check_registration)
    try:
        registration = services.register_org(_service_data(body))
    except (ValidationFailed, Conflict) as exc:
        raise _renamed(exc) from None
    # Built from what was submitted, never from the database: a new e-mail and
    # one that already has an account get the same status and the same body.
    return created(registration_json(registration.submitted))


def registration_json(submitted: dict[str, Any]) -> dict[str, Any]:
    body = {key: str(submitted.get(key) or "") for key in REGISTRATION_FIELDS}
    body["message"] = services.registered_message()
    return body


LIST_PARAMS = [
    params.region_prefix("行政区划代码前缀（1–12 位）", low=1),
    params.Param("org_type", "机构类型", enum=params.enum_values(OrgType)),
    *params.paging(),
]


@bp.get("/orgs")
def list_orgs() -> ResponseReturnValue:
    args = params.parse(LIST_PARAMS, request.args)
    page, per_page = args["page"], args["per_page"]
    region, org_type = args["region"], args["org_type"]
    pagination = db.paginate(
        queries.verified_orgs(region or None, org_type or None),
        page=page,
        per_page=per_page,
        error_out=False,
    )
    return jsonify(
        {
            "items": [org_json(o) for o in pagination.items],
            "page": pagination.page,
            "per_page": pagination.per_page,
            "total": pagination.total,
        }
    )


@bp.get("/orgs/<int:org_id>")
def get_org(org_id: int) -> ResponseReturnValue:
    org = queries.visible_org(org_id, current_user_or_none())
    if org is None:
        raise NotFound(_("机构不存在或尚未通过认证。"))
    return jsonify(org_json(org))


def _moderated(org_id: int) -> Organization:
    """The org for a review action; 404 when it does not exist. The service then
    refuses a moderator outside the org's region with 403."""
    _require_user()
    org = db.session.get(Organization, org_id)
    if org is None:
        raise NotFound(_("机构不存在。"))
    return org


@bp.post("/orgs/<int:org_id>/verify")
def verify_org(org_id: int) -> ResponseReturnValue:
    org = _moderated(org_id)
    services.verify_org(org, _require_user())
    return jsonify(org_json(org))


@bp.post("/orgs/<int:org_id>/reject")
def reject_org(org_id: int) -> ResponseReturnValue:
    org = _moderated(org_id)
    services.reject_org(org, _require_user(), reason_body())
    return jsonify(org_json(org))


@bp.post("/orgs/<int:org_id>/suspend")
def suspend_org(org_id: int) -> ResponseReturnValue:
    org = _moderated(org_id)
    services.suspend_org(org, _require_user(), reason_body())
    return jsonify(org_json(org))


@bp.post("/orgs/<int:org_id>/reinstate")
def reinstate_org(org_id: int) -> ResponseReturnValue:
    org = _moderated(org_id)
    services.reinstate_org(org, _require_user())
    return jsonify(org_json(org))
