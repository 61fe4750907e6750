"""What each role may export, as (header, rows) sheets (docs/integration.md).

Moderators export their region: needs with both halves (decrypted; audited as
``export.needs_private``), claims, deliveries and the ledger entries of claims on
those needs. Org admins export their own claims and their funds' ledger, with
the anonymised half of needs only: never a name, ID number, phone, address,
township, notes or household key. Flush, never commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import has_request_context, request
from sqlalchemy import Select, insert, select

from charitylink.accounts.models import User
from charitylink.claims.models import (
    CLAIM_STATUS_LABELS,
    DELIVERY_METHOD_LABELS,
    Claim,
    ClaimStatus,
)
from charitylink.core import audit
from charitylink.core.i18n import _
from charitylink.core.permissions import (
    in_scope,
    require_moderator,
    require_org_admin,
)
from charitylink.core.timeutil import utcnow
from charitylink.extensions import db
from charitylink.funds.models import LEDGER_KIND_LABELS, Fund, LedgerEntry
from charitylink.needs import privacy
from charitylink.needs.models import (
    ASSISTANCE_LABELS,
    CATEGORY_LABELS,
    NEED_STATUS_LABELS,
    NEED_TYPE_LABELS,
    URGENCY_LABELS,
    Need,
)
from charitylink.regions import services as regions

_CENT = Decimal("0.01")


@dataclass
class Sheet:
    key: str
    title: str
    header: list[str]
    rows: Iterator[list[Any]]
    # How many rows (known up front for the needs with private data).
    count: int = 0


def yuan(fen: int | None) -> Decimal | None:
    return None if fen is None else (Decimal(fen) / 100).quantize(_CENT)


def _label(labels: dict[Any, str], value: Any) -> str:
    return labels.get(value, value or "")


def _in_region(query: Select, moderator: User) -> Select:
    return query.where(in_scope(moderator, Need.region_code))


def _assistance_text(items: list[dict] | None) -> str:
    # Keyed by the enum; the stored JSON holds its string values (equal to them).
    labels: dict[Any, str] = ASSISTANCE_LABELS
    return "；".join(
        f"{labels.get(a.get('type'), a.get('type'))}:"
        f"{yuan(a.get('monthly_amount') or 0)}"
        for a in items or []
    )


NEED_PUBLIC_HEADER = [
    "需求编号",
    "外部编号",
    "状态",
    "标题",
    "描述",
    "家庭类别",
    "需求类型",
    "区县代码",
    "区县",
    "年龄段",
    "家庭人口",
    "已享受救助",
    "需求金额(元)",
    "已认领(元)",
    "已交付(元)",
    "紧急程度",
    "截止日期",
    "发布时间",
]
NEED_PRIVATE_HEADER = [
    "姓名",
    "身份证号",
    "电话",
    "地址",
    "乡镇街道代码",
    "备注",
    "同意向认领机构提供联系方式",
]


def _need_public_cells(need: Need) -> list[Any]:
    return [
        need.code,
        need.external_id,
        _label(NEED_STATUS_LABELS, need.status),
        need.title,
        need.description,
        _label(CATEGORY_LABELS, need.category),
        _label(NEED_TYPE_LABELS, need.need_type),
        need.region_code,
        regions.full_name(need.region_code),
        need.age_band,
        need.household_size,
        _assistance_text(need.gov_assistance),
        yuan(need.amount_fen),
        yuan(need.claimed_fen),
        yuan(need.delivered_fen),
        _label(URGENCY_LABELS, need.urgency),
        need.deadline_on,
        need.published_at,
    ]


def moderator_needs(moderator: User, reason: str) -> Sheet:
    """Needs of the moderator's region with the decrypted private half, for
    the stated ``reason``: audited once with the reason, and once per need
    (``need.private_export``) so each household's "who saw what" lists the
    export. Only through privacy/exports.py, which delivers the file once."""
    from charitylink.privacy import access
    from charitylink.privacy.consents import contact_consent_active

    require_moderator(moderator)
    needs = list(
        db.session.scalars(_in_region(select(Need), moderator).order_by(Need.id))
    )
    audit.record(
        moderator,
        "export.needs_private",
        None,
        reason=f"导出本辖区需求 {len(needs)} 条（含隐私信息）。原因：{reason}"[:1000],
        region_code=getattr(moderator, "region_prefix", None),
    )
    now = utcnow()
    ip = request.remote_addr if has_request_context() else None
    rows_audit = [
        {
            "actor_id": moderator.id,
            "actor_label": moderator.email,
            "action": "need.private_export",
            "object_type": "need",
            "object_id": need.code,
            "reason": reason[:500],
            "region_code": need.region_code,
            "ip": ip,
            "created_at": now,
        }
        for need in needs
    ]
    if rows_audit:
        db.session.execute(insert(audit.AuditEvent), rows_audit)
    db.session.flush()
    access.note_private_view(moderator)
    consenting = {need.id for need in needs if contact_consent_active(need)}

    def rows() -> Iterator[list[Any]]:
        for need in needs:
            hh = privacy.decrypt_household(need)
            yield _need_public_cells(need) + [
                hh.get("name", ""),
                hh.get("id_number", ""),
                hh.get("phone", ""),
                hh.get("address", ""),
                hh.get("region_code", ""),
                hh.get("notes", ""),
                "是" if need.id in consenting else "否",
            ]

    return Sheet(
        "needs",
        _("需求"),
        NEED_PUBLIC_HEADER + NEED_PRIVATE_HEADER,
        rows(),
        count=len(needs),
    )


CLAIM_HEADER = [
    "认领编号",
    "需求编号",
    "机构",
    "基金",
    "项目编号",
    "认领金额(元)",
    "状态",
    "认领时间",
    "应交付日期",
    "交付金额(元)",
    "交付日期",
    "交付方式",
    "交付说明",
    "回访确认时间",
]


def _claim_cells(claim: Claim) -> list[Any]:
    return [
        claim.id,
        claim.need.code,
        claim.org.name if claim.org else "",
        claim.fund.name if claim.fund else "",
        claim.project_id,
        yuan(claim.amount_fen),
        _label(CLAIM_STATUS_LABELS, claim.status),
        claim.created_at,
        claim.due_on,
        yuan(claim.delivered_fen),
        claim.delivered_on,
        _label(DELIVERY_METHOD_LABELS, claim.method),
        claim.note,
        claim.confirmed_at,
    ]


def _region_claims(moderator: User, delivered_only: bool) -> list[Claim]:
    query = _in_region(select(Claim).join(Need, Need.id == Claim.need_id), moderator)
    if delivered_only:
        query = query.where(
            Claim.status.in_((ClaimStatus.DELIVERED, ClaimStatus.CONFIRMED))
        )
    return list(db.session.scalars(query.order_by(Claim.id)).unique())


def moderator_claims(moderator: User) -> Sheet:
    require_moderator(moderator)
    claims = _region_claims(moderator, delivered_only=False)
    return Sheet("claims", _("认领"), CLAIM_HEADER, (_claim_cells(c) for c in claims))


def moderator_deliveries(moderator: User) -> Sheet:
    require_moderator(moderator)
    claims = _region_claims(moderator, delivered_only=True)
    return Sheet(
        "deliveries", _("交付"), CLAIM_HEADER, (_claim_cells(c) for c in claims)
    )


LEDGER_HEADER = [
    "流水编号",
    "机构",
    "基金",
    "类型",
    "金额(元)",
    "认领编号",
    "需求编号",
    "捐赠人",
    "参考号",
    "备注",
    "时间",
]


def _ledger_rows(query: Select) -> Iterator[list[Any]]:
    for entry, fund, need_code in db.session.execute(query):
        yield [
            entry.id,
            fund.org.name if fund.org else "",
            fund.name,
            _label(LEDGER_KIND_LABELS, entry.kind),
            yuan(entry.amount_fen),
            entry.claim_id,
            need_code,
            entry.donor_name,
            entry.reference,
            entry.note,
            entry.created_at,
        ]


def _ledger_query() -> Select:
    return (
        select(LedgerEntry, Fund, Need.code)
        .join(Fund, Fund.id == LedgerEntry.fund_id)
        .outerjoin(Claim, Claim.id == LedgerEntry.claim_id)
        .outerjoin(Need, Need.id == Claim.need_id)
        .order_by(LedgerEntry.id)
    )


def moderator_ledger(moderator: User) -> Sheet:
    """Ledger entries of claims on needs of the region (reserve/release/disburse)."""
    require_moderator(moderator)
    query = _in_region(
        _ledger_query().where(LedgerEntry.claim_id.is_not(None)), moderator
    )
    return Sheet("ledger", _("资金流水"), LEDGER_HEADER, _ledger_rows(query))


ORG_CLAIM_HEADER = [
    "认领编号",
    "需求编号",
    "需求标题",
    "家庭类别",
    "需求类型",
    "公开区划",
    "年龄段",
    "家庭人口",
    "需求金额(元)",
    "基金",
    "项目编号",
    "认领金额(元)",
    "状态",
    "认领时间",
    "应交付日期",
    "交付金额(元)",
    "交付日期",
    "交付方式",
    "交付说明",
]


def org_claims(user: User) -> Sheet:
    """The org's claims with the anonymised half of each need only."""
    require_org_admin(user, user.org_id)
    claims = db.session.scalars(
        select(Claim).where(Claim.org_id == user.org_id).order_by(Claim.id)
    ).unique()

    def rows() -> Iterator[list[Any]]:
        for c in claims:
            need = c.need
            yield [
                c.id,
                need.code,
                need.title,
                _label(CATEGORY_LABELS, need.category),
                _label(NEED_TYPE_LABELS, need.need_type),
                regions.full_name(need.public_region_code),
                need.age_band,
                need.household_size,
                yuan(need.amount_fen),
                c.fund.name if c.fund else "",
                c.project_id,
                yuan(c.amount_fen),
                _label(CLAIM_STATUS_LABELS, c.status),
                c.created_at,
                c.due_on,
                yuan(c.delivered_fen),
                c.delivered_on,
                _label(DELIVERY_METHOD_LABELS, c.method),
                c.note,
            ]

    return Sheet("claims", _("认领"), ORG_CLAIM_HEADER, rows())


def org_ledger(user: User) -> Sheet:
    require_org_admin(user, user.org_id)
    query = _ledger_query().where(Fund.org_id == user.org_id)
    return Sheet("ledger", _("资金流水"), LEDGER_HEADER, _ledger_rows(query))


# The needs with their private half are not among these: they need a reason
# and go out through a one-time link (privacy/exports.py).
PRIVATE_SHEETS = {"needs": moderator_needs}
MODERATOR_SHEETS = {
    "claims": moderator_claims,
    "deliveries": moderator_deliveries,
    "ledger": moderator_ledger,
}
ORG_SHEETS = {"claims": org_claims, "ledger": org_ledger}
