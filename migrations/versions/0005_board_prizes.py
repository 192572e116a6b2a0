"""board prizes: what each closed period's board paid

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "board_prizes",
        sa.Column("board", sa.String(48), primary_key=True),
        sa.Column("period", sa.String(16), primary_key=True),
        sa.Column("player_id", sa.String(64), primary_key=True),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("score", sa.BigInteger, nullable=False),
        sa.Column("prize", sa.Text, nullable=False),
        sa.Column("transaction_id", sa.String(64), nullable=False),
        sa.Column("paid_ms", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("board_prizes")
