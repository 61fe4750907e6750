"""Pages of the funds feature: the org's work area (/org/funds...) and the
public fund page (/funds/<id>)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from charitylink.core import page_cache
from charitylink.core.formatting import cn_datetime
from charitylink.core.i18n import _
from charitylink.core.money import InvalidAmount, format_fen, parse_yuan
from charitylink.core.permissions import (
    org_admin_required,
    org_staff_required,
    signed_in,
)
from charitylink.core.transaction import refused
from charitylink.errors import DomainError
from charitylink.extensions import db
from charitylink.funds import services
from charitylink.funds.forms import DonationForm, FundForm, ReversalForm
from charitylink.funds.models import Fund, LedgerEntry, LedgerKind

bp = Blueprint("funds", __name__)

LEDGER_PER_PAGE = 50


@bp.app_context_processor
def _reversal_figures() -> dict[str, object]:
    # The org's public page shows how much of its payments disputes reversed.
    return {"reversed_disbursements": services.reversed_disbursements}


def _own_fund_or_404(fund_id: int) -> Fund:
    fund = db.session.get(Fund, fund_id)
    if fund is None or fund.org_id != current_user.org_id:
        abort(404)
    return fund


def _page_arg() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 and int(raw) > 0 else 1


@bp.get("/org/funds")
@org_staff_required
def org_list() -> ResponseReturnValue:
    funds = services.org_funds(current_user.org_id)
    return render_template("funds/org_list.html", funds=funds)


@bp.route("/org/funds/new", methods=["GET", "POST"])
@org_admin_required
def new() -> ResponseReturnValue:
    form = FundForm()
    if form.validate_on_submit():
        try:
            fund = services.create_fund(
                current_user.org,
                signed_in(),
                name=form.name.data or "",
                kind=form.kind.data or "",
                donor_name=form.donor_name.data,
                need_types=list(form.need_types.data or []),
                region_prefix=form.region_prefix.data,
                description=form.description.data or "",
            )
        except DomainError as exc:
            refused(exc, form)
        else:
            flash(_("基金「%(name)s」已创建。", name=fund.name), "success")
            return redirect(url_for(".org_detail", fund_id=fund.id))
    elif form.errors:
        flash(_("表单已过期或缺少安全令牌（CSRF），请刷新页面后重试。"), "error")
    status = 422 if request.method == "POST" else 200
    return render_template("funds/new.html", form=form), status


@bp.get("/org/funds/<int:fund_id>")
@org_staff_required
def org_detail(fund_id: int) -> ResponseReturnValue:
    fund = _own_fund_or_404(fund_id)
    page = _page_arg()
    entries, total = services.ledger_page(fund, page, LEDGER_PER_PAGE)
    pages = max(1, -(-total // LEDGER_PER_PAGE))
    return render_template(
        "funds/org_detail.html",
        fund=fund,
        entries=entries,
        page=page,
        pages=pages,
        total=total,
        reversed_ids=services.reversed_donation_ids(fund),
    )


@bp.route(
    "/org/funds/<int:fund_id>/donations/<int:entry_id>/reverse",
    methods=["GET", "POST"],
)
@org_admin_required
def reverse_donation(fund_id: int, entry_id: int) -> ResponseReturnValue:
    """GET: what reversing does and the reason field; POST: reverse."""
    fund = _own_fund_or_404(fund_id)
    entry = db.session.get(LedgerEntry, entry_id)
    if entry is None or entry.fund_id != fund.id or entry.kind != LedgerKind.DONATION:
        abort(404)
    form = ReversalForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                services.reverse_donation(fund, signed_in(), entry.id, form.reason.data)
            except DomainError as exc:
                refused(exc, form)
            else:
                flash(_("捐赠已冲正，冲正记录已加入台账。"), "success")
                return redirect(url_for(".org_detail", fund_id=fund.id))
        elif form.errors and "csrf_token" in form.errors:
            flash(_("表单已过期或缺少安全令牌（CSRF），请刷新页面后重试。"), "error")
    status = 422 if request.method == "POST" else 200
    if entry.id in services.reversed_donation_ids(fund):
        flash(_("这笔捐赠已冲正。"), "error")
        return redirect(url_for(".org_detail", fund_id=fund.id))
    back = url_for(".org_detail", fund_id=fund.id)
    return (
        render_template(
            "confirm.html",
            title=_("冲正捐赠 #%(id)s？", id=entry.id),
            details=[
                (_("基金"), fund.name),
                (_("入账时间"), cn_datetime(entry.created_at)),
                (_("捐赠人"), entry.donor_name or _("匿名")),
                (_("金额"), format_fen(entry.amount_fen)),
                (_("可用余额"), format_fen(fund.available_fen)),
            ],
            consequence=_(
                "冲正后这笔捐赠从基金余额中扣除，原记录保留，冲正记录及原因在基金公开页面显示。"
                "可用余额不足时不能冲正（请先取消相应认领）。此操作不能撤销。"
            ),
            action=url_for(".reverse_donation", fund_id=fund.id, entry_id=entry.id),
            form=form,
            button=_("确认冲正"),
            verb=_("冲正"),
            back=back,
        ),
        status,
    )


@bp.route("/org/funds/<int:fund_id>/donations", methods=["GET", "POST"])
@org_admin_required
def donation(fund_id: int) -> ResponseReturnValue:
    fund = _own_fund_or_404(fund_id)
    form = DonationForm()
    if form.validate_on_submit():
        donor = None if form.anonymous.data else (form.donor.data or "").strip()
        try:
            amount = parse_yuan(form.amount.data)
        except InvalidAmount as exc:
            form.amount.errors = [str(exc)]
            flash(str(exc), "error")
        else:
            if donor == "":
                msg = _("请填写捐赠人名称，或勾选“匿名捐赠”。")
                form.donor.errors = [msg]
                flash(msg, "error")
            else:
                try:
                    services.record_donation(
                        fund,
                        signed_in(),
                        amount_fen=amount,
                        donor_name=donor,
                        reference=form.reference.data,
                    )
                except DomainError as exc:
                    if "donor_name" in exc.fields:
                        exc.fields["donor"] = exc.fields.pop("donor_name")
                    refused(exc, form)
                else:
                    flash(_("捐赠已入账。"), "success")
                    return redirect(url_for(".org_detail", fund_id=fund.id))
    elif form.errors:
        flash(_("表单已过期或缺少安全令牌（CSRF），请刷新页面后重试。"), "error")
    status = 422 if request.method == "POST" else 200
    return render_template("funds/donation.html", fund=fund, form=form), status


@bp.get("/funds/<int:fund_id>")
@page_cache.cacheable
def public_detail(fund_id: int) -> ResponseReturnValue:
    fund = db.session.get(Fund, fund_id)
    if fund is None or not services.is_public(fund):
        abort(404)
    from charitylink.projects import queries as project_queries

    projects = project_queries.public_for_fund(fund.id)
    return render_template(
        "funds/public_detail.html",
        fund=fund,
        donations=services.donations(fund, limit=20),
        reversals=services.reversals(fund, limit=50),
        projects=projects,
    )
