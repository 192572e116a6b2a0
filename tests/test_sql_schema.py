"""The SQL schema: Alembic upgrade and downgrade, on SQLite and MariaDB."""

from __future__ import annotations

import sqlalchemy

from engine import db, migrate

TABLES = {
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
    "idempotency_records",
}


def tables(sql) -> set[str]:
    return set(sqlalchemy.inspect(sql).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_round_trip(sql_url):
    sql = db.connect(sql_url)
    try:
        assert tables(sql) == TABLES  # the fixture upgraded to head
        migrate.downgrade(sql, "base")
        assert tables(sql) == set()
        migrate.upgrade(sql)
        assert tables(sql) == TABLES
        columns = {
            c["name"] for c in sqlalchemy.inspect(sql).get_columns("quiz_leaderboard_aggregates")
        }
        assert {"rank_current", "rank_previous", "total_score"} <= columns
    finally:
        sql.dispose()


def test_the_migrations_match_the_models(sql_url):
    """autogenerate finds nothing to change: the migration creates exactly engine.db."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    sql = db.connect(sql_url)
    try:
        with sql.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == []
    finally:
        sql.dispose()


def test_bulk_writes_are_idempotent(sql_url):
    sql = db.connect(sql_url)
    row = {
        "player_id": "alice",
        "transaction_id": "1-0",
        "kind": "grant",
        "deltas": "{}",
        "balances_after": "{}",
        "reason": "r",
        "ref": "grant/k",
        "fingerprint": None,
        "at_ms": 1,
    }
    try:
        with sql.begin() as conn:
            assert (
                db.insert_ignore(
                    conn, db.user_resource_logs, [row, row | {"transaction_id": "2-0"}]
                )
                == 2
            )
            assert db.insert_ignore(conn, db.user_resource_logs, [row]) == 0
            db.upsert(
                conn,
                db.user_resources,
                [{"player_id": "alice", "resource": "coins", "balance": 5, "updated_ms": 1}],
                update=["balance", "updated_ms"],
            )
            db.upsert(
                conn,
                db.user_resources,
                [{"player_id": "alice", "resource": "coins", "balance": 7, "updated_ms": 2}],
                update=["balance", "updated_ms"],
            )
            balance = conn.execute(sqlalchemy.select(db.user_resources.c.balance)).scalar_one()
            assert balance == 7
            base = {
                "player_id": "a",
                "period_type": "weekly",
                "period": "2026-W48",
                "category": "global",
                "total_score": 1,
                "exams_taken": 1,
                "questions": 1,
                "correct_answers": 1,
                "reached_s": 0,
                "rank_previous": None,
                "updated_ms": 1,
            }
            for rank in (5, 3):
                db.upsert(
                    conn,
                    db.quiz_leaderboard_aggregates,
                    [base | {"rank_current": rank}],
                    update=["rank_current"],
                    previous={"rank_previous": "rank_current"},
                )
            ranks = conn.execute(
                sqlalchemy.select(
                    db.quiz_leaderboard_aggregates.c.rank_current,
                    db.quiz_leaderboard_aggregates.c.rank_previous,
                )
            ).one()
            assert tuple(ranks) == (3, 5)
    finally:
        sql.dispose()


def test_a_guarded_upsert_keeps_the_newer_row(sql_url):
    sql = db.connect(sql_url)
    row = {"player_id": "alice", "resource": "coins"}
    try:
        with sql.begin() as conn:
            for balance, at in ((10, 200), (5, 100), (12, 200), (20, 300)):
                db.upsert(
                    conn,
                    db.user_resources,
                    [row | {"balance": balance, "updated_ms": at}],
                    update=["balance", "updated_ms"],
                    newer="updated_ms",
                )
                stored = conn.execute(
                    sqlalchemy.select(db.user_resources.c.balance, db.user_resources.c.updated_ms)
                ).one()
                expected = {
                    (10, 200): (10, 200),
                    (5, 100): (10, 200),
                    (12, 200): (12, 200),
                    (20, 300): (20, 300),
                }[(balance, at)]
                assert tuple(stored) == expected
    finally:
        sql.dispose()


def test_bulk_inserts_keep_every_character(sql_url):
    """Large batches take MySQL's LOAD DATA path: tabs, newlines, backslashes, NULLs."""
    sql = db.connect(sql_url)
    awkward = ["tab\there", "new\nline", "back\\slash", "\\N", "ünïcödé ✓", "quote ' \" `"]
    rows = [
        {
            "player_id": f"p{n}",
            "transaction_id": f"{n}-0",
            "kind": "grant",
            "deltas": '{"coins":1}',
            "balances_after": '{"coins":1}',
            "reason": awkward[n % len(awkward)],
            "ref": "grant/k",
            "fingerprint": None if n % 2 else "f" * 64,
            "at_ms": n,
        }
        for n in range(db.BULK_LOAD_ROWS + 5)
    ]
    try:
        with sql.begin() as conn:
            assert db.insert_ignore(conn, db.user_resource_logs, rows) == len(rows)
            assert db.insert_ignore(conn, db.user_resource_logs, rows) == 0
            stored = {
                r.transaction_id: (r.reason, r.fingerprint)
                for r in conn.execute(sqlalchemy.select(db.user_resource_logs))
            }
        assert stored == {r["transaction_id"]: (r["reason"], r["fingerprint"]) for r in rows}
    finally:
        sql.dispose()
