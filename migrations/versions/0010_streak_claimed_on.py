"""user_streaks: the local date whose daily hash a zoned claim was written in

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 03:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_streaks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_on", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_streaks", schema=None) as batch_op:
        batch_op.drop_column("claimed_on")
