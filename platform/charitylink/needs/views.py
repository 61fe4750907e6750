"""Pages of the needs feature: the public library and the moderator work area."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from charitylink.core import page_cache
from charitylink.core.i18n import _
from charitylink.core.permissions import covers, moderator_required, signed_in
from charitylink.core.reasons import clean_reason
from charitylink.core.timeutil import today
from charitylink.core.transaction import refused
from charitylink.errors import DomainError, NotFound, ValidationFailed
from charitylink.needs import forms, lists, privacy, queries, services
from charitylink.needs.models import (
    EXTENDABLE_STATUSES,
    NEED_STATUS_LABELS,
    PUBLIC_STATUSES,
    NeedStatus,
)
from charitylink.needs.validation import clean_need_input
from charitylink.regions import services as regions
from charitylink.workspace.queries import counts_for, region_filter_choices

bp = Blueprint("needs", __name__)


def _pages(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


def _args_for(params: dict[str, Any]) -> Callable[[int], str]:
    def build(page: int) -> str:
        clean = {k: v for k, v in params.items() if v not in (None, "")}
        clean["page"] = page
        return urlencode(clean)

    return build


# --------------------------------------------------------------------------
# Public library
# --------------------------------------------------------------------------


@bp.get("/needs")
@page_cache.cacheable
def index() -> ResponseReturnValue:
    filters = queries.parse_filters(request.args, money="yuan", max_per_page=20)
    for message in filters.ignored:
        flash(message, "warning")
    search = None
    if filters.q:  # free text: the search engine (issue 4), same filters
        from charitylink.search.service import search_needs

        sort = filters.sort if request.args.get("sort") else "relevance"
        search = search_needs(
            filters.q, filters.as_dict(), sort, filters.page, queries.PER_PAGE
        )
        rows, total = search.items, search.total
    else:
        rows, total = queries.public_needs(
            filters.as_dict(), filters.sort, filters.page, queries.PER_PAGE
        )
    params = {
        k: request.args.get(k, "")
        for k in (
            "q",
            "region",
            "category",
            "need_type",
            "status",
            "urgency",
            "min_amount",
            "max_amount",
            "sort",
        )
    }
    return render_template(
        "needs/index.html",
        needs=rows,
        total=total,
        filters=filters,
        params=params,
        page=filters.page,
        pages=_pages(total, queries.PER_PAGE),
        page_args=_args_for(params),
        region_choices=regions.choices(("province", "prefecture", "county")),
        public_statuses=[(s.value, _(NEED_STATUS_LABELS[s])) for s in PUBLIC_STATUSES],
        region_name=regions.full_name,
        search=search,
        feed_args={k: v for k, v in params.items() if v},  # the Atom link
    )


@bp.get("/needs/<code>")
@page_cache.cacheable
def detail(code: str) -> ResponseReturnValue:
    try:
        need = queries.get_public_or_404(code)
    except NotFound:
        abort(404)
    return render_template(
        "needs/detail.html", need=need, region_name=regions.full_name
    )


# --------------------------------------------------------------------------
# Moderator work area
# --------------------------------------------------------------------------


def _load(code: str) -> Any:
    try:
        need = queries.get_for_moderator_or_404(code, signed_in())
    except NotFound:
        abort(404)
    if need.code != code:
        # A first-release code (moderators' old links): the same page under the
        # current code; 308 keeps a POST a POST (with its form and CSRF token).
        args = {**(request.view_args or {}), "code": need.code}
        target = url_for(request.endpoint or ".review", **args)
        abort(redirect(target, 301 if request.method in ("GET", "HEAD") else 308))
    return need


def _region_choices() -> list[tuple[str, str]]:
    return [
        (code, name)
        for code, name in regions.choices(("prefecture", "county"))
        if regions.is_claimable_level(code) and covers(current_user, code)
    ]


def _new_form() -> forms.NeedForm:
    form = forms.NeedForm()
    form.region_code.choices = [
        (c, regions.full_name(c) or n.strip()) for c, n in _region_choices()
    ]
    return form


@bp.get("/mod/needs")
@moderator_required
def mod_index() -> ResponseReturnValue:
    user = signed_in()
    result = lists.review_queue(user, request.args)
    for message in result.args.ignored:
        flash(message, "warning")
    counts = counts_for(user)
    return render_template(
        "needs/mod_index.html",
        bulk=_bulk_results(),
        select_all=request.args.get("select") == "all",
        bulk_actions=_bulk_labels(),
        result=result,
        needs=result.items,
        total=result.total,
        statuses=[(s.value, _(NEED_STATUS_LABELS[s])) for s in NeedStatus],
        region_choices=region_filter_choices(user),
        region_name=regions.full_name,
        today=today(),
        tabs=[
            (_("等我审核"), None, {"mine": "waiting"}),
            (_("待审核"), counts.get("needs_submitted"), {"status": "submitted"}),
            (_("草稿"), None, {"status": "draft"}),
            (_("被驳回"), None, {"status": "rejected"}),
            (
                _("%(d)s 天内截止", d=lists.SOON_DAYS),
                counts.get("needs_expiring"),
                {"deadline": "soon"},
            ),
            (_("已过截止日期"), None, {"deadline": "overdue"}),
            (_("全部"), None, {}),
        ],
    )


def _duplicate_context(household_key: str | None, exclude_id: int | None) -> Any:
    if not household_key:
        return None
    return services.duplicate_summary(household_key, exclude_id)


def _raise_form_errors(data: dict[str, Any], errors: dict[str, str]) -> None:
    """Amounts typed in yuan were refused: report them with every other error."""
    if not errors:
        return
    try:
        clean_need_input({**data, "amount": data.get("amount") or 1})
    except ValidationFailed as exc:
        errors = {**exc.fields, **errors}
    raise ValidationFailed(_("需求信息有误，请检查标出的字段。"), errors)


@bp.route("/mod/needs/new", methods=["GET", "POST"])
@moderator_required
def new() -> ResponseReturnValue:
    form = _new_form()
    if form.validate_on_submit():
        data, errors = forms.form_to_input(form)
        try:
            _raise_form_errors(data, errors)
            need = services.create_need(data, signed_in())
        except DomainError as exc:
            refused(exc)
            forms.apply_errors(form, exc.fields)
        else:
            dup = services.duplicate_summary(need.household_key, need.id)
            flash(_("需求 %(c)s 已保存为草稿。", c=need.code), "success")
            if dup["open_needs"] or dup["received_fen"]:
                flash(_duplicate_message(dup), "warning")
            return redirect(url_for(".review", code=need.code))
    return render_template(
        "needs/form.html", form=form, need=None, rows=forms.assistance_rows(form)
    ), (422 if form.is_submitted() else 200)


@bp.route("/mod/needs/<code>/edit", methods=["GET", "POST"])
@moderator_required
def edit(code: str) -> ResponseReturnValue:
    need = _load(code)
    if not need.can("update"):
        flash(_("只有草稿或已驳回的需求可以修改。"), "error")
        return redirect(url_for(".review", code=code))
    form = _new_form()
    if form.validate_on_submit():
        data, errors = forms.form_to_input(form)
        try:
            _raise_form_errors(data, errors)
            services.update_need(need, data, signed_in())
        except DomainError as exc:
            refused(exc)
            forms.apply_errors(form, exc.fields)
        else:
            flash(_("需求已保存。"), "success")
            return redirect(url_for(".review", code=code))
        return render_template(
            "needs/form.html", form=form, need=need, rows=forms.assistance_rows(form)
        ), 422
    household = services.get_private(need, signed_in())
    forms.fill_form(form, services.editable_input(need, household))
    return render_template(
        "needs/form.html", form=form, need=need, rows=forms.assistance_rows(form)
    )


def _duplicate_message(dup: dict[str, Any]) -> str:
    from charitylink.core.money import format_fen

    return _(
        "该家庭另有 %(n)s 条未结需求；近12个月已从 %(o)s 个机构获得 %(a)s。",
        n=len(dup["open_needs"]),
        o=dup["org_count"],
        a=format_fen(dup["received_fen"]),
    )


def _render_review(need: Any, household: dict[str, Any], revealed: bool) -> str:
    dup = _duplicate_context(need.household_key, need.id)
    return render_template(
        "needs/review.html",
        need=need,
        household=household,
        revealed=revealed,
        dup=dup,
        dup_message=_duplicate_message(dup) if dup else "",
        region_name=regions.full_name,
        four_eyes=services.four_eyes_refusal(need, signed_in()),
        extendable=[str(s) for s in EXTENDABLE_STATUSES],
    )


@bp.get("/mod/needs/<code>")
@moderator_required
def review(code: str) -> ResponseReturnValue:
    need = _load(code)
    try:
        masked = privacy.masked_household(privacy.decrypt_household(need), need)
    except ValueError:
        # Wrong DATA_KEY or a damaged row: say so instead of failing the page.
        flash(
            _("家庭信息无法解密（数据密钥不符或数据已损坏），请联系平台管理员。"),
            "error",
        )
        masked = privacy.masked_household({})
    return _render_review(need, masked, revealed=False)


@bp.route("/mod/needs/<code>/reveal", methods=["GET", "POST"])
@moderator_required
def reveal(code: str) -> ResponseReturnValue:
    """POST: show the household unmasked (audited). A GET (the result
    reloaded later) goes back to the masked review page: nothing is shown
    again without the button."""
    need = _load(code)
    if request.method == "GET" or need.purged_at is not None:
        # A purged need has nothing left to show (the page says so).
        return redirect(url_for(".review", code=need.code))
    household = services.get_private(need, signed_in())
    resp = render_template_response(_render_review(need, household, revealed=True))
    return resp


def render_template_response(html: str) -> ResponseReturnValue:
    # Unmasked data must not linger in shared caches or the back button.
    return html, 200, {"Cache-Control": "no-store"}


def _act(code: str, action: str) -> ResponseReturnValue:
    need = _load(code)
    reason = request.form.get("reason", "")
    messages = {
        "submit": _("需求已提交审核。"),
        "approve": _("需求已审核通过并公开。"),
        "reject": _("需求已驳回。"),
        "withdraw": _("需求已撤回。"),
        "to_draft": _("需求已退回草稿，可以修改。"),
        "extend": _("截止日期已延长。"),
    }
    try:
        if action == "submit":
            services.submit_need(need, signed_in())
        elif action == "approve":
            services.approve_need(need, signed_in())
        elif action == "reject":
            services.reject_need(need, signed_in(), reason)
        elif action == "withdraw":
            cancelled = services.withdraw_need(need, signed_in(), reason)
            if cancelled:
                messages["withdraw"] = _(
                    "需求已撤回；%(n)s 笔待交付的认领已取消，预留金额已退回各基金，"
                    "认领机构已收到通知。",
                    n=len(cancelled),
                )
        elif action == "extend":
            services.extend_need(
                need, signed_in(), request.form.get("deadline", ""), reason
            )
        else:
            services.return_to_draft(need, signed_in())
    except DomainError as exc:
        refused(exc)
    else:
        flash(messages[action], "success")
    return redirect(url_for(".review", code=code))


@bp.post("/mod/needs/<code>/submit")
@moderator_required
def submit(code: str) -> ResponseReturnValue:
    return _act(code, "submit")


@bp.post("/mod/needs/<code>/approve")
@moderator_required
def approve(code: str) -> ResponseReturnValue:
    return _act(code, "approve")


@bp.post("/mod/needs/<code>/reject")
@moderator_required
def reject(code: str) -> ResponseReturnValue:
    return _act(code, "reject")


@bp.post("/mod/needs/<code>/withdraw")
@moderator_required
def withdraw(code: str) -> ResponseReturnValue:
    return _act(code, "withdraw")


@bp.post("/mod/needs/<code>/to-draft")
@moderator_required
def to_draft(code: str) -> ResponseReturnValue:
    return _act(code, "to_draft")


@bp.post("/mod/needs/<code>/extend")
@moderator_required
def extend(code: str) -> ResponseReturnValue:
    return _act(code, "extend")


# --------------------------------------------------------------------------
# Bulk review from the queue
# --------------------------------------------------------------------------

BULK_SESSION_KEY = "needs_bulk"


def _bulk_labels() -> dict[str, str]:
    return {
        "submit": _("提交审核"),
        "approve": _("审核通过并公开"),
        "reject": _("驳回"),
    }


def _bulk_results() -> dict[str, Any] | None:
    """The outcome of the bulk action just posted (shown once, then gone):
    each code with "ok" or the index of its refusal's message (the messages
    repeat, so each is kept once: the session is a cookie)."""
    stored = session.pop(BULK_SESSION_KEY, None)
    if not isinstance(stored, dict):
        return None
    messages = stored.get("messages", [])
    rows = []
    for code, outcome in stored.get("rows", []):
        ok = outcome == -1
        rows.append(
            {"code": code, "ok": ok, "message": "" if ok else messages[outcome]}
        )
    return {"action": stored.get("action", ""), "rows": rows}


def _queue_url(back: str) -> str:
    # Back to the list as it was (filters, page): a query string only, after
    # a fixed path, so it can point nowhere else.
    back = back.lstrip("?")
    base = url_for(".mod_index")
    return f"{base}?{back}" if back else base


@bp.post("/mod/needs/bulk")
@moderator_required
def bulk() -> ResponseReturnValue:
    user = signed_in()
    target = _queue_url(request.form.get("back", "")[:500])
    action = request.form.get("action", "")
    codes = [c.strip() for c in request.form.getlist("codes") if c.strip()]
    if action not in services.BULK_ACTIONS:
        flash(_("请选择要执行的操作：提交审核、审核通过或驳回。"), "error")
        return redirect(target)
    if not codes:
        flash(_("请先勾选要处理的需求。"), "error")
        return redirect(target)
    if len(codes) > services.BULK_MAX:
        flash(_("一次最多处理 %(n)s 条需求。", n=services.BULK_MAX), "error")
        return redirect(target)
    reason: str | None = None
    if action == "reject":
        try:
            reason = clean_reason(request.form.get("reason"), required=True)
        except DomainError as exc:
            flash(_("批量驳回：%(m)s", m=exc.message), "error")
            return redirect(target)
    results = services.bulk_review(
        codes,
        action,
        user,
        reason,
        load=lambda c: queries.get_for_moderator_or_404(c, user),
    )
    messages: list[str] = []
    rows: list[tuple[str, int]] = []
    for code, outcome in results.items():
        if outcome == "ok":
            rows.append((code, -1))
            continue
        if outcome["message"] not in messages:
            messages.append(outcome["message"])
        rows.append((code, messages.index(outcome["message"])))
    session[BULK_SESSION_KEY] = {"action": action, "rows": rows, "messages": messages}
    done = sum(1 for _code, o in rows if o == -1)
    label = _bulk_labels()[action]
    if done == len(rows):
        flash(_("批量%(a)s：%(n)s 条全部成功。", a=label, n=done), "success")
    else:
        flash(
            _(
                "批量%(a)s：%(ok)s 条成功，%(no)s 条未处理（原因见下表）。",
                a=label,
                ok=done,
                no=len(rows) - done,
            ),
            "warning",
        )
    return redirect(target)


# The import pages share this blueprint; their module adds its routes to ``bp``.
from charitylink.needs import import_views  # noqa: E402,F401
