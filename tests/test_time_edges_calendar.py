"""The game day of a moment is the one whose reset-to-reset span holds it, also where the
clocks jump across the reset hour: Pacific/Chatham goes from 03:45 back to 02:45 on the
first Sunday of April, so 03:00 (the default reset) comes twice and its day starts at the
first; on the last Sunday of September it goes from 02:45 to 03:45, so 03:00 does not
come and the day starts at 04:00, the reset read before the change (engine.calendar)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from engine.calendar import GameCalendar
from tests.conftest import error_of
from web import create_app

pytestmark = pytest.mark.app_on_both_backends  # the app on fakeredis and on Redis

# 2027-04-04 in Chatham: the day starts at 03:00 CHADT (13:15 UTC on the 3rd), the
# clocks go back at 03:45 CHADT (14:00 UTC) to 02:45 CHAST, and the next day starts at
# 03:00 CHAST on the 5th (14:15 UTC on the 4th).
CHATHAM_DAY_STARTS = datetime(2027, 4, 3, 13, 15, tzinfo=UTC)
CHATHAM_CLOCKS_GO_BACK = datetime(2027, 4, 3, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "reset_hour", "change"),
    [
        ("Pacific/Chatham", 3, CHATHAM_CLOCKS_GO_BACK),
        ("Pacific/Chatham", 3, datetime(2027, 9, 25, 14, 0, tzinfo=UTC)),  # 02:45 to 03:45
        ("Antarctica/Troll", 2, datetime(2027, 10, 31, 1, 0, tzinfo=UTC)),  # 03:00 to 01:00
    ],
)
def test_every_moment_around_a_change_is_in_the_day_that_spans_it(zone, reset_hour, change):
    spans = GameCalendar(zone, reset_hour)
    for minutes in range(-24 * 60, 24 * 60, 5):
        moment = change + timedelta(minutes=minutes)
        day = GameCalendar(zone, reset_hour).game_day(moment)  # a process's first look
        assert spans.day_start(day) <= moment < spans.day_start(day + timedelta(days=1)), moment


def test_after_chathams_clocks_go_back_the_day_that_began_at_three_goes_on(
    settings, store, clock, server_headers
):
    """A player watches the day's five ads at 13:30 UTC, then at 14:05 (02:50 CHAST, the
    clocks just gone back) asks a web worker that had no request since the reset: still
    the 4th, ending at 14:15 on the 4th, and a sixth ad is refused. Before, a process
    reading the calendar afresh put 02:50 on the 3rd (the wall clock's hour before 3):
    the daily state answered the 3rd with a next reset already past (13:15), and a sixth
    ad was paid on the 3rd's counter."""
    chatham = dataclasses.replace(settings, game_timezone="Pacific/Chatham")
    clock.set(CHATHAM_DAY_STARTS + timedelta(minutes=15))
    first = create_app(chatham, redis_client=store, clock=clock).test_client()
    for n in range(5):
        ad = first.post(
            "/v1/players/tui/ad-rewards", headers={**server_headers, "Idempotency-Key": f"ad-{n}"}
        )
        assert ad.status_code == 201

    clock.set(CHATHAM_CLOCKS_GO_BACK + timedelta(minutes=5))
    second = create_app(chatham, redis_client=store, clock=clock).test_client()
    daily = second.get("/v1/players/tui/daily", headers=server_headers).get_json()
    assert (daily["game_day"], daily["next_reset_at"], daily["ads"]) == (
        date(2027, 4, 4).isoformat(),
        "2027-04-04T14:15:00+00:00",
        {"limit": 5, "watched": 5},
    )
    sixth = second.post(
        "/v1/players/tui/ad-rewards", headers={**server_headers, "Idempotency-Key": "ad-5"}
    )
    assert sixth.status_code == 409
    assert error_of(sixth)["code"] == "daily_limit_reached"
