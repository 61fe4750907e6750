"""Time helpers: timestamps are timezone-aware UTC; dates shown in China time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    """Today's date in China: deadlines and due dates are Chinese calendar days."""
    return datetime.now(CHINA).date()


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; they were stored as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso_utc(value: datetime | None) -> str | None:
    """A timestamp as the API writes it: RFC 3339 with its offset (``+00:00``).

    Every timestamp leaving the API goes through here (or through the JSON
    provider's ``default``, which calls it): SQLite hands back naive datetimes,
    whose ``isoformat()`` has no offset and is not a valid ``date-time``."""
    return None if value is None else as_utc(value).isoformat()


def to_china(value: datetime) -> datetime:
    return as_utc(value).astimezone(CHINA)


# Every date a person or a client types is read by ``parse_day``: far outside
# this range a date is a mistake, and date arithmetic near year 1 or 9999 (a day
# added for an end-of-range bound, a time-zone shift) overflows into a 500.
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)


class InvalidDate(ValueError):
    """``str(exc)`` is a Chinese message that names the field."""


def parse_day(value: object, label: str) -> date | None:
    """``YYYY-MM-DD`` (or a ``date``) → a date between ``EARLIEST`` and ``LATEST``;
    empty → None; anything else raises ``InvalidDate``."""
    from charitylink.core.i18n import _

    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        text = value.strip() if isinstance(value, str) else ""
        try:
            if len(text) != 10:
                raise ValueError(text)
            value = date.fromisoformat(text)
        except ValueError:
            raise InvalidDate(
                _(
                    "%(label)s格式不正确，应为 YYYY-MM-DD，例如 2026-01-31。",
                    label=label,
                )
            ) from None
    if not EARLIEST <= value <= LATEST:
        raise InvalidDate(
            _(
                "%(label)s超出范围（%(a)s 至 %(b)s）。",
                label=label,
                a=EARLIEST.isoformat(),
                b=LATEST.isoformat(),
            )
        )
    return value
