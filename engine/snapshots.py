"""Leaderboard snapshots: the top of every current board frozen as one JSON document,
and a copy of each board's scores, so that reads can say how each player moved.

`take_snapshots` runs every 2 hours (the `leaderboard_snapshot` job). For each board
it copies the scores in chunks (no multi-second block of Redis at a million players,
as one COPY would be), computes the top entries with their previous ranks from the
snapshot being replaced, and publishes both in one `rotate_snapshot.lua` call.
Because scores only ever rise, copying upwards in score order reads every player
at least once; one who rises during the copy is read again with the newer score.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from engine import boards, db, keys
from engine.boards import Board
from engine.calendar import PERIOD_TYPES
from engine.clock import to_ms
from engine.runtime import Engine

CHUNK = 5_000


@dataclass(frozen=True)
class SnapshotReport:
    boards: int
    players: int


def take_snapshots(engine: Engine) -> SnapshotReport:
    """Snapshot every board of the current periods. Safe to run twice or late."""
    now = engine.clock.now()
    count = players = 0
    for period_type in PERIOD_TYPES:
        period = boards.current_period(engine, period_type, now)
        categories = sorted(
            c.decode() for c in engine.redis.smembers(keys.board_index(period_type, period.name))
        )
        for category in [None, *categories]:
            players += snapshot_board(engine, Board(period_type, period, category))
            count += 1
    return SnapshotReport(boards=count, players=players)


def snapshot_board(engine: Engine, board: Board) -> int:
    """Snapshot one board; returns how many players its copy holds."""
    copied = _copy_scores(engine, board.scores_key, board.snapshot_building_key)
    size = engine.rules.leaderboards.snapshot_size
    total_players, _, *rows = engine.scripts.read_board(
        keys=[board.scores_key, board.aggregates_key, board.snapshot_scores_key],
        args=["top", board.multiplier, 0, size],
    )
    document = {
        "snapshot_at": to_ms(engine.clock.now()),
        "total_players": int(total_players),
        "rows": [value.decode() if isinstance(value, bytes) else value for value in rows],
    }
    published = json.dumps(document, separators=(",", ":"))
    engine.scripts.rotate_snapshot(
        keys=[board.snapshot_scores_key, board.snapshot_building_key, board.snapshot_top_key],
        args=[published, boards.seconds_to_expiry(engine, board.period)],
    )
    if engine.database_url:
        _store_in_sql(engine, board, document["snapshot_at"], published)
    return copied


def _store_in_sql(engine: Engine, board: Board, snapshot_ms: int, document: str) -> None:
    """The top document into `leaderboard_cache`; every player's rank into the aggregates.

    rank_previous takes the rank_current it replaces, so SQL readers see movement too.
    """
    period_type, period, category = board.key_args()
    with engine.sql.begin() as conn:
        db.upsert(
            conn,
            db.leaderboard_cache,
            [
                {
                    "period_type": period_type,
                    "period": period,
                    "category": category,
                    "snapshot_ms": snapshot_ms,
                    "document": document,
                }
            ],
            update=["snapshot_ms", "document"],
        )
    multiplier = board.multiplier
    position, rank, last_total = 0, 0, None
    start = 0
    while True:
        page = engine.redis.zrevrange(
            board.snapshot_scores_key, start, start + CHUNK - 1, withscores=True
        )
        if not page:
            return
        start += len(page)
        players = [player for player, _ in page]
        stored = engine.redis.hmget(board.aggregates_key, players)
        rows = []
        for (player, score), aggregates in zip(page, stored, strict=True):
            composite = int(score)
            total = composite // multiplier
            position += 1
            if total != last_total:
                rank, last_total = position, total
            exact, exams, questions, correct = (
                (int(n) for n in aggregates.decode().split(":")) if aggregates else (total, 0, 0, 0)
            )
            rows.append(
                {
                    "player_id": player.decode(),
                    "period_type": period_type,
                    "period": period,
                    "category": category,
                    "total_score": exact,
                    "exams_taken": exams,
                    "questions": questions,
                    "correct_answers": correct,
                    "reached_s": multiplier - 1 - (composite - total * multiplier),
                    "rank_current": rank,
                    "rank_previous": None,
                    "updated_ms": snapshot_ms,
                }
            )
        with engine.sql.begin() as conn:
            db.upsert(
                conn,
                db.quiz_leaderboard_aggregates,
                rows,
                update=["rank_current", "updated_ms"],
                previous={"rank_previous": "rank_current"},
            )


def _copy_scores(engine: Engine, source: str, target: str) -> int:
    redis = engine.redis
    redis.unlink(target)
    low, skip, copied = "-inf", 0, 0
    while True:
        rows = redis.zrangebyscore(source, low, "+inf", start=skip, num=CHUNK, withscores=True)
        if not rows:
            return copied
        redis.zadd(target, dict(rows))
        copied += len(rows)
        last = rows[-1][1]
        at_last = sum(1 for _, score in rows if score == last)
        if low != "-inf" and float(low) == last:
            skip += at_last  # the whole chunk had the boundary score
        else:
            low, skip = repr(last), at_last
