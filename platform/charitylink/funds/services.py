"""Funds: creation, donations, purpose checks. Flush, never commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from charitylink.accounts.models import User
from charitylink.core import audit
from charitylink.core.i18n import _, list_separator
from charitylink.core.money import InvalidAmount, validate_fen
from charitylink.core.permissions import require_org_can_act
from charitylink.core.reasons import clean_reason
from charitylink.errors import FundPurpose, NotFound, ValidationFailed
from charitylink.extensions import db
from charitylink.funds import ledger
from charitylink.funds.models import Fund, FundKind, LedgerEntry, LedgerKind
from charitylink.needs.models import NEED_TYPE_LABELS, NeedType
from charitylink.orgs import public_text
from charitylink.orgs.models import Organization


def create_fund(  # noqa: C901 — one check per field and per kind of fund, all reported together
    org: Organization,
    actor: User,
    *,
    name: str,
    kind: str,
    donor_name: str | None = None,
    need_types: list[str] | None = None,
    region_prefix: str | None = None,
    description: str = "",
) -> Fund:
    """A named fund needs its naming donor; a special fund needs a purpose."""
    require_org_can_act(actor, org.id, admin=True)
    fields: dict[str, str] = {}
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name or len(name) > 100:
        fields["name"] = _("请填写基金名称（不超过100字）。")
    try:
        kind = FundKind(kind)
    except ValueError:
        fields["kind"] = _("基金类型必须是冠名基金（named）或专项基金（special）。")
        kind = None  # type: ignore[assignment]
    donor = (donor_name or "").strip() if isinstance(donor_name, str) else ""
    types: list[str] = []
    prefix = (region_prefix or "").strip() if isinstance(region_prefix, str) else ""
    if kind == FundKind.NAMED:
        if not donor or len(donor) > 100:
            fields["donor_name"] = _("冠名基金必须填写冠名方（不超过100字）。")
    elif kind == FundKind.SPECIAL:
        if not isinstance(need_types, list) or not need_types:
            fields["need_types"] = _("专项基金必须选择至少一种可资助的需求类型。")
        else:
            for t in need_types:
                if not isinstance(t, str) or t not in NEED_TYPE_LABELS:
                    fields["need_types"] = _("未知的需求类型：%(t)s", t=str(t)[:20])
                    break
                if t not in types:
                    types.append(t)
        if prefix and (not prefix.isdigit() or len(prefix) > 6 or len(prefix) % 2):
            fields["region_prefix"] = _(
                "地区范围应为行政区划代码前缀，例如 22 或 2201。"
            )
    if fields:
        raise ValidationFailed(_("基金信息有误，请检查标出的字段。"), fields)
    description = (description or "")[:2000] if isinstance(description, str) else ""
    public_text.check(
        [
            ("name", _("基金名称"), name),
            ("donor_name", _("冠名方"), donor if kind == FundKind.NAMED else ""),
            ("description", _("基金说明"), description),
        ],
        org=org,
    )
    fund = Fund(
        org_id=org.id,
        name=name,
        kind=kind,
        donor_name=donor if kind == FundKind.NAMED else None,
        purpose_need_types=types if kind == FundKind.SPECIAL else None,
        purpose_region_prefix=(prefix or None) if kind == FundKind.SPECIAL else None,
        description=description,
    )
    db.session.add(fund)
    db.session.flush()
    audit.record(
        actor,
        "fund.create",
        fund,
        None,
        "active",
        region_code=org.region_code,
        org_id=org.id,
    )
    return fund


def record_donation(
    fund: Fund,
    actor: User,
    *,
    amount_fen: Any,
    donor_name: str | None = None,
    reference: str | None = None,
) -> LedgerEntry:
    """A donation into the fund's ledger. ``donor_name`` None or empty = anonymous."""
    require_org_can_act(actor, fund.org_id, admin=True)
    try:
        amount = validate_fen(amount_fen)
    except InvalidAmount as exc:
        raise ValidationFailed(str(exc), {"amount": str(exc)}) from exc
    donor = donor_name.strip() if isinstance(donor_name, str) else ""
    ref = reference.strip() if isinstance(reference, str) else ""
    if len(donor) > 100:
        raise ValidationFailed(
            _("捐赠人名称不超过100字。"), {"donor_name": _("捐赠人名称不超过100字。")}
        )
    if len(ref) > 100:
        raise ValidationFailed(
            _("凭证号不超过100字。"), {"reference": _("凭证号不超过100字。")}
        )
    # The donor's name is shown on the public fund page.
    public_text.check([("donor_name", _("捐赠人"), donor)], org=fund.org)
    entry = ledger.add_donation(
        fund, amount, donor_name=donor or None, reference=ref or None, actor_id=actor.id
    )
    audit.record(
        actor,
        "fund.donation",
        fund,
        reason=f"+{amount}",
        region_code=fund.org.region_code,
        org_id=fund.org_id,
    )
    return entry


def purpose_refusal(fund: Fund, need_type: str, region_code: str) -> FundPurpose | None:
    """Rule 3 as a question: why ``fund`` may not pay for a need of this type in
    this region (None if it may). A special fund pays only for needs that fit
    its purpose; ``check_purpose`` raises the answer, the claim form asks it to
    offer only the funds that fit."""
    if fund.kind != FundKind.SPECIAL:
        return None
    if fund.purpose_need_types and need_type not in fund.purpose_need_types:
        allowed = list_separator().join(
            _(NEED_TYPE_LABELS.get(NeedType(t), t)) for t in fund.purpose_need_types
        )
        return FundPurpose(
            _(
                "专项基金「%(name)s」只能资助以下类型的需求：%(allowed)s。",
                name=fund.name,
                allowed=allowed,
            )
        )
    if fund.purpose_region_prefix and not region_code.startswith(
        fund.purpose_region_prefix
    ):
        return FundPurpose(
            _(
                "专项基金「%(name)s」只能资助指定地区（区划代码以 %(p)s 开头）的需求。",
                name=fund.name,
                p=fund.purpose_region_prefix,
            )
        )
    return None


def check_purpose(fund: Fund, need_type: str, region_code: str) -> None:
    """Rule 3: a special fund pays only for needs that fit its purpose."""
    refusal = purpose_refusal(fund, need_type, region_code)
    if refusal is not None:
        raise refusal


def figures(fund: Fund) -> dict[str, int]:
    """A fund's figures, from the cached columns (reconciled with the ledger)."""
    return {
        "donations_total": fund.donations_fen,
        "disbursed": fund.disbursed_fen,
        "reserved": fund.reserved_fen,
        "balance": fund.balance_fen,
        "available": fund.available_fen,
    }


def donations(fund: Fund, limit: int = 50) -> list[LedgerEntry]:
    return list(
        db.session.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.fund_id == fund.id, LedgerEntry.kind == LedgerKind.DONATION
            )
            .order_by(LedgerEntry.id.desc())
            .limit(limit)
        )
    )


def is_public(fund: Fund) -> bool:
    """Public fund pages and the public API show funds of verified orgs only."""
    return fund.org is not None and fund.org.is_verified


def org_funds(org_id: int) -> list[Fund]:
    return list(
        db.session.scalars(
            select(Fund).where(Fund.org_id == org_id).order_by(Fund.id)
        ).unique()
    )


def ledger_page(
    fund: Fund, page: int, per_page: int = 50
) -> tuple[list[LedgerEntry], int]:
    """One page of the fund's ledger (newest first) and the number of entries."""
    pagination = db.paginate(
        select(LedgerEntry)
        .where(LedgerEntry.fund_id == fund.id)
        .order_by(LedgerEntry.id.desc()),
        page=max(page, 1),
        per_page=per_page,
        error_out=False,
    )
    return list(pagination.items), pagination.total or 0


def reverse_donation(
    fund: Fund, actor: User, entry_id: Any, reason: Any
) -> LedgerEntry:
    """An org admin takes back a donation recorded by mistake (a wrong amount,
    the wrong fund, a bounced transfer). Refused with ``insufficient_funds``
    when the money is already reserved or paid out, and with
    ``invalid_transition`` for an entry already reversed; the reason is
    required and shown on the public fund page."""
    require_org_can_act(actor, fund.org_id, admin=True)
    entry = (
        db.session.get(LedgerEntry, entry_id)
        if isinstance(entry_id, int) and not isinstance(entry_id, bool)
        else None
    )
    if entry is None or entry.fund_id != fund.id or entry.kind != LedgerKind.DONATION:
        raise NotFound(_("该基金没有这笔捐赠记录。"))
    reason = clean_reason(reason, required=True)
    # Shown on the public fund page beside the reversal.
    public_text.check([("reason", _("冲正原因"), reason)], org=fund.org)
    reversal = ledger.reverse_donation(fund, entry, actor.id, reason)
    audit.record(
        actor,
        "fund.donation_reverse",
        fund,
        reason=f"-{entry.amount_fen}（#{entry.id}）：{reason}",
        region_code=fund.org.region_code,
        org_id=fund.org_id,
    )
    return reversal


def reversals(fund: Fund, limit: int = 50) -> list[tuple[LedgerEntry, str]]:
    """The fund's corrections, newest first, each with the kind of entry it
    corrected (a donation, or a payment a dispute reversed)."""
    corrected = aliased(LedgerEntry)
    rows = db.session.execute(
        select(LedgerEntry, corrected.kind)
        .join(corrected, corrected.id == LedgerEntry.reverses)
        .where(LedgerEntry.fund_id == fund.id, LedgerEntry.kind == LedgerKind.REVERSAL)
        .order_by(LedgerEntry.id.desc())
        .limit(limit)
    ).all()
    return [(entry, str(kind)) for entry, kind in rows]


def reversed_donation_ids(fund: Fund) -> set[int]:
    return set(
        db.session.scalars(
            select(LedgerEntry.reverses).where(
                LedgerEntry.fund_id == fund.id,
                LedgerEntry.kind == LedgerKind.REVERSAL,
                LedgerEntry.reverses.is_not(None),
            )
        )
    )


def reversed_disbursements(org_id: int) -> dict[str, int]:
    """How many payments of the org's funds a dispute reversed (wholly or in
    part), and how much: what a donor wants to see on the org's page."""
    corrected = aliased(LedgerEntry)
    count, total = db.session.execute(
        select(
            func.count(LedgerEntry.id),
            func.coalesce(func.sum(LedgerEntry.amount_fen), 0),
        )
        .join(corrected, corrected.id == LedgerEntry.reverses)
        .join(Fund, Fund.id == LedgerEntry.fund_id)
        .where(
            Fund.org_id == org_id,
            LedgerEntry.kind == LedgerKind.REVERSAL,
            corrected.kind == LedgerKind.DISBURSE,
        )
    ).one()
    return {"count": int(count), "amount_fen": int(total)}
