"""Who may do what (docs/product.md, "Roles").

Deny by default; one helper per kind of check.

Views use the decorators; services call the ``require_*`` functions so the API
and the pages enforce the same rules.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user

from charitylink.core.i18n import _
from charitylink.errors import NotAllowed

F = TypeVar("F", bound=Callable[..., Any])

MODERATOR = "moderator"
ADMIN = "admin"
ORG_ADMIN = "org_admin"
ORG_MEMBER = "org_member"


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
            if (
                current_user.role in (ORG_ADMIN, ORG_MEMBER)
                and current_user.org_id is None
            ):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


moderator_required = roles_required(MODERATOR, ADMIN)
org_staff_required = roles_required(ORG_ADMIN, ORG_MEMBER)
org_admin_required = roles_required(ORG_ADMIN)
admin_required = roles_required(ADMIN)


def is_moderator(user: Any) -> bool:
    return getattr(user, "role", None) in (MODERATOR, ADMIN)


def covers_region(user: Any, region_code: str | None) -> bool:
    """Admins cover every region; a moderator covers codes under its prefix."""
    role = getattr(user, "role", None)
    if role == ADMIN:
        return True
    if role != MODERATOR or not region_code:
        return False
    prefix = getattr(user, "region_prefix", None)
    return prefix is not None and region_code.startswith(prefix)


def require_moderator(user: Any, region_code: str | None = None) -> None:
    if not is_moderator(user):
        raise NotAllowed(_("只有民政审核员可以执行此操作。"))
    if region_code is not None and not covers_region(user, region_code):
        raise NotAllowed(_("该对象不在您负责的行政区划内。"))


def is_org_staff(user: Any, org_id: int | None) -> bool:
    return (
        getattr(user, "role", None) in (ORG_ADMIN, ORG_MEMBER)
        and org_id is not None
        and getattr(user, "org_id", None) == org_id
    )


def require_org_staff(user: Any, org_id: int) -> None:
    if not is_org_staff(user, org_id):
        raise NotAllowed(_("您只能操作本机构的数据。"))


def require_org_admin(user: Any, org_id: int) -> None:
    if not (getattr(user, "role", None) == ORG_ADMIN and user.org_id == org_id):
        raise NotAllowed(_("只有本机构的管理员可以执行此操作。"))
