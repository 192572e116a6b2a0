"""league_results: a prize the wallet refused at the close (its error code)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 01:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("league_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prize_refused", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("league_results", schema=None) as batch_op:
        batch_op.drop_column("prize_refused")
