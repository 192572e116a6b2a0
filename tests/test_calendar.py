"""The game day and the periods: reset hour, daylight saving, ISO week 53, year turn."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from engine.calendar import GameCalendar, add_periods, period_containing
from engine.errors import InvalidInputError


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


def test_the_day_turns_at_the_reset_hour():
    calendar = GameCalendar("UTC", 3)
    assert calendar.game_day(utc(2026, 11, 25, 2, 59)) == date(2026, 11, 24)
    assert calendar.game_day(utc(2026, 11, 25, 3, 0)) == date(2026, 11, 25)
    assert calendar.game_day(utc(2026, 11, 25, 3, 1)) == date(2026, 11, 25)
    assert calendar.next_reset(utc(2026, 11, 25, 2, 59)) == utc(2026, 11, 25, 3)
    assert calendar.next_reset(utc(2026, 11, 25, 3, 1)) == utc(2026, 11, 26, 3)


def test_the_reset_stays_at_local_time_across_daylight_saving():
    calendar = GameCalendar("Europe/Berlin", 3)
    # Clocks go back on 25 Oct 2026: 03:00 CEST becomes 02:00 CET.
    assert calendar.day_start(date(2026, 10, 24)) == utc(2026, 10, 24, 1)  # 03:00 CEST
    assert calendar.day_start(date(2026, 10, 25)) == utc(2026, 10, 25, 2)  # 03:00 CET
    assert calendar.game_day(utc(2026, 10, 25, 1, 59)) == date(2026, 10, 24)
    assert calendar.game_day(utc(2026, 10, 25, 2, 0)) == date(2026, 10, 25)
    # 24 Oct lasts 25 hours; 29 Mar 2026 (clocks forward) lasts 23.
    assert (
        calendar.day_start(date(2026, 10, 25)) - calendar.day_start(date(2026, 10, 24))
    ).total_seconds() == 25 * 3600
    assert (
        calendar.day_start(date(2026, 3, 29)) - calendar.day_start(date(2026, 3, 28))
    ).total_seconds() == 23 * 3600


def test_one_calendar_answers_moments_in_any_order_as_a_new_one_does():
    """The calendar keeps the last day it found: moments before, inside and after it,
    across a daylight-saving change, get the answers a calendar without memory gives."""
    kept = GameCalendar("Europe/Berlin", 3)
    moments = [utc(2026, 10, 23, 0) + timedelta(minutes=37 * n) for n in range(400)]
    random.Random(7).shuffle(moments)
    for moment in moments + sorted(moments):
        fresh = GameCalendar("Europe/Berlin", 3)
        assert kept.game_day(moment) == fresh.game_day(moment)
        assert kept.next_reset(moment) == fresh.next_reset(moment)
        for period_type in ("weekly", "monthly", "yearly"):
            assert kept.period_of(period_type, moment) == fresh.period_of(period_type, moment)


def test_a_non_utc_zone_shifts_the_day():
    calendar = GameCalendar("America/New_York", 3)
    # 07:30 UTC is 02:30 in New York (EST): still the previous game day.
    assert calendar.game_day(utc(2026, 11, 25, 7, 30)) == date(2026, 11, 24)
    assert calendar.game_day(utc(2026, 11, 25, 8, 30)) == date(2026, 11, 25)


def test_weeks_are_iso_weeks_of_game_days():
    calendar = GameCalendar("UTC", 3)
    # Monday 23 Nov 2026 02:59 is still Sunday's game day: week 47.
    assert calendar.period_of("weekly", utc(2026, 11, 23, 2, 59)).name == "2026-W47"
    assert calendar.period_of("weekly", utc(2026, 11, 23, 3, 1)).name == "2026-W48"
    week = calendar.period_of("weekly", utc(2026, 11, 25, 12))
    assert calendar.start(week) == utc(2026, 11, 23, 3)
    assert calendar.end(week) == utc(2026, 11, 30, 3)


def test_iso_week_53_and_the_year_turn():
    calendar = GameCalendar("UTC", 3)
    # 2026 has 53 ISO weeks; 1 Jan 2027 (a Friday) belongs to 2026-W53.
    new_year = utc(2027, 1, 1, 12)
    assert calendar.period_of("weekly", new_year).name == "2026-W53"
    assert calendar.period_of("monthly", new_year).name == "2027-01"
    assert calendar.period_of("yearly", new_year).name == "2027"
    # New Year's night before 03:00 is still 31 December's game day.
    before_reset = utc(2027, 1, 1, 2, 59)
    assert calendar.period_of("monthly", before_reset).name == "2026-12"
    assert calendar.period_of("yearly", before_reset).name == "2026"
    assert calendar.period_of("weekly", utc(2027, 1, 4, 3, 0)).name == "2027-W01"
    week_53 = calendar.parse("weekly", "2026-W53")
    assert (week_53.first_day, week_53.next_first_day) == (date(2026, 12, 28), date(2027, 1, 4))


@pytest.mark.parametrize(
    ("period_type", "name"),
    [
        ("weekly", "2027-W53"),
        ("weekly", "2026-W00"),
        ("weekly", "2026-48"),
        ("monthly", "2026-13"),
        ("monthly", "2026-1"),
        ("yearly", "26"),
        ("yearly", "2026-01"),
    ],
)
def test_malformed_or_impossible_periods_are_refused(period_type, name):
    with pytest.raises(InvalidInputError):
        GameCalendar().parse(period_type, name)


def test_adding_periods():
    week = period_containing("weekly", date(2026, 11, 25))
    assert add_periods(week, 5).name == "2026-W53"
    assert add_periods(week, 6).name == "2027-W01"
    month = period_containing("monthly", date(2026, 11, 25))
    assert add_periods(month, 2).name == "2027-01"
    assert add_periods(month, -11).name == "2025-12"
    assert add_periods(period_containing("yearly", date(2026, 1, 1)), 5).name == "2031"
