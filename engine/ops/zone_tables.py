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
on a day the player did play. `refresh` recomputes each zoned player's table over the
same days with what this process knows, and replaces each that differs, only over the
table it read (lua/replace_zone_table.lua: a player who set another zone meanwhile
keeps theirs). The `zone_tables` job runs it daily and does nothing unless the zone
database's version or the reset hour differs from what the last refresh recorded
(keys.zone_tables); `questboard zones refresh` runs it at once, whatever the record says.
A refresh walks every player's settings hash (a SCAN of each primary): once per release
of the zone database.
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
    the database's version is unknown)."""
    version = revision(engine)
    if version.startswith("|"):
        return True
    return engine.redis.get(keys.zone_tables()) != version.encode()


def refresh(engine: Engine, force: bool = False) -> Report:
    """Replace every zoned player's table of local days that this process would compute
    otherwise (see the module docstring); unless `force`, only when `due`."""
    if not force and not due(engine):
        return Report(checked=0, replaced=0, skipped=True)
    version = revision(engine)
    reset_hour = engine.calendar.reset_hour
    _table.cache_clear()  # a run's tables: one per zone and first day
    checked = replaced = 0
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
            table = _table(zone.decode(), reset_hour, first, date.fromisoformat(until.decode()))
            if table is not None and table != days.decode():
                stale.append((key, zone, days, table))
        for key, zone, days, table in stale:
            code = engine.scripts.replace_zone_table(keys=[key], args=[zone, days, table])
            replaced += ScriptCode(code) is ScriptCode.APPLIED
    engine.redis.set(keys.zone_tables(), version)
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
