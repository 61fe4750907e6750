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


def to_china(value: datetime) -> datetime:
    return as_utc(value).astimezone(CHINA)
