"""Taking a player off the leaderboards: what an admin does to a cheater's standings.

The player leaves every board of every period still kept (the current periods and the
past ones within the rules' retention), together with the aggregates those boards were
built from, so that their next exam starts from zero instead of bringing the old totals
back. The SQL copy of those aggregates goes too, or a rebuild would restore them.
Snapshots of the affected boards are dropped, so their reads are live until the next
snapshot job, and so are the SQL copies of snapshots that show the player. Every step
is safe to repeat. Ban the player first, so that no exam of theirs lands while they
are being removed.
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
        _remove_from_sql(engine, player_id, periods)
    return found


def _remove_from_sql(engine: Engine, player_id: str, periods: list[Period]) -> None:
    aggregates, cache = db.quiz_leaderboard_aggregates, db.leaderboard_cache
    with engine.sql.begin() as conn:
        conn.execute(
            delete(aggregates).where(
                aggregates.c.player_id == player_id, _in_periods(aggregates, periods)
            )
        )
        # The SQL copies of the kept periods' snapshots that show the player (their rows
        # name players as JSON strings; ids need no JSON escaping). Found by content, not
        # from `found`: on a retry Redis no longer knows which boards the player was on.
        # A current board's copy is written again by its next snapshot.
        conn.execute(
            delete(cache).where(
                _in_periods(cache, periods),
                cache.c.document.contains(f'"{player_id}"', autoescape=True),
            )
        )


def _in_periods(table, periods: list[Period]):
    return or_(
        *(
            and_(table.c.period_type == period.period_type, table.c.period == period.name)
            for period in periods
        )
    )
