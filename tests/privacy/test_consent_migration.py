"""The data step of migration 0015: a need whose old flag is set gets a
``written`` ``share_contact`` consent recorded by its enterer, given on the
day it was entered; a need without the flag gets none."""

from __future__ import annotations

import importlib.util
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, select, update

from charitylink.extensions import db
from charitylink.needs.models import Need
from charitylink.privacy.models import Consent

MIGRATION = (
    Path(__file__).resolve().parents[2]
    / "platform/charitylink/migrations/versions/20261206_0015_consent.py"
)


def _migration():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("m0015", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_old_flag_becomes_a_written_consent_by_the_enterer(
    create_need, create_user
) -> None:
    enterer = create_user("moderator", region_prefix="22")
    flagged = create_need(entered_by=enterer)
    plain = create_need(entered_by=enterer)
    db.session.execute(delete(Consent))
    db.session.execute(
        update(Need)
        .where(Need.id == flagged.id)
        .values(consent_share_contact=True, created_at=datetime(2025, 3, 9, 23, 30))
    )
    db.session.commit()
    _migration().copy_flags(db.session.connection())
    db.session.commit()
    rows = db.session.scalars(select(Consent)).all()
    assert [(c.need_id, c.scope, c.method, c.recorded_by_id) for c in rows] == [
        (flagged.id, "share_contact", "written", enterer.id)
    ]
    assert rows[0].given_on.isoformat() == "2025-03-09" and rows[0].active
    assert plain.id not in {c.need_id for c in rows}
