"""The game day and the leaderboard periods built on it.

A game day starts at `reset_hour` local time in the game's timezone, so a player
at 02:59 is still on yesterday's game day and at 03:01 on today's (with the default
hour 3). Weeks (ISO), months and years are made of whole game days: the week
`2026-W48` starts at 03:00 local time on Monday 23 November 2026.

Daylight saving: a day is the span between two local reset times, so it is 23 or 25
hours long on the days the clocks change, and the reset stays at 03:00 local.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from engine.errors import InvalidInputError

PERIOD_TYPES = ("weekly", "monthly", "yearly")

# ASCII digits: \d also takes every script's digits (Arabic-Indic, fullwidth...), which
# int() reads as ASCII ones, so such a name would be read as the period it resembles.
_PATTERNS = {
    "weekly": re.compile(r"^([0-9]{4})-W([0-9]{2})$"),
    "monthly": re.compile(r"^([0-9]{4})-([0-9]{2})$"),
    "yearly": re.compile(r"^([0-9]{4})$"),
}


@dataclass(frozen=True)
class Period:
    """One leaderboard period: `weekly` `2026-W48`, `monthly` `2026-11`, `yearly` `2026`."""

    period_type: str
    name: str
    first_day: date  # first game day in the period
    next_first_day: date  # first game day of the next period

    def days(self) -> int:
        return (self.next_first_day - self.first_day).days


class GameCalendar:
    """Game days and periods. Every read of the service asks for the current ones, so
    the calendar keeps the last game day it found (with its bounds), and the start times
    and periods it computed: all pure functions of the timezone and the reset hour."""

    def __init__(self, timezone: str = "UTC", reset_hour: int = 3) -> None:
        self.zone = ZoneInfo(timezone)
        self.reset_hour = reset_hour
        self._last_day: tuple[datetime, datetime, date] | None = None  # start, end, day
        self._starts: dict[date, datetime] = {}
        self._periods: dict[tuple[str, date], Period] = {}

    def game_day(self, moment: datetime) -> date:
        last = self._last_day
        if last is not None and last[0] <= moment < last[1]:
            return last[2]
        local = moment.astimezone(self.zone)
        day = local.date() - timedelta(days=1) if local.hour < self.reset_hour else local.date()
        # The day is the span between two resets (day_start). The wall clock's hour says
        # which only where the clocks do not jump across the reset hour. In Chatham the
        # day begun at the first 03:00 goes on through 02:45-03:00 once the clocks go back
        # (03:45 to 02:45), and when they go forward (02:45 to 03:45) the reset that does
        # not exist is read before the change, 04:00: 03:45-04:00 is still the day before.
        one = timedelta(days=1)
        start, end = self.day_start(day), self.day_start(day + one)
        if moment >= end:
            day, start, end = day + one, end, self.day_start(day + 2 * one)
        elif moment < start:
            day, start, end = day - one, self.day_start(day - one), start
        self._last_day = (start, end, day)
        return day

    def day_start(self, day: date) -> datetime:
        """When game day `day` begins, in UTC."""
        start = self._starts.get(day)
        if start is None:
            if len(self._starts) >= 4096:
                self._starts.clear()
            start = datetime.combine(day, time(self.reset_hour), tzinfo=self.zone).astimezone(UTC)
            self._starts[day] = start
        return start

    def next_reset(self, moment: datetime) -> datetime:
        return self.day_start(self.game_day(moment) + timedelta(days=1))

    # Periods -------------------------------------------------------------------

    def period_of(self, period_type: str, moment: datetime) -> Period:
        key = (period_type, self.game_day(moment))
        period = self._periods.get(key)
        if period is None:
            if len(self._periods) >= 4096:
                self._periods.clear()
            period = self._periods[key] = period_containing(*key)
        return period

    def start(self, period: Period) -> datetime:
        return self.day_start(period.first_day)

    def end(self, period: Period) -> datetime:
        return self.day_start(period.next_first_day)

    def parse(self, period_type: str, name: str) -> Period:
        """The period named `name` (e.g. `2026-W53`); InvalidInputError if there is none."""
        match = _PATTERNS[period_type].fullmatch(name)
        if match is None:
            problem = {"weekly": "YYYY-Www", "monthly": "YYYY-MM", "yearly": "YYYY"}[period_type]
            problem = f"Must look like {problem}."
        else:
            numbers = [int(part) for part in match.groups()]
            try:
                if period_type == "weekly":
                    first = date.fromisocalendar(numbers[0], numbers[1], 1)
                elif period_type == "monthly":
                    first = date(numbers[0], numbers[1], 1)
                else:
                    first = date(numbers[0], 1, 1)
                # The period's end too: the last of year 9999 ends past every date.
                return period_containing(period_type, first)
            except (ValueError, OverflowError):
                problem = "There is no such period."
        raise InvalidInputError(f"{name!r} is not a {period_type} period.", {"period": [problem]})


def period_containing(period_type: str, day: date) -> Period:
    if period_type == "weekly":
        year, week, weekday = day.isocalendar()
        first = day - timedelta(days=weekday - 1)
        return Period("weekly", f"{year}-W{week:02d}", first, first + timedelta(days=7))
    if period_type == "monthly":
        first = day.replace(day=1)
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return Period("monthly", f"{first.year}-{first.month:02d}", first, following)
    if period_type == "yearly":
        first = date(day.year, 1, 1)
        return Period("yearly", f"{day.year}", first, date(day.year + 1, 1, 1))
    raise ValueError(f"unknown period type {period_type!r}")


def add_periods(period: Period, count: int) -> Period:
    """The period `count` periods after `period` (before, if negative)."""
    if period.period_type == "weekly":
        return period_containing("weekly", period.first_day + timedelta(weeks=count))
    if period.period_type == "monthly":
        months = period.first_day.year * 12 + period.first_day.month - 1 + count
        return period_containing("monthly", date(months // 12, months % 12 + 1, 1))
    return period_containing("yearly", date(period.first_day.year + count, 1, 1))
