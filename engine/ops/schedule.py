"""When each job is due, computed from the engine clock and the game calendar.

Time is an argument here: `last_due(spec, now)` and `next_due(spec, now)` are pure,
so the schedule is tested exactly. Interval jobs are due on multiples of their
interval since the epoch; calendar jobs at an hour offset from the game day's reset
(so "daily at DAY_RESET_HOUR in GAME_TIMEZONE", correct across daylight saving).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from engine.calendar import GameCalendar


@dataclass(frozen=True)
class JobSpec:
    name: str
    description: str
    every: timedelta | None = None  # interval jobs
    days: int | None = None  # calendar jobs: every `days` game days (1 daily, 7 weekly)
    after_reset: timedelta = timedelta(0)  # calendar jobs: offset from the day's reset
    weekday: int | None = None  # weekly jobs: ISO weekday (1 = Monday)
    expected: timedelta = timedelta(minutes=10)  # longer than this raises an overrun alert
    catch_up: bool = True  # a missed run is run once when noticed

    @property
    def schedule(self) -> str:
        if self.every is not None:
            return f"every {int(self.every.total_seconds())} s"
        offset = int(self.after_reset.total_seconds() // 60)
        when = f"{offset} min after the daily reset" if offset else "at the daily reset"
        if self.weekday is not None:
            return f"weekly on ISO weekday {self.weekday}, {when}"
        return f"daily, {when}"


def last_due(spec: JobSpec, now: datetime, calendar: GameCalendar) -> datetime:
    """The latest due time at or before `now`."""
    if spec.every is not None:
        step = spec.every.total_seconds()
        return datetime.fromtimestamp((now.timestamp() // step) * step, UTC)
    day = calendar.game_day(now)
    for back in range(0, 8):
        candidate_day = day - timedelta(days=back)
        if spec.weekday is not None and candidate_day.isoweekday() != spec.weekday:
            continue
        due = calendar.day_start(candidate_day) + spec.after_reset
        if due <= now:
            return due
    raise AssertionError("a calendar job is due at least once a week")


def next_interval_due(every: timedelta, now: datetime) -> datetime:
    """An interval job's first due time after `now`: where the scheduler process
    (jobs.scheduler) registers its next run, so it runs when `next_due` lists it."""
    step = every.total_seconds()
    return datetime.fromtimestamp((now.timestamp() // step) * step, UTC) + every


def next_due(spec: JobSpec, now: datetime, calendar: GameCalendar) -> datetime:
    """The first due time after `now`."""
    if spec.every is not None:
        return next_interval_due(spec.every, now)
    day = calendar.game_day(now)
    for ahead in range(0, 9):
        candidate_day = day + timedelta(days=ahead)
        if spec.weekday is not None and candidate_day.isoweekday() != spec.weekday:
            continue
        due = calendar.day_start(candidate_day) + spec.after_reset
        if due > now:
            return due
    raise AssertionError("a calendar job is due at least once a week")
