"""Leaderboard snapshots: the top of every current board frozen as one JSON document,
and every player's rank at that moment, so that reads can say how each player moved.

`take_snapshots` runs every 2 hours (the `leaderboard_snapshot` job). It lists each
current period's boards from its board index and, with SQL, the categories SQL's
aggregates hold (engine.boards.board_index.listed: a board whose index entry was lost
is snapshotted too, and indexed again). For each board:

1. copy the scores in chunks (one COPY of a million-entry set would block Redis for
   half a second). Scores only ever rise, so copying upwards in score order reads
   every player at least once; one who rises during the copy is read again, newer;
2. walk the frozen copy from the top and record each player's competition rank as
   the score of a "ranks" set: a read then finds any player's previous rank with one
   O(1) ZMSCORE, for a whole page at once. The same walk writes the ranks to SQL;
3. compute the top entries (their previous ranks from the snapshot being replaced)
   and publish the new ranks and the top document together (`rotate_snapshot.lua`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from engine import boards, db, keys
from engine.boards import Board, board_index, leaderboards
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
        categories = (
            board_index.listed(engine, period)
            if engine.database_url
            else board_index.indexed(engine, period)
        )
        for category in [None, *categories]:
            players += snapshot_board(engine, Board(period_type, period, category))
            count += 1
    return SnapshotReport(boards=count, players=players)


def snapshot_board(engine: Engine, board: Board) -> int:
    """Snapshot one board; returns how many players it ranked. A cheater removed while
    it ran (engine.boards.moderation raises keys.board_removals) may be in what it
    published: it is taken again, from the scores without them."""
    while True:
        removals = engine.redis.get(keys.board_removals())
        ranked = _snapshot_board(engine, board)
        if engine.redis.get(keys.board_removals()) == removals:
            return ranked


def _snapshot_board(engine: Engine, board: Board) -> int:
    snapshot_ms = to_ms(engine.clock.now())
    _copy_scores(engine, board.scores_key, board.snapshot_building_key)
    ranked = _rank_copy(engine, board, snapshot_ms)
    size = engine.rules.leaderboards.snapshot_size
    total_players, entries = leaderboards.read_top(engine, board, 0, size)
    document = {
        "snapshot_at": snapshot_ms,
        "total_players": total_players,
        "rows": leaderboards.rows_of(entries),
    }
    published = json.dumps(document, separators=(",", ":"))
    engine.scripts.rotate_snapshot(
        keys=[
            board.snapshot_ranks_key,
            board.snapshot_ranking_key,
            board.snapshot_top_key,
            board.snapshot_building_key,
        ],
        args=[published, boards.seconds_to_expiry(engine, board.period)],
    )
    if engine.database_url:
        _store_document(engine, board, snapshot_ms, published)
    return ranked


def _copy_scores(engine: Engine, source: str, target: str) -> int:
    """Copy `source` into `target` upwards in score order, CHUNK rows a read. Each read
    starts again at the last score read, inclusive, and reads its rows again: a row of
    that score that rose meanwhile is gone from it, and skipping a count of rows there
    would skip as many players never read. Only a chunk made wholly of one score (equal
    composites: the capped score) pages by count within that score."""
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
        if rows[0][1] == last and low != "-inf" and float(low) == last:
            skip += len(rows)  # the whole chunk had the boundary score
        elif len(rows) < CHUNK:
            return copied  # the end of the set
        else:
            low, skip = repr(last), 0


def _rank_copy(engine: Engine, board: Board, snapshot_ms: int) -> int:
    """Walk the frozen copy from the top: ranks into the new ranks set (and into SQL)."""
    redis = engine.redis
    redis.unlink(board.snapshot_ranking_key)
    multiplier = board.multiplier
    period_type, period, category = board.key_args()
    # A row the persist job has not written yet gets the latest second its total can
    # have been reached (the composite holds places, not times); persist corrects it.
    latest_reached = snapshot_ms // 1000 - int(engine.calendar.start(board.period).timestamp())
    position, rank, last_total, start = 0, 0, None, 0
    while True:
        page = redis.zrevrange(
            board.snapshot_building_key, start, start + CHUNK - 1, withscores=True
        )
        if not page:
            return position
        start += len(page)
        ranks, sql_rows = {}, []
        stored = (
            redis.hmget(board.aggregates_key, [player for player, _ in page])
            if (engine.database_url)
            else [None] * len(page)
        )
        for (player, score), aggregates in zip(page, stored, strict=True):
            composite = int(score)
            total = composite // multiplier
            position += 1
            if total != last_total:
                rank, last_total = position, total
            ranks[player] = rank
            # No aggregates: the player left the board since the copy (a cheater
            # removed, engine.boards.moderation): no SQL row to bring them back.
            if engine.database_url and aggregates:
                exact, exams, questions, correct = (int(n) for n in aggregates.decode().split(":"))
                sql_rows.append(
                    {
                        "player_id": player.decode(),
                        "period_type": period_type,
                        "period": period,
                        "category": category,
                        "total_score": exact,
                        "exams_taken": exams,
                        "questions": questions,
                        "correct_answers": correct,
                        "reached_s": latest_reached,
                        "rank_current": rank,
                        "rank_previous": None,
                        "updated_ms": snapshot_ms,
                    }
                )
        redis.zadd(board.snapshot_ranking_key, ranks)
        if sql_rows:
            # rank_previous takes the rank_current it replaces: SQL readers see movement too.
            with engine.sql.begin() as conn:
                db.upsert(
                    conn,
                    db.quiz_leaderboard_aggregates,
                    sql_rows,
                    update=["rank_current", "updated_ms"],
                    previous={"rank_previous": "rank_current"},
                )


def _store_document(engine: Engine, board: Board, snapshot_ms: int, document: str) -> None:
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
