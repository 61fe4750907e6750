"""Funds and donations: POST /funds, POST /funds/{id}/donations,
GET /funds/{id}. The same services as the pages."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from charitylink.accounts.models import User
from charitylink.api import (
    ApiError,
    bp,
    created,
    current_user_or_none,
    json_body,
    require_user,
)
from charitylink.core.i18n import _
from charitylink.core.permissions import covers, is_org_staff, require_org_can_act
from charitylink.core.timeutil import iso_utc
from charitylink.errors import NotAllowed, ValidationFailed
from charitylink.extensions import db
from charitylink.funds import services
from charitylink.funds.models import Fund
from charitylink.orgs.models import Organization


def _fund_or_404(fund_id: int, user: User | None) -> Fund:
    """Anyone sees funds of verified orgs; the org's staff and the moderators of
    its region see the others too; everyone else gets 404."""
    fund = db.session.get(Fund, fund_id)
    if fund is not None and (
        services.is_public(fund)
        or is_org_staff(user, fund.org_id)
        or covers(user, fund.org.region_code)
    ):
        return fund
    raise ApiError(404, "not_found", _("基金不存在。"))


# The purpose's fields sit inside ``purpose`` in the body.
_IN_PURPOSE = {
    "need_types": "purpose.need_types",
    "region_prefix": "purpose.region_prefix",
}


@bp.post("/funds")
def create_fund() -> ResponseReturnValue:
    user = require_user()
    if getattr(user, "org_id", None) is None:
        raise NotAllowed(_("只有机构管理员可以创建基金。"))
    require_org_can_act(user, user.org_id, admin=True)  # before the body: 403
    data = json_body("FundCreate")
    org = db.session.get_one(Organization, user.org_id)
    purpose = data.get("purpose") or {}
    try:
        fund = services.create_fund(
            org,
            user,
            name=data["name"],
            kind=data["kind"],
            donor_name=data.get("donor_name"),
            need_types=purpose.get("need_types"),
            region_prefix=purpose.get("region_prefix"),
            description=data.get("description") or "",
        )
    except ValidationFailed as exc:
        exc.fields = {_IN_PURPOSE.get(k, k): v for k, v in exc.fields.items()}
        raise
    return created(services.to_json(fund))


@bp.post("/funds/<int:fund_id>/donations")
def create_donation(fund_id: int) -> ResponseReturnValue:
    user = require_user()
    fund = _fund_or_404(fund_id, user)
    require_org_can_act(user, fund.org_id, admin=True)  # before the body: 403
    data = json_body("DonationCreate")
    entry = services.record_donation(
        fund,
        user,
        amount_fen=data.get("amount"),
        donor_name=data.get("donor_name"),
        reference=data.get("reference"),
    )
    return created(
        {
            "id": entry.id,
            "fund_id": fund.id,
            "amount": entry.amount_fen,
            "donor_name": entry.donor_name,
            "reference": entry.reference,
            "created_at": iso_utc(entry.created_at),
            "fund": services.to_json(fund),
        }
    )


@bp.get("/funds/<int:fund_id>")
def get_fund(fund_id: int) -> ResponseReturnValue:
    fund = _fund_or_404(fund_id, current_user_or_none())
    return jsonify(services.to_json(fund))
