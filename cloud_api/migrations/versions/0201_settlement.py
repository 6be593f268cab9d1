"""station settlement: fee schedule and per-ticket settlement records

Revision ID: 0201_settlement
Revises: 0101_notices
Create Date: 2026-11-23 10:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cloud_api.models.base

revision = "0201_settlement"
down_revision = "0101_notices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settlement_fee_rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("fault_code", sa.String(length=64), nullable=True),
        sa.Column("in_warranty", sa.Boolean(), nullable=True),
        sa.Column("band", sa.String(length=8), nullable=True),
        sa.Column("amount", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_fee_rules")),
    )
    op.create_table(
        "settlements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.String(length=40), nullable=False),
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("fault_code", sa.String(length=64), nullable=False),
        sa.Column("in_warranty", sa.Boolean(), nullable=False),
        sa.Column("band", sa.String(length=8), nullable=False),
        sa.Column("fee", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("completed_at", cloud_api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("computed_at", cloud_api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("eligible_at", cloud_api.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_settlements_station_id_stations")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_settlements_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlements")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_settlements_ticket_id")),
    )
    op.create_index(
        "ix_settlements_month_station", "settlements", ["month", "station_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_settlements_month_station", table_name="settlements")
    op.drop_table("settlements")
    op.drop_table("settlement_fee_rules")
