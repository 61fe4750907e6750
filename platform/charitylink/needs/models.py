from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from charitylink.core.i18n import N_, _
from charitylink.core.timeutil import utcnow
from charitylink.extensions import Model


class NeedStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    REJECTED = "rejected"
    PUBLISHED = "published"
    FULLY_CLAIMED = "fully_claimed"
    DELIVERED = "delivered"
    CONFIRMED = "confirmed"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


NEED_STATUS_LABELS = {
    NeedStatus.DRAFT: N_("草稿"),
    NeedStatus.SUBMITTED: N_("待审核"),
    NeedStatus.REJECTED: N_("已驳回"),
    NeedStatus.PUBLISHED: N_("待认领"),
    NeedStatus.FULLY_CLAIMED: N_("已全额认领"),
    NeedStatus.DELIVERED: N_("已交付"),
    NeedStatus.CONFIRMED: N_("已回访确认"),
    NeedStatus.WITHDRAWN: N_("已撤回"),
    NeedStatus.EXPIRED: N_("已过期"),
}

# Statuses the public sees (the needs library, the API, search).
PUBLIC_STATUSES = (
    NeedStatus.PUBLISHED,
    NeedStatus.FULLY_CLAIMED,
    NeedStatus.DELIVERED,
    NeedStatus.CONFIRMED,
)
# The same as SQL with literal values: a partial index is used only when the query
# repeats its condition word for word (bound parameters would not match).
# The public library's sort keys and filter columns (the two list indexes below).
PUBLIC_LIST_COLUMNS = (
    "published_at",
    "public_region_code",
    "need_type",
    "category",
    "urgency",
    "amount_fen",
    "deadline_on",
)
PUBLIC_CONDITION = text(
    "status IN (" + ", ".join(f"'{s.value}'" for s in PUBLIC_STATUSES) + ")"
)


class Category(enum.StrEnum):
    DIBAO = "dibao"
    TEKUN = "tekun"
    DIBAO_EDGE = "dibao_edge"
    RELAPSE_WATCH = "relapse_watch"
    RIGID_EXPENSE = "rigid_expense"
    OTHER = "other"


CATEGORY_LABELS = {
    Category.DIBAO: N_("最低生活保障对象"),
    Category.TEKUN: N_("特困人员"),
    Category.DIBAO_EDGE: N_("低保边缘家庭成员"),
    Category.RELAPSE_WATCH: N_("防止返贫监测对象"),
    Category.RIGID_EXPENSE: N_("刚性支出困难家庭成员"),
    Category.OTHER: N_("其他困难人员"),
}


class NeedType(enum.StrEnum):
    MEDICAL = "medical"
    EDUCATION = "education"
    HOUSING = "housing"
    LIVING = "living"
    EMPLOYMENT = "employment"
    ELDERLY_CARE = "elderly_care"
    DISABILITY = "disability"
    CHILD = "child"
    EMERGENCY = "emergency"
    OTHER = "other"


NEED_TYPE_LABELS = {
    NeedType.MEDICAL: N_("医疗"),
    NeedType.EDUCATION: N_("教育"),
    NeedType.HOUSING: N_("住房"),
    NeedType.LIVING: N_("基本生活"),
    NeedType.EMPLOYMENT: N_("就业"),
    NeedType.ELDERLY_CARE: N_("养老服务"),
    NeedType.DISABILITY: N_("残疾康复"),
    NeedType.CHILD: N_("困境儿童"),
    NeedType.EMERGENCY: N_("临时急难"),
    NeedType.OTHER: N_("其他"),
}


class AssistanceType(enum.StrEnum):
    DIBAO = "dibao"
    TEKUN = "tekun"
    TEMPORARY = "temporary"
    MEDICAL = "medical"
    EDUCATION = "education"
    HOUSING = "housing"
    EMPLOYMENT = "employment"
    DISABILITY_SUBSIDY = "disability_subsidy"
    OTHER = "other"


ASSISTANCE_LABELS = {
    AssistanceType.DIBAO: N_("最低生活保障金"),
    AssistanceType.TEKUN: N_("特困供养金"),
    AssistanceType.TEMPORARY: N_("临时救助"),
    AssistanceType.MEDICAL: N_("医疗救助"),
    AssistanceType.EDUCATION: N_("教育救助"),
    AssistanceType.HOUSING: N_("住房救助"),
    AssistanceType.EMPLOYMENT: N_("就业救助"),
    AssistanceType.DISABILITY_SUBSIDY: N_("残疾人两项补贴"),
    AssistanceType.OTHER: N_("其他"),
}


class Urgency(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


URGENCY_LABELS = {
    Urgency.LOW: N_("一般"),
    Urgency.NORMAL: N_("较急"),
    Urgency.HIGH: N_("紧急"),
    Urgency.CRITICAL: N_("特急"),
}


# A moderator's actions on a need: the statuses each may start from and the
# status it leads to. The services check and move by this table (a guarded
# UPDATE from exactly these statuses), and the review page offers an action only
# where it allows (``Need.can``). Claims, delivery, confirmation and expiry move
# a need too; their rules live with the claims (claims/services.py).
NEED_ACTIONS: dict[str, tuple[tuple[NeedStatus, ...], NeedStatus]] = {
    "update": ((NeedStatus.DRAFT, NeedStatus.REJECTED), NeedStatus.DRAFT),
    "submit": ((NeedStatus.DRAFT,), NeedStatus.SUBMITTED),
    "approve": ((NeedStatus.SUBMITTED,), NeedStatus.PUBLISHED),
    "reject": ((NeedStatus.SUBMITTED,), NeedStatus.REJECTED),
    "to_draft": ((NeedStatus.REJECTED,), NeedStatus.DRAFT),
    # Open claims do not stop a withdrawal: the reserved ones are cancelled
    # with it (needs.services.withdraw_need).
    "withdraw": (
        (NeedStatus.PUBLISHED, NeedStatus.FULLY_CLAIMED),
        NeedStatus.WITHDRAWN,
    ),
}

# A deadline may be extended on a need still open to claims or delivery, and
# on an expired one (which re-opens it, once: ``Need.reopened_at``).
EXTENDABLE_STATUSES = (
    NeedStatus.PUBLISHED,
    NeedStatus.FULLY_CLAIMED,
    NeedStatus.EXPIRED,
)


class Need(Model):
    """One household's request. Public columns are the anonymised half; the private
    half lives only in ``private_ciphertext`` (encrypted JSON, see core.crypto) and
    ``household_key`` (HMAC of the ID number, never the number itself)."""

    __tablename__ = "needs"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint(
            "claimed_fen >= 0 AND claimed_fen <= amount_fen",
            name="claimed_within_amount",
        ),
        CheckConstraint(
            "delivered_fen >= 0 AND delivered_fen <= amount_fen",
            name="delivered_within_amount",
        ),
        # The public library (needs/queries.py): every filter column and sort key,
        # so lists and counts read an index, never the wide rows (which carry the
        # encrypted half; docs/needs.md, "Measured"); the
        # status prefix also serves the moderator queues and the nightly expiry.
        Index("ix_needs_public_list", "status", *PUBLIC_LIST_COLUMNS),
        # The moderators' work lists and counts (needs/lists.py, the work-area
        # counts): one status within a region prefix, by deadline or last change.
        Index(
            "ix_needs_worklist", "status", "region_code", "deadline_on", "updated_at"
        ),
        # The same lists by deadline or by last change: walked in that order, the
        # region checked in the index, stopping after a page.
        Index("ix_needs_deadline_region", "deadline_on", "region_code"),
        Index("ix_needs_updated_region", "updated_at", "region_code", "status"),
        # The default page (public needs, newest first) walks this one and stops
        # after 20 rows.
        Index(
            "ix_needs_public_browse",
            *PUBLIC_LIST_COLUMNS,
            sqlite_where=PUBLIC_CONDITION,
            postgresql_where=PUBLIC_CONDITION,
        ),
        # Public needs by amount, with the filter columns: a list sorted by
        # amount (largest first) walks it backwards, checks the filters in the
        # index and stops after a page instead of sorting every match.
        Index(
            "ix_needs_public_amount",
            "amount_fen",
            "id",
            postgresql_include=[
                "public_region_code",
                "need_type",
                "category",
                "urgency",
            ],
            sqlite_where=PUBLIC_CONDITION,
            postgresql_where=PUBLIC_CONDITION,
        ),
        # Covers every column the reports aggregate, so they read this index
        # instead of the wide rows (bench/reports.py, docs/reports.md).
        Index(
            "ix_needs_report",
            "region_code",
            "published_at",
            "need_type",
            "category",
            "status",
            "amount_fen",
            "claimed_fen",
            "delivered_fen",
            "household_key",
            "public_region_code",
            "fully_claimed_at",
        ),
        # A county's needs, and among them those whose public region differs
        # from the one to show (needs/privacy.py): two short range reads, so
        # approving a need does not read the whole county (0019_region_public).
        Index("ix_needs_region_public", "region_code", "public_region_code"),
        # The moderators' sync walk: keyset on (updated_at, id).
        Index("ix_needs_updated", "updated_at", "id"),
        # Needs an offer fits (offers/matching.py): one status, the offer's
        # need types, its area as a range of public region codes (0013_offers).
        Index(
            "ix_needs_offer_match",
            "status",
            "need_type",
            "public_region_code",
            "deadline_on",
            "amount_fen",
            "claimed_fen",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Public: "XQ-<province>-<sequence>" (needs/codes.py), never finer than the
    # province, whatever the public region shows.
    code: Mapped[str] = mapped_column(String(24), unique=True)
    # The first release's per-county code, kept so moderators' old links resolve
    # (moderators only: it names the county).
    legacy_code: Mapped[str | None] = mapped_column(String(24), unique=True, index=True)
    # The monitoring platform's id: moderators only (never public, never in an
    # org's export or the search index), scanned like public text.
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[Category] = mapped_column(String(16), index=True)
    need_type: Mapped[NeedType] = mapped_column(String(16), index=True)
    # The true county (moderator scoping); never shown publicly if coarsened.
    # Indexed with the public region (ix_needs_region_public).
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    # What the public sees: the county, or its city where fewer than 5 published
    # needs share the county.
    public_region_code: Mapped[str] = mapped_column(String(12), index=True)
    age_band: Mapped[str] = mapped_column(String(16))
    household_size: Mapped[int]
    gov_assistance: Mapped[list[dict]] = mapped_column(JSON, default=list)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    claimed_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    delivered_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    in_kind: Mapped[bool] = mapped_column(default=False)
    items: Mapped[list[dict] | None] = mapped_column(JSON)
    urgency: Mapped[Urgency] = mapped_column(String(16), default=Urgency.NORMAL)
    deadline_on: Mapped[date | None] = mapped_column(index=True)
    # Indexed by ix_needs_public_list (status first).
    status: Mapped[NeedStatus] = mapped_column(String(16), default=NeedStatus.DRAFT)
    status_reason: Mapped[str | None] = mapped_column(Text)

    private_ciphertext: Mapped[str] = mapped_column(Text)
    household_key: Mapped[str] = mapped_column(String(64), index=True)
    consent_share_contact: Mapped[bool] = mapped_column(default=False)

    entered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Who changed its content last (edit page, API, re-import): four eyes keeps
    # them from approving it, as it keeps the enterer.
    last_edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    fully_claimed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # Set when an expired need went back to the library by an extended
    # deadline: that happens once per need.
    reopened_at: Mapped[datetime | None]
    # Set when the private half was erased (retention or the person's request):
    # ``private_ciphertext`` then holds ``privacy.purge.PURGED``.
    purged_at: Mapped[datetime | None]

    @property
    def status_label(self) -> str:
        # In the request's language (the Chinese outside a request).
        return _(NEED_STATUS_LABELS.get(NeedStatus(self.status), self.status))

    @property
    def category_label(self) -> str:
        # In the request's language (the Chinese outside a request).
        return _(CATEGORY_LABELS.get(Category(self.category), self.category))

    @property
    def need_type_label(self) -> str:
        # In the request's language (the Chinese outside a request).
        return _(NEED_TYPE_LABELS.get(NeedType(self.need_type), self.need_type))

    @property
    def urgency_label(self) -> str:
        # In the request's language (the Chinese outside a request).
        return _(URGENCY_LABELS.get(Urgency(self.urgency), self.urgency))

    @property
    def remaining_fen(self) -> int:
        return self.amount_fen - self.claimed_fen

    def can(self, action: str) -> bool:
        """Whether the need's status allows ``action`` (a key of NEED_ACTIONS);
        who may act, and the other rules, are the services' to check."""
        return NeedStatus(self.status) in NEED_ACTIONS[action][0]

    @property
    def is_public(self) -> bool:
        return self.status in PUBLIC_STATUSES
