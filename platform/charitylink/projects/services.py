"""Projects (帮扶项目): drafts, review, publication, closing, progress updates.

Status: draft → submitted → published → closed; submitted → rejected(reason) →
draft (the org edits and resubmits). Every change is audited (rule 7). Flush,
never commit.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from charitylink.accounts.models import User
from charitylink.core import audit
from charitylink.core.i18n import _
from charitylink.core.money import InvalidAmount, validate_fen
from charitylink.core.permissions import (
    covers,
    is_moderator,
    is_org_staff,
    require_org_can_act,
)
from charitylink.core.reasons import LONG_REASON_MAX, clean_reason
from charitylink.core.timeutil import InvalidDate, parse_day, utcnow
from charitylink.core.transitions import move_if
from charitylink.errors import InvalidTransition, NotAllowed, ValidationFailed, gather
from charitylink.extensions import db
from charitylink.funds.models import Fund
from charitylink.needs.models import NEED_TYPE_LABELS
from charitylink.notifications import events
from charitylink.orgs import public_text
from charitylink.orgs.models import Organization, OrgStatus
from charitylink.projects.models import (
    PROJECT_STATUS_LABELS,
    Project,
    ProjectStatus,
    ProjectUpdate,
)
from charitylink.regions import services as regions

_FILING = re.compile(r"[A-Za-z0-9]{1,64}")
EDITABLE = (ProjectStatus.DRAFT, ProjectStatus.REJECTED)


def _label(status: Any) -> str:
    try:
        return _(PROJECT_STATUS_LABELS[ProjectStatus(status)])
    except ValueError:
        return str(status)


def require_transition(project: Project, *allowed_from: ProjectStatus) -> None:
    """Raise InvalidTransition (409) unless the project is in one of the states."""
    if project.status not in allowed_from:
        raise InvalidTransition(
            _(
                "项目当前状态为「%(status)s」，不能执行此操作。",
                status=_label(project.status),
            )
        )


def _move(
    project: Project,
    allowed_from: tuple[ProjectStatus, ...],
    values: dict[str, Any],
    *rules: Any,
    refuse: Callable[[Project], None] | None = None,
) -> ProjectStatus:
    """Check, then write ``values`` with one guarded UPDATE: ``WHERE id = :id
    AND status = :from`` plus ``rules``, re-checked by the database under its
    lock (a status read in Python before the first write of a transaction
    protects nothing on SQLite). On no row moved, the project is re-read and
    the same refusal raised (``refuse`` raises the one of ``rules``). Returns
    the status it left; the object is refreshed, so the audit row and callers
    see the stored state."""
    require_transition(project, *allowed_from)
    previous = ProjectStatus(project.status)
    if not move_if(project, previous, values, *rules):
        require_transition(project, *allowed_from)
        if refuse is not None:
            refuse(project)
        raise InvalidTransition(_("项目状态刚刚发生了变化，请刷新页面后重试。"))
    return previous


def _org_verified(project: Project) -> Any:
    """The UPDATE's own check that the project's org is (still) verified."""
    return Project.org_id.in_(
        select(Organization.id).where(
            Organization.id == project.org_id,
            Organization.status == OrgStatus.VERIFIED,
        )
    )


def _require_publishable(project: Project) -> None:
    db.session.refresh(project.org)
    if not project.org.is_verified:
        raise NotAllowed(_("该机构当前未通过认证，不能发布其项目。"))


def require_reviewer(user: User, project: Project) -> None:
    """A moderator reviews projects of orgs in their region; admins everywhere."""
    if not is_moderator(user):
        raise NotAllowed(_("只有民政审核员可以审核项目。"))
    if not covers(user, project.org.region_code):
        raise NotAllowed(_("该项目的机构不在您负责的行政区划内。"))


def can_view(user: User | None, project: Project) -> bool:
    """The public sees published and closed projects of verified orgs; the org's
    staff and the moderators of its region see every state."""
    if project.is_public and project.org.is_verified:
        return True
    if user is None or not getattr(user, "is_authenticated", True):
        return False
    if is_org_staff(user, project.org_id):
        return True
    return is_moderator(user) and covers(user, project.org.region_code)


# ----------------------------------------------------------------------------
# Validation of the editable fields (pages and API share it)
# ----------------------------------------------------------------------------


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def clean_fields(  # noqa: C901, PLR0912, PLR0915 — one check per project field, all reported together (one round of errors)
    org: Organization, data: dict[str, Any], project_id: int | None = None
) -> dict[str, Any]:
    """Check the editable fields and return model values, or raise ValidationFailed
    naming each bad field (the API's field names: target_amount, start_on ...).

    ``target_amount`` must already be integer fen (forms parse yuan first)."""
    fields: dict[str, str] = {}
    out: dict[str, Any] = {}

    title = _text(data.get("title"))
    if not title or len(title) > 120:
        fields["title"] = _("请填写项目名称（不超过120字）。")
    out["title"] = title

    summary = _text(data.get("summary"))
    if len(summary) > 500:
        fields["summary"] = _("项目简介不超过500字。")
    out["summary"] = summary

    body = data.get("body")
    if body is not None and not isinstance(body, str):
        fields["body"] = _("项目详情必须是文本（支持 Markdown）。")
    elif body and len(body) > 20000:
        fields["body"] = _("项目详情不超过20000字。")
    out["body"] = body.strip() if isinstance(body, str) else ""

    filing = data.get("filing_number")
    if filing is None or (isinstance(filing, str) and not filing.strip()):
        out["filing_number"] = None
    elif not isinstance(filing, str):
        fields["filing_number"] = _("备案编号必须是文本。")
    else:
        filing = unicodedata.normalize("NFKC", filing).strip().upper()
        if not _FILING.fullmatch(filing):
            fields["filing_number"] = _(
                "慈善中国备案编号只能由字母和数字组成（1–64位）。"
            )
        out["filing_number"] = filing

    types = data.get("need_types")
    cleaned_types: list[str] = []
    if not isinstance(types, list) or not types:
        fields["need_types"] = _("请选择项目帮扶的需求类型（至少一种）。")
    else:
        for t in types:
            if not isinstance(t, str) or t not in NEED_TYPE_LABELS:
                fields["need_types"] = _("未知的需求类型：%(t)s", t=str(t)[:20])
                break
            if t not in cleaned_types:
                cleaned_types.append(t)
    out["need_types"] = cleaned_types

    codes = data.get("region_codes")
    cleaned_codes: list[str] = []
    if not isinstance(codes, list) or not codes:
        fields["region_codes"] = _("请填写项目覆盖的行政区划代码（至少一个）。")
    else:
        for c in codes:
            if not isinstance(c, str) or not regions.exists(c.strip()):
                fields["region_codes"] = _(
                    "未知的行政区划代码：%(c)s（应为6位区划代码，例如 220102）。",
                    c=str(c)[:20],
                )
                break
            if c.strip() not in cleaned_codes:
                cleaned_codes.append(c.strip())
        if len(cleaned_codes) > 200:
            fields["region_codes"] = _("覆盖区划最多200个。")
    out["region_codes"] = cleaned_codes

    try:
        out["target_fen"] = validate_fen(data.get("target_amount"))
    except InvalidAmount as exc:
        fields["target_amount"] = _("目标金额：%(msg)s", msg=str(exc))

    for key in ("start_on", "end_on"):
        try:
            out[key] = parse_day(
                data.get(key), _("开始日期") if key == "start_on" else _("结束日期")
            )
        except InvalidDate as exc:
            fields[key] = str(exc)
    start, end = out.get("start_on"), out.get("end_on")
    if start and end and end < start:
        fields["end_on"] = _("结束日期不能早于开始日期。")

    fund_id = data.get("fund_id")
    fund = None
    if isinstance(fund_id, bool) or not isinstance(fund_id, int):
        fields["fund_id"] = _("请选择支付项目资金的本机构基金。")
    else:
        fund = db.session.get(Fund, fund_id)
        if fund is None or fund.org_id != org.id:
            fields["fund_id"] = _("基金不存在或不属于本机构。")
    if fund is not None and "fund_id" not in fields:
        out["fund_id"] = fund.id

    # The privacy scan of the public text is part of the same round.
    gather(fields, lambda: check_public_text(org, out, project_id))
    if fields:
        raise ValidationFailed(_("项目信息有误，请检查标出的字段。"), fields)
    return out


def check_public_text(
    org: Organization, values: dict[str, Any], project_id: int | None = None
) -> None:
    """Rule 5: title, summary and body are public; scanned together, with the
    names of the households the org claimed needs of (see orgs.public_text)."""
    public_text.check(
        [
            ("title", _("项目名称"), values.get("title") or ""),
            ("summary", _("项目简介"), values.get("summary") or ""),
            ("body", _("项目详情"), values.get("body") or ""),
        ],
        org=org,
        project_id=project_id,
    )


def _recheck_public_text(project: Project) -> None:
    # Text saved before the guard covered projects is caught on its way out.
    values = {k: getattr(project, k) for k in ("title", "summary", "body")}
    check_public_text(project.org, values, project.id)


# ----------------------------------------------------------------------------
# State changes
# ----------------------------------------------------------------------------


def _audit(
    actor: User,
    action: str,
    project: Project,
    from_status: Any,
    to_status: Any,
    reason: str | None = None,
) -> audit.AuditEvent:
    return audit.record(
        actor,
        action,
        project,
        from_status,
        to_status,
        reason,
        region_code=project.org.region_code,
        org_id=project.org_id,
    )


def create_project(org: Organization, actor: User, data: dict[str, Any]) -> Project:
    """A new draft by the org's staff (member or admin)."""
    require_org_can_act(actor, org.id)
    values = clean_fields(org, data)
    project = Project(
        org_id=org.id,
        status=ProjectStatus.DRAFT,
        created_by_id=actor.id,
        **values,
    )
    db.session.add(project)
    db.session.flush()
    db.session.refresh(project)  # load the org relationship for the audit row
    _audit(actor, "project.create", project, None, ProjectStatus.DRAFT)
    db.session.flush()
    return project


def update_project(project: Project, actor: User, data: dict[str, Any]) -> Project:
    """Edit a draft; editing a rejected project takes it back to draft."""
    require_org_can_act(actor, project.org_id)
    require_transition(project, *EDITABLE)
    values = clean_fields(project.org, data, project.id)
    # Status first, guarded (an edit racing a submission is refused or waits);
    # then the fields, while this transaction holds the row.
    previous = _move(
        project, EDITABLE, {"status": ProjectStatus.DRAFT, "updated_at": utcnow()}
    )
    for key, value in values.items():
        setattr(project, key, value)
    if previous == ProjectStatus.REJECTED:
        _audit(actor, "project.redraft", project, previous, ProjectStatus.DRAFT)
    else:
        _audit(actor, "project.edit", project, previous, previous)
    db.session.flush()
    return project


def submit_project(project: Project, actor: User) -> None:
    require_org_can_act(actor, project.org_id)
    values = {
        "status": ProjectStatus.SUBMITTED,
        "submitted_at": utcnow(),
        "status_reason": None,
    }
    _move(project, (ProjectStatus.DRAFT,), values)
    _recheck_public_text(project)
    row = _audit(actor, "project.submit", project, ProjectStatus.DRAFT, project.status)
    db.session.flush()
    events.project_submitted(project, row)


def approve_project(project: Project, moderator: User) -> None:
    require_reviewer(moderator, project)
    require_transition(project, ProjectStatus.SUBMITTED)
    _require_publishable(project)
    values = {
        "status": ProjectStatus.PUBLISHED,
        "published_at": utcnow(),
        "status_reason": None,
    }
    _move(
        project,
        (ProjectStatus.SUBMITTED,),
        values,
        _org_verified(project),
        refuse=_require_publishable,
    )
    _recheck_public_text(project)
    row = _audit(
        moderator, "project.approve", project, ProjectStatus.SUBMITTED, project.status
    )
    db.session.flush()
    events.project_reviewed("project_approved", project, row)


def reject_project(project: Project, moderator: User, reason: Any) -> None:
    require_reviewer(moderator, project)
    text = clean_reason(reason, required=True, max_len=LONG_REASON_MAX)
    values = {"status": ProjectStatus.REJECTED, "status_reason": text}
    _move(project, (ProjectStatus.SUBMITTED,), values)
    row = _audit(
        moderator,
        "project.reject",
        project,
        ProjectStatus.SUBMITTED,
        project.status,
        text,
    )
    db.session.flush()
    events.project_reviewed("project_rejected", project, row)


def redraft_project(project: Project, actor: User) -> None:
    """rejected → draft without editing (the org will edit next)."""
    require_org_can_act(actor, project.org_id)
    _move(project, (ProjectStatus.REJECTED,), {"status": ProjectStatus.DRAFT})
    _audit(actor, "project.redraft", project, ProjectStatus.REJECTED, project.status)
    db.session.flush()


FINAL_REPORT_MAX = 5000


def close_project(
    project: Project, actor: User, reason: Any = None, final_report: Any = None
) -> ProjectUpdate:
    """Close a published project: the org's staff, or a moderator of its region.

    Closing needs the final report (Charity Law: a project that raised money
    publicly reports how it ended): it becomes the project's last progress
    update, marked ``final`` and shown with the project's final figures. Without
    it nothing changes."""
    if is_org_staff(actor, project.org_id):
        require_org_can_act(actor, project.org_id)
    else:
        require_reviewer(actor, project)
    require_transition(project, ProjectStatus.PUBLISHED)
    text = clean_reason(reason, required=False, max_len=LONG_REASON_MAX) or None
    report = _text(final_report)
    if not report or len(report) > FINAL_REPORT_MAX:
        message = _(
            "结束项目须填写结项报告（不超过5000字）：说明项目如何结束、资金使用和帮扶结果。"
        )
        raise ValidationFailed(message, {"final_report": message})
    public_text.check(
        [("final_report", _("结项报告"), report)],
        org=project.org,
        project_id=project.id,
    )
    now = utcnow()
    values = {
        "status": ProjectStatus.CLOSED,
        "closed_at": now,
        "last_progress_at": now,
    }
    _move(project, (ProjectStatus.PUBLISHED,), values)
    final = ProjectUpdate(
        project_id=project.id, body=report, author_id=actor.id, final=True
    )
    db.session.add(final)
    final.created_at = now
    db.session.flush()
    _audit(
        actor, "project.close", project, ProjectStatus.PUBLISHED, project.status, text
    )
    db.session.flush()
    return final


def post_update(project: Project, actor: User, body: Any) -> ProjectUpdate:
    """A dated progress update on a published project (Charity Law: every 3
    months at least); resets the overdue reminder."""
    require_org_can_act(actor, project.org_id)
    require_transition(project, ProjectStatus.PUBLISHED)
    text = _text(body)
    if not text or len(text) > 5000:
        raise ValidationFailed(
            _("请填写进展内容（不超过5000字）。"),
            {"body": _("请填写进展内容（不超过5000字）。")},
        )
    public_text.check(
        [("body", _("进展内容"), text)], org=project.org, project_id=project.id
    )
    now = utcnow()
    # Guarded like a transition: a progress update racing the closing of the
    # project lands before it or is refused.
    _move(project, (ProjectStatus.PUBLISHED,), {"last_progress_at": now})
    progress = ProjectUpdate(project_id=project.id, body=text, author_id=actor.id)
    db.session.add(progress)
    progress.created_at = now
    db.session.flush()
    _audit(actor, "project.progress", project, project.status, project.status)
    db.session.flush()
    return progress
