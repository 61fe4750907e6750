"""Pages of the projects feature: public list and detail (/projects...), the
org's work area (/org/projects...) and the moderators' review (/mod/projects...)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from charitylink.core import page_cache
from charitylink.core.i18n import _
from charitylink.core.money import InvalidAmount, fen_to_yuan_str, parse_yuan
from charitylink.core.paging import kept_filters
from charitylink.core.permissions import (
    covers,
    moderator_required,
    org_staff_required,
    signed_in,
)
from charitylink.core.timeutil import today
from charitylink.core.transaction import refused
from charitylink.errors import DomainError, ValidationFailed
from charitylink.extensions import db
from charitylink.funds.services import org_funds
from charitylink.orgs.models import Organization, OrgStatus
from charitylink.projects import lists, queries, services
from charitylink.projects.forms import CloseForm, ProgressForm, ProjectForm, ReasonForm
from charitylink.projects.markdown import render as render_markdown
from charitylink.projects.models import PROJECT_STATUS_LABELS, Project, ProjectStatus
from charitylink.regions import services as regions
from charitylink.workspace.queries import counts_for, region_filter_choices

bp = Blueprint("projects", __name__)

_SPLIT = re.compile(r"[\s,，、;；]+")


def _detail_context(project: Project) -> dict[str, Any]:
    return {
        "project": project,
        "body_html": render_markdown(project.body),
        "progress": queries.progress_of(project),
        "updates": queries.updates(project),
        "overdue": project.progress_overdue(),
        "region_names": [(c, regions.full_name(c) or c) for c in project.region_codes],
    }


# ----------------------------------------------------------------------------
# Public
# ----------------------------------------------------------------------------


@bp.get("/projects")
@page_cache.cacheable
def public_list() -> ResponseReturnValue:
    filters = queries.parse_filters(request.args)
    page, _per_page, page_errors = queries.parse_page(request.args)
    search = None
    q = (request.args.get("q") or "").strip()
    if q:  # free text: the search engine (issue 4), same filters
        from charitylink.search.service import search_projects

        sort = filters.sort if request.args.get("sort") else "relevance"
        search = search_projects(q, request.args, sort, page, 20)
        ids = [p.id for p in search.items]
        result = queries.Page(
            search.items, search.total, page, 20, queries.progress(ids)
        )
    else:
        result = queries.public_page(filters, page, 20)
    errors = {**filters.errors, **page_errors}
    orgs = db.session.execute(
        db.select(Organization.id, Organization.name)
        .where(Organization.status == OrgStatus.VERIFIED)
        .order_by(Organization.name)
        .limit(500)
    ).all()
    args, page_args = kept_filters(
        request.args,
        ("q", "region", "need_type", "org_id", "status", "overdue", "sort"),
    )
    return render_template(
        "projects/public_list.html",
        result=result,
        filters=filters,
        errors=errors,
        args=args,
        orgs=orgs,
        page_args=page_args,
        now_overdue={p.id: p.progress_overdue() for p in result.items},
        search=search,
    )


@bp.get("/projects/<int:project_id>")
@page_cache.cacheable
def public_detail(project_id: int) -> ResponseReturnValue:
    project = db.session.get(Project, project_id)
    if project is None or not (project.is_public and project.org.is_verified):
        abort(404)
    return render_template("projects/public_detail.html", **_detail_context(project))


# ----------------------------------------------------------------------------
# Org work area
# ----------------------------------------------------------------------------


def _own_project_or_404(project_id: int) -> Project:
    project = db.session.get(Project, project_id)
    if project is None or project.org_id != current_user.org_id:
        abort(404)
    return project


def _fund_choices() -> list[tuple[str, str]]:
    return [
        (str(f.id), _("%(name)s（%(kind)s）", name=f.name, kind=f.kind_label))
        for f in org_funds(current_user.org_id)
    ]


def _form_data(form: ProjectForm) -> dict[str, Any]:
    """Turn the form into the service's input; a bad amount is kept as the
    field's error (services get fen only)."""
    fund_raw = (form.fund_id.data or "").strip()
    data: dict[str, Any] = {
        "title": form.title.data,
        "summary": form.summary.data,
        "body": form.body.data,
        "filing_number": form.filing_number.data,
        "need_types": list(form.need_types.data or []),
        "region_codes": [c for c in _SPLIT.split(form.region_codes.data or "") if c],
        "start_on": (form.start_on.data or "").strip() or None,
        "end_on": (form.end_on.data or "").strip() or None,
        "fund_id": int(fund_raw) if fund_raw.isdigit() and len(fund_raw) < 10 else None,
    }
    try:
        data["target_amount"] = parse_yuan(form.target_amount.data)
    except InvalidAmount as exc:
        data["target_amount"] = None
        data["_amount_error"] = _("目标金额：%(msg)s", msg=str(exc))
    return data


def _save(form: ProjectForm, project: Project | None) -> Project | None:
    data = _form_data(form)
    amount_error = data.pop("_amount_error", None)
    try:
        if project is None:
            project = services.create_project(current_user.org, signed_in(), data)
        else:
            services.update_project(project, signed_in(), data)
    except DomainError as exc:
        if amount_error:
            exc.fields["target_amount"] = amount_error
        refused(exc, form)
        return None
    if amount_error:  # only the amount was wrong: nothing may be saved
        db.session.rollback()
        form.target_amount.errors = [amount_error]
        flash(_("项目信息有误，请检查标出的字段。"), "error")
        return None
    return project


@bp.get("/org/projects")
@org_staff_required
def org_list() -> ResponseReturnValue:
    user = signed_in()
    result = lists.org_projects(user.org_id or 0, user, request.args)
    for message in result.args.ignored:
        flash(message, "warning")
    counts = counts_for(user)
    return render_template(
        "projects/org_list.html",
        result=result,
        projects=result.items,
        overdue=queries.overdue_for_org(user.org_id or 0),
        statuses=[(s.value, _(PROJECT_STATUS_LABELS[s])) for s in ProjectStatus],
        tabs=[
            (_("草稿"), None, {"status": "draft"}),
            (_("被驳回"), None, {"status": "rejected"}),
            (_("审核中"), counts.get("projects_submitted"), {"status": "submitted"}),
            (_("进展逾期"), counts.get("projects_overdue"), {"overdue": "1"}),
            (_("全部"), None, {}),
        ],
    )


@bp.route("/org/projects/new", methods=["GET", "POST"])
@org_staff_required
def new() -> ResponseReturnValue:
    form = ProjectForm()
    form.fund_id.choices = _fund_choices()
    if form.validate_on_submit():
        project = _save(form, None)
        if project is not None:
            flash(
                _("项目草稿已保存。提交审核后，民政部门审核通过即公开发布。"), "success"
            )
            return redirect(url_for(".org_detail", project_id=project.id))
    status = 422 if request.method == "POST" else 200
    return render_template("projects/edit.html", form=form, project=None), status


@bp.route("/org/projects/<int:project_id>/edit", methods=["GET", "POST"])
@org_staff_required
def edit(project_id: int) -> ResponseReturnValue:
    project = _own_project_or_404(project_id)
    if project.status not in services.EDITABLE:
        flash(_("只有草稿或被驳回的项目可以修改。"), "error")
        return redirect(url_for(".org_detail", project_id=project.id))
    form = ProjectForm(
        data=None
        if request.method == "POST"
        else {
            "title": project.title,
            "fund_id": str(project.fund_id),
            "filing_number": project.filing_number or "",
            "summary": project.summary,
            "body": project.body,
            "need_types": project.need_types,
            "region_codes": " ".join(project.region_codes),
            "target_amount": fen_to_yuan_str(project.target_fen),
            "start_on": project.start_on.isoformat() if project.start_on else "",
            "end_on": project.end_on.isoformat() if project.end_on else "",
        }
    )
    form.fund_id.choices = _fund_choices()
    if form.validate_on_submit():
        saved = _save(form, project)
        if saved is not None:
            flash(_("项目已保存。"), "success")
            return redirect(url_for(".org_detail", project_id=project.id))
    status = 422 if request.method == "POST" else 200
    return render_template("projects/edit.html", form=form, project=project), status


@bp.get("/org/projects/<int:project_id>")
@org_staff_required
def org_detail(project_id: int) -> ResponseReturnValue:
    project = _own_project_or_404(project_id)
    return render_template(
        "projects/org_detail.html",
        progress_form=ProgressForm(),
        close_form=CloseForm(),
        **_detail_context(project),
    )


def _act(
    project: Project, run: Callable[[], None], done: str, endpoint: str
) -> ResponseReturnValue:
    """Run one state change and say so, or say why it was refused."""
    try:
        run()
    except DomainError as exc:
        refused(exc)
    else:
        flash(done, "success")
    return redirect(url_for(endpoint, project_id=project.id))


def _org_action(project_id: int, action: str) -> ResponseReturnValue:
    project = _own_project_or_404(project_id)
    user = signed_in()
    run, done = {
        "submit": (
            lambda: services.submit_project(project, user),
            _("项目已提交审核。"),
        ),
        "redraft": (
            lambda: services.redraft_project(project, user),
            _("项目已退回草稿，可以修改后重新提交。"),
        ),
    }[action]
    return _act(project, run, done, ".org_detail")


@bp.post("/org/projects/<int:project_id>/submit")
@org_staff_required
def submit(project_id: int) -> ResponseReturnValue:
    return _org_action(project_id, "submit")


@bp.post("/org/projects/<int:project_id>/redraft")
@org_staff_required
def redraft(project_id: int) -> ResponseReturnValue:
    return _org_action(project_id, "redraft")


def _close(project: Project, template: str, endpoint: str) -> ResponseReturnValue:
    """Close with the final report; refused, the page comes back with the text
    kept and the message beside it (nothing changed)."""
    form = CloseForm()
    try:
        services.close_project(
            project,
            signed_in(),
            request.form.get("reason"),
            request.form.get("final_report"),
        )
    except ValidationFailed as exc:
        refused(exc, form)
        other = (
            {"progress_form": ProgressForm()}
            if template == "projects/org_detail.html"
            else {"reason_form": ReasonForm()}
        )
        context = _detail_context(project)
        return render_template(template, close_form=form, **other, **context), 422
    except DomainError as exc:
        refused(exc)
    else:
        flash(_("项目已结束，结项报告已公开。"), "success")
    return redirect(url_for(endpoint, project_id=project.id))


@bp.post("/org/projects/<int:project_id>/close")
@org_staff_required
def close(project_id: int) -> ResponseReturnValue:
    project = _own_project_or_404(project_id)
    return _close(project, "projects/org_detail.html", ".org_detail")


@bp.post("/org/projects/<int:project_id>/updates")
@org_staff_required
def post_update(project_id: int) -> ResponseReturnValue:
    project = _own_project_or_404(project_id)
    form = ProgressForm()
    try:
        services.post_update(project, signed_in(), request.form.get("body"))
    except ValidationFailed as exc:
        # Shown next to the text, which stays in the box to be corrected.
        refused(exc, form)
        return render_template(
            "projects/org_detail.html",
            progress_form=form,
            close_form=CloseForm(),
            **_detail_context(project),
        ), 422
    except DomainError as exc:
        refused(exc)
    else:
        flash(_("项目进展已发布。"), "success")
    return redirect(url_for(".org_detail", project_id=project.id))


# ----------------------------------------------------------------------------
# Moderators
# ----------------------------------------------------------------------------


def _reviewable_or_404(project_id: int) -> Project:
    project = db.session.get(Project, project_id)
    if project is None or not covers(current_user, project.org.region_code):
        abort(404)
    return project


@bp.get("/mod/projects")
@moderator_required
def mod_queue() -> ResponseReturnValue:
    user = signed_in()
    result = lists.mod_projects(user, request.args)
    for message in result.args.ignored:
        flash(message, "warning")
    counts = counts_for(user)
    return render_template(
        "projects/mod_queue.html",
        result=result,
        projects=result.items,
        status=result.args.get("status") or ProjectStatus.SUBMITTED.value,
        statuses=[(s.value, _(PROJECT_STATUS_LABELS[s])) for s in ProjectStatus],
        region_choices=region_filter_choices(user),
        tabs=[
            (_("待审核"), counts.get("projects_submitted"), {}),
            (
                _("进展逾期"),
                counts.get("projects_overdue"),
                {"status": "published", "overdue": "1"},
            ),
            (_("全部"), None, {"status": lists.ALL}),
        ],
    )


@bp.get("/mod/projects/<int:project_id>")
@moderator_required
def mod_detail(project_id: int) -> ResponseReturnValue:
    project = _reviewable_or_404(project_id)
    return render_template(
        "projects/mod_detail.html",
        reason_form=ReasonForm(),
        close_form=CloseForm(),
        **_detail_context(project),
    )


def _mod_action(project_id: int, action: str) -> ResponseReturnValue:
    project = _reviewable_or_404(project_id)
    form, user = request.form, signed_in()
    run, done = {
        "approve": (
            lambda: services.approve_project(project, user),
            _("项目已审核通过并公开发布。"),
        ),
        "reject": (
            lambda: services.reject_project(project, user, form.get("reason")),
            _("项目已驳回，机构可修改后重新提交。"),
        ),
    }[action]
    return _act(project, run, done, ".mod_detail")


@bp.post("/mod/projects/<int:project_id>/approve")
@moderator_required
def approve(project_id: int) -> ResponseReturnValue:
    return _mod_action(project_id, "approve")


@bp.post("/mod/projects/<int:project_id>/reject")
@moderator_required
def reject(project_id: int) -> ResponseReturnValue:
    return _mod_action(project_id, "reject")


@bp.post("/mod/projects/<int:project_id>/close")
@moderator_required
def mod_close(project_id: int) -> ResponseReturnValue:
    project = _reviewable_or_404(project_id)
    return _close(project, "projects/mod_detail.html", ".mod_detail")


@bp.get("/mod/projects/overdue")
@moderator_required
def mod_overdue() -> ResponseReturnValue:
    """Published projects in the moderator's region whose progress update is
    overdue: whom to chase (the Charity Law's 3-month disclosure)."""
    user = signed_in()
    result = lists.overdue_projects(user, request.args)
    for message in result.args.ignored:
        flash(message, "warning")
    return render_template(
        "projects/mod_overdue.html",
        result=result,
        region_choices=region_filter_choices(user),
        today=today(),
    )
