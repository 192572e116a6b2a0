"""Rebuild, boards: the leaderboards and aggregates of the retained periods, and the
exam attempts' records within their lifetime (so a retried exam is answered, not
counted again).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from engine import boards, db, keys
from engine.boards import GLOBAL, Board, exam_record, exam_stats
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
    same total.

    Each player's stats hash (engine.boards.exam_stats), from which their next exam
    counts on, takes the sums the board holds after that write (SQL's, or the board's
    own when it kept newer ones: a player whose shard was lost while the boards' slots
    were kept counts on from the live totals, not from SQL's older ones), by the same
    rule, field by field (lua/restore_forward.lua). The second at which a board's own
    newer total was reached is not kept beside it: it takes the rebuild's, the latest
    it can be. Two round trips a chunk: the boards, then the stats.

    The boards' last snapshots come back too (_snapshot_tops): a past period is never
    snapshotted again, and its pages would show every player as new. Each player's rank
    at it (the rows' rank_current) goes into the snapshot's ranks with the stats."""
    table = db.quiz_leaderboard_aggregates
    total = _count(engine, table)
    done = restored = 0
    snapshot_ranks = _snapshot_tops(engine)  # and those Redis holds none of, once met
    kept_ranks: set[str] = set()  # the snapshot ranks Redis held when met: kept as they are
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
    now = engine.clock.now()
    now_s = int(now.timestamp())
    for rows in _stream(engine, query):
        updates: dict[str, tuple[Board, list]] = {}  # scores key -> (board, its arguments)
        written: list[tuple[Board, str, boards.Sums]] = []  # (board, player, SQL's sums)
        indexes: dict[str, tuple[set[str], int]] = {}  # index -> (categories, ttl)
        ranks: dict[str, tuple[dict[str, int], int]] = {}  # snapshot ranks -> (ranks, ttl)
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
            written.append((board, row["player_id"], sums))
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
            if row["rank_current"] is not None:
                ranked = ranks.setdefault(board.snapshot_ranks_key, ({}, ttl))[0]
                ranked[row["player_id"]] = row["rank_current"]
            restored += 1
        _keep_ranks_to_write(engine, ranks, snapshot_ranks, kept_ranks)
        held = _write_boards(engine, updates, written)
        batch = engine.scripts.batch()
        for key, fields in _stats_fields(engine, now, written, held).items():
            batch.call("restore_forward", [key], [stats_ttl, "", *fields])
        for index, (categories, ttl) in indexes.items():
            batch.pipe.sadd(index, *categories)
            batch.pipe.expire(index, ttl)
        for key, (ranked, ttl) in ranks.items():
            batch.pipe.zadd(key, ranked)
            batch.pipe.expire(key, ttl)
        batch.execute()
        progress("leaderboards", done, total)
    return restored


def _keep_ranks_to_write(
    engine: Engine, ranks: dict[str, tuple[dict[str, int], int]], fill: set[str], kept: set[str]
) -> None:
    """Leave in `ranks` the snapshot ranks to write: those of a board whose top came back
    (in `fill`), and those Redis holds none of when first met. A removal from the boards
    drops the tops that showed the player but keeps the others' ranks, so a past period
    with no top left still shows their movement; it must after a rebuild too. A board
    met again in a later chunk follows the first answer (`fill` or `kept` holds it)."""
    unknown = [key for key in ranks if key not in fill and key not in kept]
    if unknown:
        pipe = engine.redis.pipeline(transaction=False)
        for key in unknown:
            pipe.exists(key)  # one key an EXISTS: a cluster's slots
        for key, held in zip(unknown, pipe.execute(), strict=True):
            (kept if held else fill).add(key)
    for key in [key for key in ranks if key not in fill]:
        del ranks[key]


def _snapshot_tops(engine: Engine) -> set[str]:
    """Each kept board's last snapshot top (leaderboard_cache) back where Redis holds
    none; returns the snapshot ranks keys of the boards it wrote, for their ranks. A
    board whose snapshot Redis still holds keeps it, and its ranks."""
    table = db.leaderboard_cache
    written: list[Board] = []
    pipe = engine.redis.pipeline(transaction=False)
    with engine.sql.connect() as conn:
        for row in conn.execute(select(table)).mappings():
            period = engine.calendar.parse(row["period_type"], row["period"])
            ttl = boards.seconds_to_expiry(engine, period)
            if ttl <= 0:
                continue  # past its retention
            category = None if row["category"] == GLOBAL else row["category"]
            board = Board(row["period_type"], period, category)
            pipe.set(board.snapshot_top_key, row["document"], nx=True, ex=ttl)
            written.append(board)
    replies = pipe.execute() if written else []
    return {board.snapshot_ranks_key for board, new in zip(written, replies, strict=True) if new}


def _write_boards(
    engine: Engine,
    updates: dict[str, tuple[Board, list]],
    written: list[tuple[Board, str, boards.Sums]],
) -> dict[tuple[str, str], bytes | None]:
    """One update_board.lua call a board, then each written player's aggregates on it as
    the board holds them after the call: (aggregates key, player) -> its text."""
    batch = engine.scripts.batch()
    for board, args in updates.values():
        batch.call("update_board", [board.scores_key, board.aggregates_key], args)
    players: dict[str, list[str]] = {}  # aggregates key -> its written players
    for board, player, _ in written:
        players.setdefault(board.aggregates_key, []).append(player)
    for key, names in players.items():
        batch.pipe.hmget(key, names)
    replies = batch.execute()[len(updates) :]
    return {
        (key, player): text
        for (key, names), texts in zip(players.items(), replies, strict=True)
        for player, text in zip(names, texts, strict=True)
    }


def _stats_fields(
    engine: Engine,
    now: datetime,
    written: list[tuple[Board, str, boards.Sums]],
    held: dict[tuple[str, str], bytes | None],
) -> dict[str, list[str]]:
    """stats key -> field, value, ...: each board's sums of the player, SQL's or, when
    the board holds newer ones (a higher total, or as high over more exams), the
    board's, reached now (or at its period's end) at the latest."""
    fields: dict[str, list[str]] = {}
    for board, player, sums in written:
        text = held.get((board.aggregates_key, player))
        if text is not None:
            score, exams, questions, correct = (int(part) for part in text.split(b":"))
            if (score, exams) > (sums.score, sums.exams):
                start = engine.calendar.start(board.period)
                latest = min(now, engine.calendar.end(board.period))
                reached = int((latest - start).total_seconds())
                sums = boards.Sums(score, exams, questions, correct, reached)
        category = board.category or GLOBAL
        fields.setdefault(keys.board_stats(player), []).extend(
            (exam_stats.field(board.period, category), sums.text())
        )
    return fields


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
