"""What a change of a player's zone (engine.progression.timezones.set_timezone) does to
their daily hashes: each date they may still play in the new calendar goes on with its
counts until it ends there.

A live hash is extended to that end plus the grace, never shortened
(lua/restore_daily_counters.lua, with no fields, where no copy is needed). A
hash already gone (its end in the old zone has passed: a move west after it, or a zone
cleared once its shorter day was over) comes back from the persist job's copy in SQL
(user_daily_counters, kept until the date is over in every zone:
timezones.kept_until) through lua/restore_daily_counters.lua, which never lowers a
count Redis holds nor shortens an expiry. Without a database, only the live hashes are
kept. Reads and writes the player's slot only (one pipeline) and, with a database, one
SELECT of the player's rows of those dates.
"""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select

from engine import db, keys
from engine.runtime import Engine


def keep_dates(engine: Engine, player_id: str, ends: dict[date, int]) -> None:
    """Keep the daily hash of each date in `ends` to its end there (unix s) plus the
    grace: a live hash extended, a lost one written back from SQL's copy."""
    now = int(engine.clock.now().timestamp())
    grace = engine.rules.daily_grace_minutes * 60
    ttl = {day: end + grace - now for day, end in ends.items() if end + grace > now}
    copies = _copies(engine, player_id, sorted(ttl))
    batch = engine.scripts.batch()
    for day, seconds in sorted(ttl.items()):
        daily = keys.daily(player_id, day.isoformat())
        fields = [part for field in copies.get(day, {}).items() for part in field]
        # without fields, the script only extends a live hash's expiry (Redis 6.2, make
        # run's embedded server, has no EXPIRE GT)
        batch.call("restore_daily_counters", [daily], [seconds, *fields])
    if ttl:
        batch.execute()


def _copies(engine: Engine, player_id: str, days: list[date]) -> dict[date, dict]:
    """SQL's copy of the player's counters of each of `days` that has one."""
    if not days or not engine.database_url:
        return {}
    table = db.user_daily_counters
    query = select(table.c.day, table.c.counters).where(
        table.c.player_id == player_id,
        table.c.day.in_([day.isoformat() for day in days]),
    )
    with engine.sql.connect() as conn:
        rows = conn.execute(query).all()
    return {date.fromisoformat(day): json.loads(counters) for day, counters in rows}
