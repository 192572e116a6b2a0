"""idempotency_records: the records of idempotent requests no other row gives back

A webhook subscription's creation and its secret rotation keep their Idempotency-Key's
record in Redis; a rebuild from SQL had nothing to restore it from, so a retry after it
made a second subscription or a second rotation. The record is now written in the
change's own transaction, and the rebuild writes it back.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_records",
        sa.Column("owner", sa.String(64), primary_key=True),
        sa.Column("route", sa.String(96), primary_key=True),
        sa.Column("idem_key", sa.String(128), primary_key=True),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        mysql_collate="utf8mb4_bin",
        mysql_charset="utf8mb4",
    )
    op.create_index(
        "ix_idempotency_records_created", "idempotency_records", ["created_ms"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_idempotency_records_created", table_name="idempotency_records")
    op.drop_table("idempotency_records")
