"""user_daily_counters: each player's counters of a day, for the rebuild

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_daily_counters",
        sa.Column("player_id", sa.String(64), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("counters", sa.Text, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_daily_counters_expires", "user_daily_counters", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_daily_counters_expires", table_name="user_daily_counters")
    op.drop_table("user_daily_counters")
