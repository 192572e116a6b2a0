"""Rebuild, boards: the leaderboards and aggregates of the retained periods, and the
exam attempts' records within their lifetime (so a retried exam is answered, not
counted again).
"""

from __future__ import annotations

from sqlalchemy import select

from engine import boards, db, keys
from engine.boards import Board, exam_record, exam_stats
from engine.calendar import PERIOD_TYPES
from engine.clock import to_ms
from engine.ops.rebuild_sql import Progress, _count, _stream
from engine.runtime import Engine


def _leaderboards(engine: Engine, progress: Progress) -> int:
    """Boards and aggregates back from SQL, through the exam path's own rule
    (lua/update_board.lua): a total and its aggregates only move forward, so a board
    Redis still holds (a rebuild over a partly flushed Redis: a cluster that lost some
    masters' data; or run again) keeps every total, aggregate and place it holds ahead
    of SQL's copy, which lags it by up to a persist interval. Each board's players
    come in the order they reached their totals (SQL keeps the second; within one
    second, by player id) and arrive behind each other, as the script places them: on
    an empty board, where they were (to the second); behind a live player holding the
    same total. Each player's stats hash (engine.boards.exam_stats) is written by the
    same rule, field by field (lua/restore_forward.lua)."""
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
    periods: dict[tuple[str, str], tuple] = {}  # (type, name) -> (period, ttl, expire-at)
    # A player's stats hash (engine.boards.exam_stats) lives as long as the longest kept
    # period: the current year's, as record_exams.lua sets it at a period's first exam.
    stats_ttl = max(
        boards.seconds_to_expiry(engine, boards.current_period(engine, period_type))
        for period_type in PERIOD_TYPES
    )
    now_s = int(engine.clock.now().timestamp())
    for rows in _stream(engine, query):
        batch = engine.scripts.batch()
        updates: dict[str, tuple[Board, list]] = {}  # scores key -> (board, its arguments)
        stats: dict[str, list[str]] = {}  # stats key -> field, value, ...
        indexes: dict[str, tuple[set[str], int]] = {}  # index -> (categories, ttl)
        for row in rows:
            done += 1
            period_id = (row["period_type"], row["period"])
            if period_id not in periods:
                period = engine.calendar.parse(*period_id)
                expire_at = int(boards.expires_at(engine, period).timestamp())
                periods[period_id] = (period, boards.seconds_to_expiry(engine, period), expire_at)
            period, ttl, expire_at = periods[period_id]
            if ttl <= 0:
                continue  # past its retention: it would have expired anyway
            category = row["category"]
            board = Board(row["period_type"], period, None if category == "global" else category)
            sums = boards.Sums(
                row["total_score"],
                row["exams_taken"],
                row["questions"],
                row["correct_answers"],
                row["reached_s"],
            )
            stats.setdefault(keys.board_stats(row["player_id"]), []).extend(
                (exam_stats.field(period, category), sums.text())
            )
            update = updates.get(board.scores_key)
            if update is None:
                args = [board.multiplier, expire_at, now_s]
                update = updates[board.scores_key] = (board, args)
            # update_board.lua's "<player id>|<score:exams:questions:correct>"
            update[1].append(
                f"{row['player_id']}|{sums.score}:{sums.exams}:{sums.questions}:{sums.correct}"
            )
            if board.category is not None:
                index = keys.board_index(board.period_type, period.name)
                indexes.setdefault(index, (set(), ttl))[0].add(board.category)
            restored += 1
        for board, args in updates.values():
            batch.call("update_board", [board.scores_key, board.aggregates_key], args)
        for key, fields in stats.items():
            batch.call("restore_forward", [key], [stats_ttl, "", *fields])
        for index, (categories, ttl) in indexes.items():
            batch.pipe.sadd(index, *categories)
            batch.pipe.expire(index, ttl)
        batch.execute()
        progress("leaderboards", done, total)
    return restored


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
            ttl = max(1, (row["at_ms"] - since) // 1000)
            pipe.set(record, exam_record.value(row["fingerprint"], summary), ex=ttl)
        pipe.execute()
        done += len(rows)
        progress("exam_attempts", done, total)
    return done
