"""The orgs work list of moderators and admins (/mod/orgs) and the audit log
(/mod/audit), paged, filtered and sorted through core/paging.py."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from charitylink.accounts.models import User
from charitylink.core.audit import AuditEvent
from charitylink.core.i18n import _, _l
from charitylink.core.paging import ListParser, Page, Sort, paginate
from charitylink.core.permissions import in_scope, prefix_range
from charitylink.orgs.models import ORG_STATUS_LABELS, Organization, OrgStatus
from charitylink.orgs.queries import audit_events, email_confirmed


def org_sorts() -> dict[str, Sort]:
    pending = Organization.status == OrgStatus.PENDING
    return {
        # Pending first; among them those whose admin confirmed the address
        # (one less thing to check); then newest.
        "attention": Sort(
            _l("待审核优先"),
            [Organization.created_at],
            bands=[
                pending & email_confirmed(Organization.id),
                pending & ~email_confirmed(Organization.id),
            ],
            reverse=True,
        ),
        "created": Sort(
            _l("最新注册在前"),
            [Organization.created_at],
            reverse=True,
            reverse_label=_l("最早注册在前"),
        ),
        "name": Sort(_l("名称"), [Organization.name]),
    }


def mod_orgs(user: User, args: Any) -> Page:
    """Orgs of the moderator's regions (an admin: all)."""
    p = ListParser(args, org_sorts(), "attention")
    stmt = select(Organization).where(in_scope(user, Organization.region_code))
    status = p.choice("status", [str(k) for k in ORG_STATUS_LABELS], _("状态"))
    if status:
        stmt = stmt.where(Organization.status == status)
    region = p.region("region", _("地区"))
    if region:
        stmt = stmt.where(prefix_range(Organization.region_code, region))
    stmt = stmt.where(*p.date_range(Organization.created_at))
    return paginate(stmt, p, Organization.id)


def audit_sorts() -> dict[str, Sort]:
    return {
        "newest": Sort(
            _l("最新在前"), [AuditEvent.id], reverse=True, reverse_label=_l("最早在前")
        )
    }


def audit_log(user: User, args: Any) -> Page:
    """The audit events the person may read (orgs/queries.audit_events), with
    action, object and date filters; a mine filter keeps one's own events."""
    p = ListParser(args, audit_sorts(), "newest", default_per_page=50)
    action = p.text("action", 64)
    object_type = p.text("object_type", 32)
    object_id = p.text("object_id", 64)
    start = p.day("from", _("开始日期"))
    end = p.day("to", _("结束日期"))
    stmt = audit_events(
        user,
        action=action or None,
        object_type=object_type or None,
        object_id=object_id or None,
        date_from=start,
        date_to=end,
    )
    if p.choice("mine", ("actor",), _("范围")) == "actor":
        stmt = stmt.where(AuditEvent.actor_id == user.id)
    return paginate(stmt, p, AuditEvent.id)
