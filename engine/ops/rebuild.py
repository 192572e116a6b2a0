"""Rebuild: restore Redis from SQL after Redis was lost.

What comes back: wallets (the ledger history stays in SQL, where the API reads what
Redis does not hold), leaderboards and aggregates of the retained periods, battle-pass progress,
streaks, the idempotency records of recent requests and exam attempts (so a client
retrying a request made before the loss is answered, not counted again), and the
settings. What cannot come back is what had not been persisted yet: the changes made
in the last persist interval before Redis died (see the README's data-loss window).

Progress is reported through `progress(step, done, total)` for large restores.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from engine import boards, db, keys
from engine.boards import Board, exam_record
from engine.clock import to_ms
from engine.runtime import Engine

CHUNK = 5_000
Progress = Callable[[str, int, int], None]


def _quiet(step: str, done: int, total: int) -> None:
    return None


def rebuild(engine: Engine, progress: Progress = _quiet) -> dict[str, int]:
    """Write SQL's record back into Redis. Safe to run twice (every write is absolute)."""
    counts = {
        "wallets": _wallets(engine, progress),
        "ledger_entries": _ledger(engine, progress),
        "board_entries": _leaderboards(engine, progress),
        "battle_passes": _battle_passes(engine, progress),
        "streaks": _streaks(engine, progress),
        "exam_attempts": _exam_attempts(engine, progress),
        "settings": _settings(engine, progress),
    }
    return counts


def _count(engine: Engine, table, where=None) -> int:
    from sqlalchemy import func

    query = select(func.count()).select_from(table)
    if where is not None:
        query = query.where(where)
    with engine.sql.connect() as conn:
        return conn.execute(query).scalar_one()


def _stream(engine: Engine, query):
    with engine.sql.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=CHUNK).execute(query)
        yield from result.mappings().partitions(CHUNK)


def _wallets(engine: Engine, progress: Progress) -> int:
    total = _count(engine, db.user_resources)
    done = 0
    players = set()
    query = select(db.user_resources).order_by(db.user_resources.c.player_id)
    for rows in _stream(engine, query):
        pipe = engine.redis.pipeline(transaction=False)
        for row in rows:
            pipe.hset(keys.wallet(row["player_id"]), row["resource"], row["balance"])
            players.add(row["player_id"])
        pipe.execute()
        done += len(rows)
        progress("wallets", done, total)
    return len(players)


def _ledger(engine: Engine, progress: Progress) -> int:
    """The idempotency records of recent requests, from the ledger rows; and each shard
    outbox's last ID raised to the newest transaction id of its players, so the next
    change's id (an outbox ID) still follows every id in SQL. The ledger itself stays in
    SQL: the API reads the pages Redis does not hold from there (engine.economy.ledger).
    """
    table = db.user_resource_logs
    total = _count(engine, table)
    done = 0
    cutoff = to_ms(engine.clock.now()) - engine.idempotency_ttl_seconds * 1000
    newest: dict[str, tuple[int, int]] = {}  # outbox -> the newest transaction id in it
    query = select(table).order_by(table.c.player_id, table.c.at_ms, table.c.id)
    for rows in _stream(engine, query):
        pipe = engine.redis.pipeline(transaction=False)
        for row in rows:
            outbox = keys.player_outbox(row["player_id"])
            ms, _, seq = row["transaction_id"].partition("-")
            newest[outbox] = max(newest.get(outbox, (0, 0)), (int(ms), int(seq)))
            if row["fingerprint"] and row["at_ms"] >= cutoff and "/" in row["ref"]:
                route, key = row["ref"].split("/", 1)
                outcome = json.dumps(
                    {
                        "fp": row["fingerprint"],
                        "code": 0,
                        "tx": row["transaction_id"],
                        "at": row["at_ms"],
                        "deltas": json.loads(row["deltas"]),
                        "balances": json.loads(row["balances_after"]),
                    },
                    separators=(",", ":"),
                )
                remaining = max(1, (row["at_ms"] - cutoff) // 1000)
                pipe.set(
                    keys.idempotency(row["player_id"], route, key), outcome, ex=remaining, nx=True
                )
        pipe.execute()
        done += len(rows)
        progress("ledger", done, total)
    _raise_outbox_ids(engine, newest)
    return done


def _raise_outbox_ids(engine: Engine, newest: dict[str, tuple[int, int]]) -> None:
    """An entry added at the newest id and deleted in the same MULTI leaves the stream's
    last ID there, unseen by any reader (XSETID does the same, but not on every server
    the tests use); an outbox already past that id refuses the XADD and keeps its own."""
    for outbox, (ms, seq) in newest.items():
        pipe = engine.redis.pipeline(transaction=True)
        pipe.xadd(outbox, {"type": "id"}, id=f"{ms}-{seq}")
        pipe.xdel(outbox, f"{ms}-{seq}")
        for reply in pipe.execute(raise_on_error=False):
            if isinstance(reply, Exception) and "equal or smaller" not in str(reply):
                raise reply


def _leaderboards(engine: Engine, progress: Progress) -> int:
    """Boards and aggregates back from SQL. Each board's players come in the order they
    reached their totals (SQL keeps the second; within one second, by player id) and
    take their places behind each other as update_board.lua would have placed them."""
    table = db.quiz_leaderboard_aggregates
    total = _count(engine, table)
    done = restored = 0
    query = select(table).order_by(
        table.c.period_type,
        table.c.period,
        table.c.category,
        table.c.total_score,
        table.c.reached_s,
        table.c.player_id,
    )
    periods: dict[tuple[str, str], tuple] = {}  # (type, name) -> (period, ttl)
    places: dict[str, tuple[int, int]] = {}  # scores key -> (ranked total, next place)
    for rows in _stream(engine, query):
        pipe = engine.redis.pipeline(transaction=False)
        expiring: dict[str, int] = {}  # key -> ttl, set once a chunk
        scores: dict[str, dict[str, int]] = {}
        stored: dict[str, dict[str, str]] = {}
        for row in rows:
            done += 1
            period_id = (row["period_type"], row["period"])
            if period_id not in periods:
                period = engine.calendar.parse(*period_id)
                periods[period_id] = (period, boards.seconds_to_expiry(engine, period))
            period, ttl = periods[period_id]
            if ttl <= 0:
                continue  # past its retention: it would have expired anyway
            category = row["category"]
            board = Board(row["period_type"], period, None if category == "global" else category)
            total_score = row["total_score"]
            ranked = min(total_score, boards.CAP)
            held, place = places.get(board.scores_key, (ranked, 0))
            place = place if held == ranked else 0
            places[board.scores_key] = (ranked, place + 1)
            composite = boards.composite(total_score, place)
            stats = keys.player_board_stats(row["player_id"], row["period_type"], row["period"])
            sums = boards.Sums(
                total_score,
                row["exams_taken"],
                row["questions"],
                row["correct_answers"],
                row["reached_s"],
            )
            pipe.hset(stats, category, sums.text())
            expiring[stats] = ttl
            scores.setdefault(board.scores_key, {})[row["player_id"]] = composite
            stored.setdefault(board.aggregates_key, {})[row["player_id"]] = (
                f"{total_score}:{row['exams_taken']}:{row['questions']}:{row['correct_answers']}"
            )
            expiring[board.scores_key] = expiring[board.aggregates_key] = ttl
            if board.category is not None:
                index = keys.board_index(board.period_type, period.name)
                pipe.sadd(index, board.category)
                expiring[index] = ttl
            restored += 1
        for key, members in scores.items():
            pipe.zadd(key, members, gt=True)
        for key, mapping in stored.items():
            pipe.hset(key, mapping=mapping)
        for key, ttl in expiring.items():
            pipe.expire(key, ttl)
        pipe.execute()
        progress("leaderboards", done, total)
    return restored


def _restore_hashes(engine: Engine, progress: Progress, step: str, table, hash_of) -> int:
    """Every row of `table` back into the hash `hash_of(row)` names, with its fields."""
    total = _count(engine, table)
    done = 0
    for rows in _stream(engine, select(table)):
        pipe = engine.redis.pipeline(transaction=False)
        for row in rows:
            key, fields = hash_of(row)
            pipe.hset(key, mapping=fields)
        pipe.execute()
        done += len(rows)
        progress(step, done, total)
    return done


def _battle_passes(engine: Engine, progress: Progress) -> int:
    return _restore_hashes(
        engine,
        progress,
        "battle_pass",
        db.user_battle_pass,
        lambda row: (
            keys.battle_pass(row["player_id"], row["season_id"]),
            {"xp": row["xp"], "rewarded_level": row["rewarded_level"]},
        ),
    )


def _streaks(engine: Engine, progress: Progress) -> int:
    return _restore_hashes(
        engine,
        progress,
        "streaks",
        db.user_streaks,
        lambda row: (
            keys.streak(row["player_id"]),
            {"last_day": row["last_day"], "streak": row["streak"], "best": row["best"]},
        ),
    )


def _exam_attempts(engine: Engine, progress: Progress) -> int:
    table = db.quiz_exam_attempts
    keep_ms = engine.idempotency_ttl_seconds * 1000  # the records' lifetime
    now_ms = to_ms(engine.clock.now())
    since = now_ms - keep_ms
    total = _count(engine, table, table.c.at_ms >= since)
    done = 0
    query = select(table).where(table.c.at_ms >= since)
    for rows in _stream(engine, query):
        pipe = engine.redis.pipeline(transaction=False)
        for row in rows:
            if not row["summary"]:
                continue  # persisted in the microseconds before its summary: cannot answer
            record = keys.exam(row["player_id"], row["exam_id"])
            summary = exam_record.pack(row["summary"].encode())
            pipe.hset(record, mapping={"fp": row["fingerprint"], "summary": summary})
            pipe.expire(record, max(1, (row["at_ms"] - since) // 1000))
        pipe.execute()
        done += len(rows)
        progress("exam_attempts", done, total)
    return done


def _settings(engine: Engine, progress: Progress) -> int:
    with engine.sql.connect() as conn:
        rows = conn.execute(select(db.settings)).mappings().all()
    today = engine.calendar.game_day(engine.clock.now())
    restored = 0
    for row in rows:
        kind, _, value = row["name"].partition(":")
        if kind == "tool" and value >= (today - timedelta(days=1)).isoformat():
            engine.redis.set(keys.tool_of_day(value), row["value"], ex=3 * 86_400)
            restored += 1
        elif kind == "season-archived":
            engine.redis.set(keys.season_archived(value), row["value"])
            restored += 1
    progress("settings", restored, len(rows))
    return restored
