"""Login, logout, password change and reset, address confirmation, API tokens."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user

from charitylink.accounts import links, services
from charitylink.accounts.forms import (
    ForgotForm,
    LoginForm,
    PasswordChangeForm,
    ResetForm,
    TokenForm,
)
from charitylink.accounts.models import ApiToken, User
from charitylink.core import audit
from charitylink.core.i18n import _
from charitylink.core.permissions import MODERATION_ROLES, ORG_ROLES, role_of, signed_in
from charitylink.core.transaction import checked_in_one_round, refused
from charitylink.core.urls import safe_next
from charitylink.errors import DomainError
from charitylink.extensions import db, limiter

bp = Blueprint("accounts", __name__)


def _login_account_key() -> str:
    # Per-account limit: the e-mail typed, so guessing one account from many
    # addresses is throttled too, and other accounts are unaffected.
    return "login:" + services.normalize_email(request.form.get("email"))[:254]


def home_for(user: User) -> str:
    role = role_of(user)
    if role in ORG_ROLES:
        return url_for("workspace.org_home")
    if role in MODERATION_ROLES:
        return url_for("workspace.mod_home")
    return url_for("public.home")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20/minute;100/hour", methods=["POST"])
@limiter.limit("10/minute;50/hour", methods=["POST"], key_func=_login_account_key)
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            flash(_("邮箱或密码不正确。"), "error")
        else:
            session.clear()  # a fresh session at login (no fixation)
            login_user(user)
            audit.record(user, "user.login", user)
            return redirect(safe_next(request.args.get("next"), home_for(user)))
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    user = signed_in()
    services.end_all_sessions(user)
    audit.record(user, "user.logout", user)
    logout_user()
    session.clear()
    flash(_("您已退出登录。"), "success")
    return redirect(url_for("public.home"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password() -> ResponseReturnValue:
    form = PasswordChangeForm()
    if form.validate_on_submit():
        user = signed_in()
        try:
            services.change_password(
                user, form.current_password.data, form.new_password.data
            )
        except DomainError as exc:
            for name, message in exc.fields.items():
                if name in form:
                    form[name].errors.append(message)
            if not exc.fields:
                flash(exc.message, "error")
        else:
            logout_user()
            session.clear()
            flash(_("密码已修改，请用新密码重新登录。"), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/password.html", form=form)


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def tokens() -> ResponseReturnValue:
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        new_token, _token = services.issue_token(signed_in(), form.name.data or "")
        flash(_("新令牌已生成。它只显示这一次，请立即复制保存。"), "success")
    return render_template(
        "accounts/tokens.html",
        form=form,
        tokens=services.list_tokens(signed_in()),
        new_token=new_token,
    )


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> ResponseReturnValue:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        return render_template(
            "errors/error.html", status=404, message=_("令牌不存在。")
        ), 404
    services.revoke_token(signed_in(), token)
    flash(_("令牌已撤销。"), "success")
    return redirect(url_for("accounts.tokens"))


# ---------------------------------------------------------------- password reset


def _forgot_address_key() -> str:
    # Per address: nobody can fill one mailbox with reset mails from many IPs.
    return "forgot:" + services.normalize_email(request.form.get("email"))[:254]


def _bad_link(exc: links.LinkInvalid, purpose: str) -> ResponseReturnValue:
    return render_template(
        "accounts/link_invalid.html", message=exc.message, purpose=purpose
    ), 400


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit("10/minute;30/hour", methods=["POST"])
@limiter.limit("5/hour", methods=["POST"], key_func=_forgot_address_key)
def forgot() -> ResponseReturnValue:
    form = ForgotForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        # The same answer whether or not the address has an account here.
        flash(
            _(
                "如果这个邮箱在本平台注册过账号，重设密码的链接已发到该邮箱，"
                "1 小时内有效。请查收邮件（也看看垃圾邮件箱）。"
            ),
            "success",
        )
        return redirect(url_for(".forgot"))
    return render_template("accounts/forgot.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit("20/minute;60/hour", methods=["POST"])
def reset(token: str) -> ResponseReturnValue:
    try:
        user = links.user_for_reset(token)
    except links.LinkInvalid as exc:
        return _bad_link(exc, "reset")
    form = ResetForm()
    if form.is_submitted() and checked_in_one_round(
        form, lambda: services.check_reset_password(user, form.new_password.data)
    ):
        try:
            services.reset_password(user, form.new_password.data)
        except DomainError as exc:
            refused(exc, form)
        else:
            logout_user()
            session.clear()
            flash(
                _("密码已重设。其他设备上的登录和 API 令牌都已失效，请用新密码登录。"),
                "success",
            )
            return redirect(url_for(".login"))
    return render_template("accounts/reset.html", form=form, user=user)


# ---------------------------------------------------------------- confirmation


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> ResponseReturnValue:
    """GET: the page with the button (a mail scanner that opens links confirms
    nothing); POST: confirm the address."""
    try:
        user = links.user_for_confirm(token)
    except links.LinkInvalid as exc:
        return _bad_link(exc, "confirm")
    if request.method == "POST":
        if services.confirm_email(user):
            flash(_("邮箱 %(e)s 已确认。", e=user.email), "success")
        else:
            flash(_("邮箱 %(e)s 此前已经确认过。", e=user.email), "success")
        if current_user.is_authenticated:
            return redirect(home_for(current_user))
        return redirect(url_for(".login"))
    return render_template("accounts/confirm_email.html", user=user)


def _resend_key() -> str:
    return f"confirm-resend:{getattr(current_user, 'id', '')}"


@bp.post("/account/confirm/resend")
@login_required
@limiter.limit("3/hour", key_func=_resend_key)
def resend_confirmation() -> ResponseReturnValue:
    user = signed_in()
    if user.email_confirmed_at is not None:
        flash(_("邮箱 %(e)s 此前已经确认过。", e=user.email), "success")
    else:
        services.send_confirmation(user)
        flash(
            _("确认邮件已重新发送到 %(e)s，链接 7 天内有效。", e=user.email),
            "success",
        )
    return redirect(safe_next(request.form.get("next"), home_for(user)))
