"""Need codes carry the province only (XQ-22-000123); the old code is kept.

The first release numbered needs per county (XQ-220523-000001), so a need whose
public region was coarsened to its city still named its county in its code.
Each such need gets the next code of its province (in id order) and keeps the
old one in ``legacy_code`` (moderators' old links resolve; the public's do not).

Safe on a database made by the regenerated initial revision (the column is
already there and no code has the old form): it then changes nothing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

LEGACY = re.compile(r"^XQ-(\d{2})\d{4}-\d+$")
CURRENT = re.compile(r"^XQ-(\d{2})-(\d+)$")


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    if "legacy_code" not in {c["name"] for c in inspector.get_columns("needs")}:
        op.add_column("needs", sa.Column("legacy_code", sa.String(24), nullable=True))
    if "ix_needs_legacy_code" not in {i["name"] for i in inspector.get_indexes("needs")}:
        op.create_index("ix_needs_legacy_code", "needs", ["legacy_code"], unique=True)

    rows = bind.execute(sa.text("SELECT id, code FROM needs ORDER BY id")).all()
    last: dict[str, int] = {}
    for _id, code in rows:
        m = CURRENT.match(code or "")
        if m:
            last[m.group(1)] = max(last.get(m.group(1), 0), int(m.group(2)))
    changes = []
    for need_id, code in rows:
        m = LEGACY.match(code or "")
        if not m:
            continue
        province = m.group(1)
        last[province] = last.get(province, 0) + 1
        changes.append(
            {"id": need_id, "old": code, "new": f"XQ-{province}-{last[province]:06d}"}
        )
    if changes:
        bind.execute(
            sa.text("UPDATE needs SET legacy_code = :old, code = :new WHERE id = :id"),
            changes,
        )


def downgrade() -> None:
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "UPDATE needs SET code = legacy_code, legacy_code = NULL "
            "WHERE legacy_code IS NOT NULL"
        )
    )
