"""Printable pages: a donation receipt and a claim's record. Each is an
ordinary page (the menu on screen, a line on how to print); the print style
sheet lays it out for A4 without the menu, footer and buttons."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from charitylink.claims import services as claim_services
from charitylink.claims.models import Claim
from charitylink.core.i18n import _
from charitylink.core.permissions import org_admin_required, signed_in
from charitylink.core.timeutil import utcnow
from charitylink.extensions import db, login_manager
from charitylink.funds import services as fund_services
from charitylink.funds.models import Fund
from charitylink.printing import services
from charitylink.regions import services as regions

bp = Blueprint("printing", __name__)


@bp.get("/org/funds/<int:fund_id>/receipts/<int:entry_id>")
@org_admin_required
def donation_receipt(fund_id: int, entry_id: int) -> ResponseReturnValue:
    """The receipt the org gives a donor. The org's admin issues it (as the
    admin records donations); another org's fund or entry does not exist."""
    user = signed_in()
    fund = db.session.get(Fund, fund_id)
    if fund is None or fund.org_id != user.org_id:
        abort(404)
    entry = services.donation_of(fund, entry_id)
    if entry is None:
        abort(404)
    check_url = (
        url_for("funds.public_detail", fund_id=fund.id, _external=True)
        if fund_services.is_public(fund)
        else None
    )
    return render_template(
        "printing/receipt.html",
        r=services.receipt(entry),
        org=fund.org,
        check_url=check_url,
        qr=services.qr_svg(check_url, _("基金公开页面二维码")) if check_url else None,
        printed_at=utcnow(),
    )


@bp.get("/claims/<int:claim_id>/print")
def claim_record(claim_id: int) -> ResponseReturnValue:
    """A claim with its delivery and confirmation, for the org's file and the
    civil-affairs office's: the org's staff and the region's moderators (whoever
    may see its evidence). No household data: the public half of the need only."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    claim = db.session.get(Claim, claim_id)
    if claim is None or not claim_services.can_view(claim, signed_in()):
        abort(404)
    return render_template(
        "printing/claim.html",
        claim=claim,
        need=claim.need,
        # The region the public sees (county or city): the record travels.
        region=regions.full_name(claim.need.public_region_code),
        confirmed_by=services.user_name(claim.confirmed_by_id),
        printed_at=utcnow(),
    )
