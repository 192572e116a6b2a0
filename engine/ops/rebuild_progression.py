"""Rebuild, progression: battle passes, streaks (with the repair offer and a zoned
claim's day ends), the day's counters, the settings rows (the day's tool, archived
seasons) and each player's time zone.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import select

from engine import db, keys
from engine.clock import to_ms
from engine.ops import persistence
from engine.ops.rebuild_sql import Progress, _count, _restore_hashes, _stream
from engine.progression import timezones
from engine.runtime import Engine

ARCHIVED = "season-archived:"  # engine.ops.maintenance.season_rollover's settings rows


def _battle_passes(engine: Engine, progress: Progress) -> int:
    """Each battle pass, unless Redis holds it with as much XP (its rewarded level
    follows the XP): a live pass is never set back. The passes of a season the
    season_rollover job archived (a `season-archived:<season>` settings row) stay in
    SQL: that job removed them from Redis once, and would not again."""
    table = db.user_battle_pass
    archived = _archived_seasons(engine)
    return _restore_hashes(
        engine,
        progress,
        "battle_pass",
        table,
        lambda row: (
            keys.battle_pass(row["player_id"], row["season_id"]),
            {"xp": row["xp"], "rewarded_level": row["rewarded_level"]},
        ),
        "xp",
        table.c.season_id.not_in(archived) if archived else None,
    )


def _archived_seasons(engine: Engine) -> list[str]:
    """The seasons SQL records as archived (engine.ops.maintenance.season_rollover)."""
    table = db.settings
    query = select(table.c.name).where(table.c.name.like(f"{ARCHIVED}%"))
    with engine.sql.connect() as conn:
        return [name.removeprefix(ARCHIVED) for name in conn.execute(query).scalars()]


def _streaks(engine: Engine, progress: Progress) -> int:
    """Each streak, unless Redis holds it at the same last day or a later one: a streak
    may fall (broken, repaired), so it is judged by its day, which only moves on."""
    return _restore_hashes(
        engine,
        progress,
        "streaks",
        db.user_streaks,
        lambda row: (
            keys.streak(row["player_id"]),
            {
                "last_day": row["last_day"],
                "streak": row["streak"],
                "best": row["best"],
                **{
                    name: row[name]
                    for name in persistence.STREAK_EXTRAS
                    if row.get(name) is not None
                },
            },
        ),
        "last_day",
    )


def _daily_counters(engine: Engine, progress: Progress) -> int:
    """The daily hashes of the dates not yet over in every zone, each living to that
    date's end in the last zone it ends in plus the grace (timezones.kept_until): at
    least as long as the live hash did, whatever zones the player moved through since
    (a move east shortens no hash, a move back west goes on with its counts), so a
    counter already used on its date stays used (ads watched, missions done, earnings
    towards the caps, the bonus claimed) and nothing is paid twice. A field Redis holds
    higher (a rebuild run again after the day went on), and a longer expiry, are kept
    (lua/restore_daily_counters.lua). Worked out from the date, not from the row's
    expires_at alone: a row persisted with a shorter one is brought back as long."""
    table = db.user_daily_counters
    now = engine.clock.now()
    now_s = to_ms(now) // 1000
    first = timezones.first_kept_day(engine, now).isoformat()
    where = (table.c.expires_at > now_s) | (table.c.day >= first)
    total = _count(engine, table, where)
    done = 0
    for rows in _stream(engine, select(table).where(where)):
        batch = engine.scripts.batch()
        for row in rows:
            day = date.fromisoformat(row["day"])
            ttl = max(row["expires_at"], timezones.kept_until(engine, day)) - now_s
            fields = [part for field in json.loads(row["counters"]).items() for part in field]
            batch.call(
                "restore_daily_counters",
                [keys.daily(row["player_id"], row["day"])],
                [ttl, *fields],
            )
        batch.execute()
        done += len(rows)
        progress("daily_counters", done, total)
    return done


def _settings(engine: Engine, progress: Progress) -> int:
    table = db.settings
    with engine.sql.connect() as conn:
        query = select(table).where(table.c.name.not_like(f"{timezones.SQL_PREFIX}%"))
        rows = conn.execute(query).mappings().all()
    today = engine.calendar.game_day(engine.clock.now())
    restored = 0
    for row in rows:
        kind, _, value = row["name"].partition(":")
        if kind == "tool" and value >= (today - timedelta(days=1)).isoformat():
            engine.redis.set(keys.tool_of_day(value), row["value"], ex=3 * 86_400)
            restored += 1
        elif kind == "season-archived":
            engine.redis.set(keys.season_archived(value), row["value"])
            restored += 1
    progress("settings", restored, len(rows))
    return restored


def _timezones(engine: Engine, progress: Progress) -> int:
    """Each player's time zone (engine.progression.timezones) from its `settings` row: the
    settings hash with its table of local days, worked out once per zone name."""
    table = db.settings
    where = table.c.name.like(f"{timezones.SQL_PREFIX}%")
    total = _count(engine, table, where)
    done = restored = 0
    fields_of: dict[str, dict[str, str]] = {}
    for rows in _stream(engine, select(table).where(where)):
        pipe = engine.redis.pipeline(transaction=False)
        for row in rows:
            player = row["name"].removeprefix(timezones.SQL_PREFIX)
            name = row["value"]
            if not name:  # cleared: the game calendar
                pipe.delete(keys.settings(player))
                continue
            if name not in fields_of:
                fields_of[name] = timezones.settings_for(engine, name).fields()
            pipe.hset(keys.settings(player), mapping=fields_of[name])
            restored += 1
        pipe.execute()
        done += len(rows)
        progress("timezones", done, total)
    return restored
