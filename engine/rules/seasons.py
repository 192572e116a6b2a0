"""Battle-pass seasons: a recurring cycle, with dated seasons as overrides.

A service that runs for years must always have a current season, so seasons recur by
rule: each lasts `months` calendar months, counted from an anchor day in both
directions, and is named by its first game day ("2027-06-01"). Dated seasons of the
rules (a launch event, a season of another length) run instead on their own days; a
recurring season they overlap is cut at their bounds, and each piece is named by its
own first day. Without a cycle only the dated seasons exist, and the days between or
after them have none: `gaps` finds such days, so start-up can warn about them.

Everything here is arithmetic on dates (pure, no Redis): every process agrees on the
season of a day without reading anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from engine.rules.fields import Field


@dataclass(frozen=True)
class Season:
    season_id: str
    start: date  # first game day
    end: date  # first game day after the season


@dataclass(frozen=True)
class SeasonCycle:
    """Seasons of `months` calendar months, one of them starting on `anchor`."""

    anchor: date  # its day of the month is 1-28, so every month has it
    months: int

    def slot_on(self, day: date) -> tuple[date, date]:
        """The recurring season's bounds around `day` (before any override cuts it)."""
        elapsed = (day.year - self.anchor.year) * 12 + day.month - self.anchor.month
        if day.day < self.anchor.day:
            elapsed -= 1
        first = elapsed // self.months * self.months
        return self._months_after(first), self._months_after(first + self.months)

    def _months_after(self, months: int) -> date:
        index = self.anchor.year * 12 + self.anchor.month - 1 + months
        return date(index // 12, index % 12 + 1, self.anchor.day)


@dataclass(frozen=True)
class SeasonCalendar:
    """Which season a game day belongs to, and what the seasons of a span are."""

    cycle: SeasonCycle | None
    dated_seasons: tuple[Season, ...]  # sorted by start, never overlapping

    def season_on(self, day: date) -> Season | None:
        for season in self.dated_seasons:
            if season.start <= day < season.end:
                return season
        if self.cycle is None:
            return None
        start, end = self.cycle.slot_on(day)
        for season in self.dated_seasons:  # a dated season inside the slot cuts it
            if start < season.end <= day:
                start = season.end
            if day < season.start < end:
                end = season.start
        return Season(start.isoformat(), start, end)

    def season(self, season_id: str) -> Season | None:
        """The season with this id: a dated one, or the recurring one starting that day."""
        for season in self.dated_seasons:
            if season.season_id == season_id:
                return season
        try:
            first_day = date.fromisoformat(season_id)
            found = self.season_on(first_day)
        except ValueError:  # no date, or a day whose recurring season passes year 1 or 9999
            return None
        return found if found is not None and found.season_id == season_id else None

    def seasons_between(self, first_day: date, end: date) -> Iterator[Season]:
        """Every season with a day in [first_day, end), in order."""
        day = first_day
        while day < end:
            season = self.season_on(day)
            if season is None:
                starts = [s.start for s in self.dated_seasons if s.start > day]
                if not starts:
                    return
                day = min(starts)
                continue
            yield season
            day = season.end

    def gaps(self, first_day: date, end: date) -> list[tuple[date, date]]:
        """The spans [from, to) of [first_day, end) that no season covers."""
        found: list[tuple[date, date]] = []
        day = first_day
        for season in self.seasons_between(first_day, end):
            if season.start > day:
                found.append((day, season.start))
            day = season.end
        if day < end:
            found.append((day, end))
        return found


def parse_cycle(field: Field) -> SeasonCycle | None:
    """`[battle_pass.season_cycle]`: anchor (a date, day 1-28) and months (1-24)."""
    if field.value is None:
        return None
    field.only("anchor", "months")
    anchor = field.child("anchor")
    if not isinstance(anchor.value, date) or isinstance(anchor.value, datetime):
        raise anchor.fail("must be a date (YYYY-MM-DD)")
    if anchor.value.day > 28:
        raise anchor.fail("must be a day from 1 to 28 of its month")
    return SeasonCycle(anchor=anchor.value, months=field.child("months").integer(1, 24))


def check_dated_id(field: Field, season: Season) -> None:
    """A dated season may not take the name of a recurring season of another day."""
    try:
        named_day = date.fromisoformat(season.season_id)
    except ValueError:
        return
    if named_day != season.start:
        raise field.fail("a season named by a date must start on it")


def ended_recently(calendar: SeasonCalendar, today: date, days: int) -> list[Season]:
    """The seasons that ended in the `days` before `today` (today included)."""
    first_day = today - timedelta(days=days)
    return [s for s in calendar.seasons_between(first_day, today) if s.end <= today]
