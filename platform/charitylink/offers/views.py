"""Pages of offers (供给): the public list and offer page (/offers…), the org's
work area (/org/offers…), and the 可对接的供给 section on a need's page."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from charitylink.core import page_cache
from charitylink.core.i18n import N_, _
from charitylink.core.money import InvalidAmount, fen_to_yuan_str, parse_yuan
from charitylink.core.paging import kept_filters
from charitylink.core.permissions import org_staff_required, signed_in
from charitylink.core.transaction import refused
from charitylink.errors import DomainError
from charitylink.extensions import db
from charitylink.needs.models import NEED_TYPE_LABELS
from charitylink.offers import matching, queries, services
from charitylink.offers.forms import UNIT_KEYS, OfferForm
from charitylink.offers.models import (
    OFFER_KIND_LABELS,
    OFFER_STATUS_LABELS,
    Offer,
    OfferStatus,
)
from charitylink.regions import services as regions

bp = Blueprint("offers", __name__)

PER_PAGE = 20


@bp.app_template_global("offer_region_label")
def region_label(prefix: str) -> str:
    return regions.full_name(prefix.ljust(6, "0")) or prefix


@bp.app_template_global("offer_match_url")
def match_url(offer_id: int, code: str) -> str | None:
    """The match action of the claims feature, where it is installed."""
    if "claims.offer_match" not in current_app.view_functions:
        return None
    return url_for("claims.offer_match", offer_id=offer_id, need=code)


@bp.app_template_global()
def offers_for_need_page(need: Any) -> list[matching.OfferMatch] | None:
    """The 可对接的供给 section of a need's page: for the org staff of a
    verified org and the moderators of its region (None: no section)."""
    user = current_user if current_user.is_authenticated else None
    if not matching.can_see_need_matches(user, need):
        return None
    if not matching.is_matchable(need):
        return []
    return matching.offers_for_need(
        need, matching.region_for(user, need), limit=matching.LIMIT
    )


# ----------------------------------------------------------------------------
# Public
# ----------------------------------------------------------------------------


@bp.get("/offers")
@page_cache.cacheable
def public_list() -> ResponseReturnValue:
    filters = queries.parse_filters(request.args)
    raw_page = (request.args.get("page") or "1").strip()
    page = int(raw_page) if raw_page.isdigit() and 0 < len(raw_page) < 6 else 1
    page = max(page, 1)
    rows, total = queries.public_page(filters, page, PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    args, page_args = kept_filters(
        request.args, ("q", "kind", "need_type", "region", "org_id")
    )
    return render_template(
        "offers/public_list.html",
        offers=rows,
        total=total,
        page=page,
        pages=pages,
        filters=filters,
        args=args,
        page_args=page_args,
        used=queries.used_this_month([o.id for o in rows]),
        kinds=[(k.value, _(v)) for k, v in OFFER_KIND_LABELS.items()],
        need_types=[(k, _(v)) for k, v in NEED_TYPE_LABELS.items()],
    )


@bp.get("/offers/<int:offer_id>")
@page_cache.cacheable
def public_detail(offer_id: int) -> ResponseReturnValue:
    offer = db.session.get(Offer, offer_id)
    if offer is None or not services.is_public(offer):
        abort(404)
    return render_template(
        "offers/public_detail.html",
        offer=offer,
        remaining=matching.remaining_capacity(offer),
    )


# ----------------------------------------------------------------------------
# Org work area
# ----------------------------------------------------------------------------


def _own_offer_or_404(offer_id: int) -> Offer:
    offer = db.session.get(Offer, offer_id)
    if offer is None or offer.org_id != current_user.org_id:
        abort(404)
    return offer


@bp.get("/org/offers")
@org_staff_required
def org_list() -> ResponseReturnValue:
    user = signed_in()
    result = queries.org_offers(user.org_id or 0, request.args)
    for message in result.args.ignored:
        flash(message, "warning")
    return render_template(
        "offers/org_list.html",
        result=result,
        offers=result.items,
        used=queries.used_this_month([o.id for o in result.items]),
        statuses=[(s.value, _(OFFER_STATUS_LABELS[s])) for s in OfferStatus],
        kinds=[(k.value, _(v)) for k, v in OFFER_KIND_LABELS.items()],
        tabs=[
            (_("开放中"), None, {"status": "open"}),
            (_("已暂停"), None, {"status": "paused"}),
            (_("已关闭"), None, {"status": "closed"}),
            (_("全部"), None, {}),
        ],
    )


def _form_data(form: OfferForm) -> tuple[dict[str, Any], str | None]:
    """The form as the service's input (unit value in fen); a bad amount is
    kept as that field's error."""
    data: dict[str, Any] = {
        "kind": form.kind.data,
        "title": form.title.data,
        "description": form.description.data,
        "need_types": list(form.need_types.data or []),
        "region_prefix": (form.region_prefix.data or "").strip(),
        "unit": UNIT_KEYS.get(form.unit.data or "", form.unit.data),
        "capacity_per_month": (form.capacity_per_month.data or "").strip(),
        "start_on": (form.start_on.data or "").strip() or None,
        "end_on": (form.end_on.data or "").strip() or None,
    }
    try:
        data["unit_value"] = parse_yuan(form.unit_value.data, allow_zero=True)
    except InvalidAmount as exc:
        data["unit_value"] = None
        return data, _("每单位估值：%(msg)s", msg=str(exc))
    return data, None


def _save(form: OfferForm, offer: Offer | None) -> Offer | None:
    data, amount_error = _form_data(form)
    try:
        if offer is None:
            offer = services.create_offer(current_user.org, signed_in(), data)
        else:
            services.update_offer(offer, signed_in(), data)
    except DomainError as exc:
        if amount_error:
            exc.fields["unit_value"] = amount_error
        refused(exc, form)
        return None
    return offer


@bp.route("/org/offers/new", methods=["GET", "POST"])
@org_staff_required
def new() -> ResponseReturnValue:
    form = OfferForm()
    if form.validate_on_submit():
        offer = _save(form, None)
        if offer is not None:
            flash(_("供给已发布，可在公开的供给列表中看到。"), "success")
            return redirect(url_for(".org_detail", offer_id=offer.id))
    status = 422 if request.method == "POST" else 200
    return render_template("offers/edit.html", form=form, offer=None), status


@bp.route("/org/offers/<int:offer_id>/edit", methods=["GET", "POST"])
@org_staff_required
def edit(offer_id: int) -> ResponseReturnValue:
    offer = _own_offer_or_404(offer_id)
    if offer.status == OfferStatus.CLOSED:
        flash(_("供给已关闭，不能再修改。"), "error")
        return redirect(url_for(".org_detail", offer_id=offer.id))
    form = OfferForm(
        data=None
        if request.method == "POST"
        else {
            "kind": offer.kind,
            "title": offer.title,
            "description": offer.description,
            "need_types": offer.need_types,
            "region_prefix": offer.region_prefix,
            "unit": {u: k for k, u in UNIT_KEYS.items()}.get(offer.unit, ""),
            "capacity_per_month": str(offer.capacity_per_month),
            "unit_value": fen_to_yuan_str(offer.unit_value_fen),
            "start_on": offer.start_on.isoformat() if offer.start_on else "",
            "end_on": offer.end_on.isoformat() if offer.end_on else "",
        }
    )
    if form.validate_on_submit():
        saved = _save(form, offer)
        if saved is not None:
            flash(_("供给已保存。"), "success")
            return redirect(url_for(".org_detail", offer_id=offer.id))
    status = 422 if request.method == "POST" else 200
    return render_template("offers/edit.html", form=form, offer=offer), status


@bp.get("/org/offers/<int:offer_id>")
@org_staff_required
def org_detail(offer_id: int) -> ResponseReturnValue:
    offer = _own_offer_or_404(offer_id)
    suggestions = (
        matching.needs_for_offer(offer, true_region=False)
        if offer.status == OfferStatus.OPEN and offer.org.is_verified
        else []
    )
    return render_template(
        "offers/org_detail.html",
        offer=offer,
        remaining=matching.remaining_capacity(offer),
        used=matching.used_units(offer.id),
        claims=queries.claims_of(offer.id),
        suggestions=suggestions,
        is_public=services.is_public(offer),
    )


_ACTIONS = {
    "pause": (
        services.pause_offer,
        N_("供给已暂停，不再出现在公开列表和对接建议中。"),
    ),
    "reopen": (services.reopen_offer, N_("供给已恢复开放。")),
    "close": (services.close_offer, N_("供给已关闭。已有的对接不受影响。")),
}


@bp.post("/org/offers/<int:offer_id>/<any(pause, reopen, close):action>")
@org_staff_required
def act(offer_id: int, action: str) -> ResponseReturnValue:
    offer = _own_offer_or_404(offer_id)
    run, done = _ACTIONS[action]
    try:
        run(offer, signed_in())
    except DomainError as exc:
        refused(exc)
    else:
        flash(_(done), "success")
    return redirect(url_for(".org_detail", offer_id=offer.id))


# ----------------------------------------------------------------------------
# Export and import (CSV / XLSX)
# ----------------------------------------------------------------------------


@bp.get("/org/offers/export.<any(csv, xlsx):fmt>")
@org_staff_required
def export(fmt: str) -> ResponseReturnValue:
    from charitylink.core.timeutil import today
    from charitylink.exports import writers
    from charitylink.offers import files

    user = signed_in()
    return writers.download(
        fmt,
        f"charitylink-org-offers-{today().isoformat()}",
        _("供给"),
        files.header(),
        files.export_rows(user.org_id or 0),
    )


@bp.route("/org/offers/import", methods=["GET", "POST"])
@org_staff_required
def import_file() -> ResponseReturnValue:
    from charitylink.needs import import_files
    from charitylink.offers import files

    problems: dict[str, str] = {}
    if request.method == "POST":
        upload = request.files.get("file")
        name = upload.filename if upload is not None else ""
        if not name:
            flash(_("请选择要导入的 CSV 或 XLSX 文件。"), "error")
        elif not name.lower().endswith((".csv", ".xlsx", ".txt")):
            flash(_("只支持 CSV 或 XLSX 文件（Excel 请另存为 .xlsx）。"), "error")
        else:
            assert upload is not None
            try:
                rows = files.parse(upload.read(), name)
                if not rows:
                    raise import_files.ImportFileError(_("文件中没有数据行。"))
                created = files.import_offers(current_user.org, signed_in(), rows)
            except import_files.ImportFileError as exc:
                flash(str(exc), "error")
            except DomainError as exc:
                refused(exc)
                problems = exc.fields
            else:
                flash(_("已导入 %(n)s 项供给。", n=len(created)), "success")
                return redirect(url_for(".org_list"))
        return render_template(
            "offers/import.html", problems=problems, columns=files.COLUMNS
        ), 422
    return render_template("offers/import.html", problems={}, columns=files.COLUMNS)
