"""user_streaks: the streak hash's repair offer and a zoned claim's day ends

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = (
    ("lost", sa.Integer),
    ("repair_by", sa.BigInteger),
    ("claim_ends", sa.BigInteger),
    ("streak_ends", sa.BigInteger),
)


def upgrade() -> None:
    with op.batch_alter_table("user_streaks", schema=None) as batch_op:
        for name, type_ in COLUMNS:
            batch_op.add_column(sa.Column(name, type_(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_streaks", schema=None) as batch_op:
        for name, _ in reversed(COLUMNS):
            batch_op.drop_column(name)
