"""Pages of the orgs feature: registration, the public directory, the org's own
profile and members, and the moderators' review queue."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from charitylink.accounts.models import Role, User
from charitylink.complaints.services import founded_against
from charitylink.core import page_cache
from charitylink.core.i18n import N_, _
from charitylink.core.permissions import (
    moderator_required,
    org_admin_required,
    signed_in,
)
from charitylink.core.security import registration_account_key
from charitylink.core.transaction import checked_in_one_round, refused
from charitylink.errors import DomainError
from charitylink.extensions import db, limiter
from charitylink.funds.services import figures
from charitylink.orgs import lists, queries, services
from charitylink.orgs.forms import (
    MemberForm,
    ProfileForm,
    ReasonForm,
    RegisterForm,
    ResubmitForm,
    status_choices,
)
from charitylink.orgs.models import ORG_TYPE_LABELS, Organization
from charitylink.regions import services as regions
from charitylink.workspace.queries import counts_for, region_filter_choices

bp = Blueprint("orgs", __name__)

PER_PAGE = 20


def _pager_args(params: dict[str, Any]) -> Any:
    clean = {k: v for k, v in params.items() if v}

    def args(page: int) -> str:
        return urlencode({**clean, "page": page})

    return args


def _viewer() -> User | None:
    return current_user if current_user.is_authenticated else None


# ---------------------------------------------------------------- public pages


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10/hour", methods=["POST"])
@limiter.limit("5/hour", methods=["POST"], key_func=registration_account_key)
def register() -> ResponseReturnValue:
    form = RegisterForm()
    if form.is_submitted() and checked_in_one_round(
        form, lambda: services.check_registration(form.data)
    ):
        try:
            services.register_org(form.data)
        except DomainError as exc:
            refused(exc, form)
        else:
            # The same answer whether or not the e-mail already had an account.
            flash(services.registered_message(), "success")
            return redirect(url_for("accounts.login"))
    return render_template("orgs/register.html", form=form)


@bp.get("/orgs")
@page_cache.cacheable
def index() -> ResponseReturnValue:
    region = request.args.get("region", "")
    org_type = request.args.get("type", "")
    region = region if region.isdigit() and len(region) <= 12 else ""
    org_type = org_type if org_type in ORG_TYPE_LABELS else ""
    page, _n = queries.page_args(request.args.get("page"))
    prefix = regions.prefix_of(region) if region else ""
    pagination = db.paginate(
        queries.verified_orgs(prefix, org_type),
        page=page,
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "orgs/index.html",
        pagination=pagination,
        region=region,
        org_type=org_type,
        region_choices=regions.choices(("province", "prefecture")),
        region_names={
            o.region_code: regions.full_name(o.region_code) for o in pagination.items
        },
        page_args=_pager_args({"region": region, "type": org_type}),
    )


@bp.get("/orgs/<int:org_id>")
@page_cache.cacheable
def detail(org_id: int) -> ResponseReturnValue:
    org = queries.visible_org(org_id, _viewer())
    if org is None:
        abort(404)
    funds = [(fund, figures(fund)) for fund in queries.funds_of(org)]
    return render_template(
        "orgs/detail.html",
        org=org,
        funds=funds,
        projects=queries.published_projects_of(org),
        region_name=regions.full_name(org.region_code),
        founded_complaints=founded_against(org.id),
    )


# ---------------------------------------------------------------- org work area


def _own_org() -> Organization:
    org = current_user.org
    if org is None:
        abort(403)
    return org


@bp.route("/org/profile", methods=["GET", "POST"])
@org_admin_required
def profile() -> ResponseReturnValue:
    org = _own_org()
    form = ProfileForm(obj=org)
    if form.is_submitted() and checked_in_one_round(
        form, lambda: services.check_profile(org, form.data)
    ):
        try:
            services.update_profile(org, signed_in(), form.data)
        except DomainError as exc:
            refused(exc, form)
        else:
            flash(_("机构资料已保存。"), "success")
            return redirect(url_for(".profile"))
    return render_template(
        "orgs/profile.html",
        org=org,
        form=form,
        region_name=regions.full_name(org.region_code),
    )


@bp.route("/org/resubmit", methods=["GET", "POST"])
@org_admin_required
def resubmit() -> ResponseReturnValue:
    """Correct a rejected registration and send it back for review."""
    org = _own_org()
    if org.status != "rejected":
        return redirect(url_for(".profile"))
    form = ResubmitForm(obj=org)
    status = 200
    if form.is_submitted() and checked_in_one_round(
        form, lambda: services.check_resubmission(org, form.data)
    ):
        try:
            services.resubmit_org(org, signed_in(), form.data)
        except DomainError as exc:
            refused(exc, form)
            status = exc.status  # 422 bad field, 409 name or code taken
        else:
            flash(_("注册信息已重新提交，等待所在地民政部门审核。"), "success")
            return redirect(url_for(".profile"))
    elif form.errors:
        status = 422
    return render_template("orgs/resubmit.html", org=org, form=form), status


@bp.route("/org/members", methods=["GET", "POST"])
@org_admin_required
def members() -> ResponseReturnValue:
    org = _own_org()
    form = MemberForm()
    if form.is_submitted() and checked_in_one_round(
        form,
        lambda: services.check_member(
            org,
            email=form.email.data,
            name=form.name.data,
            password=form.password.data,
            role=form.role.data,
        ),
    ):
        try:
            user = services.add_member(
                org,
                signed_in(),
                email=form.email.data,
                name=form.name.data,
                password=form.password.data,
                role=form.role.data,
            )
        except DomainError as exc:
            refused(exc, form)
        else:
            flash(_("已添加成员 %(e)s。", e=user.email), "success")
            return redirect(url_for(".members"))
    return render_template(
        "orgs/members.html", org=org, form=form, members=services.members(org)
    )


@bp.route("/org/members/<int:user_id>/deactivate", methods=["GET", "POST"])
@org_admin_required
def deactivate_member(user_id: int) -> ResponseReturnValue:
    """GET: the confirmation step; POST: stop the member's account."""
    org = _own_org()
    member = db.session.get(User, user_id)
    if member is None or member.org_id != org.id:
        abort(404)
    if request.method == "GET":
        return render_template(
            "confirm.html",
            title=_("停用成员 %(e)s？", e=member.email),
            details=[
                (_("姓名"), member.name or "—"),
                (_("邮箱"), member.email),
                (_("角色"), member.role_label),
            ],
            consequence=_("停用后该成员不能再登录，已登录的会话和 API 令牌立即失效。"),
            action=url_for(".deactivate_member", user_id=member.id),
            form=None,
            button=_("确认停用"),
            button_class="danger",
            verb=_("停用"),
            back=url_for(".members"),
        )
    try:
        services.deactivate_member(org, signed_in(), member)
    except DomainError as exc:
        refused(exc)
    else:
        flash(_("已停用 %(e)s 的账号。", e=member.email), "success")
    return redirect(url_for(".members"))


@bp.post("/org/members/<int:user_id>/reactivate")
@org_admin_required
def reactivate_member(user_id: int) -> ResponseReturnValue:
    org = _own_org()
    member = db.session.get(User, user_id)
    if member is None or member.org_id != org.id:
        abort(404)
    try:
        services.reactivate_member(org, signed_in(), member)
    except DomainError as exc:
        refused(exc)
    else:
        flash(_("已启用 %(e)s 的账号。", e=member.email), "success")
    return redirect(url_for(".members"))


@bp.route("/org/members/<int:user_id>/role", methods=["GET", "POST"])
@org_admin_required
def member_role(user_id: int) -> ResponseReturnValue:
    """POST: make a staff account a member or an admin (the ``role`` field).
    GET: the confirmation step, which the list uses for stepping down
    oneself (the one change an admin cannot undo alone)."""
    org = _own_org()
    member = db.session.get(User, user_id)
    if member is None or member.org_id != org.id:
        abort(404)
    actor = signed_in()
    if request.method == "GET":
        to_admin = member.role != Role.ORG_ADMIN
        own = member.id == actor.id
        return render_template(
            "confirm.html",
            title=_("把 %(e)s 设为机构管理员？", e=member.email)
            if to_admin
            else _("把 %(e)s 改为机构成员？", e=member.email),
            details=[
                (_("姓名"), member.name or "—"),
                (_("邮箱"), member.email),
                (_("现在的角色"), member.role_label),
            ],
            consequence=_(
                "管理员可以添加、停用成员，修改机构资料，设立基金、登记捐赠。"
            )
            if to_admin
            else (
                _(
                    "改为机构成员后，您不能再管理成员和机构资料；"
                    "要恢复，需请本机构的另一位管理员操作。"
                )
                if own
                else _("改为机构成员后，对方不能再管理成员和机构资料。")
            ),
            action=url_for(".member_role", user_id=member.id),
            hidden={"role": Role.ORG_ADMIN if to_admin else Role.ORG_MEMBER},
            form=None,
            button=_("确认修改"),
            button_class="primary" if to_admin else "danger",
            verb=_("修改"),
            back=url_for(".members"),
        )
    try:
        changed = services.change_member_role(
            org, actor, member, request.form.get("role", "")
        )
    except DomainError as exc:
        refused(exc)
        return redirect(url_for(".members"))
    if changed:
        flash(_("%(e)s 现在是%(r)s。", e=member.email, r=member.role_label), "success")
    if member.id == actor.id and not actor.is_org_admin:
        # Stepped down: the members page is for admins only.
        return redirect(url_for("workspace.org_home"))
    return redirect(url_for(".members"))


# ---------------------------------------------------------------- moderators


@bp.get("/mod/orgs")
@moderator_required
def queue() -> ResponseReturnValue:
    user = signed_in()
    result = lists.mod_orgs(user, request.args)
    for message in result.args.ignored:
        flash(message, "warning")
    counts = counts_for(user)
    return render_template(
        "orgs/queue.html",
        result=result,
        pagination=result,
        confirmed=queries.confirmed_org_ids([o.id for o in result.items]),
        status=result.args.get("status"),
        status_choices=status_choices(),
        region_choices=region_filter_choices(user),
        tabs=[
            (_("待审核"), counts.get("orgs_pending"), {"status": "pending"}),
            (_("已认证"), None, {"status": "verified"}),
            (_("全部"), None, {}),
        ],
    )


def _moderated_org(org_id: int) -> Organization:
    org = queries.org_for_moderator(org_id, signed_in())
    if org is None:
        abort(404)
    return org


@bp.get("/mod/orgs/<int:org_id>")
@moderator_required
def review(org_id: int) -> ResponseReturnValue:
    org = _moderated_org(org_id)
    return _review_page(org, ReasonForm(prefix="reject"), ReasonForm(prefix="suspend"))


def _review_page(
    org: Organization, reject_form: ReasonForm, suspend_form: ReasonForm
) -> str:
    return render_template(
        "orgs/review.html",
        org=org,
        reject_form=reject_form,
        suspend_form=suspend_form,
        warning=services.uscc_warning(org),
        admins=services.members(org),
        region_name=regions.full_name(org.region_code),
    )


_DONE = {
    "verify": N_("机构已通过认证。"),
    "reject": N_("已驳回该机构的注册申请。"),
    "suspend": N_("已暂停该机构。"),
    "reinstate": N_("已恢复该机构。"),
}


@bp.route(
    "/mod/orgs/<int:org_id>/<any(verify, reject, suspend, reinstate):action>",
    methods=["GET", "POST"],
)
@moderator_required
def decide(org_id: int, action: str) -> ResponseReturnValue:
    """POST: decide. A GET (a refused decision's page reloaded, or its address
    opened again) goes back to the review page, where the forms are."""
    org = _moderated_org(org_id)
    if request.method == "GET":
        return redirect(url_for(".review", org_id=org.id))
    reject_form = ReasonForm(prefix="reject")
    suspend_form = ReasonForm(prefix="suspend")
    try:
        # CSRFProtect has already checked the token of every POST.
        if action == "verify":
            services.verify_org(org, signed_in())
        elif action == "reinstate":
            services.reinstate_org(org, signed_in())
        else:
            form = reject_form if action == "reject" else suspend_form
            if not form.validate_on_submit():
                return _review_page(org, reject_form, suspend_form), 422
            fn = services.reject_org if action == "reject" else services.suspend_org
            fn(org, signed_in(), form.reason.data)
    except DomainError as exc:
        refused(exc)
        return redirect(url_for(".review", org_id=org.id))
    flash(_(_DONE[action]), "success")
    return redirect(url_for(".review", org_id=org.id))
