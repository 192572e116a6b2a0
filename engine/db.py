"""The durable SQL record: tables (SQLAlchemy Core) and dialect-aware bulk writes.

Redis holds the live state; these tables hold what must survive Redis: the ledger and
its archive, balances, leaderboard aggregates and their cache, battle-pass progress
and its season archive, streaks, the day's counters, security events, job runs and
settings. The same schema runs on MariaDB/MySQL (PyMySQL) and SQLite (the embedded
default); Alembic (migrations/) creates and upgrades it.

The tables live in engine.db_player_tables (what one player owns) and
engine.db_shared_tables (what spans players); this module re-exports them, so every
caller imports tables, connect and the writes from engine.db alone.

Writes are batched: one multi-row statement per batch, idempotent (insert-or-ignore
on natural keys, upserts), never a round trip per row.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from typing import Any

import pymysql
from sqlalchemy import Table, case, create_engine
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection, Engine

from engine.db_player_tables import (
    PLAYER,
    metadata,
    quiz_exam_attempts,
    user_battle_pass,
    user_battle_pass_archive,
    user_daily_counters,
    user_resource_logs,
    user_resource_logs_archive,
    user_resources,
    user_streaks,
)
from engine.db_shared_tables import (
    board_prizes,
    idempotency_records,
    job_runs,
    leaderboard_cache,
    league_results,
    quiz_leaderboard_aggregates,
    security_events,
    settings,
    webhook_deliveries,
    webhook_events,
    webhook_subscriptions,
)

__all__ = [
    "BULK_LOAD_ROWS",
    "LOAD_DATA_REFUSED",
    "PLAYER",
    "board_prizes",
    "connect",
    "idempotency_records",
    "insert_ignore",
    "job_runs",
    "leaderboard_cache",
    "league_results",
    "metadata",
    "quiz_exam_attempts",
    "quiz_leaderboard_aggregates",
    "security_events",
    "settings",
    "upsert",
    "user_battle_pass",
    "user_battle_pass_archive",
    "user_daily_counters",
    "user_resource_logs",
    "user_resource_logs_archive",
    "user_resources",
    "user_streaks",
    "webhook_deliveries",
    "webhook_events",
    "webhook_subscriptions",
]


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
