"""Disputes on claims and corrections in the ledger.

Claims gain the dispute's record (who disputed, why, the org's answer, the
resolution); ledger entries gain ``reverses`` (the entry a reversal corrects)
and ``reason``. The ledger stays append-only: the triggers of 0002 are not
touched, a correction is a new row.

Plain ADD COLUMNs: SQLite cannot add a foreign key to an existing table
without copying it, so the foreign keys are declared on PostgreSQL only.

Revision ID: 0005_disputes
Revises: 0005_complaints
Create Date: 2026-12-06
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006_disputes"
down_revision = "0005_complaints"
branch_labels = None
depends_on = None

CLAIM_COLUMNS: list[tuple[str, Any]] = [
    ("disputed_at", sa.DateTime()),
    ("disputed_by_id", sa.Integer()),
    ("dispute_reason", sa.Text()),
    ("received_fen", sa.BigInteger()),
    ("dispute_due_on", sa.Date()),
    ("response_note", sa.Text()),
    ("responded_at", sa.DateTime()),
    ("responded_by_id", sa.Integer()),
    ("response_evidence_path", sa.String(length=128)),
    ("response_evidence_name", sa.String(length=128)),
    ("response_evidence_mime", sa.String(length=64)),
    ("resolution", sa.String(length=16)),
    ("resolution_reason", sa.Text()),
    ("resolved_at", sa.DateTime()),
    ("resolved_by_id", sa.Integer()),
    ("reversed_fen", sa.BigInteger()),
]
USER_REFS = ("disputed_by_id", "responded_by_id", "resolved_by_id")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, type_ in CLAIM_COLUMNS:
        op.add_column("claims", sa.Column(name, type_, nullable=True))
    op.create_index("ix_claims_dispute_due_on", "claims", ["dispute_due_on"])
    op.add_column("ledger_entries", sa.Column("reverses", sa.Integer(), nullable=True))
    op.add_column("ledger_entries", sa.Column("reason", sa.Text(), nullable=True))
    op.create_index(
        "uq_ledger_entries_reverses", "ledger_entries", ["reverses"], unique=True
    )
    if postgres:
        for name in USER_REFS:
            op.create_foreign_key(
                f"fk_claims_{name}_users", "claims", "users", [name], ["id"]
            )
        op.create_foreign_key(
            "fk_ledger_entries_reverses_ledger_entries",
            "ledger_entries",
            "ledger_entries",
            ["reverses"],
            ["id"],
        )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.drop_constraint(
            "fk_ledger_entries_reverses_ledger_entries", "ledger_entries"
        )
        for name in USER_REFS:
            op.drop_constraint(f"fk_claims_{name}_users", "claims")
    op.drop_index("uq_ledger_entries_reverses", table_name="ledger_entries")
    op.drop_column("ledger_entries", "reason")
    op.drop_column("ledger_entries", "reverses")
    op.drop_index("ix_claims_dispute_due_on", table_name="claims")
    for name, _type in reversed(CLAIM_COLUMNS):
        op.drop_column("claims", name)
