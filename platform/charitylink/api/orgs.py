"""Organizations in the API: register, review, read."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import fields as mfields

from charitylink.accounts.services import EMAIL_PATTERN as _EMAIL
from charitylink.api import (
    PUBLIC,
    READ_ERRORS,
    WRITE_ERRORS,
    accepts,
    body,
    bp,
    current_user_or_none,
    operation,
    reason_body,
)
from charitylink.api import require_user as _require_user
from charitylink.api.fields import (
    PRIVACY_SCAN,
    Answer,
    Body,
    Integer,
    Text,
    choice,
    depends,
    email,
    nested,
    phone,
    region,
    string,
    text,
)
from charitylink.api.reasons import ReasonSchema
from charitylink.core import params
from charitylink.core.i18n import _
from charitylink.core.security import registration_account_key
from charitylink.errors import Conflict, DomainError, NotFound, ValidationFailed
from charitylink.extensions import db, limiter
from charitylink.orgs import queries, services
from charitylink.orgs.models import Organization, OrgStatus, OrgType

# Service field names → the API's names (the admin account is a nested object).
_FIELD_NAMES = {
    "admin_email": "admin.email",
    "admin_name": "admin.name",
    "admin_password": "admin.password",
}


class OrgSchema(Answer):
    id = Integer(required=True)
    name = Text(required=True)
    uscc = Text(required=True)
    org_type = choice(OrgType, required=True)
    region_code = Text(required=True)
    description = Text(allow_none=True)
    status = choice(OrgStatus, required=True)
    contact_name = Text(allow_none=True)
    contact_phone = Text(allow_none=True)
    contact_email = Text(allow_none=True)


class OrgPageSchema(Answer):
    items = mfields.List(mfields.Nested(OrgSchema), required=True)
    page = Integer(required=True)
    per_page = Integer(required=True)
    total = Integer()


class AdminAccountSchema(Body):
    email = email("管理员邮箱", required=True)
    password = depends(
        text(128, "管理员密码", min_len=10, required=True, format="password"),
        "strength",
        "10–128 个字符，且不容易猜（常用密码、键盘顺序、含邮箱或姓名的密码会被拒绝）",
    )
    name = text(64, "管理员姓名", filled=True, required=True)


class OrgRegistrationSchema(Body):
    name = depends(
        text(100, "机构名称", filled=True, required=True),
        "organizations",
        "机构名称，不能与已注册机构同名（409）",
    )
    uscc = string(
        "统一社会信用代码",
        required=True,
        pattern=r"^[0-9A-Za-z]{18}$",
        description="统一社会信用代码，18 位（校验位须正确，不含 I、O、S、V、Z）",
        format="uscc",
    )
    org_type = choice(OrgType, "机构类型", required=True)
    region_code = region(
        "所在地区",
        "所在地：省、市或区县的行政区划代码（6 位，须存在）",
        required=True,
    )
    description = depends(
        text(2000, "机构简介", nullable=True), "privacy scan", PRIVACY_SCAN
    )
    contact_name = text(64, "联系人", nullable=True)
    contact_phone = phone("联系电话")
    # No ``format``: an empty string (not given) is accepted here.
    contact_email = text(254, "联系邮箱", nullable=True, pattern="^$|" + _EMAIL)
    admin = nested(AdminAccountSchema, "管理员", required=True)


class _AsSubmitted(Text):
    """A registration's field as submitted: the same answer for a new e-mail and
    one that already has an account (never read back from the database)."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str:
        return "" if value is None else str(value)


class OrgRegistrationAcceptedSchema(Answer):
    name = _AsSubmitted(required=True)
    uscc = _AsSubmitted(required=True)
    org_type = choice(OrgType, required=True)
    region_code = _AsSubmitted(required=True)
    description = _AsSubmitted()
    contact_name = _AsSubmitted()
    contact_phone = _AsSubmitted()
    contact_email = _AsSubmitted()
    status = choice(["pending"], required=True)
    message = mfields.Function(
        lambda _obj: services.registered_message(),
        required=True,
        metadata={"type": "string"},
    )


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
@operation(
    "registerOrg",
    "注册慈善组织及其第一位管理员",
    "orgs",
    errors=("401", "409", "413", "422", "429"),
    security=PUBLIC,
    idempotent=True,
)
@accepts(OrgRegistrationSchema)
@bp.response(
    201,
    OrgRegistrationAcceptedSchema,
    description="已受理，状态 pending（新邮箱与已注册邮箱的答复相同）",
)
def register_org() -> dict[str, Any]:
    data = body(also=_check_registration)
    try:
        registration = services.register_org(_service_data(data))
    except (ValidationFailed, Conflict) as exc:
        raise _renamed(exc) from None
    # Answered from what was submitted, never from the database: a new e-mail
    # and one that already has an account get the same status and the same body.
    return registration.submitted


LIST_PARAMS = [
    params.region_prefix("行政区划代码前缀（1–12 位）", low=1),
    params.Param("org_type", "机构类型", enum=params.enum_values(OrgType)),
    *params.paging(),
]


@bp.get("/orgs")
@operation(
    "listOrgs",
    "已认证的慈善组织列表",
    "orgs",
    errors=("401", "422"),
    security=PUBLIC,
    params=LIST_PARAMS,
)
@bp.response(200, OrgPageSchema, description="成功")
def list_orgs() -> dict[str, Any]:
    args = params.parse(LIST_PARAMS, request.args)
    page, per_page = args["page"], args["per_page"]
    region, org_type = args["region"], args["org_type"]
    pagination = db.paginate(
        queries.verified_orgs(region or None, org_type or None),
        page=page,
        per_page=per_page,
        error_out=False,
    )
    return {
        "items": pagination.items,
        "page": pagination.page,
        "per_page": pagination.per_page,
        "total": pagination.total,
    }


@bp.get("/orgs/<int:org_id>")
@operation(
    "getOrg",
    "机构详情（公众只能看到已认证机构）",
    "orgs",
    errors=READ_ERRORS,
    security=PUBLIC,
)
@bp.response(200, OrgSchema, description="成功")
def get_org(org_id: int) -> Organization:
    org = queries.visible_org(org_id, current_user_or_none())
    if org is None:
        raise NotFound(_("机构不存在或尚未通过认证。"))
    return org


def _moderated(org_id: int) -> Organization:
    """The org for a review action; 404 when it does not exist. The service then
    refuses a moderator outside the org's region with 403."""
    _require_user()
    org = db.session.get(Organization, org_id)
    if org is None:
        raise NotFound(_("机构不存在。"))
    return org


def _review(verb: str, summary: str) -> Any:
    return operation(
        f"{verb}Org", summary, "orgs", errors=WRITE_ERRORS, idempotent=True
    )


@bp.post("/orgs/<int:org_id>/verify")
@_review("verify", "审核通过机构（审核员）")
@bp.response(200, OrgSchema, description="成功")
def verify_org(org_id: int) -> Organization:
    org = _moderated(org_id)
    services.verify_org(org, _require_user())
    return org


@bp.post("/orgs/<int:org_id>/reject")
@_review("reject", "驳回机构注册（审核员，需填写原因）")
@accepts(ReasonSchema)
@bp.response(200, OrgSchema, description="成功")
def reject_org(org_id: int) -> Organization:
    org = _moderated(org_id)
    services.reject_org(org, _require_user(), reason_body())
    return org


@bp.post("/orgs/<int:org_id>/suspend")
@_review("suspend", "暂停机构（审核员，需填写原因）")
@accepts(ReasonSchema)
@bp.response(200, OrgSchema, description="成功")
def suspend_org(org_id: int) -> Organization:
    org = _moderated(org_id)
    services.suspend_org(org, _require_user(), reason_body())
    return org


@bp.post("/orgs/<int:org_id>/reinstate")
@_review("reinstate", "恢复被暂停的机构（审核员）")
@bp.response(200, OrgSchema, description="成功")
def reinstate_org(org_id: int) -> Organization:
    org = _moderated(org_id)
    services.reinstate_org(org, _require_user())
    return org
