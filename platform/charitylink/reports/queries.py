"""What every report shares: the filters (``Filters``), the definitions and a
few helpers. The figures themselves are computed from the report frame
(``reports/frame.py``: the needs and claims held in memory as arrays).

Definitions (docs/reports.md repeats them for readers of the reports):
- a need counts once it has been published (``published_at`` set), whatever its
  status now; the period filter selects needs by ``published_at``;
- claimed = reserved amounts of open claims + delivered amounts of delivered or
  confirmed claims; delivered = delivered amounts of delivered or confirmed
  claims (both are the need's own counters ``claimed_fen``/``delivered_fen``,
  which the claims service keeps equal to those sums, rule 1); confirmed =
  delivered amounts of confirmed claims;
- a household is a distinct ``household_key``; reached = has a need with a
  delivered or confirmed claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from charitylink.claims.models import ClaimStatus
from charitylink.core.timeutil import CHINA
from charitylink.needs.models import NeedStatus

DONE = (ClaimStatus.DELIVERED.value, ClaimStatus.CONFIRMED.value)
OPEN = (ClaimStatus.RESERVED.value,)
FULL = (
    NeedStatus.FULLY_CLAIMED.value,
    NeedStatus.DELIVERED.value,
    NeedStatus.CONFIRMED.value,
)
LEVEL_LENGTH = {"province": 2, "city": 4, "county": 6}
NEAR_EXPIRY_DAYS = 7
LIST_LIMIT = 200


@dataclass(frozen=True)
class Filters:
    """What a report covers. ``prefix`` None means every region."""

    prefix: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    level: str = "county"

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The period as naive UTC datetimes, [start, end): dates are China days."""
        start = end = None
        if self.date_from:
            start = utc_naive(datetime.combine(self.date_from, time(), CHINA))
        if self.date_to:
            nxt = self.date_to + timedelta(days=1)
            end = utc_naive(datetime.combine(nxt, time(), CHINA))
        return start, end


def utc_naive(value: datetime) -> datetime:
    from datetime import UTC

    return value.astimezone(UTC).replace(tzinfo=None)


def rollup(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Sum additive measures of ``rows`` by one of their keys (no households)."""
    out: dict[Any, dict[str, Any]] = {}
    for r in rows:
        acc = out.setdefault(r[key], {key: r[key]})
        for m in ("needs", "fully_claimed", "requested", "claimed", "delivered"):
            acc[m] = acc.get(m, 0) + r[m]
    return [out[k] for k in sorted(out, key=str)]


UNPUBLISHED = (
    NeedStatus.DRAFT.value,
    NeedStatus.SUBMITTED.value,
    NeedStatus.REJECTED.value,
)


def published_rows(matrix_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The matrix rows of needs that were published (the statuses a need
    reaches only through publication), for rolling up without another query."""
    return [r for r in matrix_rows if r["status"] not in UNPUBLISHED]
