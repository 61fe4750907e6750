"""Funds and donations: POST /funds, POST /funds/{id}/donations,
GET /funds/{id}. The same services as the pages."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from charitylink.api import (
    ApiError,
    bp,
    created,
    current_user_or_none,
    json_body,
    require_user,
)
from charitylink.core.i18n import _
from charitylink.core.permissions import covers, is_org_staff
from charitylink.core.timeutil import iso_utc
from charitylink.errors import NotAllowed
from charitylink.extensions import db
from charitylink.funds import services
from charitylink.funds.models import Fund
from charitylink.orgs.models import Organization


def _fund_or_404(fund_id: int, user: object | None) -> Fund:
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


@bp.post("/funds")
def create_fund() -> ResponseReturnValue:
    user = require_user()
    data = json_body()
    if getattr(user, "org_id", None) is None:
        raise NotAllowed(_("只有机构管理员可以创建基金。"))
    org = db.session.get(Organization, user.org_id)
    purpose = data.get("purpose")
    if purpose is not None and not isinstance(purpose, dict):
        raise ApiError(
            422,
            "validation_failed",
            _("purpose 必须是对象：{need_types: [...], region_prefix}。"),
            {"purpose": _("purpose 必须是对象：{need_types: [...], region_prefix}。")},
        )
    purpose = purpose or {}
    fund = services.create_fund(
        org,
        user,
        name=data.get("name"),  # type: ignore[arg-type]
        kind=data.get("kind"),  # type: ignore[arg-type]
        donor_name=data.get("donor_name"),
        need_types=purpose.get("need_types"),
        region_prefix=purpose.get("region_prefix"),
        description=data.get("description") or "",
    )
    db.session.commit()
    return created(services.to_json(fund))


@bp.post("/funds/<int:fund_id>/donations")
def create_donation(fund_id: int) -> ResponseReturnValue:
    user = require_user()
    data = json_body()
    fund = _fund_or_404(fund_id, user)
    donor = data.get("donor_name")
    if donor is not None and not isinstance(donor, str):
        raise ApiError(
            422,
            "validation_failed",
            _("donor_name 必须是文本，匿名捐赠请传 null。"),
            {"donor_name": _("donor_name 必须是文本，匿名捐赠请传 null。")},
        )
    reference = data.get("reference")
    if reference is not None and not isinstance(reference, str):
        raise ApiError(
            422,
            "validation_failed",
            _("reference 必须是文本。"),
            {"reference": _("reference 必须是文本。")},
        )
    entry = services.record_donation(
        fund,
        user,
        amount_fen=data.get("amount"),
        donor_name=donor,
        reference=reference,
    )
    db.session.commit()
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
