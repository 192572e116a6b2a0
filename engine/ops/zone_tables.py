"""Players' tables of local days kept true to the zone database and the game's reset hour.

A zoned player's settings hash holds the table of their local days (when each starts),
computed once when the zone is set (engine.progression.timezones) for ten years: the
scripts read it and never need the zone database. Two things make a table wrong later:

- a new zone database. Several times a year some country moves or drops daylight
  saving (2022 Mexico, 2024 Kazakhstan, 2025 Paraguay); Python's zoneinfo reads the
  system's database first (its TZPATH), else the tzdata package, so a new release of
  either, or a host built from a newer image, changes the starts of those zones' days;
- a new reset hour in the rules (the local day starts at the game's reset hour).

A stale table moves the player's day by the change: their daily bonus, missions, ad cap
and streak would follow an hour the player no longer lives by, and a streak could break
on a day the player did play. So does a table that has run out: past its last day the
scripts go on with its last offset, winter's or summer's, for ever. `refresh`
recomputes each zoned player's table over the same days with what this process knows
(a table that covers less than `RENEW_DAYS` ahead: over the ten years from today, as a
zone set today gets), and replaces each that differs, only over the table it read
(lua/replace_zone_table.lua: a player who set another zone meanwhile keeps theirs). The
`zone_tables` job runs it daily and does nothing unless the zone database's version or
the reset hour differs from what the last refresh recorded (keys.zone_tables), or the
day has come when the earliest table it saw covers less than `RENEW_DAYS` ahead
(keys.zone_tables_renewal; tables set since end later); `questboard zones refresh`
runs it at once, whatever the records say. A refresh walks every player's settings hash
(a SCAN of each primary): once per release of the zone database, and about once a
year.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from engine import connection, keys
from engine.errors import UnknownTimezoneError
from engine.outcomes import ScriptCode
from engine.progression import timezones
from engine.runtime import Engine

SCAN_COUNT = 1000
RENEW_DAYS = 366  # a table that covers this many days ahead or fewer is extended


@dataclass(frozen=True)
class Report:
    checked: int  # zoned players whose table was compared
    replaced: int  # tables replaced
    skipped: bool  # nothing to do: the record matched this process's database and hour


def zone_database_version() -> str:
    """The version of the zone database zoneinfo reads: the system's (the first TZPATH
    folder that holds zones; its tzdata.zi names the release), else the tzdata package's.
    A system folder without tzdata.zi gives "" (unknown: every daily run refreshes)."""
    for folder in zoneinfo.TZPATH:
        path = Path(folder)
        if (path / "UTC").is_file() or (path / "Etc" / "UTC").is_file():
            release = path / "tzdata.zi"
            if not release.is_file():
                return ""
            with release.open(encoding="utf-8") as text:
                first = text.readline().strip()
            return f"{folder} {first.removeprefix('# version ')}"
    import tzdata  # the fallback zoneinfo itself uses

    return f"tzdata {tzdata.IANA_VERSION}"


def revision(engine: Engine) -> str:
    """What the tables depend on: the zone database's version and the reset hour."""
    return f"{zone_database_version()}|{engine.calendar.reset_hour}"


def due(engine: Engine) -> bool:
    """Whether the tables were last checked against another database or reset hour (or
    the database's version is unknown), or some table may cover less than RENEW_DAYS
    ahead (the renewal day the last refresh recorded has come, or none is recorded)."""
    version = revision(engine)
    if version.startswith("|"):
        return True
    if engine.redis.get(keys.zone_tables()) != version.encode():
        return True
    renewal = engine.redis.get(keys.zone_tables_renewal())
    today = engine.calendar.game_day(engine.clock.now())
    return renewal is None or date.fromisoformat(renewal.decode()) <= today


def refresh(engine: Engine, force: bool = False) -> Report:
    """Replace every zoned player's table of local days that this process would compute
    otherwise (see the module docstring); unless `force`, only when `due`."""
    if not force and not due(engine):
        return Report(checked=0, replaced=0, skipped=True)
    version = revision(engine)
    reset_hour = engine.calendar.reset_hour
    _table.cache_clear()  # a run's tables: one per zone and first day
    checked = replaced = 0
    # A table extended runs WINDOW_DAYS from two days ago, as one set today (settings_for)
    new_first = engine.calendar.game_day(engine.clock.now()) - timedelta(days=2)
    new_until = new_first + timedelta(days=timezones.WINDOW_DAYS - 1)
    renew_by = new_first + timedelta(days=2 + RENEW_DAYS)  # tables ending by then
    earliest = new_until  # no table set from now on ends sooner
    for found in connection.scan_keys(engine.redis, keys.settings_pattern(), SCAN_COUNT):
        pipe = engine.redis.pipeline(transaction=False)
        for key in found:
            pipe.hmget(key, "timezone", "days", "until")
        stale = []
        for key, (zone, days, until) in zip(found, pipe.execute(), strict=True):
            if not zone or not days or not until:
                continue  # a hash being written or cleared: its writer computes it
            checked += 1
            first = date.fromordinal(int(days.split(b":", 1)[0]))
            last = date.fromisoformat(until.decode())
            if last <= renew_by:
                first, last = new_first, new_until
            table = _table(zone.decode(), reset_hour, first, last)
            if table is None:
                continue  # a zone no longer known keeps its table, and is not extended
            earliest = min(earliest, last)
            if table != days.decode() or last.isoformat().encode() != until:
                stale.append((key, zone, days, table, last.isoformat()))
        for key, zone, days, table, last in stale:
            code = engine.scripts.replace_zone_table(keys=[key], args=[zone, days, table, last])
            replaced += ScriptCode(code) is ScriptCode.APPLIED
    engine.redis.set(keys.zone_tables(), version)
    renewal = earliest - timedelta(days=RENEW_DAYS)
    engine.redis.set(keys.zone_tables_renewal(), renewal.isoformat())
    return Report(checked=checked, replaced=replaced, skipped=False)


@lru_cache(maxsize=4096)
def _table(zone_name: str, reset_hour: int, first: date, until: date) -> str | None:
    """The `days` field of `zone_name` from `first` to `until` (None for a zone this
    database no longer knows: the player keeps the table they have)."""
    try:
        zone = timezones.zone_of(zone_name)
    except UnknownTimezoneError:
        return None
    count = (until - first).days + 1
    days = timezones.day_table(zone, reset_hour, first, count)
    settings = timezones.Settings(zone_name, tuple(days), first + timedelta(days=count - 1))
    return settings.fields()["days"]
