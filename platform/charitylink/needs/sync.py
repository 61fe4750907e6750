"""Sync for the monitoring platform: the needs of a moderator's region that
changed since a moment, in any status, oldest change first.

The walk is a keyset on (``updated_at``, ``id``): a page ends at its last
need, and the next page starts strictly after it. A need updated during the
walk gets a later ``updated_at``, so it moves behind the cursor and is read
again later in the same walk: never skipped. Changes younger than
``SYNC_SETTLE_SECONDS`` are left for the next page: ``updated_at`` is stamped
when the UPDATE runs, and a transaction still open when a page is read could
otherwise commit a change stamped before the cursor."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, or_, select

from charitylink.accounts.models import User
from charitylink.core.i18n import _
from charitylink.core.permissions import in_scope
from charitylink.errors import ValidationFailed
from charitylink.extensions import db
from charitylink.needs.models import Need

_FRACTION = re.compile(r"\.([0-9]+)")


def parse_instant(name: str, raw: str) -> datetime:
    """An ISO 8601 date or date-time as naive UTC (no offset: UTC), or a 422."""
    text = raw.strip().upper().replace("Z", "+00:00")
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            _("查询参数有误，请检查标出的参数。"),
            {
                name: _(
                    "%(n)s 应为 ISO 8601 时间，如 2026-12-01T08:00:00+08:00。", n=name
                )
            },
        ) from None
    if moment.tzinfo is None:
        return moment
    try:
        return moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # an offset past year 1 or 9999: the earliest/latest
        return datetime.min if moment.year < 5000 else datetime.max


def changed_needs(
    user: User,
    *,
    since: datetime | None,
    after_id: int | None,
    external_id: str | None,
    limit: int,
) -> list[Need]:
    """Up to ``limit`` needs of the moderator's region after the cursor."""
    settle = float(current_app.config.get("SYNC_SETTLE_SECONDS", 5))
    now = datetime.now(UTC).replace(tzinfo=None)
    query = (
        select(Need)
        .where(in_scope(user, Need.region_code))
        .where(Need.updated_at <= now - timedelta(seconds=settle))
        .order_by(Need.updated_at, Need.id)
        .limit(limit)
    )
    if external_id is not None:
        query = query.where(Need.external_id == external_id)
    if since is not None:
        if after_id is None:
            query = query.where(Need.updated_at >= since)
        else:
            query = query.where(
                or_(
                    Need.updated_at > since,
                    and_(Need.updated_at == since, Need.id > after_id),
                )
            )
    return list(db.session.scalars(query))


def with_claims(needs: list[Need]) -> list[dict[str, Any]]:
    """Each need with its claims (oldest first), for the moderator's view."""
    from charitylink.claims.models import Claim

    by_need: dict[int, list[Claim]] = {n.id: [] for n in needs}
    if needs:
        for claim in db.session.scalars(
            select(Claim).where(Claim.need_id.in_(list(by_need))).order_by(Claim.id)
        ):
            by_need[claim.need_id].append(claim)
    return [{"need": n, "claims": by_need[n.id]} for n in needs]
