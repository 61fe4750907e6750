"""Integrity signals: patterns in the claims that a moderator should look at.

Each signal names its evidence — the claims (by need code), the households (by
a short code of the household key, never a name or an ID number), the orgs and
the dates — computed for the moderator's region. A signal is a question for a
person, not a verdict: a moderator can dismiss one with a reason (audited), and
it stays dismissed while its evidence is a subset of what they saw; a new claim
in the evidence brings it back.

The lines (docs/integrity.md) are in the app config (``INTEGRITY_*``).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, case, func, or_, select

from charitylink.accounts.models import User
from charitylink.claims.models import Claim, ClaimStatus
from charitylink.core import audit
from charitylink.core.i18n import N_, _
from charitylink.core.permissions import in_scope, require_moderator, scope_prefix
from charitylink.core.reasons import clean_reason
from charitylink.core.timeutil import utcnow
from charitylink.errors import Conflict, NotFound, ValidationFailed
from charitylink.extensions import db
from charitylink.integrity.models import SignalDismissal
from charitylink.integrity.throttle import ABANDONED
from charitylink.needs.models import NEED_TYPE_LABELS, Need, NeedType
from charitylink.orgs.models import Organization
from charitylink.regions.models import Region

KINDS = (
    "claim_abandon",
    "double_dipping",
    "evidence_reuse",
    "fast_delivery",
    "concentration",
)
KIND_LABELS = {
    "claim_abandon": N_("认领后大量取消或过期"),
    "double_dipping": N_("同一家庭重复受助"),
    "evidence_reuse": N_("交付凭证重复使用"),
    "fast_delivery": N_("认领后一小时内即报交付"),
    "concentration": N_("认领过度集中于一家机构"),
}
HELPED = (ClaimStatus.DELIVERED, ClaimStatus.CONFIRMED)
HOUSEHOLD_CODE_LEN = 8


def household_code(household_key: str | None) -> str:
    """A short code of the household key (itself a keyed hash of the ID
    number): enough to see two claims concern one household, nothing more."""
    return (household_key or "")[:HOUSEHOLD_CODE_LEN] or "-"


@dataclass
class EvidenceClaim:
    claim_id: int
    need_code: str
    need_type: str
    region_code: str
    org_id: int
    org_name: str
    status: str
    household: str
    created_at: datetime
    delivered_at: datetime | None
    evidence_hash: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "claim_id": self.claim_id,
            "need_code": self.need_code,
            "need_type": self.need_type,
            "region_code": self.region_code,
            "org_id": self.org_id,
            "org_name": self.org_name,
            "status": self.status,
            "household": self.household,
            "claimed_at": self.created_at.isoformat(timespec="seconds"),
            "delivered_at": (
                self.delivered_at.isoformat(timespec="seconds")
                if self.delivered_at
                else None
            ),
        }


@dataclass
class Signal:
    kind: str
    subject: str
    summary: str
    claims: list[EvidenceClaim]
    figures: dict[str, Any] = field(default_factory=dict)
    org_id: int | None = None
    region_code: str | None = None
    dismissal: SignalDismissal | None = None

    @property
    def id(self) -> str:
        return f"{self.kind}.{self.subject}"

    @property
    def kind_label(self) -> str:
        return _(KIND_LABELS[self.kind])

    @property
    def items(self) -> list[str]:
        return sorted({f"claim:{c.claim_id}" for c in self.claims})

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256("\n".join(self.items).encode()).hexdigest()

    @property
    def households(self) -> list[str]:
        return sorted({c.household for c in self.claims})

    @property
    def first_at(self) -> datetime | None:
        return min((c.created_at for c in self.claims), default=None)

    @property
    def last_at(self) -> datetime | None:
        return max((c.created_at for c in self.claims), default=None)


def _cfg(key: str, default: float) -> float:
    return float(current_app.config.get(key, default))


def _days_ago(days: float) -> datetime:
    # Stored datetimes are naive UTC; compare like with like.
    return (utcnow() - timedelta(days=days)).replace(tzinfo=None)


def _rows() -> Any:  # a Select of the evidence columns
    return (
        select(
            Claim.id,
            Need.code,
            Need.need_type,
            Need.region_code,
            Claim.org_id,
            Organization.name,
            Claim.status,
            Need.household_key,
            Claim.created_at,
            Claim.delivered_at,
            Claim.evidence_sha256,
            Need.id,
        )
        .join(Need, Claim.need_id == Need.id)
        .join(Organization, Claim.org_id == Organization.id)
        .order_by(Claim.created_at, Claim.id)
    )


def _load(query: Select[Any]) -> list[tuple[EvidenceClaim, int]]:
    out = []
    for row in db.session.execute(query):
        (cid, code, ntype, region, org_id, org_name, status, hh, at, dat, sha, nid) = (
            row
        )
        out.append(
            (
                EvidenceClaim(
                    cid,
                    code,
                    str(ntype),
                    region,
                    org_id,
                    org_name,
                    str(status),
                    household_code(hh),
                    _naive(at),
                    _naive(dat) if dat else None,
                    sha,
                ),
                nid,
            )
        )
    return out


def _naive(value: datetime) -> datetime:
    return value.replace(tzinfo=None) if value.tzinfo else value


def _type_label(need_type: str) -> str:
    try:
        return _(NEED_TYPE_LABELS[NeedType(need_type)])
    except ValueError:
        return need_type


# ----------------------------------------------------------------------------
# The five signals
# ----------------------------------------------------------------------------


def claim_abandon(user: User) -> list[Signal]:
    """An org whose cancelled + expired claims of the last N days are at least
    the share of its claims, and at least the minimum. Over all its claims (the
    throttle reads the same line); shown where the org is registered or has a
    claim in the window."""
    days = _cfg("INTEGRITY_ABANDON_DAYS", 90)
    minimum = int(_cfg("INTEGRITY_ABANDON_MIN", 5))
    share = _cfg("INTEGRITY_ABANDON_SHARE", 0.5)
    since = _days_ago(days)
    abandoned = func.sum(case((Claim.status.in_(ABANDONED), 1), else_=0))
    candidates = db.session.execute(
        select(Claim.org_id, func.count(Claim.id), abandoned)
        .where(Claim.created_at >= since)
        .group_by(Claim.org_id)
        .having(abandoned >= minimum)
    ).all()
    over = {
        org_id: (int(total), int(gave_up))
        for org_id, total, gave_up in candidates
        if gave_up >= share * total
    }
    if not over:
        return []
    seen = set(
        db.session.scalars(
            select(Organization.id).where(
                Organization.id.in_(over),
                or_(
                    in_scope(user, Organization.region_code),
                    Organization.id.in_(
                        select(Claim.org_id)
                        .join(Need, Claim.need_id == Need.id)
                        .where(
                            Claim.created_at >= since,
                            in_scope(user, Need.region_code),
                        )
                    ),
                ),
            )
        )
    )
    rows = _load(
        _rows().where(
            Claim.org_id.in_(seen),
            Claim.created_at >= since,
            Claim.status.in_(ABANDONED),
        )
    )
    by_org: dict[int, list[EvidenceClaim]] = defaultdict(list)
    for claim, _nid in rows:
        by_org[claim.org_id].append(claim)
    signals = []
    for org_id in sorted(seen):
        total, gave_up = over[org_id]
        claims = by_org.get(org_id, [])
        name = claims[0].org_name if claims else str(org_id)
        signals.append(
            Signal(
                "claim_abandon",
                f"org-{org_id}",
                _(
                    "「%(org)s」近 %(d)s 天认领 %(n)s 笔，其中 %(a)s 笔被取消或过期。",
                    org=name,
                    d=int(days),
                    n=total,
                    a=gave_up,
                ),
                claims,
                {"claims": total, "abandoned": gave_up, "days": int(days)},
                org_id=org_id,
            )
        )
    return signals


def double_dipping(user: User) -> list[Signal]:
    """One household (by its household key) helped for the same need type by
    two or more orgs, on two or more needs, with deliveries in the last N days.
    Two orgs sharing one need (each pledging part of it) is co-funding, not
    this."""
    days = _cfg("INTEGRITY_DOUBLE_DIP_DAYS", 180)
    since = _days_ago(days)
    rows = _load(
        _rows().where(
            Claim.status.in_(HELPED),
            Claim.delivered_at >= since,
            in_scope(user, Need.region_code),
        )
    )
    groups: dict[tuple[str, str], list[tuple[EvidenceClaim, int]]] = defaultdict(list)
    for claim, need_id in rows:
        if claim.household != "-":
            groups[(claim.household, claim.need_type)].append((claim, need_id))
    signals = []
    for (household, need_type), members in sorted(groups.items()):
        orgs = {c.org_id for c, _n in members}
        needs = {n for _c, n in members}
        if len(orgs) < 2 or len(needs) < 2:
            continue
        claims = [c for c, _n in members]
        signals.append(
            Signal(
                "double_dipping",
                f"hh-{household}-{need_type}",
                _(
                    "家庭 %(h)s 近 %(d)s 天在「%(t)s」方面由 %(o)s 家机构"
                    "通过 %(n)s 条需求受助。",
                    h=household,
                    d=int(days),
                    t=_type_label(need_type),
                    o=len(orgs),
                    n=len(needs),
                ),
                claims,
                {"orgs": len(orgs), "needs": len(needs), "days": int(days)},
                region_code=claims[0].region_code,
            )
        )
    return signals


def evidence_reuse(user: User) -> list[Signal]:
    """The same evidence file (by content hash) on two or more claims, where
    one of them lies in the moderator's region."""
    hashes = (
        select(Claim.evidence_sha256)
        .where(Claim.evidence_sha256.is_not(None))
        .group_by(Claim.evidence_sha256)
        .having(func.count(Claim.id) >= 2)
    )
    rows = _load(_rows().where(Claim.evidence_sha256.in_(hashes)))
    groups: dict[str, list[EvidenceClaim]] = defaultdict(list)
    for claim, _nid in rows:
        groups[claim.evidence_hash or ""].append(claim)
    prefix = scope_prefix(user)
    signals = []
    for sha, claims in sorted(groups.items()):
        if prefix is not None and not any(
            c.region_code.startswith(prefix) for c in claims
        ):
            continue
        signals.append(
            Signal(
                "evidence_reuse",
                f"file-{sha[:16]}",
                _(
                    "同一个凭证文件（内容摘要 %(h)s）出现在 %(n)s 笔认领的交付中。",
                    h=sha[:12],
                    n=len(claims),
                ),
                claims,
                {"claims": len(claims), "file_hash": sha[:16]},
                org_id=claims[0].org_id
                if len({c.org_id for c in claims}) == 1
                else None,
            )
        )
    return signals


def fast_delivery(user: User) -> list[Signal]:
    """Deliveries reported within the configured minutes of the claim, per org,
    over claims made in the last N days in the moderator's region."""
    minutes = _cfg("INTEGRITY_FAST_DELIVERY_MINUTES", 60)
    since = _days_ago(_cfg("INTEGRITY_FAST_DELIVERY_DAYS", 90))
    rows = _load(
        _rows().where(
            Claim.delivered_at.is_not(None),
            Claim.created_at >= since,
            in_scope(user, Need.region_code),
        )
    )
    limit = timedelta(minutes=minutes)
    by_org: dict[int, list[EvidenceClaim]] = defaultdict(list)
    for claim, _nid in rows:
        if claim.delivered_at is not None and (
            claim.delivered_at - claim.created_at <= limit
        ):
            by_org[claim.org_id].append(claim)
    return [
        Signal(
            "fast_delivery",
            f"org-{org_id}",
            _(
                "「%(org)s」有 %(n)s 笔认领在认领后 %(m)s 分钟内即报告交付。",
                org=claims[0].org_name,
                n=len(claims),
                m=int(minutes),
            ),
            claims,
            {"claims": len(claims), "minutes": int(minutes)},
            org_id=org_id,
        )
        for org_id, claims in sorted(by_org.items())
    ]


def concentration(user: User) -> list[Signal]:
    """One org holding at least the share of a county's claims made in the last
    N days (counties with at least the minimum number of claims)."""
    days = _cfg("INTEGRITY_CONCENTRATION_DAYS", 90)
    share = _cfg("INTEGRITY_CONCENTRATION_SHARE", 0.6)
    minimum = int(_cfg("INTEGRITY_CONCENTRATION_MIN_CLAIMS", 5))
    rows = _load(
        _rows().where(
            Claim.created_at >= _days_ago(days), in_scope(user, Need.region_code)
        )
    )
    counties: dict[str, list[EvidenceClaim]] = defaultdict(list)
    for claim, _nid in rows:
        counties[claim.region_code[:6]].append(claim)
    signals = []
    for county, claims in sorted(counties.items()):
        if len(claims) < minimum:
            continue
        by_org: dict[int, list[EvidenceClaim]] = defaultdict(list)
        for claim in claims:
            by_org[claim.org_id].append(claim)
        for org_id, held in sorted(by_org.items()):
            if len(held) < share * len(claims):
                continue
            region = db.session.get(Region, county)
            signals.append(
                Signal(
                    "concentration",
                    f"{county}-org-{org_id}",
                    _(
                        "「%(org)s」持有%(c)s近 %(d)s 天 %(n)s 笔认领中的 %(h)s 笔"
                        "（%(p)s%%）。",
                        org=held[0].org_name,
                        c=region.name if region else county,
                        d=int(days),
                        n=len(claims),
                        h=len(held),
                        p=round(100 * len(held) / len(claims)),
                    ),
                    held,
                    {
                        "county": county,
                        "county_claims": len(claims),
                        "org_claims": len(held),
                        "days": int(days),
                    },
                    org_id=org_id,
                    region_code=county,
                )
            )
    return signals


_COMPUTE = {
    "claim_abandon": claim_abandon,
    "double_dipping": double_dipping,
    "evidence_reuse": evidence_reuse,
    "fast_delivery": fast_delivery,
    "concentration": concentration,
}


# ----------------------------------------------------------------------------
# Listing and dismissal
# ----------------------------------------------------------------------------


def _latest_dismissals(signals: Iterable[Signal]) -> dict[tuple[str, str], Any]:
    wanted = {(s.kind, s.subject) for s in signals}
    if not wanted:
        return {}
    latest: dict[tuple[str, str], SignalDismissal] = {}
    query = (
        select(SignalDismissal)
        .where(SignalDismissal.subject.in_({subject for _k, subject in wanted}))
        .order_by(SignalDismissal.id)
    )
    for row in db.session.scalars(query):
        if (row.kind, row.subject) in wanted:
            latest[(row.kind, row.subject)] = row
    return latest


def compute(
    user: User, kinds: Iterable[str] = KINDS, *, include_dismissed: bool = False
) -> list[Signal]:
    """The signals in the user's region (moderators and admins), newest
    evidence first; dismissed ones only with ``include_dismissed`` (each then
    carries its ``dismissal``)."""
    require_moderator(user)
    signals = [s for kind in kinds for s in _COMPUTE[kind](user)]
    dismissals = _latest_dismissals(signals)
    out = []
    for signal in signals:
        dismissal = dismissals.get((signal.kind, signal.subject))
        if dismissal is not None and set(signal.items) <= set(dismissal.evidence):
            signal.dismissal = dismissal
            if not include_dismissed:
                continue
        out.append(signal)
    out.sort(key=lambda s: s.last_at or datetime.min, reverse=True)
    return out


def find(user: User, signal_id: str) -> Signal:
    kind = signal_id.split(".", 1)[0]
    if kind not in _COMPUTE:
        raise NotFound(_("没有这条诚信提示（或它不在您负责的区划内）。"))
    for signal in compute(user, (kind,), include_dismissed=True):
        if signal.id == signal_id:
            return signal
    raise NotFound(_("没有这条诚信提示（或它不在您负责的区划内）。"))


def dismiss(
    user: User, signal_id: str, reason: Any, fingerprint: Any = None
) -> SignalDismissal:
    """Dismiss a signal with a reason (audited). ``fingerprint``, when given,
    must be the evidence the moderator looked at: if the evidence changed since,
    the dismissal is refused (409 conflict) so nobody dismisses what they did
    not see."""
    require_moderator(user)
    fields: dict[str, str] = {}
    if fingerprint is not None and not isinstance(fingerprint, str):
        fields["fingerprint"] = _("证据摘要必须是文本。")
    text = ""
    try:
        text = clean_reason(reason, required=True)
    except ValidationFailed as exc:
        fields.update(exc.fields)
    if fields:
        raise ValidationFailed(_("请检查标出的字段。"), fields)
    signal = find(user, signal_id)
    if fingerprint not in (None, "") and fingerprint != signal.fingerprint:
        raise Conflict(_("这条提示的证据已有变化，请刷新页面查看后再判断。"))
    dismissal = SignalDismissal(
        kind=signal.kind,
        subject=signal.subject,
        fingerprint=signal.fingerprint,
        evidence=signal.items,
        reason=text,
        region_code=signal.region_code or scope_prefix(user),
        org_id=signal.org_id,
        dismissed_by_id=user.id,
    )
    db.session.add(dismissal)
    db.session.flush()
    audit.record(
        user,
        "integrity.dismiss",
        dismissal,
        reason=f"{signal.id}：{text}",
    )
    return dismissal
