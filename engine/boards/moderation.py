"""Taking a player off the leaderboards: what an admin does to a cheater's standings.

The player leaves every board of every period still kept (the current periods and the
past ones within the rules' retention), together with the aggregates those boards were
built from, so that their next exam starts from zero instead of bringing the old totals
back. The SQL copy of those aggregates goes too, or a rebuild would restore them.
A persist run that read the aggregates before the removal and writes after it does not
put them back: the removal raises a count in Redis (keys.board_removals) between its
Redis and SQL steps, and a persist write that finds the count changed at its commit
rolls back and writes its batch again from Redis (engine.ops.persistence_sql._write).
The removal never waits for a persist run or its lock: at most its SQL delete waits for
a write's open transaction to commit, bounded by the database's lock timeout (a timeout
is an OperationalError, 503 on the admin route; calling again completes the removal).
Snapshots of the affected boards are dropped, so their reads are live until the next
snapshot job, and so are the SQL copies of snapshots that show the player. Every step
is safe to repeat. Ban the player first, so that no exam of theirs lands while they
are being removed.

The player also leaves their league cohort of every league period whose close has not begun
(lua/remove_cohort_member.lua): the others move up, the freed place goes to the next
player to join, and the close neither pays nor promotes them. A closed period's cohorts
are the record of what its close decided and paid: a removal after the close leaves
them, the prizes paid and the tiers it gave as they are (a prize paid is not taken
back). A removal that lands once the close has begun (its first run, even one stopped
midway and not yet run again) is too late for that close and leaves its cohorts as the
close ranks them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, delete, or_

from engine import boards, db, keys
from engine.boards import Board, exam_stats
from engine.calendar import PERIOD_TYPES, Period
from engine.leagues import payouts
from engine.leagues.cohorts import cohort_id, slot_keys
from engine.runtime import Engine


@dataclass(frozen=True)
class CohortLeft:
    period: str
    cohort_id: str  # "<tier>-<number>"


@dataclass(frozen=True)
class Removal:
    boards: list[Board]  # the boards the player was on
    cohorts: list[CohortLeft]  # the league cohorts they left (closes not begun)


def remove_player(engine: Engine, player_id: str) -> Removal:
    """Take the player off every kept board and out of every unclosed league cohort."""
    found = remove_from_leaderboards(engine, player_id, leagues=False)
    return Removal(found, remove_from_cohorts(engine, player_id))


def remove_from_leaderboards(engine: Engine, player_id: str, leagues: bool = True) -> list[Board]:
    """Remove the player from every kept board (and, unless `leagues` is false, from
    their unclosed league cohorts); returns the boards they were on.

    Redis goes first: once the player's aggregates are gone there, the persist job has
    nothing of theirs to write back. The removals count is raised next, so a persist
    write that read them before commits nothing of what it read (it writes again), or
    commits its upserts before this SQL step's delete reaches them. SQL then loses every
    aggregate row of the player in the kept periods, whatever Redis still showed, so a
    retry after a failure in between completes the removal.
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
    for stats in [keys.board_stats(player_id), *exam_stats.earlier_keys(player_id, periods)]:
        pipe.delete(stats)  # one key a DEL: a cluster pipeline takes no multi-key DEL
    pipe.execute()
    # After the deletes, before the SQL step: a persist write that read the aggregates
    # before them sees the count changed at its commit and writes its batch again
    # (engine.ops.persistence_sql._write).
    engine.redis.incr(keys.board_removals())
    # A snapshot that read the boards' top before the deletes and published it before
    # the count rose saw no change (engine.boards.snapshots): its snapshot goes now.
    pipe = engine.redis.pipeline(transaction=False)
    for board in found:
        pipe.zrem(board.snapshot_ranks_key, player_id)
        pipe.delete(board.snapshot_top_key)
    pipe.execute()
    if engine.database_url:
        _remove_from_sql(engine, player_id, periods, found)
    if leagues:
        remove_from_cohorts(engine, player_id)
    return found


def remove_from_cohorts(engine: Engine, player_id: str) -> list[CohortLeft]:
    """Take the player out of their cohort in every kept league period whose close has
    not run: every tier of each such period is asked, those the rules list and any other
    its tiers index names (one script call a tier, in one round trip), since the player's
    league record names only their latest period."""
    period_type = engine.rules.leagues.period
    periods = boards.kept_periods(engine, period_type, engine.clock.now())
    pipe = engine.redis.pipeline(transaction=False)
    for period in periods:
        # a close begun (its first run fixed whom it skips) ranks its cohorts as they were
        begun = payouts.close_begun_key(payouts.league_payout(period_type, period.name))
        # one key an EXISTS: the two keys have hash tags of their own (a cluster's slots)
        pipe.exists(keys.league_closed(period_type, period.name))
        pipe.exists(begun)
        pipe.smembers(keys.league_tiers(period_type, period.name))
    replies = pipe.execute()
    calls = [
        (period.name, tier)
        for period, closed, began, tiers in zip(
            periods, replies[0::3], replies[1::3], replies[2::3], strict=True
        )
        if not (closed or began)
        for tier in sorted({tier.decode() for tier in tiers} | set(engine.rules.leagues.tiers))
    ]
    if not calls:
        return []
    batch = engine.scripts.batch()
    for period, tier in calls:
        batch.call("remove_cohort_member", slot_keys(period_type, period, tier), [player_id])
    return [
        CohortLeft(period, cohort_id(tier, number))
        for (period, tier), number in zip(calls, batch.execute(), strict=True)
        if number
    ]


def _remove_from_sql(
    engine: Engine, player_id: str, periods: list[Period], found: list[Board]
) -> None:
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
        # And the copies of the boards whose snapshots Redis dropped above, which a
        # snapshot taken before the player's first exam there does not show: a rebuild
        # would bring back a past period's snapshot the removal took away.
        for board in found:
            conn.execute(
                delete(cache).where(
                    cache.c.period_type == board.period_type,
                    cache.c.period == board.period.name,
                    cache.c.category == board.slot_category,
                )
            )


def _in_periods(table, periods: list[Period]):
    return or_(
        *(
            and_(table.c.period_type == period.period_type, table.c.period == period.name)
            for period in periods
        )
    )
