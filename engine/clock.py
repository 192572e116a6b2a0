"""The engine's one source of time. Everything that needs "now" asks a Clock.

Engine functions read `engine.clock.now()`; Lua scripts get the time in ARGV. Tests
use `FixedClock` and move it; nothing in the engine reads the system time directly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from engine.errors import InvalidInputError


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stays where it is set. For tests and benchmarks."""

    def __init__(self, start: datetime) -> None:
        self._now = _utc(start)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = _utc(moment)

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("clock times must be timezone-aware")
    return moment.astimezone(UTC)


# The times the QA clock may be set to. Far enough from datetime's ends (years 1 and
# 9999) that every period, expiry and retention computed from "now" stays in range.
EARLIEST_OVERRIDE = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_OVERRIDE = datetime(2199, 12, 31, 23, 59, 59, tzinfo=UTC)


class RedisOffsetClock:
    """Real time plus an offset kept in Redis, so every process shares one QA clock.

    Only used when ALLOW_CLOCK_OVERRIDE is on (never in production). The offset keeps
    time moving from the moment it was set, as a real clock would. It can only move
    the clock within EARLIEST_OVERRIDE..LATEST_OVERRIDE: an offset that would leave that
    range (or is not a number) is ignored, so a bad value in Redis never stops the
    service.
    """

    def __init__(self, redis, key: str, base: Clock | None = None) -> None:
        self._redis = redis
        self._key = key
        self._base = base or SystemClock()

    def now(self) -> datetime:
        offset = self._redis.get(self._key)
        real = self._base.now()
        if offset is None:
            return real
        try:
            moved = real + timedelta(milliseconds=int(offset))
        except (ValueError, OverflowError):
            return real
        return moved if EARLIEST_OVERRIDE <= moved <= LATEST_OVERRIDE else real

    @property
    def base(self) -> Clock:
        """The clock the offset moves: its time is all that can be read while Redis
        (where the offset is kept) is unreachable."""
        return self._base

    @property
    def overridden(self) -> bool:
        return self._redis.exists(self._key) == 1

    def set(self, moment: datetime) -> None:
        """Move the clock to `moment`.

        Raises:
            InvalidInputError: `moment` is outside EARLIEST_OVERRIDE..LATEST_OVERRIDE.
        """
        try:
            in_utc: datetime | None = _utc(moment)
        except OverflowError:  # e.g. year 1 at +01:00 is before datetime.min in UTC
            in_utc = None
        if in_utc is None or not EARLIEST_OVERRIDE <= in_utc <= LATEST_OVERRIDE:
            raise InvalidInputError(
                f"The clock can only be set between {EARLIEST_OVERRIDE.year} and "
                f"{LATEST_OVERRIDE.year}.",
                {
                    "now": [
                        f"Must be from {EARLIEST_OVERRIDE.isoformat()} to "
                        f"{LATEST_OVERRIDE.isoformat()}."
                    ]
                },
            )
        self._redis.set(self._key, to_ms(in_utc) - to_ms(self._base.now()))

    def reset(self) -> None:
        self._redis.delete(self._key)
