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
from engine.calendar import PERIOD_TYPES, Period
from engine.runtime import Engine


def remove_from_leaderboards(engine: Engine, player_id: str) -> list[Board]:
    """Remove the player from every kept board; returns the boards they were on.

    Redis goes first: once the player's aggregates are gone there, the persist job has
    nothing of theirs to write back. SQL then loses every aggregate row of the player in
    the kept periods, whatever Redis still showed, so a retry after a failure in between
    completes the removal.
    """
    now = engine.clock.now()
    periods = [p for t in PERIOD_TYPES for p in boards.kept_periods(engine, t, now)]
    found = boards.player_boards(engine, player_id, periods)
    pipe = engine.redis.pipeline(transaction=False)
    for board in found:
        pipe.zrem(board.scores_key, player_id)
        pipe.hdel(board.aggregates_key, player_id)
        pipe.zrem(board.snapshot_ranks_key, player_id)
        pipe.delete(board.snapshot_top_key)
    for period in periods:
        pipe.delete(keys.player_board_stats(player_id, period.period_type, period.name))
    pipe.execute()
    if engine.database_url:
        _remove_from_sql(engine, player_id, periods, found)
    return found


def _remove_from_sql(
    engine: Engine, player_id: str, periods: list[Period], found: list[Board]
) -> None:
    aggregates, cache = db.quiz_leaderboard_aggregates, db.leaderboard_cache
    with engine.sql.begin() as conn:
        conn.execute(
            delete(aggregates).where(
                aggregates.c.player_id == player_id,
                or_(
                    *(
                        and_(
                            aggregates.c.period_type == period.period_type,
                            aggregates.c.period == period.name,
                        )
                        for period in periods
                    )
                ),
            )
        )
        if found:  # the SQL copy of those boards' snapshots; the next snapshot rewrites it
            conn.execute(delete(cache).where(or_(*(_board_of(cache, board) for board in found))))


def _board_of(table, board: Board):
    period_type, period, category = board.key_args()
    return and_(
        table.c.period_type == period_type, table.c.period == period, table.c.category == category
    )
