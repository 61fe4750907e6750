"""Who may do what, and where (docs/product.md, "Roles").

Deny by default; one helper per kind of check.

Views use the decorators; services call the ``require_*`` functions so the API
and the pages enforce the same rules. A moderator's region scope is decided in
two places only: :func:`covers` for one object in Python and :func:`in_scope`
for a query (docs/architecture.md, "Roles and region scope").
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flask import abort
from flask_login import current_user
from sqlalchemy import and_, false, true
from sqlalchemy.sql.elements import ColumnElement

from charitylink.core.i18n import _
from charitylink.errors import NotAllowed

if TYPE_CHECKING:
    from charitylink.accounts.models import User

F = TypeVar("F", bound=Callable[..., Any])


class Role(enum.StrEnum):
    """The role stored in ``users.role``. The public is no role: it is whoever
    is not signed in."""

    ORG_MEMBER = "org_member"
    ORG_ADMIN = "org_admin"
    MODERATOR = "moderator"
    ADMIN = "admin"


ORG_ROLES = (Role.ORG_ADMIN, Role.ORG_MEMBER)
# Admins do everything a moderator does, in every region.
MODERATION_ROLES = (Role.MODERATOR, Role.ADMIN)

# Region codes are digits, at most this long (regions.code is String(12)).
CODE_LENGTH = 12
# The scope of a signed-in user who has none: no region code starts with it.
NO_REGION = "__none__"


def role_of(user: User | None) -> Role | None:
    """The user's role, or None for the public and for a value no role has."""
    role = getattr(user, "role", None)
    if not isinstance(role, str):
        return None
    try:
        return Role(role)
    except ValueError:
        return None


def scope_prefix(user: User | None) -> str | None:
    """The region code prefix the user acts on: None for an admin (every
    region), the prefix for a moderator who has one, else :data:`NO_REGION`.

    A moderator whose prefix is empty or missing covers nothing, never
    everything: a scope that fails open would show every household's data."""
    role = role_of(user)
    if role == Role.ADMIN:
        return None
    prefix = getattr(user, "region_prefix", None)
    if role == Role.MODERATOR and isinstance(prefix, str) and prefix:
        return prefix
    return NO_REGION


def covers(user: User | None, region_code: str | None) -> bool:
    """Whether ``region_code`` lies in the user's scope (:func:`scope_prefix`).

    The Python twin of :func:`in_scope`, for an object already loaded."""
    prefix = scope_prefix(user)
    if prefix is None:
        return True
    return region_code is not None and region_code.startswith(prefix)


def prefix_range(column: Any, prefix: str) -> ColumnElement[bool]:
    """``column`` starts with the digits ``prefix``, written as a range.

    A range, not ``LIKE 'p%'``: a B-tree index on the column answers it on both
    databases, whatever PostgreSQL's collation, while SQLite's ``LIKE`` is
    case-insensitive and never uses an ordinary index. Exact for digit codes of
    at most :data:`CODE_LENGTH` characters, which is what region codes are."""
    return and_(column >= prefix, column <= prefix + "9" * (CODE_LENGTH - len(prefix)))


def in_scope(user: User | None, column: Any) -> ColumnElement[bool]:
    """A WHERE clause: the region code in ``column`` lies in the user's scope.

    The SQL twin of :func:`covers`: everything for an admin, nothing for a
    user without a scope."""
    prefix = scope_prefix(user)
    if prefix is None:
        return true()
    if prefix == NO_REGION or not prefix.isdigit():
        return false()
    return prefix_range(column, prefix)


def roles_required(*roles: str) -> Callable[[F], F]:
    """Anonymous → login page (via Flask-Login); wrong role → 403."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            from charitylink.extensions import login_manager

            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            if current_user.role in ORG_ROLES and current_user.org_id is None:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def signed_in() -> User:
    """The signed-in user, for a view behind :func:`roles_required` or
    ``login_required`` (elsewhere ``current_user`` may be the anonymous user).

    The user object itself, not Flask-Login's proxy, so that services receive a
    real :class:`User`."""
    return cast("User", current_user._get_current_object())


moderator_required = roles_required(*MODERATION_ROLES)
org_staff_required = roles_required(*ORG_ROLES)
org_admin_required = roles_required(Role.ORG_ADMIN)
admin_required = roles_required(Role.ADMIN)


def is_moderator(user: User | None) -> bool:
    """A moderator or an admin (who moderates every region)."""
    return role_of(user) in MODERATION_ROLES


def is_admin(user: User | None) -> bool:
    return role_of(user) == Role.ADMIN


def require_moderator(user: User, region_code: str | None = None) -> None:
    if not is_moderator(user):
        raise NotAllowed(_("只有民政审核员可以执行此操作。"))
    if region_code is not None and not covers(user, region_code):
        raise NotAllowed(_("该对象不在您负责的行政区划内。"))


def is_org_staff(user: User | None, org_id: int | None) -> bool:
    return (
        role_of(user) in ORG_ROLES
        and org_id is not None
        and getattr(user, "org_id", None) == org_id
    )


def require_org_staff(user: User, org_id: int | None) -> None:
    if not is_org_staff(user, org_id):
        raise NotAllowed(_("您只能操作本机构的数据。"))


def require_org_admin(user: User, org_id: int | None) -> None:
    # is_org_staff also refuses an account without an org asked about no org.
    if not (role_of(user) == Role.ORG_ADMIN and is_org_staff(user, org_id)):
        raise NotAllowed(_("只有本机构的管理员可以执行此操作。"))


# ---------------------------------------------------------------------------
# Whether the acting org may act now (its review status)
# ---------------------------------------------------------------------------


def org_block_message(status: Any, reason: str | None = None) -> str | None:
    """Why an org in ``status`` may not act (None for a verified org): the text
    of every refusal and of the banner on the org's work pages."""
    status = str(status)
    if status == "verified":
        return None
    if status == "suspended":
        because = _("（原因：%(reason)s）", reason=reason) if reason else ""
        return _(
            "本机构已被民政部门暂停%(because)s。暂停期间不能认领或认捐、登记交付、"
            "查看受助家庭联系方式、设立基金、登记捐赠、创建或修改项目、发布进展、"
            "编辑机构资料或添加成员；已登记的交付由民政部门核实，待交付的认领可以"
            "取消（资金退回基金）。恢复认证后即可继续，如有疑问请联系所在地民政部门。",
            because=because,
        )
    if status == "rejected":
        return _(
            "本机构的注册已被驳回，请修改并重新提交审核，通过认证后才能进行此操作。"
        )
    return _("本机构尚未通过民政部门认证，通过后才能进行此操作。")


def require_org_can_act(
    user: User,
    org_id: int | None,
    *,
    admin: bool = False,
    while_pending: bool = False,
    for_update: bool = False,
) -> None:
    """The one check every org action calls: ``user`` is staff (``admin``: an
    admin) of the org, and the org is verified at this moment.

    ``while_pending`` lets a pending org do what it needs while it waits for
    review (edit its profile, add staff); a suspended or rejected org never
    passes. The status is read from the database, not from a loaded object, and
    the row is share-locked (PostgreSQL; SQLite serialises writers anyway): a
    suspension that commits meanwhile waits for this action to finish, so an
    action never completes after the suspension it raced with.
    ``for_update`` takes the row lock in exclusive mode, for an action that
    then changes the org row itself (two share holders upgrading would
    deadlock).
    """
    if admin:
        require_org_admin(user, org_id)
    else:
        require_org_staff(user, org_id)
    from sqlalchemy import select

    from charitylink.extensions import db
    from charitylink.orgs.models import Organization

    row = db.session.execute(
        select(Organization.status, Organization.status_reason)
        .where(Organization.id == org_id)
        .with_for_update(read=not for_update)
    ).one_or_none()
    if row is None:
        raise NotAllowed(_("您只能操作本机构的数据。"))
    status = str(row.status)
    if status == "verified" or (while_pending and status == "pending"):
        return
    raise NotAllowed(org_block_message(status, row.status_reason) or "")
