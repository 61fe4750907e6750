"""What the printed documents say: the receipt's number and amount in words,
the QR code that leads to the public page where a receipt can be checked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import segno
from markupsafe import Markup
from sqlalchemy import select

from charitylink.core.money import fen_to_capitals
from charitylink.core.timeutil import to_china
from charitylink.extensions import db
from charitylink.funds.models import Fund, LedgerEntry, LedgerKind


@dataclass(frozen=True)
class Receipt:
    number: str
    entry: LedgerEntry
    fund: Fund
    amount_words: str
    issued_at: datetime


def receipt_number(entry: LedgerEntry) -> str:
    """``JZ-2026-0003-000042``: the year of the donation (China time), the org
    and the ledger entry. The entry's id is unique and never reused (the ledger
    is append-only), so the number is too, and it leads back to the entry."""
    year = to_china(entry.created_at).year
    return f"JZ-{year}-{entry.fund.org_id:04d}-{entry.id:06d}"


def donation_of(fund: Fund, entry_id: int) -> LedgerEntry | None:
    """The fund's donation entry ``entry_id`` (None for any other entry)."""
    return db.session.scalar(
        select(LedgerEntry).where(
            LedgerEntry.id == entry_id,
            LedgerEntry.fund_id == fund.id,
            LedgerEntry.kind == LedgerKind.DONATION,
        )
    )


def receipt(entry: LedgerEntry) -> Receipt:
    return Receipt(
        number=receipt_number(entry),
        entry=entry,
        fund=entry.fund,
        amount_words=fen_to_capitals(entry.amount_fen),
        issued_at=entry.created_at,
    )


def qr_svg(url: str, title: str) -> Markup:
    """The URL as a QR code in inline SVG (no script, no image request: the
    page's content security policy allows neither an inline script nor another
    origin)."""
    code = segno.make(url, error="m")
    svg = code.svg_inline(
        scale=3, svgclass="qr", lineclass=None, omitsize=True, title=title
    )
    return Markup(svg)  # segno escapes the title; the rest is its own markup


def user_name(user_id: int | None) -> str:
    """Who confirmed a delivery, as the record names them (name, else e-mail)."""
    from charitylink.accounts.models import User

    if user_id is None:
        return ""
    user = db.session.get(User, user_id)
    return "" if user is None else (user.name or user.email)
