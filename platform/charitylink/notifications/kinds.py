"""Every kind of notification: its label, and the title and body it shows.

Titles and bodies are templates filled from the notification's ``params``
(public values only) and translated when shown, so one stored row reads in
Chinese or English. A param whose name ends in ``_fen`` is printed as money and
one ending in ``_on`` as a date, in the reader's locale."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from charitylink.core.i18n import N_, _


@dataclass(frozen=True)
class Kind:
    label: str
    title: str
    body: str
    # Also sent by e-mail unless the user changed their settings.
    email_default: bool = False


KINDS: dict[str, Kind] = {
    "org_registered": Kind(
        N_("新机构注册待审核"),
        N_("机构「%(org)s」提交了注册"),
        N_("机构「%(org)s」提交了注册申请，请核对资料后审核。"),
    ),
    "org_verified": Kind(
        N_("机构通过认证"),
        N_("「%(org)s」已通过认证"),
        N_("「%(org)s」已通过民政部门认证，现在可以设立基金、发布项目、认领需求。"),
        email_default=True,
    ),
    "org_rejected": Kind(
        N_("机构注册被驳回"),
        N_("「%(org)s」的注册未通过审核"),
        N_("「%(org)s」的注册未通过审核。请登录查看原因，修改后重新提交。"),
        email_default=True,
    ),
    "org_suspended": Kind(
        N_("机构被暂停"),
        N_("「%(org)s」已被暂停"),
        N_(
            "「%(org)s」已被民政部门暂停，暂停期间不能认领需求或发布项目。请登录查看原因。"
        ),
        email_default=True,
    ),
    "need_submitted": Kind(
        N_("需求待审核"),
        N_("需求 %(code)s 待审核"),
        N_("%(region)s的需求 %(code)s 已提交审核。"),
    ),
    "need_approved": Kind(
        N_("需求已发布"),
        N_("需求 %(code)s 已发布"),
        N_("需求 %(code)s 已审核通过并在需求库公开。"),
    ),
    "need_rejected": Kind(
        N_("需求被驳回"),
        N_("需求 %(code)s 被驳回"),
        N_("需求 %(code)s 未通过审核，请查看原因并修改。"),
        email_default=True,
    ),
    "need_withdrawn": Kind(
        N_("需求已撤回"),
        N_("需求 %(code)s 已撤回"),
        N_(
            "需求 %(code)s 已被民政部门撤回，贵机构对它的认领已取消，"
            "预留金额已退回基金。"
        ),
        email_default=True,
    ),
    "claim_created": Kind(
        N_("需求被认领"),
        N_("需求 %(code)s 被认领"),
        N_(
            "「%(org)s」认领了需求 %(code)s，金额 %(amount_fen)s，应于 %(due_on)s 前交付。"
        ),
    ),
    "claim_due_soon": Kind(
        N_("认领即将到期"),
        N_("需求 %(code)s 的认领将于 %(due_on)s 到期"),
        N_("贵机构对需求 %(code)s 的认领将于 %(due_on)s 到期，请按时交付并登记。"),
        email_default=True,
    ),
    "claim_expired": Kind(
        N_("认领已过期"),
        N_("需求 %(code)s 的认领已过期"),
        N_("贵机构对需求 %(code)s 的认领未在 %(due_on)s 前交付，已过期，额度已释放。"),
        email_default=True,
    ),
    "claim_cancelled": Kind(
        N_("认领已取消"),
        N_("需求 %(code)s 的认领已取消"),
        N_("「%(org)s」对需求 %(code)s 的认领已取消。"),
    ),
    "delivery_reported": Kind(
        N_("交付待回访"),
        N_("需求 %(code)s 已登记交付，待回访"),
        N_("「%(org)s」登记了需求 %(code)s 的交付，请安排回访确认。"),
    ),
    "delivery_confirmed": Kind(
        N_("交付已回访确认"),
        N_("需求 %(code)s 的交付已确认"),
        N_("需求 %(code)s 的交付已经民政部门回访确认。"),
    ),
    "delivery_disputed": Kind(
        N_("交付有异议"),
        N_("需求 %(code)s 的交付有异议"),
        N_("回访时发现需求 %(code)s 的交付有问题，请登录查看并答复。"),
        email_default=True,
    ),
    "dispute_answered": Kind(
        N_("异议已答复"),
        N_("需求 %(code)s 的异议已答复"),
        N_("「%(org)s」答复了需求 %(code)s 的交付异议，请登录查看并处理。"),
    ),
    "dispute_resolved": Kind(
        N_("异议已处理"),
        N_("需求 %(code)s 的异议已处理"),
        N_("需求 %(code)s 的交付异议已处理，请登录查看结果。"),
    ),
    "project_submitted": Kind(
        N_("项目待审核"),
        N_("项目「%(project)s」待审核"),
        N_("「%(org)s」提交了项目「%(project)s」，等待审核。"),
    ),
    "project_approved": Kind(
        N_("项目审核通过"),
        N_("项目「%(project)s」已公开"),
        N_("项目「%(project)s」已审核通过并向公众公开。"),
    ),
    "project_rejected": Kind(
        N_("项目被驳回"),
        N_("项目「%(project)s」被驳回"),
        N_("项目「%(project)s」未通过审核，请查看原因并修改。"),
        email_default=True,
    ),
    "project_update_due": Kind(
        N_("项目进展即将到期"),
        N_("项目「%(project)s」请在 %(due_on)s 前公开进展"),
        N_("项目「%(project)s」上次公开进展已近 3 个月，请在 %(due_on)s 前发布进展。"),
        email_default=True,
    ),
    "project_update_overdue": Kind(
        N_("项目进展已逾期"),
        N_("项目「%(project)s」进展公开已逾期"),
        # Read by the org and (from day 120) by moderators: it names the org.
        N_("「%(org)s」的项目「%(project)s」应于 %(due_on)s 前公开进展，至今未发布。"),
        email_default=True,
    ),
    "complaint_received": Kind(
        N_("收到举报"),
        N_("收到举报 %(ref)s"),
        N_("收到一条举报（%(ref)s），请及时处理。"),
        email_default=True,
    ),
    "complaint_resolved": Kind(
        N_("举报已处理"),
        N_("举报 %(ref)s 已处理"),
        N_("举报 %(ref)s 已处理，请登录查看结果。"),
    ),
    "instalment_due": Kind(
        N_("结对帮扶款项待发放"),
        N_("结对 %(ref)s 本期款项待发放"),
        N_("结对 %(ref)s 本期款项应于 %(due_on)s 前发放并登记。"),
    ),
    "instalment_missed": Kind(
        N_("结对帮扶款项未按时发放"),
        N_("结对 %(ref)s 本期款项未按时发放"),
        N_("结对 %(ref)s 应于 %(due_on)s 发放的款项尚未登记。"),
        email_default=True,
    ),
    "pairing_ended": Kind(
        N_("结对提前结束"),
        N_("结对 %(ref)s 已提前结束"),
        N_("结对 %(ref)s 已提前结束，尚未交付的月份已取消，预留款项已退回。"),
    ),
    "offer_matched": Kind(
        N_("捐赠有匹配需求"),
        N_("需求 %(code)s 与 %(offer)s 匹配"),
        N_("需求 %(code)s 与「%(offer)s」匹配，请登录查看。"),
    ),
    # Beyond the events of other people: a moderator's own work left waiting.
    "need_review_overdue": Kind(
        N_("需求审核超期"),
        N_("需求 %(code)s 待审核已超过 3 天"),
        N_("需求 %(code)s 于 %(submitted_on)s 提交审核，至今未处理。"),
        email_default=True,
    ),
    "followup_overdue": Kind(
        N_("回访超期"),
        N_("需求 %(code)s 待回访已超过 14 天"),
        N_("需求 %(code)s 于 %(delivered_on)s 登记交付，至今未回访确认。"),
        email_default=True,
    ),
    "webhook_disabled": Kind(
        N_("Webhook 已停用"),
        N_("Webhook #%(hook)s 已停用"),
        N_(
            "向 %(host)s 推送的 Webhook #%(hook)s 连续失败超过一天，已自动停用。"
            "请检查接收端，修复后在 Webhook 页面恢复。"
        ),
        email_default=True,
    ),
    "consent_withdrawn": Kind(
        N_("受助家庭撤回同意"),
        N_("需求 %(code)s 的家庭撤回了提供联系方式的同意"),
        N_(
            "需求 %(code)s 的受助家庭已撤回向认领机构提供联系方式的同意。"
            "请停止使用此前获得的联系方式，并删除留存的记录；如需联系，请通过民政工作人员。"
        ),
        email_default=True,
    ),
    "private_views_flagged": Kind(
        N_("查看隐私信息过多"),
        N_("账号 %(account)s 一小时内查看了 %(views)s 户隐私信息"),
        N_(
            "账号 %(account)s 在一小时内查看了 %(views)s 户需求的隐私信息，"
            "超过提示线。请核实是否出于工作需要。"
        ),
    ),
}


def _shown(key: str, value: Any) -> Any:
    from charitylink.core.formatting import cn_date, yuan

    if key.endswith("_fen") and isinstance(value, int):
        return yuan(value)
    if key.endswith("_on") and isinstance(value, str):
        try:
            return cn_date(date.fromisoformat(value))
        except ValueError:
            return value
    return value


def render(kind: str, params: dict[str, Any]) -> tuple[str, str]:
    """(title, body) in the current language."""
    spec = KINDS.get(kind)
    if spec is None:
        return kind, ""
    values = {k: _shown(k, v) for k, v in (params or {}).items()}
    try:
        return _(spec.title) % values, _(spec.body) % values
    except (KeyError, TypeError, ValueError):
        return _(spec.label), ""
