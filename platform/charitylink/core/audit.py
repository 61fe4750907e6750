"""The audit trail (rule 7): one append-only row per state change, in the same
transaction as the change. Rows are never updated or deleted (database triggers
refuse it, see the migration)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import has_request_context, request
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from charitylink.core.i18n import N_
from charitylink.core.timeutil import utcnow
from charitylink.extensions import Model, db

if TYPE_CHECKING:
    from charitylink.accounts.models import User


# What each action code means, for the audit log page (templates:
# ``L.AUDIT_ACTION_LABELS``). Every code passed to :func:`record` has a label
# here; tests/core/test_audit_labels.py finds the codes in the source and fails
# on one without.
AUDIT_ACTION_LABELS = {
    # organisations
    "org.register": N_("机构注册"),
    "org.resubmit": N_("机构重新提交注册"),
    "org.verify": N_("机构通过认证"),
    "org.reject": N_("机构注册被驳回"),
    "org.suspend": N_("机构被暂停"),
    "org.reinstate": N_("机构恢复"),
    "org.update_profile": N_("修改机构资料"),
    "org.seed": N_("载入演示机构"),
    # accounts and API tokens
    "user.create": N_("创建用户"),
    "user.deactivate": N_("停用用户"),
    "user.reactivate": N_("启用用户"),
    "user.login": N_("登录"),
    "user.login_api": N_("登录（API 令牌）"),
    "user.logout": N_("退出登录"),
    "user.password_change": N_("修改密码"),
    "user.email_unsubscribe": N_("退订邮件通知"),
    "user.password_reset": N_("通过邮件链接重设密码"),
    "user.reset_link_sent": N_("发送重设密码链接"),
    "user.email_confirm": N_("确认邮箱"),
    "user.role_change": N_("变更机构成员角色"),
    "user.notification_settings": N_("修改通知设置"),
    "token.issue": N_("签发 API 令牌"),
    "token.revoke": N_("吊销 API 令牌"),
    # funds
    "fund.create": N_("设立基金"),
    "fund.donation": N_("登记捐赠"),
    # projects
    "project.create": N_("创建帮扶项目"),
    "project.edit": N_("修改帮扶项目"),
    "project.redraft": N_("项目退回草稿"),
    "project.submit": N_("提交项目审核"),
    "project.approve": N_("项目审核通过"),
    "project.reject": N_("项目被驳回"),
    "project.close": N_("项目结束"),
    "project.progress": N_("发布项目进展"),
    "project.seed": N_("载入演示项目"),
    # needs
    "need.create": N_("录入需求"),
    "need.update": N_("修改需求"),
    "need.submit": N_("提交需求审核"),
    "need.approve": N_("需求审核通过（发布）"),
    "need.reject": N_("需求被驳回"),
    "need.to_draft": N_("需求退回草稿"),
    "need.withdraw": N_("撤回需求"),
    "need.private_view": N_("查看需求隐私信息"),
    "need.import": N_("批量导入需求"),
    "need.fully_claimed": N_("需求已全额认领"),
    "need.reopen": N_("需求重新开放认领"),
    "need.delivered": N_("需求已交付"),
    "need.confirm": N_("需求回访确认"),
    "need.expire": N_("需求过期"),
    # claims
    "claim.create": N_("认领需求"),
    "claim.deliver": N_("登记交付"),
    "claim.confirm": N_("回访确认交付"),
    "claim.cancel": N_("取消认领"),
    "claim.expire": N_("认领过期"),
    "claim.contact_view": N_("查看受助家庭联系方式"),
    "claim.dispute": N_("回访有异议"),
    "claim.respond": N_("机构答复异议"),
    "claim.resolve": N_("处理交付异议"),
    "claim.extend": N_("延长交付期限"),
    "claim.schedule": N_("设立结对按月计划"),
    "claim.end": N_("提前结束结对"),
    "instalment.deliver": N_("登记结对当月交付"),
    "instalment.confirm": N_("回访确认结对当月交付"),
    "instalment.miss": N_("结对当月逾期未交付"),
    "claim.match": N_("供需对接"),
    "claim.session": N_("登记服务记录"),
    "claim.match_propose": N_("审核员建议供需对接"),
    "claim.match_accept": N_("机构接受对接建议"),
    "claim.match_decline": N_("机构婉拒对接建议"),
    "fund.donation_reverse": N_("冲正捐赠"),
    # exports
    "export.needs_private": N_("导出含隐私信息的需求"),
    # complaints
    "complaint.submit": N_("收到举报"),
    "complaint.accept": N_("受理举报"),
    "complaint.resolve": N_("办结举报"),
    "complaint.contact_view": N_("查看举报人联系方式"),
    "complaint.purge_contact": N_("清除举报人联系方式（保存期限届满）"),
    # live cases
    "need.extend": N_("延长需求截止日期"),
    # integrity signals
    "integrity.dismiss": N_("排除诚信提示"),
    # webhooks
    "webhook.create": N_("登记 Webhook"),
    "webhook.delete": N_("删除 Webhook"),
    "webhook.pause": N_("暂停 Webhook"),
    "webhook.resume": N_("恢复 Webhook"),
    "webhook.disable": N_("Webhook 连续失败被停用"),
    # personal information (docs/privacy.md)
    "need.purge": N_("隐私信息已清除"),
    "need.private_correct": N_("应本人请求更正隐私信息"),
    "privacy_request.create": N_("登记个人信息请求"),
    "privacy_request.export": N_("导出本人信息副本"),
    "privacy_request.close": N_("个人信息请求办结"),
    # offers
    "offer.create": N_("发布供给"),
    "offer.edit": N_("修改供给"),
    "offer.pause": N_("暂停供给"),
    "offer.reopen": N_("恢复供给"),
    "offer.close": N_("关闭供给"),
    "offer.import": N_("批量导入供给"),
    # consents and access to private data
    "consent.record": N_("登记同意记录"),
    "consent.form": N_("上传同意书扫描件"),
    "consent.withdraw": N_("撤回同意"),
    "need.private_export": N_("导出需求隐私信息"),
    "export.private_download": N_("下载含隐私信息的导出文件"),
    "privacy.view_alert": N_("查看隐私信息过多提示"),
}

# The part of an action code before the dot: the audit log filters by it.
AUDIT_GROUP_LABELS = {
    "org": N_("机构"),
    "user": N_("用户"),
    "token": N_("API 令牌"),
    "fund": N_("基金"),
    "project": N_("帮扶项目"),
    "need": N_("需求"),
    "claim": N_("认领"),
    "export": N_("导出"),
    "complaint": N_("举报"),
    "integrity": N_("诚信提示"),
    "webhook": N_("Webhook"),
    "privacy_request": N_("个人信息请求"),
    "offer": N_("供给"),
    "consent": N_("同意记录"),
    "privacy": N_("隐私"),
    "instalment": N_("结对月份"),
}

# The object types audit rows name (``_object_key``: ``__audit_type__`` or the
# table name without its final "s").
AUDIT_OBJECT_LABELS = {
    "organization": N_("机构"),
    "user": N_("用户"),
    "api_token": N_("API 令牌"),
    "fund": N_("基金"),
    "project": N_("帮扶项目"),
    "need": N_("需求"),
    "claim": N_("认领"),
    "system": N_("系统"),
    "complaint": N_("举报"),
    "integrity_signal": N_("诚信提示"),
    "privacy_request": N_("个人信息请求"),
    "match_proposal": N_("对接建议"),
    "consent": N_("同意记录"),
    "private_export": N_("隐私信息导出"),
    "offer": N_("供给"),
    "instalment": N_("结对月份"),
    "session": N_("服务记录"),
}


class AuditEvent(Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor_label: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32), index=True)
    object_id: Mapped[str] = mapped_column(String(64), index=True)
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    # Region of the object (needs, orgs): moderators read the events of their region.
    region_code: Mapped[str | None] = mapped_column(String(12), index=True)
    org_id: Mapped[int | None] = mapped_column(index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


def _object_key(obj: Any) -> tuple[str, str]:
    object_type = getattr(obj, "__audit_type__", None) or obj.__tablename__.rstrip("s")
    object_id = getattr(obj, "code", None) or getattr(obj, "id", None)
    return object_type, str(object_id)


def _status(value: Any) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


def record(
    actor: User | None,
    action: str,
    obj: Any,
    from_status: Any = None,
    to_status: Any = None,
    reason: str | None = None,
    *,
    region_code: str | None = None,
    org_id: int | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction (flushed with the change).

    ``reason`` must never carry private household data: callers pass moderator
    reasons and fixed descriptions only.
    """
    if obj is not None and getattr(obj, "id", None) is None:
        db.session.flush()  # the object needs its id before we can name it
    object_type, object_id = _object_key(obj) if obj is not None else ("system", "-")
    if region_code is None:
        region_code = getattr(obj, "region_code", None)
    if org_id is None:
        org_id = getattr(obj, "org_id", None)
        if org_id is None and object_type == "organization":
            org_id = getattr(obj, "id", None)
    event = AuditEvent(
        actor_id=getattr(actor, "id", None),
        actor_label=getattr(actor, "email", None) or "system",
        action=action,
        object_type=object_type,
        object_id=object_id,
        from_status=_status(from_status),
        to_status=_status(to_status),
        reason=reason,
        region_code=region_code,
        org_id=org_id,
        ip=request.remote_addr if has_request_context() else None,
        created_at=utcnow(),
    )
    db.session.add(event)
    return event
