"""Offers (供给): create, edit, pause, reopen and close.

Only the staff of a verified org publish and change its offers (the org's
status is read from the database on every change). Title and description are
public text: the privacy guard scans them like every other text an org
publishes. Every change is audited. Flush, never commit.

Status: open ⇄ paused; open or paused → closed (final).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from charitylink.accounts.models import User
from charitylink.core import audit
from charitylink.core.i18n import _
from charitylink.core.permissions import (
    covers,
    is_moderator,
    is_org_staff,
    require_org_can_act,
)
from charitylink.core.timeutil import InvalidDate, parse_day, today, utcnow
from charitylink.core.transitions import move_if
from charitylink.errors import InvalidTransition, ValidationFailed, gather
from charitylink.extensions import db
from charitylink.needs.models import NEED_TYPE_LABELS
from charitylink.offers.models import (
    OFFER_STATUS_LABELS,
    OFFER_UNITS,
    Offer,
    OfferKind,
    OfferStatus,
)
from charitylink.orgs import public_text
from charitylink.orgs.models import Organization, OrgStatus
from charitylink.regions import services as regions

EDITABLE = (
    "kind",
    "title",
    "description",
    "need_types",
    "region_prefix",
    "unit",
    "capacity_per_month",
    "unit_value",
    "start_on",
    "end_on",
)
# Large enough for a city-wide meal service, small enough that a typo (an
# extra zero or three) is caught.
MAX_CAPACITY = 100_000
# One unit's honest valuation: at most 100,000 yuan.
MAX_UNIT_VALUE_FEN = 10_000_000


def _label(status: Any) -> str:
    try:
        return _(OFFER_STATUS_LABELS[OfferStatus(status)])
    except ValueError:
        return str(status)


def is_public(offer: Offer) -> bool:
    """Open, not past its end date, and its org verified: on the public list,
    the public page and in the search index."""
    if offer.status != OfferStatus.OPEN or not offer.org.is_verified:
        return False
    return offer.end_on is None or offer.end_on >= today()


def can_manage(user: User | None, offer: Offer) -> bool:
    return is_org_staff(user, offer.org_id)


def can_view(user: User | None, offer: Offer) -> bool:
    """The public sees open offers of verified orgs; the org's staff and the
    moderators of its region see every state."""
    if is_public(offer):
        return True
    if user is None or not getattr(user, "is_authenticated", True):
        return False
    if is_org_staff(user, offer.org_id):
        return True
    return is_moderator(user) and covers(user, offer.org.region_code)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def clean_fields(  # noqa: C901, PLR0912, PLR0915 — one check per field, all reported together
    org: Organization, data: dict[str, Any]
) -> dict[str, Any]:
    """Check the editable fields (the API's names; ``unit_value`` in integer
    fen) and return model values, or raise ValidationFailed naming each bad
    field at once."""
    fields: dict[str, str] = {}
    out: dict[str, Any] = {}

    kind = data.get("kind")
    if kind not in {k.value for k in OfferKind}:
        fields["kind"] = _("请选择供给类别：物资、服务或志愿服务。")
    else:
        out["kind"] = kind

    title = _text(data.get("title"))
    if not title or len(title) > 120:
        fields["title"] = _("请填写供给名称（不超过120字）。")
    out["title"] = title

    description = data.get("description")
    if description is not None and not isinstance(description, str):
        fields["description"] = _("供给说明必须是文本。")
    description = _text(description)
    if len(description) > 5000:
        fields["description"] = _("供给说明不超过5000字。")
    out["description"] = description

    types = data.get("need_types")
    cleaned: list[str] = []
    if not isinstance(types, list) or not types:
        fields["need_types"] = _("请选择可帮扶的需求类型（至少一种）。")
    else:
        for t in types:
            if not isinstance(t, str) or t not in NEED_TYPE_LABELS:
                fields["need_types"] = _("未知的需求类型：%(t)s", t=str(t)[:20])
                break
            if t not in cleaned:
                cleaned.append(t)
    out["need_types"] = cleaned

    prefix = _text(data.get("region_prefix"))
    if not prefix:
        fields["region_prefix"] = _("请填写服务地区的行政区划代码。")
    elif not (prefix.isdigit() and len(prefix) in (2, 4, 6, 9, 12)):
        fields["region_prefix"] = _(
            "服务地区应为省（2位）、市（4位）或区县（6位）行政区划代码，例如 110105。"
        )
    elif not _region_known(prefix):
        fields["region_prefix"] = _("未知的行政区划代码：%(c)s", c=prefix[:12])
    else:
        from charitylink.offers.matching import short_code

        prefix = short_code(prefix)
    out["region_prefix"] = prefix

    unit = _text(data.get("unit"))
    if unit not in OFFER_UNITS:
        fields["unit"] = _(
            "计量单位应为以下之一：%(units)s。", units="、".join(OFFER_UNITS)
        )
    out["unit"] = unit

    capacity = _int(data.get("capacity_per_month"))
    if capacity is None or not 1 <= capacity <= MAX_CAPACITY:
        fields["capacity_per_month"] = _(
            "每月可提供数量应为1到%(n)s之间的整数。", n=MAX_CAPACITY
        )
    out["capacity_per_month"] = capacity

    value = _int(data.get("unit_value"))
    if value is None or not 0 <= value <= MAX_UNIT_VALUE_FEN:
        fields["unit_value"] = _(
            "单位价值应为0到10万元之间的金额（以分计的整数），请如实估值。"
        )
    out["unit_value_fen"] = value

    for key, label in (("start_on", _("开始日期")), ("end_on", _("结束日期"))):
        try:
            out[key] = parse_day(data.get(key), label)
        except InvalidDate as exc:
            fields[key] = str(exc)
    if "start_on" not in fields and out.get("start_on") is None:
        out["start_on"] = today()
    start, end = out.get("start_on"), out.get("end_on")
    if start and end and end < start:
        fields["end_on"] = _("结束日期不能早于开始日期。")

    gather(fields, lambda: check_public_text(org, out))
    if fields:
        raise ValidationFailed(_("供给信息有误，请检查标出的字段。"), fields)
    return out


def _region_known(prefix: str) -> bool:
    if len(prefix) >= 6:
        return regions.exists(prefix)
    # A province or city: its own six-digit code (110000, 110100).
    return regions.exists(prefix.ljust(6, "0"))


def check_public_text(org: Organization, values: dict[str, Any]) -> None:
    """Title and description are public: no personal data, no household name."""
    public_text.check_offer(
        [
            ("title", _("供给名称"), values.get("title") or ""),
            ("description", _("供给说明"), values.get("description") or ""),
        ],
        org=org,
    )


def _audit(
    actor: User, action: str, offer: Offer, from_status: Any, to_status: Any
) -> None:
    audit.record(
        actor,
        action,
        offer,
        from_status,
        to_status,
        region_code=offer.org.region_code,
        org_id=offer.org_id,
    )


def create_offer(org: Organization, actor: User, data: dict[str, Any]) -> Offer:
    """A new open offer by the staff of a verified org."""
    require_org_can_act(actor, org.id)
    values = clean_fields(org, data)
    offer = Offer(
        org_id=org.id, status=OfferStatus.OPEN, created_by_id=actor.id, **values
    )
    db.session.add(offer)
    db.session.flush()
    db.session.refresh(offer)
    _audit(actor, "offer.create", offer, None, OfferStatus.OPEN)
    return offer


def current_values(offer: Offer) -> dict[str, Any]:
    """The editable fields as the API names them (for a partial edit)."""
    return {
        "kind": offer.kind,
        "title": offer.title,
        "description": offer.description,
        "need_types": list(offer.need_types or []),
        "region_prefix": offer.region_prefix,
        "unit": offer.unit,
        "capacity_per_month": offer.capacity_per_month,
        "unit_value": offer.unit_value_fen,
        "start_on": offer.start_on.isoformat() if offer.start_on else None,
        "end_on": offer.end_on.isoformat() if offer.end_on else None,
    }


def update_offer(offer: Offer, actor: User, data: dict[str, Any]) -> Offer:
    """Edit an open or paused offer; the fields left out keep their values.
    A capacity below what this month's matches already use is refused."""
    require_org_can_act(actor, offer.org_id)
    if offer.status == OfferStatus.CLOSED:
        raise InvalidTransition(_("供给已关闭，不能再修改。"))
    values = clean_fields(offer.org, {**current_values(offer), **data})
    from charitylink.offers.matching import used_units

    used = used_units(offer.id)
    if values["capacity_per_month"] < used:
        raise ValidationFailed(
            _("供给信息有误，请检查标出的字段。"),
            {
                "capacity_per_month": _(
                    "本月已对接%(n)s%(unit)s，每月可提供数量不能少于此数。",
                    n=used,
                    unit=offer.unit,
                )
            },
        )
    for key, value in values.items():
        setattr(offer, key, value)
    db.session.flush()
    _audit(actor, "offer.edit", offer, offer.status, offer.status)
    return offer


def _org_verified(offer: Offer) -> Any:
    return Offer.org_id.in_(
        select(Organization.id).where(
            Organization.id == offer.org_id,
            Organization.status == OrgStatus.VERIFIED,
        )
    )


def _move(
    offer: Offer,
    actor: User,
    action: str,
    allowed_from: tuple[OfferStatus, ...],
    to: OfferStatus,
    values: dict[str, Any] | None = None,
) -> Offer:
    require_org_can_act(actor, offer.org_id)
    if offer.status not in allowed_from:
        raise InvalidTransition(
            _(
                "供给当前状态为「%(status)s」，不能执行此操作。",
                status=_label(offer.status),
            )
        )
    previous = OfferStatus(offer.status)
    moved = move_if(
        offer,
        previous,
        {"status": to, "updated_at": utcnow(), **(values or {})},
        _org_verified(offer),
    )
    if not moved:
        raise InvalidTransition(_("供给状态刚刚发生了变化，请刷新页面后重试。"))
    _audit(actor, action, offer, previous, to)
    return offer


def pause_offer(offer: Offer, actor: User) -> Offer:
    """Stop new matches for a while; the matches already made go on."""
    return _move(offer, actor, "offer.pause", (OfferStatus.OPEN,), OfferStatus.PAUSED)


def reopen_offer(offer: Offer, actor: User) -> Offer:
    return _move(offer, actor, "offer.reopen", (OfferStatus.PAUSED,), OfferStatus.OPEN)


def close_offer(offer: Offer, actor: User) -> Offer:
    """For good: the offer leaves the public list; its matches stay as they are."""
    return _move(
        offer,
        actor,
        "offer.close",
        (OfferStatus.OPEN, OfferStatus.PAUSED),
        OfferStatus.CLOSED,
        {"closed_at": utcnow()},
    )
