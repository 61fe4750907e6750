"""Beyond cash and consent records: offers and their monthly capacity, claim
kinds, instalments and sessions, the care-centre org type (a value only), and
consents.

Claims' ``fund_id`` becomes nullable (goods and service claims reserve no fund
money): SQLite cannot relax NOT NULL in place, so there the claims table is
copied by batch mode, with its CHECK constraints restated. New claim columns
are plain ADD COLUMNs; their foreign keys are declared on PostgreSQL only.

Revision ID: 0011_beyond_cash
Revises: 0010_webhooks
Create Date: 2026-12-06
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0011_beyond_cash"
down_revision = "0010_webhooks"
branch_labels = None
depends_on = None

CLAIM_COLUMNS: list[tuple[str, Any]] = [
    ("offer_id", sa.Integer()),
    ("quantity", sa.Integer()),
    ("months", sa.Integer()),
    ("monthly_amount_fen", sa.BigInteger()),
    ("ended_at", sa.DateTime()),
    ("ended_by_id", sa.Integer()),
    ("end_reason", sa.Text()),
]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("need_types", sa.JSON(), nullable=False),
        sa.Column("region_prefix", sa.String(length=12), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("capacity_per_month", sa.Integer(), nullable=False),
        sa.Column("unit_value_fen", sa.BigInteger(), nullable=False),
        sa.Column("start_on", sa.Date(), nullable=False),
        sa.Column("end_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "capacity_per_month > 0", name=op.f("ck_offers_capacity_positive")
        ),
        sa.CheckConstraint(
            "unit_value_fen >= 0", name=op.f("ck_offers_unit_value_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_offers_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_offers_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
    )
    op.create_index("ix_offers_org_id", "offers", ["org_id"])
    op.create_index("ix_offers_status", "offers", ["status"])
    op.create_index("ix_offers_match", "offers", ["status", "region_prefix", "kind"])
    op.create_table(
        "offer_months",
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.CheckConstraint("used >= 0", name=op.f("ck_offer_months_used_not_negative")),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_offer_months_offer_id_offers")
        ),
        sa.PrimaryKeyConstraint("offer_id", "month", name=op.f("pk_offer_months")),
    )

    op.add_column(
        "claims",
        sa.Column("kind", sa.String(length=8), nullable=False, server_default="cash"),
    )
    for name, type_ in CLAIM_COLUMNS:
        op.add_column("claims", sa.Column(name, type_, nullable=True))
    op.create_index("ix_claims_offer_id", "claims", ["offer_id"])
    if postgres:
        op.alter_column("claims", "fund_id", existing_type=sa.Integer(), nullable=True)
        op.create_foreign_key(
            "fk_claims_offer_id_offers", "claims", "offers", ["offer_id"], ["id"]
        )
        op.create_foreign_key(
            "fk_claims_ended_by_id_users", "claims", "users", ["ended_by_id"], ["id"]
        )
    else:
        with op.batch_alter_table("claims", recreate="always") as batch:
            batch.alter_column("fund_id", existing_type=sa.Integer(), nullable=True)

    op.create_table(
        "claim_instalments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("delivered_fen", sa.BigInteger(), nullable=True),
        sa.Column("delivered_quantity", sa.Integer(), nullable=True),
        sa.Column("delivered_on", sa.Date(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("delivered_by_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=True),
        sa.Column("missed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claims.id"],
            name=op.f("fk_claim_instalments_claim_id_claims"),
        ),
        sa.ForeignKeyConstraint(
            ["delivered_by_id"],
            ["users.id"],
            name=op.f("fk_claim_instalments_delivered_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["confirmed_by_id"],
            ["users.id"],
            name=op.f("fk_claim_instalments_confirmed_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_instalments")),
    )
    op.create_index(
        "ux_claim_instalments_claim_n",
        "claim_instalments",
        ["claim_id", "n"],
        unique=True,
    )
    op.create_index(
        "ix_claim_instalments_due", "claim_instalments", ["status", "due_on"]
    )
    op.create_table(
        "claim_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("instalment_id", sa.Integer(), nullable=True),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("volunteers", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "quantity > 0", name=op.f("ck_claim_sessions_quantity_positive")
        ),
        sa.CheckConstraint(
            "minutes >= 0", name=op.f("ck_claim_sessions_minutes_not_negative")
        ),
        sa.CheckConstraint(
            "volunteers >= 0", name=op.f("ck_claim_sessions_volunteers_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_claim_sessions_claim_id_claims")
        ),
        sa.ForeignKeyConstraint(
            ["instalment_id"],
            ["claim_instalments.id"],
            name=op.f("fk_claim_sessions_instalment_id_claim_instalments"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_claim_sessions_created_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["confirmed_by_id"],
            ["users.id"],
            name=op.f("fk_claim_sessions_confirmed_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_sessions")),
    )
    op.create_index("ix_claim_sessions_claim_id", "claim_sessions", ["claim_id"])
    op.create_index(
        "ix_claim_sessions_instalment_id", "claim_sessions", ["instalment_id"]
    )
    op.create_index("ix_claim_sessions_held_on", "claim_sessions", ["held_on"])

    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.Column("guardian_name_ciphertext", sa.Text(), nullable=True),
        sa.Column("form_path", sa.String(length=128), nullable=True),
        sa.Column("form_name", sa.String(length=128), nullable=True),
        sa.Column("form_mime", sa.String(length=64), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.Column("withdrawn_reason", sa.Text(), nullable=True),
        sa.Column("withdrawn_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["need_id"], ["needs.id"], name=op.f("fk_consents_need_id_needs")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_consents_recorded_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["withdrawn_by_id"],
            ["users.id"],
            name=op.f("fk_consents_withdrawn_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    op.create_index("ix_consents_need_scope", "consents", ["need_id", "scope"])


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_consents_need_scope", table_name="consents")
    op.drop_table("consents")
    op.drop_table("claim_sessions")
    op.drop_table("claim_instalments")
    if postgres:
        op.drop_constraint("fk_claims_ended_by_id_users", "claims")
        op.drop_constraint("fk_claims_offer_id_offers", "claims")
    op.drop_index("ix_claims_offer_id", table_name="claims")
    for name, _type in reversed(CLAIM_COLUMNS):
        op.drop_column("claims", name)
    op.drop_column("claims", "kind")
    op.drop_table("offer_months")
    op.drop_table("offers")
