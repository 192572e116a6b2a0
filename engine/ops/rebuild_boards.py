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
    # A player's stats hash (engine.boards.exam_stats) lives as long as the longest kept
    # period: the current year's, as record_exams.lua sets it at a period's first exam.
    stats_ttl = max(
        boards.seconds_to_expiry(engine, boards.current_period(engine, period_type))
        for period_type in PERIOD_TYPES
    )
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
            stats = keys.board_stats(row["player_id"])
            sums = boards.Sums(
                total_score,
                row["exams_taken"],
                row["questions"],
                row["correct_answers"],
                row["reached_s"],
            )
            pipe.hset(stats, exam_stats.field(period, category), sums.text())
            expiring[stats] = stats_ttl
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
