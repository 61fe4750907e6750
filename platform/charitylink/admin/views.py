"""The admin area (/admin/users) and the audit log (/mod/audit)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import or_, select

from charitylink.accounts import services as accounts
from charitylink.accounts.models import ROLE_LABELS, User
from charitylink.admin.forms import ModeratorForm
from charitylink.core.i18n import _
from charitylink.core.permissions import admin_required, moderator_required, signed_in
from charitylink.core.transaction import checked_in_one_round, refused
from charitylink.errors import DomainError
from charitylink.extensions import db
from charitylink.orgs import lists, queries

bp = Blueprint("admin", __name__)

PER_PAGE = 50


def _args(params: dict[str, str]) -> Callable[[int], str]:
    clean = {k: v for k, v in params.items() if v}

    def args(page: int) -> str:
        return urlencode({**clean, "page": page})

    return args


@bp.route("/admin/users", methods=["GET", "POST"])
@admin_required
def users() -> ResponseReturnValue:
    form = ModeratorForm()
    if form.is_submitted() and checked_in_one_round(
        form,
        lambda: accounts.check_moderator(
            email=form.email.data,
            password=form.password.data,
            name=form.name.data,
            region_prefix=form.region_prefix.data,
        ),
    ):
        try:
            user = accounts.create_moderator(
                signed_in(),
                email=form.email.data,
                password=form.password.data,
                name=form.name.data,
                region_prefix=form.region_prefix.data,
            )
        except DomainError as exc:
            refused(exc, form)
        else:
            flash(_("已创建审核员 %(e)s。", e=user.email), "success")
            return redirect(url_for(".users"))
    role = request.args.get("role", "")
    role = role if role in ROLE_LABELS else ""
    q = (request.args.get("q") or "").strip()[:100]
    page, _n = queries.page_args(request.args.get("page"))
    stmt = select(User).order_by(User.id)
    if role:
        stmt = stmt.where(User.role == role)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(or_(User.email.like(like), User.name.like(f"%{q}%")))
    pagination = db.paginate(stmt, page=page, per_page=PER_PAGE, error_out=False)
    return render_template(
        "admin/users.html",
        form=form,
        pagination=pagination,
        role=role,
        q=q,
        page_args=_args({"role": role, "q": q}),
    )


@bp.route(
    "/admin/users/<int:user_id>/<any(deactivate, reactivate):action>",
    methods=["GET", "POST"],
)
@admin_required
def set_active(user_id: int, action: str) -> ResponseReturnValue:
    """GET: the confirmation step (whose account, what stopping it does);
    POST: switch the account off or on."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    if request.method == "GET":
        stop = action == "deactivate"
        return render_template(
            "confirm.html",
            title=_("停用账号 %(e)s？", e=user.email)
            if stop
            else _("启用账号 %(e)s？", e=user.email),
            details=[
                (_("姓名"), user.name or "—"),
                (_("邮箱"), user.email),
                (_("角色"), user.role_label),
            ],
            consequence=_(
                "停用后该账号不能再登录，已登录的会话和 API 令牌立即失效；"
                "之后可以再启用。"
            )
            if stop
            else _("启用后该账号可以重新登录。"),
            action=url_for(".set_active", user_id=user.id, action=action),
            form=None,
            button=_("确认停用") if stop else _("确认启用"),
            button_class="danger" if stop else "primary",
            verb=_("停用") if stop else _("启用"),
            back=url_for(".users"),
        )
    try:
        if action == "deactivate":
            accounts.deactivate_user(user, signed_in())
        else:
            accounts.reactivate_user(user, signed_in())
    except DomainError as exc:
        refused(exc)
    else:
        flash(
            _("已停用 %(e)s。", e=user.email)
            if action == "deactivate"
            else _("已启用 %(e)s。", e=user.email),
            "success",
        )
    return redirect(url_for(".users"))


@bp.post("/admin/users/<int:user_id>/reset-link")
@admin_required
def reset_link(user_id: int) -> ResponseReturnValue:
    """Mail the account a password reset link (the admin never sees the link)."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    try:
        accounts.send_reset_link(user, signed_in())
    except DomainError as exc:
        refused(exc)
    else:
        flash(
            _("已向 %(e)s 发送重设密码链接（1 小时内有效）。", e=user.email),
            "success",
        )
    return redirect(url_for(".users"))


@bp.get("/mod/audit")
@moderator_required
def audit() -> ResponseReturnValue:
    result = lists.audit_log(signed_in(), request.args)
    for message in result.args.ignored:
        flash(message, "warning")
    return render_template(
        "admin/audit.html",
        result=result,
        pagination=result,
        action=result.args.get("action"),
        object_type=result.args.get("object_type"),
        object_id=result.args.get("object_id"),
        date_from=result.args.get("from"),
        date_to=result.args.get("to"),
    )
