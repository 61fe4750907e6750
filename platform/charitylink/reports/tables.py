"""A report table: columns, rows and suppression marks, rendered the same way on
the page, in CSV and in XLSX (one definition, so the exports match the page)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from charitylink.core.i18n import _
from charitylink.reports.suppression import PRIMARY

# Shown in place of a suppressed figure.
SMALL = "<5"
DERIVED = "—"


@dataclass(frozen=True)
class Column:
    key: str
    # The Chinese heading (marked with N_); ``label`` is it in the request's
    # language, translated when shown, as built tables are cached across
    # requests in either language.
    msgid: str
    # text | int | fen (money in fen) | days (float) | pct (float 0..100)
    kind: str = "text"
    # The suppression family this figure belongs to (see transparency.py); a
    # suppressed family hides all its columns in that row.
    family: str | None = None

    @property
    def label(self) -> str:
        return _(self.msgid)

    @property
    def numeric(self) -> bool:
        return self.kind != "text"


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    note: str = ""
    # Rows styled as subtotals (e.g. a city above its counties).
    emphasis_key: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def hidden(self, row: dict[str, Any], col: Column) -> str | None:
        if col.family is None:
            return None
        return row.get("_hidden", {}).get(col.family)

    def raw(self, row: dict[str, Any], col: Column) -> Any:
        """The value for an export cell: numbers as numbers (fen as yuan Decimal),
        suppressed cells as the marker text."""
        mark = self.hidden(row, col)
        if mark:
            return SMALL if mark == PRIMARY else DERIVED
        value = row.get(col.key)
        if value is None:
            return ""
        if col.kind == "fen":
            return Decimal(int(value)) / 100
        if col.kind in ("days", "pct"):
            return round(float(value), 1)
        if col.kind == "text":
            return _(str(value))  # a label (or a lazy one) in the request's language
        return value

    def text(self, row: dict[str, Any], col: Column) -> str:
        """The value as shown on the page."""
        mark = self.hidden(row, col)
        if mark:
            return SMALL if mark == PRIMARY else DERIVED
        value = row.get(col.key)
        if value is None:
            return "—"
        if col.kind == "fen":
            from charitylink.core.formatting import yuan

            return yuan(int(value))
        if col.kind == "int":
            return f"{int(value):,}"
        if col.kind == "days":
            return f"{float(value):.1f}"
        if col.kind == "pct":
            return f"{float(value):.1f}%"
        # Labels (categories, need types, statuses) are stored in the cached
        # rows in Chinese and shown in the request's language; names people
        # gave (orgs, funds, regions) have no entry and come back unchanged.
        return _(str(value))

    @property
    def has_suppressed(self) -> bool:
        return any(r.get("_hidden") for r in self.rows)
