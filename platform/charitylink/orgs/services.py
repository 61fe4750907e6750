"""Organizations (docs/orgs-accounts.md): registration, review, profile, members.

Flush, never commit. Every state change writes an audit event in the same
transaction. Status machine: ``pending → verified | rejected``,
``verified → suspended → verified``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError

from charitylink.accounts import services as accounts
from charitylink.accounts.models import Role, User
from charitylink.accounts.passwords import hash_password
from charitylink.core import audit
from charitylink.core.i18n import _
from charitylink.core.identifiers import (
    InvalidIdentifier,
    is_civil_affairs_uscc,
    strip_invisible,
    validate_phone,
    validate_uscc,
)
from charitylink.core.permissions import (
    require_moderator,
    require_org_admin,
    require_org_can_act,
)
from charitylink.core.reasons import clean_reason
from charitylink.core.timeutil import utcnow
from charitylink.core.transitions import move_if
from charitylink.errors import (
    Conflict,
    InvalidTransition,
    NotAllowed,
    ValidationFailed,
    gather,
)
from charitylink.extensions import db
from charitylink.notifications import events
from charitylink.orgs import public_text
from charitylink.orgs.models import ORG_STATUS_LABELS, Organization, OrgStatus, OrgType
from charitylink.regions import services as regions

NAME_MAX = 100
DESCRIPTION_MAX = 2000
MEMBER_ROLES = (Role.ORG_MEMBER, Role.ORG_ADMIN)


def _text(value: Any) -> str:
    """A stripped string; anything that is not a string counts as empty."""
    return value.strip() if isinstance(value, str) else ""


def normalize_name(name: str) -> str:
    """NFKC, no invisible characters, collapsed spaces: look-alikes count as the
    same name, and a name of zero-width spaces counts as empty."""
    return " ".join(strip_invisible(unicodedata.normalize("NFKC", name)).split())


def uscc_warning(org: Organization) -> str | None:
    """A warning for the moderator (never a refusal): the code was not issued by
    a civil-affairs department (prefix 51/52/53/59)."""
    if is_civil_affairs_uscc(org.uscc):
        return None
    return _(
        "该统一社会信用代码以「%(p)s」开头，不是民政部门登记的社会组织代码"
        "（51/52/53/59 开头），请核实机构资质。",
        p=org.uscc[:2],
    )


def _check_org_fields(data: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    """Validate the organization half of a registration; fills ``fields``."""
    clean: dict[str, Any] = {}
    name = normalize_name(_text(data.get("name")))
    if not name:
        fields["name"] = _("请填写机构名称。")
    elif len(name) > NAME_MAX:
        fields["name"] = _("机构名称不能超过 %(n)d 个字。", n=NAME_MAX)
    clean["name"] = name

    raw_uscc = data.get("uscc")
    try:
        clean["uscc"] = validate_uscc(raw_uscc if isinstance(raw_uscc, str) else "")
    except InvalidIdentifier as exc:
        fields["uscc"] = str(exc)

    try:
        clean["org_type"] = OrgType(_text(data.get("org_type")))
    except ValueError:
        fields["org_type"] = _(
            "请选择机构类型（基金会、社会团体、社会服务机构或其他）。"
        )

    region = _text(data.get("region_code"))
    if not region:
        fields["region_code"] = _("请选择所在地区。")
    elif not regions.exists(region) or regions.level_of(region) == "township":
        fields["region_code"] = _("所在地区应为有效的省、市或区县行政区划代码。")
    clean["region_code"] = region

    description = _text(data.get("description"))
    if len(description) > DESCRIPTION_MAX:
        fields["description"] = _("机构简介不能超过 %(n)d 个字。", n=DESCRIPTION_MAX)
    clean["description"] = description
    clean.update(_check_contact(data, fields))
    return clean


def _check_contact(data: dict[str, Any], fields: dict[str, str]) -> dict[str, str]:
    clean: dict[str, str] = {}
    contact_name = _text(data.get("contact_name"))
    if len(contact_name) > 64:
        fields["contact_name"] = _("联系人不能超过 64 个字。")
    clean["contact_name"] = contact_name
    phone = _text(data.get("contact_phone"))
    if phone:
        try:
            phone = validate_phone(phone)
        except InvalidIdentifier as exc:
            fields["contact_phone"] = str(exc)
    clean["contact_phone"] = phone
    email = _text(data.get("contact_email"))
    if email:
        try:
            email = accounts.validate_email(email)
        except ValidationFailed:
            fields["contact_email"] = _("联系邮箱格式不正确。")
    clean["contact_email"] = email
    website = _text(data.get("website"))
    if website and (
        len(website) > 200 or not website.startswith(("http://", "https://"))
    ):
        fields["website"] = _("网站地址应以 http:// 或 https:// 开头，不超过200字符。")
    clean["website"] = website
    return clean


def _check_description(
    description: str, contact: dict[str, Any], org: Organization | None = None
) -> None:
    """Rule 5 on the public description; the org's own contact is allowed."""
    public_text.check(
        [("description", _("机构简介"), description)],
        org=org,
        own_contacts=[
            contact.get("contact_phone", ""),
            contact.get("contact_email", ""),
        ],
    )


def _check_admin_fields(
    data: dict[str, Any], fields: dict[str, str], org_name: str = ""
) -> tuple[str, str, str]:
    email = _text(data.get("admin_email"))
    try:
        email = accounts.validate_email(email)
    except ValidationFailed:
        fields["admin_email"] = (
            _("请填写管理员邮箱。") if not email else _("邮箱格式不正确。")
        )
    name = _text(data.get("admin_name"))
    if not name:
        fields["admin_name"] = _("请填写管理员姓名。")
    elif len(name) > 64:
        fields["admin_name"] = _("姓名不能超过 64 个字。")
    password = data.get("admin_password")
    try:
        accounts.validate_new_password(
            password, "admin_password", (email, name, org_name)
        )
    except ValidationFailed as exc:
        fields.update(exc.fields)
    return email, name, password if isinstance(password, str) else ""


def _duplicates(name: str | None, uscc: str | None, exclude_id: int | None = None):
    """Field messages for a name or credit code already registered."""
    fields: dict[str, str] = {}
    if name:
        stmt = select(Organization.id).where(
            func.lower(Organization.name) == name.lower()
        )
        if exclude_id:
            stmt = stmt.where(Organization.id != exclude_id)
        if db.session.scalar(stmt) is not None:
            fields["name"] = _("已有同名机构注册，请核对机构名称。")
    if uscc:
        stmt = select(Organization.id).where(Organization.uscc == uscc)
        if exclude_id:
            stmt = stmt.where(Organization.id != exclude_id)
        if db.session.scalar(stmt) is not None:
            fields["uscc"] = _(
                "该统一社会信用代码已被注册。如需找回账号，请联系当地民政部门。"
            )
    return fields


def _checked_registration(
    data: dict[str, Any],
) -> tuple[dict[str, Any], str, str, str]:
    """A registration's rules in one round: the fields, the privacy scan of the
    description and the name or credit code already taken, all named in one
    answer (a ValidationFailed; a Conflict when a taken name or code is the
    only problem). Writes nothing."""
    fields: dict[str, str] = {}
    clean = _check_org_fields(data, fields)
    email, admin_name, password = _check_admin_fields(data, fields, clean["name"])
    gather(fields, lambda: _check_description(clean["description"], clean))
    conflicts = _duplicates(clean["name"], clean.get("uscc"))
    if fields:
        raise ValidationFailed(
            _("注册信息有误，请检查标出的项目。"), {**conflicts, **fields}
        )
    if conflicts:
        raise Conflict(next(iter(conflicts.values())), conflicts)
    return clean, email, admin_name, password


def check_registration(data: dict[str, Any]) -> None:
    """:func:`register_org`'s checks alone (the same keys); writes nothing."""
    _checked_registration(data)


@dataclass
class Registration:
    """What :func:`register_org` did. ``org`` and ``user`` are None when the
    admin e-mail already had an account (nothing was created); ``submitted`` is
    the cleaned organization half, the same either way, for the answer.
    Unpacks as ``org, user``."""

    org: Organization | None
    user: User | None
    submitted: dict[str, Any]

    def __iter__(self) -> Iterator[Any]:
        yield self.org
        yield self.user


def register_org(data: dict[str, Any], actor: User | None = None) -> Registration:
    """Register an organization (status ``pending``) and its first admin user.

    ``data`` keys: name, uscc, org_type, region_code, description, contact_name,
    contact_phone, contact_email, website, admin_email, admin_name, admin_password.
    Bad fields → ValidationFailed naming each; a taken name or credit code →
    Conflict naming the field (both are public record). Nothing is written
    unless everything is valid.

    An admin e-mail that already has an account is **not** an error: the caller
    answers exactly as for a new registration, so the form cannot be used to
    find out who has an account here. Nothing is created, the password is
    hashed anyway (the same work), and the account's owner is told
    (:func:`_notify_existing_account_owner`).
    """
    clean, email, admin_name, password = _checked_registration(data)
    submitted = {**clean, "status": str(OrgStatus.PENDING)}
    existing = accounts.get_by_email(email)
    if existing is not None:
        return _registration_for_existing_account(existing, password, submitted)
    org = Organization(status=OrgStatus.PENDING, **clean)
    db.session.add(org)
    try:
        db.session.flush()
    except IntegrityError as exc:
        # A concurrent registration took the name or code between check and insert.
        db.session.rollback()
        raise Conflict(
            _("该机构名称或统一社会信用代码已被注册。"),
            {"uscc": _("该机构名称或统一社会信用代码已被注册。")},
        ) from exc
    try:
        user = accounts.create_user(
            email,
            password,
            Role.ORG_ADMIN,
            name=admin_name,
            org_id=org.id,
            actor=actor,
        )
    except (IntegrityError, Conflict):
        # A concurrent registration created the account between check and insert:
        # the same answer as for any existing account; the rollback takes the
        # org back out too, so no org is left without its admin.
        db.session.rollback()
        existing = accounts.get_by_email(email)
        if existing is None:
            raise
        return _registration_for_existing_account(existing, password, submitted)
    # A public registration is attributed to the admin account it creates.
    row = audit.record(actor or user, "org.register", org, None, OrgStatus.PENDING)
    # The admin's address is asked to be confirmed; the moderators' queue
    # shows which registrations did (docs/orgs-accounts.md).
    accounts.send_confirmation(user)
    db.session.flush()
    events.org_registered(org, row)
    return Registration(org, user, submitted)


def registered_message() -> str:
    """The answer to every accepted registration, new e-mail or not."""
    return _(
        "注册已提交，等待所在地民政部门审核。审核通过前，您可以用管理员邮箱登录"
        "查看审核状态、完善机构资料。如果该邮箱此前已注册过账号，不会重复创建，"
        "请用原有密码登录。"
    )


def _registration_for_existing_account(
    existing: User, password: str, submitted: dict[str, Any]
) -> Registration:
    hash_password(password)  # the work a new account costs; result unused
    _notify_existing_account_owner(existing, submitted)
    return Registration(None, None, submitted)


def _notify_existing_account_owner(user: User, submitted: dict[str, Any]) -> None:
    """Someone registered an org with the e-mail of an existing account.

    The registration page and API answer as if it were new (no account
    enumeration), so the only one who should learn of it is the owner of the
    address: a mail saying that someone tried to register the org named in
    the form with their address, that nothing was created, how to log in or
    reset the password, and to tell the civil-affairs office if it was not
    them. Only the org's name (public record) is repeated, nothing else from
    the form. No audit row (nothing changed, and a row per attempt would let
    anyone fill the log); the same mail at most once an hour, so the form
    cannot be used to flood someone's mailbox.
    """
    from datetime import timedelta

    from charitylink.mail.models import OutboxMail
    from charitylink.mail.outbox import enqueue
    from charitylink.mail.render import (
        absolute_url,
        in_language,
        recipient_language,
        render_bodies,
    )

    if not user.email:
        return
    with in_language(recipient_language(user)):
        subject = _("有人用您的邮箱注册机构")
        text, html = render_bodies(
            "mail/orgs/existing_account",
            title=subject,
            org_name=str(submitted.get("name") or "")[:100],
            login_url=absolute_url("/login"),
            forgot_url=absolute_url("/forgot"),
        )
    recent = db.session.scalar(
        select(OutboxMail.id)
        .where(
            OutboxMail.to_address == user.email,
            OutboxMail.subject == subject,
            OutboxMail.created_at >= utcnow() - timedelta(hours=1),
        )
        .limit(1)
    )
    if recent is None:
        enqueue(user.email, subject, text, html, user_id=user.id)


def _checked_resubmission(org: Organization, data: dict[str, Any]) -> dict[str, Any]:
    """A resubmission's rules in one round (the fields, the privacy scan of
    the description, a name or code taken by another org), as for a
    registration. Writes nothing."""
    fields: dict[str, str] = {}
    clean = _check_org_fields(data, fields)
    gather(fields, lambda: _check_description(clean["description"], clean, org))
    conflicts = _duplicates(clean["name"], clean.get("uscc"), exclude_id=org.id)
    if fields:
        raise ValidationFailed(
            _("注册信息有误，请检查标出的项目。"), {**conflicts, **fields}
        )
    if conflicts:
        raise Conflict(next(iter(conflicts.values())), conflicts)
    return clean


def check_resubmission(org: Organization, data: dict[str, Any]) -> None:
    """:func:`resubmit_org`'s checks alone; writes nothing."""
    _checked_resubmission(org, data)


def _checked_profile(
    org: Organization, data: dict[str, Any]
) -> tuple[str, dict[str, str]]:
    """A profile edit's rules in one round: lengths, the contact, the privacy
    scan of the description. Writes nothing."""
    fields: dict[str, str] = {}
    description = _text(data.get("description"))
    if len(description) > DESCRIPTION_MAX:
        fields["description"] = _("机构简介不能超过 %(n)d 个字。", n=DESCRIPTION_MAX)
    contact = _check_contact(data, fields)
    gather(fields, lambda: _check_description(description, contact, org))
    if fields:
        raise ValidationFailed(_("机构资料有误，请检查标出的项目。"), fields)
    return description, contact


def check_profile(org: Organization, data: dict[str, Any]) -> None:
    """:func:`update_profile`'s checks alone; writes nothing."""
    _checked_profile(org, data)


def resubmit_org(org: Organization, actor: User, data: dict[str, Any]) -> None:
    """A rejected registration, corrected by the org's admin, goes back to the
    review queue (``pending``) with the same accounts. Same checks as
    :func:`register_org` for the organization half; the name and credit code may
    stay as they were (they are the org's own)."""
    require_org_admin(actor, org.id)
    if OrgStatus(org.status) != OrgStatus.REJECTED:
        raise InvalidTransition(_("只有被驳回的注册可以修改后重新提交。"))
    clean = _checked_resubmission(org, data)
    # The status first, guarded (two resubmissions racing: one moves the row,
    # the other is refused); the fields while this transaction holds the row.
    if not _move(org, OrgStatus.REJECTED, {"status": OrgStatus.PENDING}):
        raise InvalidTransition(_("只有被驳回的注册可以修改后重新提交。"))
    org.status_reason = None
    changed = [k for k, v in clean.items() if getattr(org, k) != v]
    for key, value in clean.items():
        setattr(org, key, value)
    try:
        db.session.flush()
    except IntegrityError as exc:  # a concurrent registration took the name
        db.session.rollback()
        raise Conflict(
            _("该机构名称或统一社会信用代码已被注册。"),
            {"uscc": _("该机构名称或统一社会信用代码已被注册。")},
        ) from exc
    row = audit.record(
        actor,
        "org.resubmit",
        org,
        OrgStatus.REJECTED,
        OrgStatus.PENDING,
        reason=",".join(changed) or None,
    )
    db.session.flush()
    events.org_registered(org, row)


def _move(org: Organization, old: OrgStatus, values: dict[str, Any]) -> bool:
    """Write ``values`` only while the org still has status ``old``: one guarded
    UPDATE whose WHERE the database re-checks under its lock (a check in Python
    before the first write of a transaction protects nothing on SQLite). The
    object is refreshed either way. True if the row moved."""
    return move_if(org, old, values)


def _require_from(
    org: Organization, allowed_from: tuple[OrgStatus, ...], to: OrgStatus
) -> OrgStatus:
    current = OrgStatus(org.status)
    if current not in allowed_from:
        raise InvalidTransition(
            _(
                "机构当前状态为「%(s)s」，不能改为「%(t)s」。",
                s=_(ORG_STATUS_LABELS[current]),
                t=_(ORG_STATUS_LABELS[to]),
            )
        )
    return current


def _transition(
    org: Organization,
    moderator: User,
    allowed_from: tuple[OrgStatus, ...],
    to: OrgStatus,
    action: str,
    reason: str | None = None,
    **values: Any,
) -> audit.AuditEvent:
    """Move the org from one of ``allowed_from`` to ``to`` (guarded UPDATE);
    refused with the same message whether the check or the UPDATE says no.
    Returns the audit row (the event its notifications name)."""
    require_moderator(moderator, org.region_code)
    current = _require_from(org, allowed_from, to)
    if not _move(org, current, {"status": to, "status_reason": reason, **values}):
        _require_from(org, allowed_from, to)
        raise InvalidTransition(_("机构状态刚刚发生了变化，请刷新页面后重试。"))
    row = audit.record(moderator, action, org, current, to, reason)
    db.session.flush()
    return row


def _reason(reason: Any) -> str:
    return clean_reason(reason, required=True)


def verify_org(org: Organization, moderator: User) -> None:
    """pending → verified (moderator of the org's region)."""
    row = _transition(
        org,
        moderator,
        (OrgStatus.PENDING,),
        OrgStatus.VERIFIED,
        "org.verify",
        verified_at=utcnow(),
    )
    events.org_decided("org_verified", org, row)


def reject_org(org: Organization, moderator: User, reason: Any) -> None:
    """pending → rejected, with a reason the org sees."""
    require_moderator(moderator, org.region_code)
    text = _reason(reason)
    row = _transition(
        org, moderator, (OrgStatus.PENDING,), OrgStatus.REJECTED, "org.reject", text
    )
    events.org_decided("org_rejected", org, row)


def suspend_org(org: Organization, moderator: User, reason: Any) -> None:
    """verified → suspended: the org can no longer act (funds, claims, projects)."""
    require_moderator(moderator, org.region_code)
    text = _reason(reason)
    row = _transition(
        org, moderator, (OrgStatus.VERIFIED,), OrgStatus.SUSPENDED, "org.suspend", text
    )
    events.org_decided("org_suspended", org, row)


def reinstate_org(org: Organization, moderator: User) -> None:
    """suspended → verified."""
    _transition(
        org, moderator, (OrgStatus.SUSPENDED,), OrgStatus.VERIFIED, "org.reinstate"
    )


PROFILE_FIELDS = ("description", "contact_name", "contact_phone", "contact_email")


def update_profile(org: Organization, actor: User, data: dict[str, Any]) -> None:
    """The org admin edits the public profile. Name, credit code, type and region
    are what the moderator verified: they are not editable here. A pending org
    may fill its profile while it waits for review; a suspended one may not (a
    rejected one corrects it through :func:`resubmit_org`)."""
    require_org_can_act(actor, org.id, admin=True, while_pending=True, for_update=True)
    description, contact = _checked_profile(org, data)
    changed = []
    for key, value in {"description": description, **contact}.items():
        if getattr(org, key) != value:
            setattr(org, key, value)
            changed.append(key)
    if changed:
        audit.record(actor, "org.update_profile", org, reason=",".join(changed))
    db.session.flush()


def members(org: Organization) -> list[User]:
    return list(
        db.session.scalars(select(User).where(User.org_id == org.id).order_by(User.id))
    )


def add_member(
    org: Organization,
    actor: User,
    *,
    email: Any,
    name: Any,
    password: Any,
    role: Any = Role.ORG_MEMBER,
) -> User:
    """The org admin adds a staff account (member or admin) to its own org."""
    # A pending org sets up its staff while waiting; a suspended one adds nobody.
    require_org_can_act(actor, org.id, admin=True, while_pending=True)
    email_text, name_text, role = _checked_member(org, email, name, password, role)
    return accounts.create_user(
        email_text, password, role, name=name_text, org_id=org.id, actor=actor
    )


def check_member(
    org: Organization, *, email: Any, name: Any, password: Any, role: Any
) -> None:
    """:func:`add_member`'s field checks alone; writes nothing."""
    _checked_member(org, email, name, password, role)


def _checked_member(
    org: Organization, email: Any, name: Any, password: Any, role: Any
) -> tuple[str, str, Role]:
    """A new member's fields in one round (role, e-mail, name, password
    policy, an e-mail already taken)."""
    fields: dict[str, str] = {}
    try:
        role = Role(role)
    except ValueError:
        role = None
    if role not in MEMBER_ROLES:
        fields["role"] = _("角色只能是机构成员或机构管理员。")
    email_text = _text(email)
    try:
        email_text = accounts.validate_email(email_text)
    except ValidationFailed:
        fields["email"] = _("请填写邮箱。") if not email_text else _("邮箱格式不正确。")
    name_text = _text(name)
    if not name_text:
        fields["name"] = _("请填写姓名。")
    elif len(name_text) > 64:
        fields["name"] = _("姓名不能超过 64 个字。")
    try:
        accounts.validate_new_password(
            password, "password", (email_text, name_text, org.name)
        )
    except ValidationFailed as exc:
        fields.update(exc.fields)
    taken = "email" not in fields and accounts.get_by_email(email_text) is not None
    if fields:
        if taken:
            fields["email"] = _("该邮箱已注册。")
        raise ValidationFailed(_("成员信息有误，请检查标出的项目。"), fields)
    if taken:
        raise Conflict(_("该邮箱已注册。"), {"email": _("该邮箱已注册。")})
    return email_text, name_text, Role(role)


def deactivate_member(org: Organization, actor: User, member: User) -> None:
    """Deactivate a staff account of the org; its sessions and tokens end at once.
    Nobody deactivates themselves, and the last active admin stays.

    Allowed whatever the org's status: taking an account's access away is what
    a suspended org should still be able to do (a leaver's account)."""
    require_org_admin(actor, org.id)
    if member.org_id != org.id:
        raise NotAllowed(_("该用户不是本机构成员。"))
    if member.id == actor.id:
        raise NotAllowed(_("不能停用自己的账号。"))
    if not member.active:
        raise Conflict(_("该账号已经停用。"))
    rules = []
    if member.role == Role.ORG_ADMIN:
        # Two admins deactivating each other at once must not both succeed:
        # the org row is locked first (PostgreSQL; SQLite's UPDATE below runs
        # under its write lock anyway) and the count of the other active admins
        # is part of the UPDATE.
        db.session.execute(
            select(Organization.id).where(Organization.id == org.id).with_for_update()
        )
        other_admins = _other_active_admins(org, member)
        if not db.session.scalar(select(other_admins)):
            raise NotAllowed(_("不能停用机构的最后一位管理员。"))
        rules.append(other_admins > 0)
    if not accounts.set_active(member, False, *rules):
        if not member.active:
            raise Conflict(_("该账号已经停用。"))
        raise NotAllowed(_("不能停用机构的最后一位管理员。"))
    accounts.end_all_sessions(member)
    audit.record(actor, "user.deactivate", member, "active", "inactive", org_id=org.id)
    db.session.flush()


def _other_active_admins(org: Organization, member: User) -> Any:
    """The count of the org's active admins other than ``member`` (a scalar
    subquery, so it can guard an UPDATE). The caller has locked the org row:
    two admins demoting each other at once must not both succeed (PostgreSQL;
    SQLite's UPDATE runs under its write lock anyway)."""
    return (
        select(func.count())
        .select_from(User)
        .where(
            User.org_id == org.id,
            User.role == Role.ORG_ADMIN,
            User.active,
            User.id != member.id,
        )
        .scalar_subquery()
    )


def change_member_role(org: Organization, actor: User, member: User, role: Any) -> bool:
    """The org admin makes a staff account a member or an admin. The org keeps
    at least one active admin (an admin may hand the role over and step down,
    not leave the org without one). False if the role was already that.
    As adding a member: a pending org may, a suspended one may not (it can
    still switch accounts off)."""
    # The org row is locked for update before the status check share-locks
    # it: two demotions that both took the share lock first would deadlock
    # upgrading it.
    db.session.execute(
        select(Organization.id).where(Organization.id == org.id).with_for_update()
    )
    require_org_can_act(actor, org.id, admin=True, while_pending=True)
    if member.org_id != org.id:
        raise NotAllowed(_("该用户不是本机构成员。"))
    try:
        new_role = Role(role)
    except ValueError:
        new_role = None
    if new_role not in MEMBER_ROLES:
        message = _("角色只能是机构成员或机构管理员。")
        raise ValidationFailed(message, {"role": message})
    assert new_role is not None
    old_role = Role(member.role)
    if old_role == new_role:
        return False
    rules: list[Any] = [User.role == old_role]
    if old_role == Role.ORG_ADMIN and member.active:
        others = _other_active_admins(org, member)
        if not db.session.scalar(select(others)):
            raise NotAllowed(
                _("机构至少要有一位启用的管理员：请先把另一位成员设为管理员。")
            )
        rules.append(others > 0)
    result = cast(
        CursorResult[Any],
        db.session.execute(
            update(User)
            .where(User.id == member.id, *rules)
            .values(role=new_role)
            .execution_options(synchronize_session=False)
        ),
    )
    db.session.refresh(member)
    if result.rowcount != 1:
        if Role(member.role) == new_role:
            return False
        raise NotAllowed(
            _("机构至少要有一位启用的管理员：请先把另一位成员设为管理员。")
        )
    audit.record(actor, "user.role_change", member, old_role, new_role, org_id=org.id)
    db.session.flush()
    return True


def reactivate_member(org: Organization, actor: User, member: User) -> None:
    """The org admin switches a deactivated staff account back on (as adding
    one: a pending org may, a suspended one may not)."""
    require_org_can_act(actor, org.id, admin=True, while_pending=True)
    if member.org_id != org.id:
        raise NotAllowed(_("该用户不是本机构成员。"))
    if member.active or not accounts.set_active(member, True):
        raise Conflict(_("该账号已是启用状态。"))
    audit.record(actor, "user.reactivate", member, "inactive", "active", org_id=org.id)
    db.session.flush()
