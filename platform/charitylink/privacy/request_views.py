"""The moderators' pages for requests from the person (docs/privacy.md)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from charitylink.core.i18n import _, _l
from charitylink.core.paging import ListParser, Page, Sort, paginate
from charitylink.core.permissions import moderator_required, signed_in
from charitylink.core.timeutil import InvalidDate, parse_day, today
from charitylink.core.transaction import refused
from charitylink.errors import DomainError
from charitylink.needs.models import Need
from charitylink.privacy import requests as services
from charitylink.privacy.purge_models import (
    REQUEST_KIND_LABELS,
    REQUEST_OUTCOME_LABELS,
    PrivacyRequest,
)

bp = Blueprint("privacy_requests", __name__)


def _sorts() -> dict[str, Sort]:
    return {
        "due": Sort(_l("期限"), [PrivacyRequest.due_on]),
        "received": Sort(_l("收到日期"), [PrivacyRequest.received_on], reverse=True),
    }


def _list(args: Any) -> Page:
    user = signed_in()
    p = ListParser(args, _sorts(), "due")
    stmt = services.requests_query(user)
    state = p.choice("state", ("open", "closed", "overdue", "all"), _("状态"))
    if state in ("", "open"):
        stmt = stmt.where(PrivacyRequest.closed_at.is_(None))
    elif state == "closed":
        stmt = stmt.where(PrivacyRequest.closed_at.is_not(None))
    elif state == "overdue":
        stmt = stmt.where(
            PrivacyRequest.closed_at.is_(None), PrivacyRequest.due_on < today()
        )
    kind = p.choice("kind", [str(k) for k in REQUEST_KIND_LABELS], _("类型"))
    if kind:
        stmt = stmt.where(PrivacyRequest.kind == kind)
    return paginate(stmt, p, PrivacyRequest.id)


def _render_list(status: int = 200, errors: dict[str, str] | None = None) -> Any:
    page = _list(request.args)
    return render_template(
        "privacy/requests.html",
        p=page,
        kinds=REQUEST_KIND_LABELS,
        overdue=services.overdue_count(signed_in()),
        errors=errors or {},
        values=request.form,
        due_days=services.due_days(),
    ), status


@bp.get("/mod/privacy-requests")
@moderator_required
def index() -> ResponseReturnValue:
    return _render_list()


@bp.post("/mod/privacy-requests")
@moderator_required
def create() -> ResponseReturnValue:
    form = request.form
    try:
        try:
            received = parse_day(form.get("received_on"), _("收到日期"))
        except InvalidDate as exc:
            raise services._fail("received_on", str(exc)) from None
        req = services.create_request(
            signed_in(),
            form.get("kind"),
            form.get("id_number"),
            form.get("note"),
            received,
        )
    except DomainError as exc:
        refused(exc)
        return _render_list(exc.status, getattr(exc, "fields", {}))
    flash(
        _("已登记请求 #%(id)s，请在 %(d)s 前办结。", id=req.id, d=req.due_on), "success"
    )
    return redirect(url_for(".detail", request_id=req.id))


def _render_detail(req: PrivacyRequest, errors: dict[str, str] | None = None) -> str:
    user = signed_in()
    needs: list[Need] = services.household_needs(req.household_key, user)
    return render_template(
        "privacy/request.html",
        req=req,
        needs=needs,
        erasable=services.erasable,
        outcomes=REQUEST_OUTCOME_LABELS,
        kinds=REQUEST_KIND_LABELS,
        errors=errors or {},
    )


@bp.get("/mod/privacy-requests/<int:request_id>")
@moderator_required
def detail(request_id: int) -> ResponseReturnValue:
    return _render_detail(services.get_request(request_id, signed_in()))


@bp.route("/mod/privacy-requests/<int:request_id>/export", methods=["GET", "POST"])
@moderator_required
def export(request_id: int) -> ResponseReturnValue:
    """POST: the one file with everything held (audited, never stored)."""
    req = services.get_request(request_id, signed_in())
    if request.method == "GET":
        return redirect(url_for(".detail", request_id=req.id))
    data = services.export_file(req, signed_in())
    return (
        data,
        200,
        {
            "Content-Type": "application/json; charset=utf-8",
            "Content-Disposition": f'attachment; filename="privacy-request-{req.id}.json"',
            "Cache-Control": "no-store",
        },
    )


def _act(request_id: int, action: str) -> ResponseReturnValue:
    req = services.get_request(request_id, signed_in())
    if request.method == "GET":
        return redirect(url_for(".detail", request_id=req.id))
    form = request.form
    try:
        if action == "correct":
            services.correct(
                req,
                signed_in(),
                form.get("code"),
                {f: form.get(f) or None for f in services.CORRECTABLE},
            )
            flash(_("已更正，已记入审计日志。"), "success")
        elif action == "erase":
            services.erase(req, signed_in(), form.get("code"))
            flash(_("该需求的隐私信息已删除。"), "success")
        else:
            services.close(
                req, signed_in(), form.get("outcome"), form.get("outcome_note")
            )
            flash(_("请求已办结。"), "success")
    except DomainError as exc:
        refused(exc)
        return _render_detail(req, getattr(exc, "fields", {})), exc.status
    return redirect(url_for(".detail", request_id=req.id))


@bp.route("/mod/privacy-requests/<int:request_id>/correct", methods=["GET", "POST"])
@moderator_required
def correct(request_id: int) -> ResponseReturnValue:
    return _act(request_id, "correct")


@bp.route("/mod/privacy-requests/<int:request_id>/erase", methods=["GET", "POST"])
@moderator_required
def erase(request_id: int) -> ResponseReturnValue:
    return _act(request_id, "erase")


@bp.route("/mod/privacy-requests/<int:request_id>/close", methods=["GET", "POST"])
@moderator_required
def close(request_id: int) -> ResponseReturnValue:
    return _act(request_id, "close")
