"""The engine's one source of time. Everything that needs "now" asks a Clock.

Engine functions read `engine.clock.now()`; Lua scripts get the time in ARGV. Tests
use `FixedClock` and move it; nothing in the engine reads the system time directly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


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


class RedisOffsetClock:
    """Real time plus an offset kept in Redis, so every process shares one QA clock.

    Only used when ALLOW_CLOCK_OVERRIDE is on (never in production). The offset keeps
    time moving from the moment it was set, as a real clock would.
    """

    def __init__(self, redis, key: str, base: Clock | None = None) -> None:
        self._redis = redis
        self._key = key
        self._base = base or SystemClock()

    def now(self) -> datetime:
        offset = self._redis.get(self._key)
        real = self._base.now()
        return real if offset is None else real + timedelta(milliseconds=int(offset))

    @property
    def overridden(self) -> bool:
        return self._redis.exists(self._key) == 1

    def set(self, moment: datetime) -> None:
        self._redis.set(self._key, to_ms(_utc(moment)) - to_ms(self._base.now()))

    def reset(self) -> None:
        self._redis.delete(self._key)
