"""The rules of complaints (举报): submitting one (anyone, no account), the
complainant's tracking, and the moderators' accept / resolve.

A complaint is routed by its subject's region: moderators whose prefix covers
it handle it, admins handle every one and alone handle complaints about the
platform itself (no region). Everything a complainant gives beyond the
category and the text is private: the contact is encrypted; the text is shown
to the moderators only, with what the privacy guard found in it marked.

Like every service: check, change with a guarded UPDATE, audit, flush; never
commit."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask import current_app
from sqlalchemy import Select, select

from charitylink.complaints.models import (
    CONTACT_PURGED,
    Complaint,
    ComplaintCategory,
    ComplaintOutcome,
    ComplaintStatus,
    SubjectType,
)
from charitylink.core import audit, text_guard
from charitylink.core.i18n import N_, _
from charitylink.core.permissions import covers, in_scope, is_moderator
from charitylink.core.timeutil import utcnow
from charitylink.core.transitions import move_if
from charitylink.errors import InvalidTransition, NotAllowed, ValidationFailed
from charitylink.extensions import db
from charitylink.needs import privacy

if TYPE_CHECKING:
    from charitylink.accounts.models import User

TEXT_MAX = 2000
CONTACT_MAX = 100
NOTE_MAX = 2000
PUBLISHED_MAX = 500
# secrets.token_urlsafe(16): 128 random bits written in 22 characters.
CODE_BYTES = 16
_CODE = re.compile(r"[A-Za-z0-9_-]{22}")


def new_tracking_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


# --------------------------------------------------------------------------
# The subject: what the complaint is about, and whose region it falls in
# --------------------------------------------------------------------------


def _subject(subject_type: str, ref: str) -> tuple[str, int | None, str | None] | None:  # noqa: C901 — one branch per kind of subject, each with its own public rule
    """``(stored ref, org id, region code)`` of a subject the public can name,
    or None when there is none (an unpublished one is not revealed)."""
    from charitylink.claims.models import Claim
    from charitylink.funds.models import Fund
    from charitylink.funds.services import is_public
    from charitylink.needs.models import PUBLIC_STATUSES, Need
    from charitylink.orgs.models import Organization
    from charitylink.projects.models import Project

    if subject_type == SubjectType.PLATFORM:
        return "", None, None
    if subject_type == SubjectType.NEED:
        need = db.session.scalar(select(Need).where(Need.code == ref.upper()))
        if need is None or need.status not in PUBLIC_STATUSES:
            return None
        return need.code, None, need.region_code
    if not ref.isdigit() or len(ref) > 9:
        return None
    ident = int(ref)
    if subject_type == SubjectType.ORG:
        org = db.session.get(Organization, ident)
        if org is None or not org.is_verified:
            return None
        return str(org.id), org.id, org.region_code
    if subject_type == SubjectType.FUND:
        fund = db.session.get(Fund, ident)
        if fund is None or not is_public(fund):
            return None
        return str(fund.id), fund.org_id, fund.org.region_code
    if subject_type == SubjectType.PROJECT:
        project = db.session.get(Project, ident)
        if project is None or not (project.is_public and project.org.is_verified):
            return None
        # The org's region: its moderators verified the org and review its projects.
        return str(project.id), project.org_id, project.org.region_code
    if subject_type == SubjectType.CLAIM:
        claim = db.session.get(Claim, ident)
        if claim is None:
            return None
        # The need's region: its moderators follow the delivery up.
        return str(claim.id), claim.org_id, claim.need.region_code
    return None


def check_submission(data: dict[str, Any]) -> dict[str, Any]:
    """The cleaned submission, or ValidationFailed naming every bad field."""
    fields: dict[str, str] = {}
    subject_type = data.get("subject_type")
    if subject_type not in {str(s) for s in SubjectType}:
        fields["subject_type"] = _("请选择举报对象的类型。")
    category = data.get("category")
    if category not in {str(c) for c in ComplaintCategory}:
        fields["category"] = _("请选择举报类别。")
    text = data.get("text")
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        fields["text"] = _("请写明举报的事实。")
    elif len(text) > TEXT_MAX:
        fields["text"] = _("举报内容最多 %(n)s 个字。", n=TEXT_MAX)
    contact = data.get("contact")
    contact = contact.strip() if isinstance(contact, str) else ""
    if len(contact) > CONTACT_MAX:
        fields["contact"] = _("联系方式最多 %(n)s 个字。", n=CONTACT_MAX)
    raw_ref = data.get("subject_id")
    ref = str(raw_ref).strip() if isinstance(raw_ref, (str, int)) else ""
    subject = None
    if "subject_type" not in fields:
        if subject_type != SubjectType.PLATFORM and not ref:
            fields["subject_id"] = _("请填写举报对象的编号。")
        else:
            subject = _subject(str(subject_type), ref[:40])
            if subject is None:
                fields["subject_id"] = _(
                    "找不到这个编号的公开对象，请核对编号（需求编号如 XQ-22-000123）。"
                )
    if fields or subject is None:
        raise ValidationFailed(_("举报信息有误，请检查标出的项目。"), fields)
    stored_ref, org_id, region_code = subject
    return {
        "subject_type": SubjectType(str(subject_type)),
        "subject_ref": stored_ref,
        "subject_org_id": org_id,
        "region_code": region_code,
        "category": ComplaintCategory(str(category)),
        "text": text,
        "contact": contact,
    }


def submit(data: dict[str, Any], user: User | None) -> tuple[Complaint, str]:
    """Receive a complaint; returns it and its tracking code (shown once)."""
    clean = check_submission(data)
    now = utcnow()
    config = current_app.config
    code = new_tracking_code()
    findings = text_guard.scan(clean["text"])
    kinds = sorted({f.kind for f in findings})
    complaint = Complaint(
        tracking_hash=hash_code(code),
        subject_type=clean["subject_type"],
        subject_ref=clean["subject_ref"],
        subject_org_id=clean["subject_org_id"],
        region_code=clean["region_code"],
        category=clean["category"],
        text=clean["text"],
        text_findings=",".join(kinds)[:200],
        contact_ciphertext=(
            privacy.cipher().encrypt(clean["contact"]) if clean["contact"] else None
        ),
        complainant_id=getattr(user, "id", None),
        status=ComplaintStatus.RECEIVED,
        created_at=now,
        accept_due_at=now + timedelta(days=int(config["COMPLAINT_ACCEPT_DAYS"])),
        resolve_due_at=now + timedelta(days=int(config["COMPLAINT_RESOLVE_DAYS"])),
    )
    db.session.add(complaint)
    db.session.flush()
    row = audit.record(
        user, "complaint.submit", complaint, None, ComplaintStatus.RECEIVED
    )
    from charitylink.notifications import events

    events.complaint_received(complaint, row)
    return complaint, code


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def by_tracking_code(code: Any) -> Complaint | None:
    """The complaint of a tracking code; None for a wrong, random or malformed
    one alike (the caller answers the same 404). The lookup is by the code's
    hash, so the database compares hashes, never codes."""
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        return None
    return db.session.scalar(
        select(Complaint).where(Complaint.tracking_hash == hash_code(code))
    )


def may_handle(user: User | None, complaint: Complaint) -> bool:
    """Moderators of the subject's region; admins for all (platform: admins only)."""
    return is_moderator(user) and covers(user, complaint.region_code)


def for_moderator(complaint_id: Any, user: User) -> Complaint | None:
    """The complaint if the user handles it; else None (the caller's 404)."""
    try:
        ident = int(complaint_id)
    except (TypeError, ValueError):
        return None
    complaint = db.session.get(Complaint, ident)
    if complaint is None or not may_handle(user, complaint):
        return None
    return complaint


def queue(user: User, status: str | None = None) -> Select[Any]:
    """The complaints the user handles, oldest open first."""
    stmt = select(Complaint).where(in_scope(user, Complaint.region_code))
    if status:
        stmt = stmt.where(Complaint.status == status)
    return stmt.order_by(Complaint.resolve_due_at.asc(), Complaint.id.asc())


def has_contact(complaint: Complaint) -> bool:
    """A contact is kept (not left out, not erased by the purge)."""
    return complaint.contact_ciphertext not in (None, "", CONTACT_PURGED)


def reveal_contact(complaint: Complaint, moderator: User) -> str:
    """The complainant's contact for a handling moderator, audited: who learnt
    how to reach a complainant is on record (it identifies them)."""
    _require(moderator, complaint)
    if has_contact(complaint):
        audit.record(moderator, "complaint.contact_view", complaint)
    return contact_of(complaint)


def contact_of(complaint: Complaint) -> str:
    """The complainant's contact (no check, no audit: callers do that)."""
    if not has_contact(complaint):
        return ""
    assert complaint.contact_ciphertext is not None
    try:
        return privacy.cipher().decrypt(complaint.contact_ciphertext)
    except ValueError:
        return _("（无法解密）")


def founded_against(org_id: int) -> tuple[int, list[Complaint]]:
    """Founded complaints about an org (its funds, projects and claims too): the
    count, and those whose outcome a moderator chose to publish."""
    rows = list(
        db.session.scalars(
            select(Complaint)
            .where(
                Complaint.subject_org_id == org_id,
                Complaint.outcome == ComplaintOutcome.FOUNDED,
            )
            .order_by(Complaint.resolved_at.desc())
        )
    )
    return len(rows), [c for c in rows if c.published_text]


def overdue(complaint: Complaint, now: datetime | None = None) -> str | None:
    """ "accept" or "resolve" when a deadline has passed, else None."""
    now = now or utcnow()
    if complaint.accept_overdue(now):
        return "accept"
    if complaint.resolve_overdue(now):
        return "resolve"
    return None


# --------------------------------------------------------------------------
# Handling
# --------------------------------------------------------------------------


def _require(user: User, complaint: Complaint) -> None:
    if not may_handle(user, complaint):
        raise NotAllowed(_("该举报不在您负责的行政区划内。"))


def accept(complaint: Complaint, moderator: User) -> None:
    """received → in_review: a moderator takes the complaint up."""
    _require(moderator, complaint)
    values = {
        "status": ComplaintStatus.IN_REVIEW,
        "accepted_at": utcnow(),
        "accepted_by_id": moderator.id,
    }
    if not move_if(complaint, ComplaintStatus.RECEIVED, values):
        raise InvalidTransition(_("只有新收到的举报可以受理。"))
    audit.record(
        moderator,
        "complaint.accept",
        complaint,
        ComplaintStatus.RECEIVED,
        ComplaintStatus.IN_REVIEW,
    )


def check_resolution(
    complaint: Complaint, outcome: Any, note: Any, published: Any
) -> dict[str, Any]:
    fields: dict[str, str] = {}
    if outcome not in {str(o) for o in ComplaintOutcome}:
        fields["outcome"] = _("请选择核查结论：属实或不属实。")
    note = note.strip() if isinstance(note, str) else ""
    if not note:
        fields["note"] = _("请填写核查情况说明（仅审核员可见）。")
    elif len(note) > NOTE_MAX:
        fields["note"] = _("说明最多 %(n)s 个字。", n=NOTE_MAX)
    published = published.strip() if isinstance(published, str) else ""
    if published:
        if outcome != ComplaintOutcome.FOUNDED or complaint.subject_org_id is None:
            fields["published_text"] = _(
                "只有针对慈善组织（含其基金、项目、认领）且属实的举报可以公开处理结果。"
            )
        elif len(published) > PUBLISHED_MAX:
            fields["published_text"] = _(
                "公开的处理结果最多 %(n)s 个字。", n=PUBLISHED_MAX
            )
    if fields:
        raise ValidationFailed(_("办结信息有误，请检查标出的项目。"), fields)
    if published:
        from charitylink.orgs.models import Organization
        from charitylink.orgs.public_text import check

        org = db.session.get(Organization, complaint.subject_org_id)
        check([("published_text", _("公开的处理结果"), published)], org=org)
    return {
        "outcome": ComplaintOutcome(str(outcome)),
        "note": note,
        "published": published,
    }


def resolve(
    complaint: Complaint,
    moderator: User,
    outcome: Any,
    note: Any,
    published: Any = None,
) -> None:
    """in_review → resolved with an outcome, a private note and, for a founded
    complaint about an org, an optional outcome text shown on its public page."""
    _require(moderator, complaint)
    if complaint.status != ComplaintStatus.IN_REVIEW:
        raise InvalidTransition(_("请先受理该举报，再办结；已办结的举报不能再次办结。"))
    clean = check_resolution(complaint, outcome, note, published)
    values = {
        "status": ComplaintStatus.RESOLVED,
        "outcome": clean["outcome"],
        "moderator_note": clean["note"],
        "published_text": clean["published"] or None,
        "resolved_at": utcnow(),
        "resolved_by_id": moderator.id,
    }
    if not move_if(complaint, ComplaintStatus.IN_REVIEW, values):
        raise InvalidTransition(_("举报状态刚刚发生了变化，请刷新页面后重试。"))
    # The reason names the outcome only: the note is the moderators' own.
    row = audit.record(
        moderator,
        "complaint.resolve",
        complaint,
        ComplaintStatus.IN_REVIEW,
        ComplaintStatus.RESOLVED,
        str(clean["outcome"]),
    )
    from charitylink.notifications import events

    events.complaint_resolved(complaint, row)


def follow_up_links(complaint: Complaint) -> list[tuple[str, str]]:
    """For a founded complaint, the pages of the existing actions its subject
    may call for (each is its own decision, audited there): ``(label, url)``."""
    if complaint.outcome != ComplaintOutcome.FOUNDED:
        return []
    links: list[tuple[str, str]] = []
    kind, ref = complaint.subject_type, complaint.subject_ref
    if kind == SubjectType.NEED:
        links.append((_("撤回该需求"), f"/mod/needs/{ref}"))
    if kind == SubjectType.CLAIM:
        from charitylink.claims.models import Claim

        claim = db.session.get(Claim, int(ref))
        if claim is not None:
            links.append((_("查看该认领所属的需求"), f"/mod/needs/{claim.need.code}"))
            links.append(
                (_("回访该认领的交付（可提出异议）"), f"/mod/claims/{claim.id}/confirm")
            )
    if kind == SubjectType.PROJECT:
        links.append((_("查看该项目（可结束项目）"), f"/mod/projects/{ref}"))
    if complaint.subject_org_id is not None:
        links.append((_("暂停该机构"), f"/mod/orgs/{complaint.subject_org_id}"))
    return links


def subject_url(complaint: Complaint) -> str:
    """The public page of the subject ("" for the platform)."""
    paths = {
        SubjectType.NEED: "/needs/",
        SubjectType.PROJECT: "/projects/",
        SubjectType.ORG: "/orgs/",
        SubjectType.FUND: "/funds/",
    }
    prefix = paths.get(SubjectType(complaint.subject_type))
    return f"{prefix}{complaint.subject_ref}" if prefix else ""


FINDING_LABELS = {
    "id_number": N_("身份证号"),
    "mobile": N_("手机号"),
    "landline": N_("固定电话"),
    "bank_card": N_("银行卡号"),
    "email": N_("电子邮箱"),
    "qq": N_("QQ号"),
    "wechat": N_("微信号"),
    "long_number": N_("长串数字"),
    "address": N_("详细地址"),
    "name": N_("姓名"),
}


def findings_label(complaint: Complaint) -> str:
    """What the privacy guard found in the text, in words ("" when clean)."""
    kinds = [k for k in (complaint.text_findings or "").split(",") if k]
    return "、".join(_(FINDING_LABELS[k]) if k in FINDING_LABELS else k for k in kinds)


def subject_label(complaint: Complaint) -> str:
    """The subject as moderators recognise it: the org's name, the fund's or
    project's name, the need's code, the claim's number."""
    from charitylink.funds.models import Fund
    from charitylink.orgs.models import Organization
    from charitylink.projects.models import Project

    kind, ref = complaint.subject_type, complaint.subject_ref
    model: Any = {
        SubjectType.ORG: Organization,
        SubjectType.FUND: Fund,
        SubjectType.PROJECT: Project,
    }.get(SubjectType(kind))
    if model is not None and ref.isdigit():
        found = db.session.get(model, int(ref))
        name = getattr(found, "name", None) or getattr(found, "title", None)
        if name:
            return str(name)
    if kind == SubjectType.CLAIM:
        return _("认领 #%(id)s", id=ref)
    return ref
