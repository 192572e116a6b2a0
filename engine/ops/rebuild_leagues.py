"""Rebuild, leagues: each league player's record as the last close left it, and the
cohorts of the league periods not closed yet, formed again from the league board's
aggregates.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from engine import db, keys, leagues
from engine.leagues import close
from engine.leagues.cohorts import periods_between
from engine.ops.rebuild_sql import Progress, _count, _stream
from engine.runtime import Engine


def _league_records(engine: Engine, progress: Progress) -> int:
    """Each player's league record (engine.leagues.cohorts) as the close of the last
    period they played in left it: that period, their tier in it and the next tier the
    close gave them, from `league_results`. Their next join then lands where it would
    have without the loss: in that next tier, lower by the rules' `absent_drop` for each
    whole period missed since (the same record, read by the same rule). A record that
    already names a later period (the player joined one since) is left as it is."""
    table = db.league_results
    where = table.c.period_type == engine.rules.leagues.period
    total = _count(engine, table, where)
    query = (
        select(table.c.player_id, table.c.period, table.c.tier, table.c.next_tier)
        .where(where)
        .order_by(table.c.player_id, table.c.period)
    )
    done = restored = 0
    latest: dict[str, dict] = {}  # player -> their newest row, for the players of a chunk
    for rows in _stream(engine, query):
        last_player = rows[-1]["player_id"]
        for row in rows:
            latest[row["player_id"]] = row  # ordered by period: the newest stays
        ready = {player: row for player, row in latest.items() if player != last_player}
        restored += _write_league_records(engine, ready)
        latest = {last_player: latest[last_player]}  # may go on in the next chunk
        done += len(rows)
        progress("league_records", done, total)
    return restored + _write_league_records(engine, latest)


def _write_league_records(engine: Engine, rows: dict[str, dict]) -> int:
    if not rows:
        return 0
    rules = engine.rules.leagues
    pipe = engine.redis.pipeline(transaction=False)
    for player in rows:
        pipe.hget(keys.player_league(player), "period")
    held = pipe.execute()
    pipe = engine.redis.pipeline(transaction=False)
    written = 0
    for (player, row), period in zip(rows.items(), held, strict=True):
        closed = engine.calendar.parse(rules.period, row["period"])
        if period is not None:
            played = engine.calendar.parse(rules.period, period.decode())
            if periods_between(closed, played) > 0:
                continue  # joined a later period since: its record is newer
        record = {
            "period": row["period"],
            "tier": row["tier"],
            "next": f"{row['period']}|{row['next_tier']}",
        }
        pipe.hset(keys.player_league(player), mapping=record)
        written += 1
    pipe.execute()
    return written


def _league_cohorts(engine: Engine, progress: Progress) -> int:
    """The cohorts of the league periods not closed yet (the current one, and any that
    ended after the last close), which SQL does not hold: each player with a total on
    the league's board of such a period joins again, in their tier, in the order they
    reached their totals (engine.leagues.cohorts.join). Tiers and scores come back as
    they were; who shares a cohort with whom may differ from before the loss. The
    periods are joined oldest first, so a later period's tiers follow the earlier's
    standings as they would have."""
    rules = engine.rules.leagues
    now = engine.clock.now()
    current = engine.calendar.period_of(rules.period, now)
    with engine.sql.connect() as conn:
        table = db.league_results
        newest = conn.execute(
            select(func.max(table.c.period)).where(table.c.period_type == rules.period)
        ).scalar_one()
    periods = [*close.kept_ended(engine, now), current]  # however long the close was down
    if newest is not None:
        last_closed = engine.calendar.parse(rules.period, newest)
        periods = [p for p in periods if periods_between(last_closed, p) > 0]
    table = db.quiz_leaderboard_aggregates
    joined = 0
    for period in periods:
        if engine.redis.exists(keys.league_closed(period.period_type, period.name)):
            continue
        at = min(now, engine.calendar.end(period) - timedelta(seconds=1))
        query = (
            select(table.c.player_id, table.c.total_score)
            .where(
                table.c.period_type == rules.period,
                table.c.period == period.name,
                table.c.category == rules.score,
            )
            .order_by(table.c.reached_s, table.c.player_id)
        )
        for rows in _stream(engine, query):
            totals = {row["player_id"]: row["total_score"] for row in rows}
            leagues.join(engine, at, totals)
            joined += len(totals)
            progress("league_cohorts", joined, joined)
    return joined
