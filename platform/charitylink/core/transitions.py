"""Status changes as guarded UPDATEs, one shape for every model with a status."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import update
from sqlalchemy.engine import CursorResult

from charitylink.extensions import db


def move_if(obj: Any, old: Any, values: dict[str, Any], *rules: Any) -> bool:
    """Write ``values`` to ``obj``'s row only while it still has status ``old``
    and meets ``rules``.

    The database re-checks the WHERE under its row lock (PostgreSQL) or write
    lock (SQLite), so two requests racing cannot both pass a check made in
    Python before the write. The object is refreshed either way, so callers and
    the audit row see the stored state. True if the row moved."""
    model = type(obj)
    result = cast(
        CursorResult[Any],
        db.session.execute(
            update(model)
            .where(model.id == obj.id, model.status == old, *rules)
            .values(**values)
            .execution_options(synchronize_session=False)
        ),
    )
    db.session.refresh(obj)
    return result.rowcount == 1
