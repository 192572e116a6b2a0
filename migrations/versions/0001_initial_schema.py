"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 12:28:58.682588
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.String(length=48), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("scheduled_ms", sa.BigInteger(), nullable=True),
        sa.Column("started_ms", sa.BigInteger(), nullable=False),
        sa.Column("finished_ms", sa.BigInteger(), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_affected", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id"),
    )
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.create_index("ix_job_runs_name_started", ["name", "started_ms"], unique=False)

    op.create_table(
        "leaderboard_cache",
        sa.Column("period_type", sa.String(length=8), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("snapshot_ms", sa.BigInteger(), nullable=False),
        sa.Column("document", sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql"), nullable=False),
        sa.PrimaryKeyConstraint("period_type", "period", "category"),
    )
    op.create_table(
        "quiz_exam_attempts",
        sa.Column("player_id", sa.String(length=64), nullable=False),
        sa.Column("exam_id", sa.String(length=128), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("player_id", "exam_id"),
    )
    with op.batch_alter_table("quiz_exam_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_exam_attempts_at", ["at_ms"], unique=False)

    op.create_table(
        "quiz_leaderboard_aggregates",
        sa.Column("player_id", sa.String(length=64), nullable=False),
        sa.Column("period_type", sa.String(length=8), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("total_score", sa.BigInteger(), nullable=False),
        sa.Column("exams_taken", sa.Integer(), nullable=False),
        sa.Column("questions", sa.BigInteger(), nullable=False),
        sa.Column("correct_answers", sa.BigInteger(), nullable=False),
        sa.Column("reached_s", sa.Integer(), nullable=False),
        sa.Column("rank_current", sa.Integer(), nullable=True),
        sa.Column("rank_previous", sa.Integer(), nullable=True),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("player_id", "period_type", "period", "category"),
    )
    with op.batch_alter_table("quiz_leaderboard_aggregates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_aggregates_board_score",
            ["period_type", "period", "category", "total_score"],
            unique=False,
        )

    op.create_table(
        "security_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=48), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("player_id", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    with op.batch_alter_table("security_events", schema=None) as batch_op:
        batch_op.create_index("ix_security_events_at", ["at_ms"], unique=False)

    op.create_table(
        "settings",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "user_battle_pass",
        sa.Column("player_id", sa.String(length=64), nullable=False),
        sa.Column("season_id", sa.String(length=64), nullable=False),
        sa.Column("xp", sa.BigInteger(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("rewarded_level", sa.Integer(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("player_id", "season_id"),
    )
    op.create_table(
        "user_battle_pass_archive",
        sa.Column("player_id", sa.String(length=64), nullable=False),
        sa.Column("season_id", sa.String(length=64), nullable=False),
        sa.Column("xp", sa.BigInteger(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("rewarded_level", sa.Integer(), nullable=False),
        sa.Column("archived_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("player_id", "season_id"),
    )
    op.create_table(
        "user_resource_logs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("player_id", sa.String(length=64), nullable=False),
        sa.Column("transaction_id", sa.String(length=48), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("deltas", sa.Text(), nullable=False),
        sa.Column("balances_after", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("ref", sa.String(length=300), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("player_id", "transaction_id", name="uq_logs_transaction"),
    )
    with op.batch_alter_table("user_resource_logs", schema=None) as batch_op:
        batch_op.create_index("ix_logs_at", ["at_ms"], unique=False)

    op.create_table(
        "user_resource_logs_archive",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("player_id", sa.String(length=64), nullable=False),
        sa.Column("transaction_id", sa.String(length=48), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("deltas", sa.Text(), nullable=False),
        sa.Column("balances_after", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("ref", sa.String(length=300), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("player_id", "transaction_id", name="uq_logs_archive_transaction"),
    )
    op.create_table(
        "user_resources",
        sa.Column("player_id", sa.String(length=64), nullable=False),
        sa.Column("resource", sa.String(length=32), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("player_id", "resource"),
    )
    op.create_table(
        "user_streaks",
        sa.Column("player_id", sa.String(length=64), nullable=False),
        sa.Column("last_day", sa.Integer(), nullable=False),
        sa.Column("streak", sa.Integer(), nullable=False),
        sa.Column("best", sa.Integer(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("player_id"),
    )


def downgrade() -> None:
    op.drop_table("user_streaks")
    op.drop_table("user_resources")
    op.drop_table("user_resource_logs_archive")
    with op.batch_alter_table("user_resource_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_logs_at")

    op.drop_table("user_resource_logs")
    op.drop_table("user_battle_pass_archive")
    op.drop_table("user_battle_pass")
    op.drop_table("settings")
    with op.batch_alter_table("security_events", schema=None) as batch_op:
        batch_op.drop_index("ix_security_events_at")

    op.drop_table("security_events")
    with op.batch_alter_table("quiz_leaderboard_aggregates", schema=None) as batch_op:
        batch_op.drop_index("ix_aggregates_board_score")

    op.drop_table("quiz_leaderboard_aggregates")
    with op.batch_alter_table("quiz_exam_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_exam_attempts_at")

    op.drop_table("quiz_exam_attempts")
    op.drop_table("leaderboard_cache")
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_job_runs_name_started")

    op.drop_table("job_runs")
