"""Taking a player off the leaderboards: what an admin does to a cheater's standings.

The player leaves every board of every period still kept (the current periods and the
past ones within the rules' retention), together with the aggregates those boards were
built from, so that their next exam starts from zero instead of bringing the old totals
back. The SQL copy of those aggregates goes too, or a rebuild would restore them.
Snapshots of the affected boards are dropped, so their reads are live until the next
snapshot job. Every step is safe to repeat. Ban the player first, so that no exam of
theirs lands while they are being removed.
"""

from __future__ import annotations

from sqlalchemy import and_, delete, or_

from engine import boards, db, keys
from engine.boards import Board
from engine.calendar import PERIOD_TYPES
from engine.runtime import Engine


def remove_from_leaderboards(engine: Engine, player_id: str) -> list[Board]:
    """Remove the player from every kept board; returns the boards they were on."""
    now = engine.clock.now()
    periods = [p for t in PERIOD_TYPES for p in boards.kept_periods(engine, t, now)]
    found = boards.player_boards(engine, player_id, periods)
    if not found:
        return []
    pipe = engine.redis.pipeline(transaction=False)
    for board in found:
        pipe.zrem(board.scores_key, player_id)
        pipe.hdel(board.aggregates_key, player_id)
        pipe.zrem(board.snapshot_ranks_key, player_id)
        pipe.delete(board.snapshot_top_key)
    for period in {(b.period_type, b.period.name) for b in found}:
        pipe.delete(keys.player_board_stats(player_id, *period))
    pipe.execute()
    if engine.database_url:
        _remove_from_sql(engine, player_id, found)
    return found


def _remove_from_sql(engine: Engine, player_id: str, found: list[Board]) -> None:
    aggregates, cache = db.quiz_leaderboard_aggregates, db.leaderboard_cache
    with engine.sql.begin() as conn:
        conn.execute(
            delete(aggregates).where(
                aggregates.c.player_id == player_id,
                or_(*(_board_of(aggregates, board) for board in found)),
            )
        )
        conn.execute(delete(cache).where(or_(*(_board_of(cache, board) for board in found))))


def _board_of(table, board: Board):
    period_type, period, category = board.key_args()
    return and_(
        table.c.period_type == period_type, table.c.period == period, table.c.category == category
    )
