"""league results: every member of every closed cohort

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "league_results",
        sa.Column("period_type", sa.String(16), primary_key=True),
        sa.Column("period", sa.String(16), primary_key=True),
        sa.Column("player_id", sa.String(64), primary_key=True),
        sa.Column("tier", sa.String(32), nullable=False),
        sa.Column("cohort", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("score", sa.BigInteger, nullable=False),
        sa.Column("next_tier", sa.String(32), nullable=False),
        sa.Column("prize", sa.Text, nullable=True),
        sa.Column("closed_ms", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_league_results_cohort",
        "league_results",
        ["period_type", "period", "tier", "cohort"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_league_results_cohort", table_name="league_results")
    op.drop_table("league_results")
