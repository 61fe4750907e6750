"""Organizations in the API: register, review, read."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from charitylink.api import ApiError, bp, created, current_user_or_none, json_body
from charitylink.api import require_user as _require_user
from charitylink.core.i18n import _
from charitylink.core.security import registration_account_key
from charitylink.errors import Conflict, DomainError, NotFound, ValidationFailed
from charitylink.extensions import db, limiter
from charitylink.orgs import queries, services
from charitylink.orgs.models import ORG_TYPE_LABELS, Organization

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


@bp.post("/orgs")
@limiter.limit("10/hour")
@limiter.limit("5/hour", key_func=registration_account_key)
def register_org() -> ResponseReturnValue:
    body = json_body()
    admin = body.get("admin")
    if admin is None:
        admin = {}
    if not isinstance(admin, dict):
        raise ApiError(
            422,
            "validation_failed",
            _("admin 必须是对象：{email, password, name}。"),
            {"admin": _("admin 必须是对象：{email, password, name}。")},
        )
    data = {k: body.get(k) for k in ("name", "uscc", "org_type", "region_code")}
    data.update(
        {
            k: body.get(k)
            for k in ("description", "contact_name", "contact_phone", "contact_email")
        }
    )
    data["admin_email"] = admin.get("email")
    data["admin_name"] = admin.get("name")
    data["admin_password"] = admin.get("password")
    try:
        registration = services.register_org(data)
    except (ValidationFailed, Conflict) as exc:
        raise _renamed(exc) from None
    db.session.commit()
    # Built from what was submitted, never from the database: a new e-mail and
    # one that already has an account get the same status and the same body.
    return created(registration_json(registration.submitted))


REGISTRATION_FIELDS = (
    "name",
    "uscc",
    "org_type",
    "region_code",
    "description",
    "contact_name",
    "contact_phone",
    "contact_email",
    "status",
)


def registration_json(submitted: dict[str, Any]) -> dict[str, Any]:
    body = {key: str(submitted.get(key) or "") for key in REGISTRATION_FIELDS}
    body["message"] = services.registered_message()
    return body


@bp.get("/orgs")
def list_orgs() -> ResponseReturnValue:
    page, per_page = queries.page_args(
        request.args.get("page"), request.args.get("per_page", 20)
    )
    region = request.args.get("region", "")
    org_type = request.args.get("org_type", "")
    if region and not (region.isdigit() and len(region) <= 12):
        raise ValidationFailed(
            _("region 应为行政区划代码前缀（数字）。"),
            {"region": _("region 应为行政区划代码前缀（数字）。")},
        )
    if org_type and org_type not in ORG_TYPE_LABELS:
        message = _(
            "org_type 只能是 foundation、social_group、social_service 或 other。"
        )
        raise ValidationFailed(message, {"org_type": message})
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


def _reason_of(body: dict[str, Any]) -> Any:
    return body.get("reason")


@bp.post("/orgs/<int:org_id>/verify")
def verify_org(org_id: int) -> ResponseReturnValue:
    org = _moderated(org_id)
    services.verify_org(org, _require_user())
    db.session.commit()
    return jsonify(org_json(org))


@bp.post("/orgs/<int:org_id>/reject")
def reject_org(org_id: int) -> ResponseReturnValue:
    org = _moderated(org_id)
    body = json_body()
    services.reject_org(org, _require_user(), _reason_of(body))
    db.session.commit()
    return jsonify(org_json(org))


@bp.post("/orgs/<int:org_id>/suspend")
def suspend_org(org_id: int) -> ResponseReturnValue:
    org = _moderated(org_id)
    body = json_body()
    services.suspend_org(org, _require_user(), _reason_of(body))
    db.session.commit()
    return jsonify(org_json(org))


@bp.post("/orgs/<int:org_id>/reinstate")
def reinstate_org(org_id: int) -> ResponseReturnValue:
    org = _moderated(org_id)
    services.reinstate_org(org, _require_user())
    db.session.commit()
    return jsonify(org_json(org))
