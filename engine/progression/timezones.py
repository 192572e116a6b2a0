"""A player's own time zone: their daily counters, streak and login bonus follow their
local day, which starts at the game's reset hour in that zone; boards and the battle
pass keep the game calendar.

The zone is kept in the player's settings hash (engine.keys.settings), its name also in
SQL (a `settings` row, engine.overrides, so engine.ops.rebuild restores it), with the
table of their local days: `days` is "<day>:<shift>;..." where, from local day `<day>`
(a date ordinal) until the next entry, local day L starts at `(L - 719163) * 86400 + shift`
unix seconds (719163 is the ordinal of 1970-01-01). Python's zoneinfo computes it once,
when the zone is set, for `WINDOW_DAYS` (engine.ops.zone_tables extends it before it
runs out); a zone without daylight saving is one entry, one with it two a year. The
scripts read the table (lua/include/zone.lua) and never need the zone database; the
request stays one round trip.

The claim rule (no second bonus in one real day): a claim is allowed once the local
day of the previous claim has ended in the zone it was claimed in (the streak hash
keeps that instant, `claim_ends`). The streak continues when the new local day is at
most the day after the last claimed one (a move west may make it the same date or an
earlier one), or when the claim comes before the end of the day after the last claimed
one in the zone it was claimed in (`streak_ends`, so a move east loses nothing);
otherwise the local days missed since are bridged by streak freezes as on the game
calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine import keys, overrides, zone_names
from engine.errors import UnknownTimezoneError
from engine.progression import day_context, zone_moves
from engine.runtime import Engine
from engine.security import rate_limits

SQL_PREFIX = "player-timezone:"  # the `settings` rows of players' zones (sql_name)
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
WINDOW_DAYS = 3660  # ten years; the zone_tables job extends it a year before its end
EARLIEST, LATEST = -12 * 3600, 14 * 3600  # the UTC offsets of the world's zones


@dataclass(frozen=True)
class Settings:
    timezone: str | None
    days: tuple[tuple[int, int], ...] = ()  # (first local day ordinal, shift in seconds)
    until: date | None = None  # the last local day the table was computed for

    def fields(self) -> dict[str, str]:
        """The settings hash's fields (engine.keys.settings)."""
        return {
            "timezone": self.timezone or "",
            "days": ";".join(f"{day}:{shift}" for day, shift in self.days),
            "until": self.until.isoformat() if self.until else "",
        }

    def day_start(self, ordinal: int) -> int:
        """When the player's local day `ordinal` starts, unix seconds."""
        shift = self.days[0][1]
        for first, later in self.days:
            if first > ordinal:
                break
            shift = later
        return (ordinal - EPOCH_ORDINAL) * 86400 + shift

    def local_day(self, moment: datetime, candidates: list[date]) -> date | None:
        """Which of `candidates` is the player's local day at `moment`."""
        second = moment.timestamp()
        for day in candidates:
            ordinal = day.toordinal()
            if self.day_start(ordinal) <= second < self.day_start(ordinal + 1):
                return day
        return None


NO_ZONE = Settings(timezone=None)


def zone_of(name: str) -> ZoneInfo:
    """The zone named `name`; UnknownTimezoneError for a name zoneinfo does not know."""
    if name in zone_names.known_zones():
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise UnknownTimezoneError(
        f"{name!r} is not a time zone.",
        {"timezone": ["Must be an IANA time zone name, e.g. Asia/Tokyo."]},
    )


def day_table(zone: ZoneInfo, reset_hour: int, first: date, count: int) -> list[tuple[int, int]]:
    """The start of each local day from `first` for `count` days, as (day, shift)
    entries where the shift changes; the starts are those of engine.calendar (a reset
    hour that does not exist on a day the clocks go forward is read before the change)."""
    entries: list[tuple[int, int]] = []
    for offset in range(count):
        day = first + timedelta(days=offset)
        start = datetime.combine(day, time(reset_hour), tzinfo=zone).astimezone(UTC)
        shift = int(start.timestamp()) - (day.toordinal() - EPOCH_ORDINAL) * 86400
        if not entries or entries[-1][1] != shift:
            entries.append((day.toordinal(), shift))
    return entries


def candidate_days(engine: Engine, now: datetime) -> list[date]:
    """The local days some zone is in at `now`: the game day first, then the others (at
    most two); a player's local day is one of them."""
    game_day = engine.calendar.game_day(now)
    reset = engine.calendar.reset_hour * 3600
    second = int(now.timestamp())
    low = date.fromordinal((second + EARLIEST - reset) // 86400 + EPOCH_ORDINAL)
    high = date.fromordinal((second + LATEST - reset) // 86400 + EPOCH_ORDINAL)
    others = [
        low + timedelta(days=n)
        for n in range((high - low).days + 1)
        if low + timedelta(days=n) != game_day
    ]
    return [game_day, *others]


def kept_until(engine: Engine, day: date) -> int:
    """When the daily hash of `day` may be let go (unix s): the end of `day` in the
    last zone it ends in (UTC-12, EARLIEST), plus the grace. A player may move there
    while the hash lives, and set_timezone then keeps it to that end, so the persist
    job keeps its copy that long and questboard rebuild gives it back that long: it
    knows neither the zones the player was in nor the extensions their moves made."""
    reset = engine.calendar.reset_hour * 3600
    ends = (day.toordinal() + 1 - EPOCH_ORDINAL) * 86400 + reset - EARLIEST
    return ends + engine.rules.daily_grace_minutes * 60


def first_kept_day(engine: Engine, now: datetime) -> date:
    """The earliest date whose daily hash kept_until still keeps at `now`."""
    reset = engine.calendar.reset_hour * 3600
    grace = engine.rules.daily_grace_minutes * 60
    second = int(now.timestamp()) - reset + EARLIEST - grace
    return date.fromordinal(second // 86400 + EPOCH_ORDINAL)


def set_timezone(
    engine: Engine, player_id: str, name: str | None, group: str | None = None
) -> Settings:
    """Set the player's zone (None: back to the game calendar). Idempotent. The change
    counts in the player's window of the rate-limit `group` (the route's, as a read of
    the player does: lua/read_player.lua) before anything is written; None counts
    nothing (admin tools, tests).

    Raises:
        UnknownTimezoneError: `name` is no IANA zone.
        RateLimitedError: the player's window of `group` is full; nothing changed.
    """
    key = keys.settings(player_id)
    settings = settings_for(engine, name) if name is not None else NO_ZONE
    if group is not None:
        rate_limits.read_player(engine, player_id, group, [])

    def attempt(pipe: Any) -> None:
        """SQL first: what rebuild restores; under a WATCH of the zone's key, so that of
        two changes at once the one Redis keeps is the one SQL keeps (the other, whose
        key changed meanwhile, writes SQL again and then Redis). The dates' counters are
        kept before the zone takes effect: an activity arriving once it has finds its
        date's counts there."""
        overrides.put(engine, sql_name(player_id), name or "")
        if name is None:
            _keep_the_game_days_counters(engine, player_id)
        else:
            _keep_the_local_dates_counters(engine, player_id, settings)
        pipe.multi()
        if name is None:
            pipe.delete(key)
        else:
            pipe.hset(key, mapping=settings.fields())

    engine.redis.transaction(attempt, key)
    return settings


def _keep_the_game_days_counters(engine: Engine, player_id: str) -> None:
    """Back on the game calendar, the player goes on with the game day's counts
    (README, Time zones) until the game day ends: its daily hash, if a zone's shorter
    day gave it an earlier end, lives to the game day's end plus the grace, as
    include/progress.lua's finish_day would have set it. So does the hash of each later
    date some zone is in now (a zone east of the game's was a date ahead): that date's
    counts hold on its game day too. Never shortened; a hash already gone comes back
    from SQL's copy (engine.progression.zone_moves); a zoned player's later move west is
    kept alive by finish_day itself."""
    now = engine.clock.now()
    game_day = engine.calendar.game_day(now)
    ends = {
        day: int(engine.calendar.day_start(day + timedelta(days=1)).timestamp())
        for day in candidate_days(engine, now)
        if day >= game_day
    }
    zone_moves.keep_dates(engine, player_id, ends)


def _keep_the_local_dates_counters(engine: Engine, player_id: str, settings: Settings) -> None:
    """In a new zone, the player goes on with the counts of their local date there
    until it ends there: a move west onto a date already played extends its hash at
    once (finish_day would only on the player's next call, which may come after the
    end the old zone gave it). So does each later date some zone is in now: after a
    move west of more than a day (Kiritimati to Pago Pago) the old zone's date comes
    round again in the new one, and its counts hold there too. Never shortened: after
    a move east the date may still run where the player goes back to. A hash already
    gone (a move west after the old zone's end of its date) comes back from SQL's copy
    (engine.progression.zone_moves)."""
    now = engine.clock.now()
    candidates = candidate_days(engine, now)
    day = settings.local_day(now, candidates)
    if day is None:
        return
    ends = {d: settings.day_start(d.toordinal() + 1) for d in candidates if d >= day}
    zone_moves.keep_dates(engine, player_id, ends)


def sql_name(player_id: str) -> str:
    """The `settings` row (engine.overrides) that keeps the player's zone name durably,
    "" once cleared; engine.ops.rebuild writes the settings hash back from it."""
    return f"{SQL_PREFIX}{player_id}"


def settings_for(engine: Engine, name: str) -> Settings:
    """The zone `name` with its table of local days from two game days before now.

    Raises:
        UnknownTimezoneError: `name` is no IANA zone.
    """
    zone = zone_of(name)
    first = engine.calendar.game_day(engine.clock.now()) - timedelta(days=2)
    days = day_table(zone, engine.calendar.reset_hour, first, WINDOW_DAYS)
    until = first + timedelta(days=WINDOW_DAYS - 1)
    return Settings(timezone=name, days=tuple(days), until=until)


def parse(fields: dict[bytes, bytes]) -> Settings:
    """The settings in a settings hash read with HGETALL."""
    name = fields.get(b"timezone")
    if name is None:
        return NO_ZONE
    days = tuple(
        (int(day), int(shift))
        for day, shift in (entry.split(":") for entry in fields[b"days"].decode().split(";"))
    )
    return Settings(
        timezone=name.decode(), days=days, until=date.fromisoformat(fields[b"until"].decode())
    )


def get_settings(engine: Engine, player_id: str, group: str | None = None) -> Settings:
    """The player's settings, read in one call counted in the player's `group` window."""
    [fields] = rate_limits.read_player(engine, player_id, group, [keys.settings(player_id)])
    return parse(dict(zip(fields[::2], fields[1::2], strict=True)))


@dataclass(frozen=True)
class ZonePart:
    """What a player call adds for a player who may have a zone (include/zone.lua):
    the other days some zone is in, their contexts and rewards after the game day's."""

    days: tuple[date, ...]  # the other candidate days (one or two)
    context_tail: str  # "\n<grace s>\n<context>..." appended to the game day's context
    rewards_tail: str  # "\n<rewards JSON>..." appended to the game day's rewards

    def daily_keys(self, player_id: str, game_day: date) -> list[str]:
        """The other days' daily hashes, two keys (the game day's again when one)."""
        names = [day.isoformat() for day in self.days]
        names += [game_day.isoformat()] * (2 - len(names))
        return [keys.daily(player_id, name) for name in names]


def zone_part(engine: Engine, now: datetime) -> ZonePart:
    """The zone part of a player call at `now`; built once per set of days per process."""
    candidates = tuple(candidate_days(engine, now))
    part = engine.memo.get(("zone_part", candidates))
    if part is None:
        others = [day_context(engine, engine.calendar.day_start(day)) for day in candidates[1:]]
        day_context(engine, now)  # the game day's context stays the current one
        grace = engine.rules.daily_grace_minutes * 60
        part = engine.memo[("zone_part", candidates)] = ZonePart(
            days=candidates[1:],
            context_tail="".join([f"\n{grace}", *(f"\n{c.context}" for c in others)]),
            rewards_tail="".join(f"\n{c.rewards_json}" for c in others),
        )
    return part


@dataclass(frozen=True)
class OwnDay:
    """The local day of a player with a time zone, as the scripts see it (a read)."""

    day: date
    index: int  # its place among the call's days: 0 the game day, then ZonePart.days
    settings: Settings
    ends_at: datetime

    def next_claim(self, engine: Engine, streak_hash: dict[bytes, bytes]) -> int:
        """When the player may claim next, unix s (include/claim.lua's next_claim)."""
        last_day = streak_hash.get(b"last_day")
        if last_day is None:
            return 0
        last = int(last_day)
        ends = streak_hash.get(b"claim_ends")
        if ends is None:
            ended = engine.calendar.day_start(date.fromordinal(last + 1))
            ends_s = int(ended.timestamp())
        else:
            ends_s = int(ends)
        if self.day.toordinal() > last:
            return ends_s
        return max(ends_s, min(self.settings.day_start(last + 1), ends_s + 86400))

    def claimed(self, engine: Engine, streak_hash: dict[bytes, bytes], now: datetime) -> bool:
        return now.timestamp() < self.next_claim(engine, streak_hash)

    @staticmethod
    def streak_kept(engine: Engine, streak_hash: dict[bytes, bytes], now: datetime) -> bool:
        """Whether a claim now would continue the streak whatever the local date: it comes
        before the end of the day after the last claimed one, in the zone it was claimed in
        (streak_ends), or by the game calendar for a claim made by it (include/claim.lua's
        missed_days)."""
        ends = streak_hash.get(b"streak_ends")
        if ends is not None:
            return now.timestamp() < int(ends)
        last_day = streak_hash.get(b"last_day")
        if last_day is None:
            return False
        return now < engine.calendar.day_start(date.fromordinal(int(last_day) + 2))


def own_day(engine: Engine, now: datetime, part: ZonePart, fields: list) -> OwnDay | None:
    """The player's own day at `now` from their settings hash read with HGETALL (`fields`,
    a flat list); None for a player on the game calendar."""
    settings = parse(dict(zip(fields[::2], fields[1::2], strict=True)))
    if settings.timezone is None:
        return None
    days = [engine.calendar.game_day(now), *part.days]
    day = settings.local_day(now, days)
    if day is None:
        return None
    ends = settings.day_start(day.toordinal() + 1)
    return OwnDay(day, days.index(day), settings, datetime.fromtimestamp(ends, UTC))
