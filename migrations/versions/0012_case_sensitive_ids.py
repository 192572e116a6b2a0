"""MariaDB/MySQL: every table compares text as bytes (utf8mb4_bin)

The tables were created with the database's default collation, on MariaDB
utf8mb4_general_ci (MySQL: utf8mb4_0900_ai_ci), which folds case and accents: the
primary key (player_id, ...) took "Bob" and "bob" for one player, "Math" and "math"
for one category, "Q1" and "q1" for one exam, so an upsert of one overwrote the other's
row and a rebuild from SQL gave one player's scores, wallet or replay to another. Ids
are case-sensitive everywhere else (Redis, the API, SQLite). A table a later migration
creates passes mysql_collate="utf8mb4_bin" (tests/test_outside_boards.py checks every
column). SQLite compares bytes already: nothing to do there.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 05:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLES = (
    "user_resources",
    "user_resource_logs",
    "user_resource_logs_archive",
    "quiz_leaderboard_aggregates",
    "quiz_exam_attempts",
    "leaderboard_cache",
    "user_battle_pass",
    "user_battle_pass_archive",
    "user_streaks",
    "user_daily_counters",
    "security_events",
    "job_runs",
    "settings",
    "webhook_subscriptions",
    "webhook_events",
    "webhook_deliveries",
    "league_results",
    "board_prizes",
)


def _convert(collation: str) -> None:
    if op.get_bind().dialect.name != "mysql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} CONVERT TO CHARACTER SET utf8mb4 COLLATE {collation}")


def upgrade() -> None:
    _convert("utf8mb4_bin")


def downgrade() -> None:
    # Back to MariaDB's default; fails on a table holding ids that differ only in case.
    _convert("utf8mb4_general_ci")
