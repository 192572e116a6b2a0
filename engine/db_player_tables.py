"""The SQL tables of what one player owns: the ledger and its archive, exam attempts,
balances, battle-pass progress and its season archive, streaks and the day's counters.

Each row is keyed by the player (and the season, day or resource); the persist job
writes them from the player's Redis hashes and engine.ops.rebuild reads them back.
This module holds the schema's one MetaData: engine.db_shared_tables adds the tables
that span players to it, and engine.db re-exports both (import the tables from there).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

PLAYER = String(64)


def _ledger_columns() -> list[Column]:
    return [
        Column(
            "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
        Column("player_id", PLAYER, nullable=False),
        Column("transaction_id", String(48), nullable=False),
        Column("kind", String(32), nullable=False),
        Column("deltas", Text, nullable=False),
        Column("balances_after", Text, nullable=False),
        Column("reason", String(255), nullable=False),
        Column("ref", String(300), nullable=False),
        Column("fingerprint", String(64), nullable=True),  # of the request that made it
        Column("at_ms", BigInteger, nullable=False),
    ]


user_resource_logs = Table(
    "user_resource_logs",
    metadata,
    *_ledger_columns(),
    UniqueConstraint("player_id", "transaction_id", name="uq_logs_transaction"),
    Index("ix_logs_at", "at_ms"),
)

user_resource_logs_archive = Table(
    "user_resource_logs_archive",
    metadata,
    *_ledger_columns(),
    UniqueConstraint("player_id", "transaction_id", name="uq_logs_archive_transaction"),
)

quiz_exam_attempts = Table(
    "quiz_exam_attempts",
    metadata,
    Column("player_id", PLAYER, primary_key=True),
    Column("exam_id", String(128), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("summary", Text, nullable=True),
    Column("at_ms", BigInteger, nullable=False),
    Index("ix_exam_attempts_at", "at_ms"),
)

user_resources = Table(
    "user_resources",
    metadata,
    Column("player_id", PLAYER, primary_key=True),
    Column("resource", String(32), primary_key=True),
    Column("balance", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

user_battle_pass = Table(
    "user_battle_pass",
    metadata,
    Column("player_id", PLAYER, primary_key=True),
    Column("season_id", String(64), primary_key=True),
    Column("xp", BigInteger, nullable=False),
    Column("level", Integer, nullable=False),
    Column("rewarded_level", Integer, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

user_battle_pass_archive = Table(
    "user_battle_pass_archive",
    metadata,
    Column("player_id", PLAYER, primary_key=True),
    Column("season_id", String(64), primary_key=True),
    Column("xp", BigInteger, nullable=False),
    Column("level", Integer, nullable=False),
    Column("rewarded_level", Integer, nullable=False),
    Column("archived_ms", BigInteger, nullable=False),
)

user_streaks = Table(
    "user_streaks",
    metadata,
    Column("player_id", PLAYER, primary_key=True),
    Column("last_day", Integer, nullable=False),  # date ordinal
    Column("streak", Integer, nullable=False),
    Column("best", Integer, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    # The streak hash's other fields, NULL when absent (engine.ops.rebuild restores them):
    Column("lost", Integer, nullable=True),  # a break that may be bought back (0: repaired)
    Column("repair_by", BigInteger, nullable=True),  # its deadline, ms
    Column("claim_ends", BigInteger, nullable=True),  # a zoned claim's day end, unix s
    Column("streak_ends", BigInteger, nullable=True),  # the day after it ends, unix s
    Column("claimed_on", Integer, nullable=True),  # the date whose hash holds that claim
)

# A player's counters of one day (engine.keys.daily): the daily hash as the persist job
# last read it, kept until the hash would have expired (engine.ops.rebuild restores the
# rows not expired; the cleanup job removes the others).
user_daily_counters = Table(
    "user_daily_counters",
    metadata,
    Column("player_id", PLAYER, primary_key=True),
    Column("day", String(10), primary_key=True),  # the hash's date: the game day or a local one
    Column("counters", Text, nullable=False),  # JSON: the hash's fields and values
    Column("expires_at", BigInteger, nullable=False),  # unix s, engine time
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_daily_counters_expires", "expires_at"),
)
