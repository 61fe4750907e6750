from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from charitylink.core.i18n import N_, _
from charitylink.core.timeutil import utcnow
from charitylink.extensions import Model


class FundKind(enum.StrEnum):
    NAMED = "named"
    SPECIAL = "special"


FUND_KIND_LABELS = {FundKind.NAMED: N_("冠名基金"), FundKind.SPECIAL: N_("专项基金")}


class LedgerKind(enum.StrEnum):
    DONATION = "donation"
    RESERVE = "reserve"
    RELEASE = "release"
    DISBURSE = "disburse"
    # A correction: undoes (all or part of) the entry named by ``reverses``.
    REVERSAL = "reversal"


LEDGER_KIND_LABELS = {
    LedgerKind.DONATION: N_("捐赠入账"),
    LedgerKind.RESERVE: N_("认领预留"),
    LedgerKind.RELEASE: N_("预留释放"),
    LedgerKind.DISBURSE: N_("交付支出"),
    LedgerKind.REVERSAL: N_("冲正"),
}


class Fund(Model):
    """A named or special fund. The ``*_fen`` figures are a cache of the ledger,
    changed only by ``funds.services`` in the same transaction as the entry, and
    guarded by CHECK constraints (rule 2)."""

    __tablename__ = "funds"
    __table_args__ = (
        CheckConstraint("donations_fen >= 0", name="donations_nonneg"),
        CheckConstraint("reserved_fen >= 0", name="reserved_nonneg"),
        CheckConstraint("disbursed_fen >= 0", name="disbursed_nonneg"),
        CheckConstraint(
            "donations_fen - disbursed_fen - reserved_fen >= 0", name="available_nonneg"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[FundKind] = mapped_column(String(16))
    donor_name: Mapped[str | None] = mapped_column(String(100))
    purpose_need_types: Mapped[list[str] | None] = mapped_column(JSON)
    purpose_region_prefix: Mapped[str | None] = mapped_column(String(12))
    description: Mapped[str] = mapped_column(Text, default="")
    donations_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    disbursed_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    org = relationship("Organization", lazy="joined")

    @property
    def balance_fen(self) -> int:
        return self.donations_fen - self.disbursed_fen

    @property
    def available_fen(self) -> int:
        return self.donations_fen - self.disbursed_fen - self.reserved_fen

    @property
    def kind_label(self) -> str:
        # In the request's language (the Chinese outside a request).
        return _(FUND_KIND_LABELS.get(FundKind(self.kind), self.kind))


class LedgerEntry(Model):
    """Append-only (database triggers refuse UPDATE and DELETE). ``amount_fen`` is
    always positive; the kind gives the direction."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        # An entry is corrected at most once: a second reversal of the same
        # entry fails here even when two requests race.
        Index("uq_ledger_entries_reverses", "reverses", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    kind: Mapped[LedgerKind] = mapped_column(String(16), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"), index=True)
    donor_name: Mapped[str | None] = mapped_column(String(100))
    reference: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Reversal entries only: the entry corrected, and why (shown publicly).
    reverses: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    # Read only: an entry is never changed once written.
    fund: Mapped[Fund] = relationship(viewonly=True)

    @property
    def kind_label(self) -> str:
        # In the request's language (the Chinese outside a request).
        return _(LEDGER_KIND_LABELS.get(LedgerKind(self.kind), self.kind))
