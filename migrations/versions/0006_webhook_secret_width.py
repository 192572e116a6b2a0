"""webhook secrets: room for an encrypted secret (enc:v1: and a Fernet token)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        for name, nullable in (("secret", False), ("previous_secret", True)):
            batch_op.alter_column(
                name,
                existing_type=sa.String(length=80),
                type_=sa.String(length=255),
                existing_nullable=nullable,
            )


def downgrade() -> None:
    # Only plain secrets fit 80 characters: an encrypted one (191) stops the downgrade.
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        for name, nullable in (("secret", False), ("previous_secret", True)):
            batch_op.alter_column(
                name,
                existing_type=sa.String(length=255),
                type_=sa.String(length=80),
                existing_nullable=nullable,
            )
