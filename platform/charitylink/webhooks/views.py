"""The Webhook pages: register (events as checkboxes, the secret shown once),
the owner's hooks, one hook's delivery log, pause, resume, delete. For
moderators and org admins; the same services as the API."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from charitylink.core.i18n import N_, _
from charitylink.core.permissions import signed_in
from charitylink.errors import DomainError, ValidationFailed
from charitylink.extensions import db
from charitylink.webhooks import models as hooks
from charitylink.webhooks import services
from charitylink.webhooks.models import EVENTS

bp = Blueprint("webhooks", __name__)

EVENT_LABELS = {
    hooks.NEED_PUBLISHED: N_("需求发布"),
    hooks.NEED_FULLY_CLAIMED: N_("需求被全额认领"),
    hooks.NEED_WITHDRAWN: N_("需求撤回"),
    hooks.CLAIM_CREATED: N_("认领"),
    hooks.CLAIM_DELIVERED: N_("登记交付"),
    hooks.CLAIM_CONFIRMED: N_("回访确认"),
    hooks.CLAIM_DISPUTED: N_("交付有异议"),
}
STATUS_LABELS = {
    "active": N_("使用中"),
    "paused": N_("已暂停"),
    "disabled": N_("已停用"),
    "pending": N_("待推送"),
    "sent": N_("已送达"),
    "abandoned": N_("已放弃"),
}
LOG_PER_PAGE = 50


def _owner() -> None:
    if not services.may_register(signed_in()):
        abort(403)


def _page(**extra: object) -> str:
    user = signed_in()
    return render_template(
        "webhooks/index.html",
        hooks=services.own(user),
        events=EVENTS,
        event_labels=EVENT_LABELS,
        status_labels=STATUS_LABELS,
        pending=services.pending_count,
        **extra,
    )


@bp.route("/account/webhooks", methods=["GET", "POST"])
@login_required
def index() -> ResponseReturnValue:
    _owner()
    if request.method == "GET":
        return _page(url="", chosen=set(), errors={})
    url = request.form.get("url", "")
    chosen = request.form.getlist("events")
    try:
        hook, secret = services.create(signed_in(), url, chosen)
    except ValidationFailed as exc:
        db.session.rollback()
        return _page(url=url, chosen=set(chosen), errors=exc.fields), 422
    flash(_("Webhook 已登记。签名密钥只显示这一次，请立即复制保存。"), "success")
    # Shown in this answer only (not after a redirect: it is never stored in
    # the clear, so it cannot be shown again).
    return _page(url="", chosen=set(), errors={}, new_hook=hook, secret=secret)


@bp.get("/account/webhooks/<int:webhook_id>")
@login_required
def detail(webhook_id: int) -> ResponseReturnValue:
    _owner()
    hook = services.get_own(signed_in(), webhook_id)
    page = max(1, request.args.get("page", 1, type=int) or 1)
    rows = db.session.execute(
        services.attempts_query(hook)
        .limit(LOG_PER_PAGE + 1)
        .offset((page - 1) * LOG_PER_PAGE)
    ).all()
    return render_template(
        "webhooks/detail.html",
        hook=hook,
        rows=rows[:LOG_PER_PAGE],
        page=page,
        more=len(rows) > LOG_PER_PAGE,
        pending=services.pending_count(hook),
        event_labels=EVENT_LABELS,
        status_labels=STATUS_LABELS,
    )


@bp.post("/account/webhooks/<int:webhook_id>/<any(pause, resume, delete):action>")
@login_required
def act(webhook_id: int, action: str) -> ResponseReturnValue:
    _owner()
    done = {
        "pause": (services.pause, N_("Webhook 已暂停，事件会继续排队。")),
        "resume": (services.resume, N_("Webhook 已恢复，排队的事件将按顺序推送。")),
        "delete": (services.delete, N_("Webhook 已删除。")),
    }
    change, message = done[action]
    try:
        change(signed_in(), webhook_id)
    except DomainError as exc:
        if exc.status == 404:
            abort(404)
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("webhooks.detail", webhook_id=webhook_id))
    flash(_(message), "success")
    if action == "delete":
        return redirect(url_for("webhooks.index"))
    return redirect(url_for("webhooks.detail", webhook_id=webhook_id))
