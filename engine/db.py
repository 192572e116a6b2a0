"""The durable SQL record: tables (SQLAlchemy Core) and dialect-aware bulk writes.

Redis holds the live state; these tables hold what must survive Redis: the ledger and
its archive, balances, leaderboard aggregates and their cache, battle-pass progress
and its season archive, streaks, the day's counters, security events, job runs and
settings. The same schema runs on MariaDB/MySQL (PyMySQL) and SQLite (the embedded
default); Alembic (migrations/) creates and upgrades it.

Writes are batched: one multi-row statement per batch, idempotent (insert-or-ignore
on natural keys, upserts), never a round trip per row.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from typing import Any

import pymysql
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
    case,
    create_engine,
)
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.engine import Connection, Engine

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

quiz_leaderboard_aggregates = Table(
    "quiz_leaderboard_aggregates",
    metadata,
    Column("player_id", PLAYER, primary_key=True),
    Column("period_type", String(8), primary_key=True),
    Column("period", String(8), primary_key=True),
    Column("category", String(64), primary_key=True),
    Column("total_score", BigInteger, nullable=False),
    Column("exams_taken", Integer, nullable=False),
    Column("questions", BigInteger, nullable=False),
    Column("correct_answers", BigInteger, nullable=False),
    Column("reached_s", Integer, nullable=False),
    Column("rank_current", Integer, nullable=True),
    Column("rank_previous", Integer, nullable=True),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_aggregates_board_score", "period_type", "period", "category", "total_score"),
)

leaderboard_cache = Table(
    "leaderboard_cache",
    metadata,
    Column("period_type", String(8), primary_key=True),
    Column("period", String(8), primary_key=True),
    Column("category", String(64), primary_key=True),
    Column("snapshot_ms", BigInteger, nullable=False),
    Column("document", Text().with_variant(mysql.MEDIUMTEXT(), "mysql"), nullable=False),
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

security_events = Table(
    "security_events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("event_id", String(48), nullable=False, unique=True),
    Column("at_ms", BigInteger, nullable=False),
    Column("player_id", PLAYER, nullable=False),
    Column("address", String(64), nullable=True),
    Column("rule", String(64), nullable=False),
    Column("details", Text, nullable=False),
    Column("action", String(32), nullable=False),
    Index("ix_security_events_at", "at_ms"),
)

job_runs = Table(
    "job_runs",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("run_id", String(48), nullable=False, unique=True),
    Column("name", String(64), nullable=False),
    Column("scheduled_ms", BigInteger, nullable=True),
    Column("started_ms", BigInteger, nullable=False),
    Column("finished_ms", BigInteger, nullable=True),
    Column("duration_ms", BigInteger, nullable=True),
    Column("status", String(16), nullable=False),
    Column("rows_affected", BigInteger, nullable=False, default=0),
    Column("error", Text, nullable=True),
    Index("ix_job_runs_name_started", "name", "started_ms"),
)

# Leagues (engine.leagues.close): every member of every closed cohort, written once by
# the period's league_close (rows by their key, so a rerun adds nothing).
league_results = Table(
    "league_results",
    metadata,
    Column("period_type", String(16), primary_key=True),
    Column("period", String(16), primary_key=True),
    Column("player_id", PLAYER, primary_key=True),
    Column("tier", String(32), nullable=False),
    Column("cohort", Integer, nullable=False),  # its number in the tier: "<tier>-<cohort>"
    Column("position", Integer, nullable=False),  # place in the final order
    Column("rank", Integer, nullable=False),  # competition rank by score
    Column("score", BigInteger, nullable=False),
    Column("next_tier", String(32), nullable=False),
    Column("prize", Text, nullable=True),  # JSON amounts, or NULL
    Column("closed_ms", BigInteger, nullable=False),
    Index("ix_league_results_cohort", "period_type", "period", "tier", "cohort"),
)

# Board prizes (engine.boards.prizes): what each closed period's board paid, written
# once by its close (rows by their key, so a rerun adds nothing).
board_prizes = Table(
    "board_prizes",
    metadata,
    Column("board", String(48), primary_key=True),  # "weekly:global", "weekly:math"
    Column("period", String(16), primary_key=True),
    Column("player_id", PLAYER, primary_key=True),
    Column("rank", Integer, nullable=False),
    Column("score", BigInteger, nullable=False),
    Column("prize", Text, nullable=False),  # JSON amounts
    Column("transaction_id", String(64), nullable=False),  # or "refused:<code>"
    Column("paid_ms", BigInteger, nullable=False),
)

settings = Table(
    "settings",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)


# Webhooks (engine.webhooks): subscriptions, the events they asked for, one delivery
# row per (subscription, event). Events and deliveries are written in the transaction
# that persists what produced them.
webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("url", String(2048), nullable=False),
    Column("description", String(255), nullable=False),
    Column("events", Text, nullable=False),  # JSON list of event types
    Column("enabled", Integer, nullable=False),
    # whsec_ secrets, or enc:v1: and a Fernet token (engine.webhooks.encryption): 191 chars
    Column("secret", String(255), nullable=False),
    Column("previous_secret", String(255), nullable=True),  # still signs until...
    Column("previous_until_ms", BigInteger, nullable=True),
    Column("failing_since_ms", BigInteger, nullable=True),
    Column("disabled_reason", String(255), nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

webhook_events = Table(
    "webhook_events",
    metadata,
    Column("event_id", String(48), primary_key=True),
    Column("type", String(48), nullable=False),
    Column("player_id", PLAYER, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("data", Text().with_variant(mysql.MEDIUMTEXT(), "mysql"), nullable=False),
    Index("ix_webhook_events_created", "created_ms"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("subscription_id", String(40), nullable=False),
    Column("event_id", String(48), nullable=False),
    Column("sequence", String(64), nullable=False),  # delivered in order within one
    Column("status", String(16), nullable=False),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_ms", BigInteger, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("first_attempt_ms", BigInteger, nullable=True),
    Column("last_attempt_ms", BigInteger, nullable=True),
    Column("delivered_ms", BigInteger, nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", String(255), nullable=True),
    Column("latency_ms", Integer, nullable=True),
    UniqueConstraint("subscription_id", "event_id", name="uq_webhook_delivery"),
    Index("ix_webhook_deliveries_pending", "status", "subscription_id", "sequence", "id"),
    Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),
    Index("ix_webhook_deliveries_event", "event_id"),
    Index("ix_webhook_deliveries_created", "created_ms"),
)


def connect(url: str) -> Engine:
    """A SQLAlchemy engine; MariaDB/MySQL URLs use PyMySQL (mysql+pymysql://)."""
    if url.startswith("mysql://") or url.startswith("mariadb://"):
        url = "mysql+pymysql://" + url.split("://", 1)[1]
    options: dict[str, Any] = {"future": True, "pool_pre_ping": True}
    if url.startswith("sqlite"):
        options["connect_args"] = {"timeout": 30}
    elif url.startswith("mysql+pymysql"):
        options["connect_args"] = {"local_infile": True}  # bulk loads, see insert_ignore
    return create_engine(url, **options)


def _mysql_executemany(conn: Connection, sql: str, columns: list[str], rows) -> int:
    """Run a multi-row statement on the DBAPI cursor of `conn`'s transaction.

    PyMySQL folds executemany of one INSERT into multi-row statements; passing tuples
    (not the dicts SQLAlchemy would build) spares half of the Python work per row.
    """
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.executemany(sql, [tuple(row[c] for c in columns) for row in rows])
        return cursor.rowcount
    finally:
        cursor.close()


def _mysql_insert(table: Table, columns: list[str], prefix: str = "") -> str:
    names = ", ".join(f"`{c}`" for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    return f"INSERT {prefix}INTO `{table.name}` ({names}) VALUES ({marks})"


BULK_LOAD_ROWS = 1_000  # from this many rows, MySQL inserts load a file (LOAD DATA)
LOAD_DATA_REFUSED = (1148, 2068, 3948)  # server or client has local_infile off
_bulk_load_refused = False  # the server refuses LOAD DATA LOCAL: use multi-row INSERTs


def _tsv(value: Any) -> str:
    if value is None:
        return "\\N"
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
    return text


def _mysql_load(conn: Connection, table: Table, columns: list[str], rows) -> int:
    """LOAD DATA LOCAL INFILE ... IGNORE: the server parses a tab-separated file, which
    costs a fraction of formatting the same rows into SQL in Python."""
    lines = "".join("\t".join(_tsv(row[c]) for c in columns) + "\n" for row in rows)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".tsv") as data:
        data.write(lines)
        data.flush()
        names = ", ".join(f"`{c}`" for c in columns)
        cursor = conn.connection.driver_connection.cursor()
        try:
            cursor.execute(
                f"LOAD DATA LOCAL INFILE %s IGNORE INTO TABLE `{table.name}` "
                "CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' "
                f"LINES TERMINATED BY '\\n' ({names})",
                (data.name,),
            )
            return cursor.rowcount
        finally:
            cursor.close()


def insert_ignore(conn: Connection, table: Table, rows: Sequence[dict]) -> int:
    """Insert rows, skipping those whose unique key exists; returns rows inserted."""
    global _bulk_load_refused
    if not rows:
        return 0
    if conn.dialect.name == "mysql":
        columns = list(rows[0])
        if len(rows) >= BULK_LOAD_ROWS and not _bulk_load_refused:
            try:
                return _mysql_load(conn, table, columns, rows)
            except pymysql.MySQLError as error:
                if error.args[0] not in LOAD_DATA_REFUSED:
                    raise
                _bulk_load_refused = True  # the server does not allow it: never again
        return _mysql_executemany(conn, _mysql_insert(table, columns, "IGNORE "), columns, rows)
    elif conn.dialect.name == "sqlite":
        statement = sqlite.insert(table).on_conflict_do_nothing()
    else:  # pragma: no cover - other dialects are not supported
        raise NotImplementedError(conn.dialect.name)
    return conn.execute(statement, list(rows)).rowcount


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict],
    update: Sequence[str],
    previous: dict[str, str] | None = None,
    newer: str | None = None,
) -> None:
    """Insert rows or update columns `update` of existing ones (by primary key).

    `previous` maps a column to another whose *old* value it takes first (e.g.
    rank_previous <- rank_current), before `update` overwrites it. With `newer`, a
    row is only updated when its `newer` column (a time) is not older than the stored
    one, so an older write arriving late does not overwrite a newer one.
    """
    if not rows:
        return
    previous = previous or {}
    if conn.dialect.name == "mysql":
        # MySQL assigns left to right: the `previous` copies come first, the guard last.
        assignments = [f"`{name}` = `{source}`" for name, source in previous.items()]
        for name in sorted(update, key=lambda column: column == newer):
            value = f"VALUES(`{name}`)"
            if newer is not None:
                value = f"IF(VALUES(`{newer}`) >= `{newer}`, {value}, `{name}`)"
            assignments.append(f"`{name}` = {value}")
        columns = list(rows[0])
        sql = _mysql_insert(table, columns) + " ON DUPLICATE KEY UPDATE " + ", ".join(assignments)
        _mysql_executemany(conn, sql, columns, rows)
        return
    if conn.dialect.name == "sqlite":
        statement = sqlite.insert(table)
        incoming = statement.excluded
        values = {name: table.c[source] for name, source in previous.items()}
        for name in update:
            value = incoming[name]
            if newer is not None:
                value = case((incoming[newer] >= table.c[newer], value), else_=table.c[name])
            values[name] = value
        statement = statement.on_conflict_do_update(
            index_elements=[column.name for column in table.primary_key], set_=values
        )
    else:  # pragma: no cover
        raise NotImplementedError(conn.dialect.name)
    conn.execute(statement, list(rows))
