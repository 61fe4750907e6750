"""The ledger (rule 2): every movement of money is one append-only entry plus a
guarded update of the fund's cached figures, in the same transaction.

The guarded ``UPDATE ... WHERE available >= :amount`` is what keeps the available
balance from going below zero under concurrency on SQLite and PostgreSQL alike
(``SELECT ... FOR UPDATE`` is silently dropped on SQLite)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import ColumnElement, case, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from charitylink.core.i18n import _
from charitylink.core.money import format_fen
from charitylink.errors import InsufficientFunds, InvalidTransition
from charitylink.extensions import db
from charitylink.funds.models import Fund, LedgerEntry, LedgerKind


def _entry(
    fund_id: int, kind: LedgerKind, amount_fen: int, **fields: object
) -> LedgerEntry:
    entry = LedgerEntry(fund_id=fund_id, kind=kind, amount_fen=amount_fen, **fields)
    db.session.add(entry)
    return entry


def _refresh(fund: Fund) -> None:
    db.session.refresh(fund, ["donations_fen", "reserved_fen", "disbursed_fen"])


def add_donation(fund: Fund, amount_fen: int, **fields: object) -> LedgerEntry:
    db.session.execute(
        update(Fund)
        .where(Fund.id == fund.id)
        .values(donations_fen=Fund.donations_fen + amount_fen)
    )
    entry = _entry(fund.id, LedgerKind.DONATION, amount_fen, **fields)
    db.session.flush()
    _refresh(fund)
    return entry


def reserve(
    fund: Fund, amount_fen: int, claim_id: int, actor_id: int | None
) -> LedgerEntry:
    """Reserve money for a claim, or raise InsufficientFunds and change nothing."""
    result = cast(
        CursorResult[Any],
        db.session.execute(
            update(Fund)
            .where(
                Fund.id == fund.id,
                Fund.donations_fen - Fund.disbursed_fen - Fund.reserved_fen
                >= amount_fen,
            )
            .values(reserved_fen=Fund.reserved_fen + amount_fen)
        ),
    )
    if result.rowcount != 1:
        _refresh(fund)
        raise InsufficientFunds(
            _(
                "基金「%(name)s」可用余额不足：可用 %(available)s，需要 %(amount)s。",
                name=fund.name,
                available=format_fen(fund.available_fen),
                amount=format_fen(amount_fen),
            )
        )
    entry = _entry(
        fund.id, LedgerKind.RESERVE, amount_fen, claim_id=claim_id, actor_id=actor_id
    )
    db.session.flush()
    _refresh(fund)
    return entry


def release(
    fund_id: int, amount_fen: int, claim_id: int, actor_id: int | None, note: str = ""
) -> None:
    """Give a reservation (or its undelivered rest) back to the fund."""
    if amount_fen <= 0:
        return
    db.session.execute(
        update(Fund)
        .where(Fund.id == fund_id)
        .values(reserved_fen=Fund.reserved_fen - amount_fen)
    )
    _entry(
        fund_id,
        LedgerKind.RELEASE,
        amount_fen,
        claim_id=claim_id,
        actor_id=actor_id,
        note=note or None,
    )
    db.session.flush()


def disburse(
    fund_id: int, amount_fen: int, claim_id: int, actor_id: int | None
) -> None:
    """Turn a reservation into money paid out (delivered)."""
    if amount_fen <= 0:
        return
    db.session.execute(
        update(Fund)
        .where(Fund.id == fund_id)
        .values(
            reserved_fen=Fund.reserved_fen - amount_fen,
            disbursed_fen=Fund.disbursed_fen + amount_fen,
        )
    )
    _entry(
        fund_id, LedgerKind.DISBURSE, amount_fen, claim_id=claim_id, actor_id=actor_id
    )
    db.session.flush()


def already_reversed(entry_id: int) -> bool:
    return (
        db.session.scalar(
            select(LedgerEntry.id).where(LedgerEntry.reverses == entry_id).limit(1)
        )
        is not None
    )


def _already_reversed_error() -> InvalidTransition:
    return InvalidTransition(_("该笔账目已冲正，不能重复冲正。"))


def _reversal_entry(
    original: LedgerEntry, amount_fen: int, actor_id: int | None, reason: str
) -> LedgerEntry:
    """Write the reversal row. The unique index on ``reverses`` is what stops a
    second reversal of the same entry when two requests race; the savepoint
    keeps the failed INSERT from spoiling the caller's transaction before it
    refuses (and rolls back) cleanly."""
    entry = LedgerEntry(
        fund_id=original.fund_id,
        kind=LedgerKind.REVERSAL,
        amount_fen=amount_fen,
        claim_id=original.claim_id,
        reverses=original.id,
        reason=reason,
        actor_id=actor_id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(entry)
    except IntegrityError:
        raise _already_reversed_error() from None
    return entry


def reverse_donation(
    fund: Fund, donation: LedgerEntry, actor_id: int | None, reason: str
) -> LedgerEntry:
    """Take a wrongly recorded donation back out of the fund, or raise
    InsufficientFunds (the money is already reserved or paid out) and change
    nothing. Nothing is edited: the donation stays, the reversal is added."""
    if already_reversed(donation.id):
        raise _already_reversed_error()
    amount_fen = donation.amount_fen
    result = cast(
        CursorResult[Any],
        db.session.execute(
            update(Fund)
            .where(
                Fund.id == fund.id,
                Fund.donations_fen - Fund.disbursed_fen - Fund.reserved_fen
                >= amount_fen,
            )
            .values(donations_fen=Fund.donations_fen - amount_fen)
        ),
    )
    if result.rowcount != 1:
        _refresh(fund)
        raise InsufficientFunds(
            _(
                "冲正后基金「%(name)s」的可用余额将小于零：可用 %(available)s，"
                "该笔捐赠 %(amount)s。请先取消相应认领。",
                name=fund.name,
                available=format_fen(fund.available_fen),
                amount=format_fen(amount_fen),
            )
        )
    entry = _reversal_entry(donation, amount_fen, actor_id, reason)
    db.session.flush()
    _refresh(fund)
    return entry


def reverse_disbursement(
    disbursement: LedgerEntry, amount_fen: int, actor_id: int | None, reason: str
) -> LedgerEntry | None:
    """A dispute found that (part of) a delivery did not reach the household:
    the amount goes back to the fund's balance, recorded as misuse the org has
    to recover. No guard is needed: the balance only grows."""
    if amount_fen <= 0:
        return None
    if already_reversed(disbursement.id):
        raise _already_reversed_error()
    db.session.execute(
        update(Fund)
        .where(Fund.id == disbursement.fund_id)
        .values(disbursed_fen=Fund.disbursed_fen - amount_fen)
    )
    entry = _reversal_entry(disbursement, amount_fen, actor_id, reason)
    db.session.flush()
    return entry


def sums(fund_id: int) -> dict[str, int]:
    """The fund's figures computed from the ledger alone (for reconciliation).
    A reversal counts against the kind of the entry it reverses."""

    def total(kind: LedgerKind) -> ColumnElement[int]:
        return func.coalesce(
            func.sum(case((LedgerEntry.kind == kind, LedgerEntry.amount_fen), else_=0)),
            0,
        )

    row = db.session.execute(
        select(
            total(LedgerKind.DONATION),
            total(LedgerKind.RESERVE),
            total(LedgerKind.RELEASE),
            total(LedgerKind.DISBURSE),
        ).where(LedgerEntry.fund_id == fund_id)
    ).one()
    donations, reserved, released, disbursed = (int(v) for v in row)
    corrected = aliased(LedgerEntry)
    for kind, total_fen in db.session.execute(
        select(corrected.kind, func.sum(LedgerEntry.amount_fen))
        .join(corrected, corrected.id == LedgerEntry.reverses)
        .where(LedgerEntry.fund_id == fund_id, LedgerEntry.kind == LedgerKind.REVERSAL)
        .group_by(corrected.kind)
    ):
        if kind == LedgerKind.DONATION:
            donations -= int(total_fen)
        elif kind == LedgerKind.DISBURSE:
            # The reservation was consumed by the payment; reversing the
            # payment does not re-open it.
            disbursed -= int(total_fen)
            reserved -= int(total_fen)
    open_reserved = reserved - released - disbursed
    return {
        "donations_fen": donations,
        "disbursed_fen": disbursed,
        "reserved_fen": open_reserved,
        "balance_fen": donations - disbursed,
        "available_fen": donations - disbursed - open_reserved,
    }
